/**
 * hook_calls: where a handle calls the allocation hooks (heap/hooks.ts). While the thread has hooks
 * installed, its handle carries its own versions of the C API methods (jemalloc's slow path) that run
 * the normal method and then the hooks with jemalloc's types and arguments; when the last set is removed
 * the prototype's methods come back, so a handle without hooks runs exactly the code it always did (the
 * fast paths check no flag). Arguments jemalloc passes that have no counterpart here (posix_memalign's `memptr`) are 0.
 */

import {
  HOOK_ALLOC_ALIGNED_ALLOC,
  HOOK_ALLOC_CALLOC,
  HOOK_ALLOC_MALLOC,
  HOOK_ALLOC_MALLOCX,
  HOOK_ALLOC_POSIX_MEMALIGN,
  HOOK_ALLOC_RALLOCX,
  HOOK_ALLOC_REALLOC,
  HOOK_DALLOC_DALLOCX,
  HOOK_DALLOC_FREE,
  HOOK_DALLOC_RALLOCX,
  HOOK_DALLOC_REALLOC,
  HOOK_DALLOC_SDALLOCX,
  HOOK_EXPAND_RALLOCX,
  HOOK_EXPAND_REALLOC,
  HOOK_EXPAND_XALLOCX,
  hookInvokeAlloc,
  hookInvokeDalloc,
  hookInvokeExpand,
  hooksActive,
} from "../ctx/alloc_hooks.js";
import type { HeapCtx } from "../ctx/ctx.js";
import { lookupLive, usizeOf } from "./ops.js";

/** The part of a heap handle the hooks wrap (the public HookedApi has these; named here, not imported, so
 * this module does not import the API class that imports it). */
interface HookedApi {
  readonly ctx: HeapCtx;
  /** Whether the last realloc / rallocx moved the block. */
  readonly lastReallocMoved: boolean;
  malloc(size: number): number;
  calloc(n: number, size: number): number;
  alignedAlloc(alignment: number, size: number): number;
  posixMemalign(alignment: number, size: number): { error: number; ptr: number };
  free(ptr: number): void;
  realloc(ptr: number, size: number): number;
  mallocx(size: number, flags?: number): number;
  rallocx(ptr: number, size: number, flags?: number): number;
  xallocx(ptr: number, size: number, extra?: number, flags?: number): number;
  dallocx(ptr: number, flags?: number): void;
  sdallocx(ptr: number, size: number, flags?: number): void;
}

const METHODS = [
  "malloc",
  "calloc",
  "alignedAlloc",
  "posixMemalign",
  "free",
  "realloc",
  "mallocx",
  "rallocx",
  "xallocx",
  "dallocx",
  "sdallocx",
] as const;

/** Usable size of `ptr` if it is live, else 0 (no report: the real call reports). */
function usizeIfLive(heap: HookedApi, ptr: number): number {
  if (!Number.isInteger(ptr) || ptr <= 0 || ptr >= heap.ctx.buffer.byteLength) return 0;
  const e = lookupLive(heap.ctx, ptr);
  return e === 0 ? 0 : usizeOf(heap.ctx, e);
}

/** A realloc/rallocx's hooks: expand when it stayed in place, alloc then dalloc when it moved. */
function rallocHooks(
  heap: HookedApi,
  ptr: number,
  old: number,
  p: number,
  args: number[],
  isRealloc: boolean,
): void {
  if (p === 0 || old === 0) return;
  const ctx = heap.ctx;
  if (p === ptr && !heap.lastReallocMoved) {
    const type = isRealloc ? HOOK_EXPAND_REALLOC : HOOK_EXPAND_RALLOCX;
    hookInvokeExpand(ctx, type, ptr, old, usizeIfLive(heap, p), ptr, [...args, 0]);
    return;
  }
  hookInvokeAlloc(ctx, isRealloc ? HOOK_ALLOC_REALLOC : HOOK_ALLOC_RALLOCX, p, p, args);
  hookInvokeDalloc(ctx, isRealloc ? HOOK_DALLOC_REALLOC : HOOK_DALLOC_RALLOCX, ptr, args);
}

function hookedMethods(heap: HookedApi, proto: HookedApi): Record<(typeof METHODS)[number], unknown> {
  const ctx = heap.ctx;
  return {
    malloc(size: number): number {
      const p = proto.malloc.call(heap, size);
      hookInvokeAlloc(ctx, HOOK_ALLOC_MALLOC, p, p, [size]);
      return p;
    },
    calloc(n: number, size: number): number {
      const p = proto.calloc.call(heap, n, size);
      hookInvokeAlloc(ctx, HOOK_ALLOC_CALLOC, p, p, [n, size]);
      return p;
    },
    alignedAlloc(alignment: number, size: number): number {
      const p = proto.alignedAlloc.call(heap, alignment, size);
      hookInvokeAlloc(ctx, HOOK_ALLOC_ALIGNED_ALLOC, p, p, [alignment, size]);
      return p;
    },
    posixMemalign(alignment: number, size: number): { error: number; ptr: number } {
      const r = proto.posixMemalign.call(heap, alignment, size);
      hookInvokeAlloc(ctx, HOOK_ALLOC_POSIX_MEMALIGN, r.ptr, r.error, [0, alignment, size]);
      return r;
    },
    free(ptr: number): void {
      if (ptr !== 0) hookInvokeDalloc(ctx, HOOK_DALLOC_FREE, ptr, [ptr]);
      proto.free.call(heap, ptr);
    },
    realloc(ptr: number, size: number): number {
      const old = ptr === 0 ? 0 : usizeIfLive(heap, ptr);
      if (ptr !== 0 && size === 0 && ctx.opt.zeroRealloc === "free") {
        hookInvokeDalloc(ctx, HOOK_DALLOC_REALLOC, ptr, [ptr, 0]);
        return proto.realloc.call(heap, ptr, size);
      }
      const p = proto.realloc.call(heap, ptr, size);
      if (ptr === 0) hookInvokeAlloc(ctx, HOOK_ALLOC_REALLOC, p, p, [ptr, size]);
      else rallocHooks(heap, ptr, old, p, [ptr, size, 0], true);
      return p;
    },
    mallocx(size: number, flags = 0): number {
      const p = proto.mallocx.call(heap, size, flags);
      hookInvokeAlloc(ctx, HOOK_ALLOC_MALLOCX, p, p, [size, flags]);
      return p;
    },
    rallocx(ptr: number, size: number, flags = 0): number {
      const old = usizeIfLive(heap, ptr);
      const p = proto.rallocx.call(heap, ptr, size, flags);
      rallocHooks(heap, ptr, old, p, [ptr, size, flags], false);
      return p;
    },
    xallocx(ptr: number, size: number, extra = 0, flags = 0): number {
      const old = usizeIfLive(heap, ptr);
      const now = proto.xallocx.call(heap, ptr, size, extra, flags);
      if (old !== 0 && now !== old)
        hookInvokeExpand(ctx, HOOK_EXPAND_XALLOCX, ptr, old, now, now, [ptr, size, extra, flags]);
      return now;
    },
    dallocx(ptr: number, flags = 0): void {
      hookInvokeDalloc(ctx, HOOK_DALLOC_DALLOCX, ptr, [ptr, flags]);
      proto.dallocx.call(heap, ptr, flags);
    },
    sdallocx(ptr: number, size: number, flags = 0): void {
      hookInvokeDalloc(ctx, HOOK_DALLOC_SDALLOCX, ptr, [ptr, size, flags]);
      proto.sdallocx.call(heap, ptr, size, flags);
    },
  };
}

/**
 * Gives `heap` its hooked methods while its thread has hooks, and the plain ones back after. The plain
 * ones come back as own properties pointing at the prototype's functions (no `delete`: that would turn
 * the handle into a dictionary-mode object and slow every later call).
 */
export function hookCallsRefresh(heap: HookedApi): void {
  const own = heap as unknown as Record<string, unknown>;
  const proto = Object.getPrototypeOf(heap) as Record<string, unknown>;
  const hooked = hooksActive(heap.ctx);
  if (hooked && Object.hasOwn(own, "malloc") && own.malloc !== proto.malloc) return;
  const m = hooked ? hookedMethods(heap, proto as unknown as HookedApi) : null;
  for (const k of METHODS) {
    const value = m === null ? proto[k] : m[k];
    Object.defineProperty(own, k, { value, configurable: true, writable: true });
  }
}
