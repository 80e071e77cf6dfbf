/**
 * hooks: experimental.hooks.install / remove (jemalloc's hook.c). A hook set is up to three JS
 * functions and an `extra` value, called after each allocation, deallocation or in-place resize with
 * jemalloc's arguments: the hook type (the hook_alloc_* / hook_dalloc_* / hook_expand_* numbers below),
 * the result or address, and the call's raw arguments. Functions cannot live in the shared buffer, so
 * hooks belong to the worker that installed them (jemalloc's are process-wide): install them in every
 * worker whose calls they should see. At most HOOK_MAX sets; a hook that allocates does not re-enter the
 * hooks (jemalloc's reentrancy guard). A handle with hooks installed leaves its fast paths (as jemalloc's
 * tsd goes slow): with none installed, the fast paths check nothing more.
 */
import type { HeapCtx } from "./ctx.js";

export const HOOK_MAX = 4;

/** hook_alloc_t */
export const HOOK_ALLOC_MALLOC = 0;
export const HOOK_ALLOC_POSIX_MEMALIGN = 1;
export const HOOK_ALLOC_ALIGNED_ALLOC = 2;
export const HOOK_ALLOC_CALLOC = 3;
export const HOOK_ALLOC_MEMALIGN = 4;
export const HOOK_ALLOC_VALLOC = 5;
export const HOOK_ALLOC_MALLOCX = 6;
export const HOOK_ALLOC_REALLOC = 7;
export const HOOK_ALLOC_RALLOCX = 8;
/** hook_dalloc_t */
export const HOOK_DALLOC_FREE = 0;
export const HOOK_DALLOC_DALLOCX = 1;
export const HOOK_DALLOC_SDALLOCX = 2;
export const HOOK_DALLOC_REALLOC = 3;
export const HOOK_DALLOC_RALLOCX = 4;
/** hook_expand_t */
export const HOOK_EXPAND_REALLOC = 0;
export const HOOK_EXPAND_RALLOCX = 1;
export const HOOK_EXPAND_XALLOCX = 2;

export type HookAlloc = (
  extra: unknown,
  type: number,
  result: number,
  resultRaw: number,
  args: number[],
) => void;
export type HookDalloc = (extra: unknown, type: number, address: number, args: number[]) => void;
export type HookExpand = (
  extra: unknown,
  type: number,
  address: number,
  oldUsize: number,
  newUsize: number,
  resultRaw: number,
  args: number[],
) => void;

/** jemalloc's hooks_t. */
export interface Hooks {
  alloc?: HookAlloc | null;
  dalloc?: HookDalloc | null;
  expand?: HookExpand | null;
  extra?: unknown;
}

/** What hooks.install returns and hooks.remove takes. */
export interface HookHandle {
  readonly hookId: number;
}

interface HookState {
  sets: (Hooks | null)[];
  handles: (HookHandle | null)[];
  inHook: boolean;
}

const STATE = new WeakMap<HeapCtx, HookState>();

function stateOf(ctx: HeapCtx): HookState {
  let s = STATE.get(ctx);
  if (s === undefined) {
    s = { sets: [], handles: [], inHook: false };
    STATE.set(ctx, s);
  }
  return s;
}

function checkFn(v: unknown, name: string): void {
  if (v !== undefined && v !== null && typeof v !== "function")
    throw new TypeError(`experimental.hooks.install: ${name} must be a function or null, got ${typeof v}`);
}

/** Validates and installs `hooks`; the handle, or null when HOOK_MAX sets are installed (EAGAIN). */
export function hooksInstall(ctx: HeapCtx, hooks: unknown): HookHandle | null {
  if (hooks === null || typeof hooks !== "object")
    throw new TypeError("experimental.hooks.install: expected { alloc, dalloc, expand, extra }");
  const h = hooks as Hooks;
  checkFn(h.alloc, "alloc");
  checkFn(h.dalloc, "dalloc");
  checkFn(h.expand, "expand");
  const s = stateOf(ctx);
  let i = s.sets.indexOf(null);
  if (i < 0) {
    if (s.sets.length >= HOOK_MAX) return null;
    i = s.sets.length;
  }
  const handle: HookHandle = Object.freeze({ hookId: i + 1 });
  s.sets[i] = { alloc: h.alloc ?? null, dalloc: h.dalloc ?? null, expand: h.expand ?? null, extra: h.extra };
  s.handles[i] = handle;
  return handle;
}

/** Removes the set `handle` names; false when it is not an installed handle of this thread. */
export function hooksRemove(ctx: HeapCtx, handle: unknown): boolean {
  const s = stateOf(ctx);
  const i = s.handles.indexOf(handle as HookHandle);
  if (i < 0 || handle === null) return false;
  s.sets[i] = null;
  s.handles[i] = null;
  return true;
}

/** True when this thread has hooks installed (its handle must keep off the fast paths). */
export function hooksActive(ctx: HeapCtx): boolean {
  const s = STATE.get(ctx);
  return s?.sets.some((x) => x !== null) === true;
}

/**
 * Calls `each` on every installed set, with the thread marked as inside a hook (a hook that allocates
 * does not re-enter). The handle's hooked path only (hook_calls.ts): it allocates like its callers.
 */
function invokeAll(ctx: HeapCtx, each: (h: Hooks) => void): void {
  const s = STATE.get(ctx);
  if (s === undefined || s.inHook) return;
  s.inHook = true;
  try {
    for (const h of s.sets) if (h !== null) each(h);
  } finally {
    s.inHook = false;
  }
}

export function hookInvokeAlloc(
  ctx: HeapCtx,
  type: number,
  result: number,
  resultRaw: number,
  args: number[],
): void {
  invokeAll(ctx, (h) => h.alloc?.(h.extra, type, result, resultRaw, args));
}

export function hookInvokeDalloc(ctx: HeapCtx, type: number, address: number, args: number[]): void {
  invokeAll(ctx, (h) => h.dalloc?.(h.extra, type, address, args));
}

export function hookInvokeExpand(
  ctx: HeapCtx,
  type: number,
  address: number,
  oldUsize: number,
  newUsize: number,
  resultRaw: number,
  args: number[],
): void {
  invokeAll(ctx, (h) => h.expand?.(h.extra, type, address, oldUsize, newUsize, resultRaw, args));
}
