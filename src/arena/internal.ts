/**
 * internal: blocks the allocator takes for itself at run time (jemalloc's iallocztm / idalloctm with
 * is_internal), such as malloc_stats_print's output buffer: taken from arena 0 without a thread cache
 * and counted in arena 0's `internal` statistic while they live. (Thread caches' own blocks are
 * counted the same way; src/tcache/ keeps them.)
 *
 * A thread holds at most one such block, registered in its thread record (THREAD_INTERNAL_BLOCK_B)
 * together with the count, under arena 0's extent lock: a reclaim frees the block of a thread that
 * died holding one, and `heap.check()` finds the count equal to the blocks registered.
 */
import type { HeapCtx } from "../ctx/ctx.js";
import { HDR_NSLOTS_B, THREAD_BYTES, THREAD_INTERNAL_BLOCK_B } from "../ctx/header.js";
import { edataIsRecord, edataSzind } from "../extent/edata.js";
import { emapLookupChecked, emapRead } from "../extent/emap.js";
import { pacLock, pacUnlock } from "../extent/pac.js";
import { f64AddD } from "../layout/index.js";
import { arenaMallocHard, arenaRecordByInd } from "./arena.js";
import { dallocArena } from "./dalloc.js";
import { ARENA_INTERNAL_B } from "./layout.js";

/**
 * The f64 index of arena 0's internal-bytes counter (stats.arenas.0.internal): the thread caches' own
 * blocks and the blocks below. Changed only under arena 0's extent lock, with the registration.
 */
export function internalCountD(ctx: HeapCtx): number {
  return (arenaRecordByInd(ctx, 0) + ctx.arenaLayout.arenaFieldsB + ARENA_INTERNAL_B) >>> 3;
}

/** Registers (`ptr` ≠ 0) or unregisters (0) the calling thread's block and moves the count by `bytes`. */
function register(ctx: HeapCtx, ptr: number, bytes: number): void {
  const a0 = arenaRecordByInd(ctx, 0);
  pacLock(ctx, a0);
  f64AddD(ctx.f64, internalCountD(ctx), bytes);
  ctx.u32[(ctx.threadB + THREAD_INTERNAL_BLOCK_B) >>> 2] = ptr;
  pacUnlock(ctx, a0);
}

/**
 * iallocztm(size, is_internal, arena 0) with no cache: arena_malloc_hard in arena 0, counted as
 * internal. `usize` must be a size class. Returns the block, or 0 when out of memory.
 */
export function internalAlloc(ctx: HeapCtx, usize: number): number {
  const p = arenaMallocHard(ctx, arenaRecordByInd(ctx, 0), usize, ctx.sc.size2index(usize), false);
  if (p === 0) return 0;
  if (ctx.failpoint !== null) ctx.failpoint("internal.alloc.block");
  register(ctx, p, usize);
  return p;
}

/** idalloctm(is_internal) with no cache: the block internalAlloc returned, `usize` its size class. */
export function internalFree(ctx: HeapCtx, ptr: number, usize: number): void {
  register(ctx, 0, -usize);
  if (ctx.failpoint !== null) ctx.failpoint("internal.free.unregistered");
  dallocArena(ctx, ptr, emapLookupChecked(ctx, ptr));
}

/** The size class of the block registered at `threadB`, 0 when none (or it no longer is one). */
function blockBytes(ctx: HeapCtx, threadB: number): number {
  const p = ctx.u32[(threadB + THREAD_INTERNAL_BLOCK_B) >>> 2]!;
  if (p === 0) return 0;
  const e = emapRead(ctx, p);
  return e !== 0 && edataIsRecord(ctx.u32, e) ? ctx.sc.index2size(edataSzind(ctx.u32, e)) : 0;
}

/** Bytes of the internal blocks threads hold now (part of stats.arenas.0.internal). */
export function internalBlocksBytes(ctx: HeapCtx): number {
  const nslots = ctx.u32[HDR_NSLOTS_B >>> 2]!;
  let bytes = 0;
  for (let s = 0; s < nslots; s++) bytes += blockBytes(ctx, ctx.hdr.threadsB + s * THREAD_BYTES);
  return bytes;
}

/**
 * Reclaim of a departed thread's record at `threadB`: frees the internal block it held. The caller
 * recounts arena 0's internal bytes afterwards (a thread killed between its count and its
 * registration cannot be told apart otherwise).
 */
export function internalReclaim(ctx: HeapCtx, threadB: number): void {
  const p = ctx.u32[(threadB + THREAD_INTERNAL_BLOCK_B) >>> 2]!;
  if (p === 0) return;
  ctx.u32[(threadB + THREAD_INTERNAL_BLOCK_B) >>> 2] = 0;
  const e = emapRead(ctx, p);
  if (e !== 0 && edataIsRecord(ctx.u32, e)) dallocArena(ctx, p, e);
}
