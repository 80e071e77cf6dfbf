/**
 * ehooks: the extent hooks (jemalloc's ehooks.h / extent hooks), the one seam between the allocator
 * and "the operating system" — here the buffer (pages.ts). Every hook returns true on failure, as in
 * jemalloc. A thread may install its own hooks for an arena (arena.<i>.extent_hooks); otherwise the
 * defaults below apply:
 *   alloc         map fresh pages above the top of the buffer, where the OS would place them modulo the
 *                 hugepage (pages.ts); fails when the buffer cannot grow
 *   dalloc        fails (address space inside a buffer cannot be unmapped: it is retained, as with
 *                 jemalloc's opt.retain on 64-bit Linux)
 *   decommit      fails (as on overcommitting Linux), so purges to retained are forced purges
 *   purge_forced  fails (the pages keep their data: the extent is marked not zeroed), or with
 *                 zeroOnPurge zero-fills them so they read as zero afterwards, like MADV_DONTNEED
 *   purge_lazy    succeeds and changes nothing (MADV_FREE: the data may stay)
 *   commit, split, merge  succeed
 * An installed hook's answers are checked (hook_result.ts): a bad answer or a throw is a failure.
 */
import type { ExtentHooks, HeapCtx } from "../ctx/ctx.js";
import { hookAllocProblem, hookFailed } from "./hook_result.js";
import { pagesMapExtent, pagesPurgeForced } from "./pages.js";

type BoolHook = (...args: never[]) => unknown;

/** Calls a boolean hook: true (failure) unless it returned exactly false; a throw is a failure. */
function callBool<F extends BoolHook>(h: F, ...args: Parameters<F>): boolean {
  try {
    return hookFailed(h(...args));
  } catch {
    return true;
  }
}

function hooksOf(ctx: HeapCtx, arenaInd: number): ExtentHooks | undefined {
  return ctx.hooks.size === 0 ? undefined : ctx.hooks.get(arenaInd);
}

/** Returns the address of `size` new bytes (zeroed), or 0. */
export function ehooksAlloc(ctx: HeapCtx, arenaInd: number, size: number, alignment: number): number {
  const h = hooksOf(ctx, arenaInd)?.alloc;
  if (h !== undefined) {
    let r: unknown;
    try {
      r = h(size, alignment, true, arenaInd);
    } catch {
      return 0;
    }
    if (r === null || r === undefined || r === 0) return 0;
    return hookAllocProblem(ctx, r, size, alignment) === null ? (r as number) : 0;
  }
  return pagesMapExtent(ctx, size, alignment);
}

export function ehooksDalloc(
  ctx: HeapCtx,
  arenaInd: number,
  addr: number,
  size: number,
  committed: boolean,
): boolean {
  const h = hooksOf(ctx, arenaInd)?.dalloc;
  return h !== undefined ? callBool(h, addr, size, committed, arenaInd) : true;
}

export function ehooksDestroy(
  ctx: HeapCtx,
  arenaInd: number,
  addr: number,
  size: number,
  committed: boolean,
): void {
  const h = hooksOf(ctx, arenaInd)?.destroy;
  if (h === undefined) pagesPurgeForced(ctx, addr, size);
  else callBool(h, addr, size, committed, arenaInd);
}

export function ehooksDecommit(ctx: HeapCtx, arenaInd: number, addr: number, size: number): boolean {
  const h = hooksOf(ctx, arenaInd)?.decommit;
  return h !== undefined ? callBool(h, addr, size, 0, size, arenaInd) : true;
}

export function ehooksCommit(ctx: HeapCtx, arenaInd: number, addr: number, size: number): boolean {
  const h = hooksOf(ctx, arenaInd)?.commit;
  return h !== undefined ? callBool(h, addr, size, 0, size, arenaInd) : false;
}

export function ehooksPurgeForced(ctx: HeapCtx, arenaInd: number, addr: number, size: number): boolean {
  const h = hooksOf(ctx, arenaInd)?.purgeForced;
  if (h !== undefined) return callBool(h, addr, size, 0, size, arenaInd);
  return pagesPurgeForced(ctx, addr, size);
}

export function ehooksPurgeLazy(ctx: HeapCtx, arenaInd: number, addr: number, size: number): boolean {
  const h = hooksOf(ctx, arenaInd)?.purgeLazy;
  return h !== undefined ? callBool(h, addr, size, 0, size, arenaInd) : false;
}

export function ehooksSplit(
  ctx: HeapCtx,
  arenaInd: number,
  addr: number,
  size: number,
  sizeA: number,
  sizeB: number,
  committed: boolean,
): boolean {
  const h = hooksOf(ctx, arenaInd)?.split;
  return h !== undefined ? callBool(h, addr, size, sizeA, sizeB, committed, arenaInd) : false;
}

export function ehooksMerge(
  ctx: HeapCtx,
  arenaInd: number,
  addrA: number,
  sizeA: number,
  addrB: number,
  sizeB: number,
  committed: boolean,
): boolean {
  const h = hooksOf(ctx, arenaInd)?.merge;
  return h !== undefined ? callBool(h, addrA, sizeA, addrB, sizeB, committed, arenaInd) : false;
}

/** Zero-fills [addr, addr + size): used where jemalloc memsets (calloc from a dirty extent). */
export function ehooksZero(ctx: HeapCtx, addr: number, size: number): void {
  ctx.u8.fill(0, addr, addr + size);
}
