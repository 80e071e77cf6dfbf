/**
 * tcache: the thread cache (jemalloc's tcache.c / cache_bin.h). Public entry points used by the
 * heap and by the mallctl namespace. (Implementation in progress: these are the fixed signatures.)
 */
import type { HeapCtx } from "../extent/ctx.js";
import { THREAD_TCACHE_ON_B } from "../layout/header.js";

/** thread.tcache.enabled (read). */
export function threadTcacheEnabledGet(ctx: HeapCtx): boolean {
  return ctx.u32[(ctx.threadB + THREAD_TCACHE_ON_B) >>> 2] !== 0;
}

/** thread.tcache.enabled (write): false flushes and destroys the cache, true recreates it. */
export function threadTcacheEnabledSet(ctx: HeapCtx, on: boolean): void {
  ctx.u32[(ctx.threadB + THREAD_TCACHE_ON_B) >>> 2] = on ? 1 : 0;
}

/** thread.tcache.flush */
export function threadTcacheFlush(_ctx: HeapCtx): void {}

/** tcache.create: a new explicit cache's index, or -1 (EAGAIN) when none is left. */
export function tcacheCreateExplicit(_ctx: HeapCtx): number {
  return -1;
}

/** tcache.flush: false if `ind` names no live explicit cache (EFAULT). */
export function tcacheFlushExplicit(_ctx: HeapCtx, _ind: number): boolean {
  return false;
}

/** tcache.destroy: false if `ind` names no live explicit cache (EFAULT). */
export function tcacheDestroyExplicit(_ctx: HeapCtx, _ind: number): boolean {
  return false;
}

/** The record of live explicit cache `ind`, or 0. */
export function tcacheExplicitGet(_ctx: HeapCtx, _ind: number): number {
  return 0;
}

/** Bytes of cached regions per arena (stats.arenas.<i>.tcache_bytes). */
export function tcacheBytesOfArena(_ctx: HeapCtx, _arenaInd: number): number {
  return 0;
}
