/**
 * reset: arena.<i>.reset and arena.<i>.destroy for manual arenas (jemalloc's arena_reset /
 * arena_destroy). Reset discards every allocation of the arena: its large extents (tracked in the
 * arena's list) and every slab of every bin (slabcur, the non-full heap and the full list), all back
 * to the page allocator. Destroy also purges everything and retires the index; the next
 * `arenas.create` reuses the index and, here, the record too — its base and retained address space
 * are kept for the new arena instead of being lost (a buffer cannot unmap).
 * jemalloc requires callers to flush the thread caches holding this arena's regions first; here
 * the ctl (src/mallctl/nodes/arena_i.ts) flushes those it may first, through src/tcache/arena_caches.ts,
 * and refuses (EFAULT) while another thread's cache holds some.
 */

import type { HeapCtx } from "../ctx/ctx.js";
import { HDR_LAST_DESTROYED_B, HDR_LOCK_ARENAS_B } from "../ctx/header.js";
import { EDATA_W_LIST_NEXT, EDATA_W_SZIND, edataSzind } from "../extent/edata.js";
import { heapLock, heapUnlock } from "../extent/lock.js";
import { phRemoveFirst } from "../extent/ph.js";
import { arenaFieldsB, arenaIsAuto, arenaNthreads, arenaRecordByInd, narenasTotal } from "./arena.js";
import { binFullFirst, binLock, binRecord, binUnlock, bstatD } from "./bin.js";
import { arenaDecay, arenaExtentDalloc, PURGE_ON_EPOCH_ADVANCE } from "./decay.js";
import { largeDalloc, largeListFirst } from "./large.js";
import {
  ARENA_NTHREADS_INT_B,
  ARENA_STATE_B,
  ARENA_STATE_DESTROYED,
  BIN_FULL_HEAD_B,
  BIN_FULL_TAIL_B,
  BIN_NONFULL_ROOT_B,
  BIN_SLABCUR_B,
  BSTATS_CURREGS,
  BSTATS_CURSLABS,
  BSTATS_NONFULL_SLABS,
} from "./layout.js";

export type ArenaOpResult = 0 | "EFAULT" | "ENOENT";

function check(ctx: HeapCtx, ind: number, destroying: boolean): number | ArenaOpResult {
  if (!Number.isInteger(ind) || ind < 0 || ind >= narenasTotal(ctx)) return "ENOENT";
  const arena = arenaRecordByInd(ctx, ind);
  if (arena === 0) return "ENOENT";
  if (ctx.u32[(arenaFieldsB(ctx, arena) + ARENA_STATE_B) >>> 2] === ARENA_STATE_DESTROYED) return "ENOENT";
  if (arenaIsAuto(ctx, arena)) return "EFAULT";
  if (
    destroying &&
    (arenaNthreads(ctx, arena) > 0 ||
      Atomics.load(ctx.i32, (arenaFieldsB(ctx, arena) + ARENA_NTHREADS_INT_B) >>> 2) > 0)
  ) {
    return "EFAULT";
  }
  return arena;
}

function binReset(ctx: HeapCtx, arena: number, bin: number): void {
  const u32 = ctx.u32;
  const slabs: number[] = [];
  binLock(ctx, bin);
  const cur = u32[(bin + BIN_SLABCUR_B) >>> 2]!;
  if (cur !== 0) slabs.push(cur);
  u32[(bin + BIN_SLABCUR_B) >>> 2] = 0;
  for (
    let s = phRemoveFirst(u32, (bin + BIN_NONFULL_ROOT_B) >>> 2);
    s !== 0;
    s = phRemoveFirst(u32, (bin + BIN_NONFULL_ROOT_B) >>> 2)
  )
    slabs.push(s);
  for (let s = binFullFirst(ctx, bin); s !== 0; ) {
    const next = u32[(s >>> 2) + EDATA_W_LIST_NEXT]!;
    slabs.push(s);
    s = next;
  }
  u32[(bin + BIN_FULL_HEAD_B) >>> 2] = 0;
  u32[(bin + BIN_FULL_TAIL_B) >>> 2] = 0;
  ctx.f64[bstatD(bin, BSTATS_CURREGS)] = 0;
  ctx.f64[bstatD(bin, BSTATS_CURSLABS)] = 0;
  ctx.f64[bstatD(bin, BSTATS_NONFULL_SLABS)] = 0;
  binUnlock(ctx, bin);
  for (const s of slabs) arenaExtentDalloc(ctx, arena, s);
}

function resetLocked(ctx: HeapCtx, arena: number): void {
  const sc = ctx.sc;
  for (let e = largeListFirst(ctx, arena); e !== 0; e = largeListFirst(ctx, arena)) {
    // A sampled small block promoted by heap profiling (arena_prof_promote) goes back to its large class.
    if (edataSzind(ctx.u32, e) < sc.nbins)
      ctx.u32[(e >>> 2) + EDATA_W_SZIND] = sc.size2index(sc.largeMinclass);
    largeDalloc(ctx, e);
  }
  for (let i = 0; i < sc.nbins; i++)
    for (let s = 0; s < sc.binNshards[i]!; s++) binReset(ctx, arena, binRecord(ctx, arena, i, s));
}

/** Discards every allocation of manual arena `ind`. */
export function arenaReset(ctx: HeapCtx, ind: number): ArenaOpResult {
  const arena = check(ctx, ind, false);
  if (typeof arena !== "number") return arena;
  resetLocked(ctx, arena);
  return 0;
}

/** reset + full purge; the index is retired and reused by the next arenas.create. */
export function arenaDestroy(ctx: HeapCtx, ind: number): ArenaOpResult {
  const arena = check(ctx, ind, true);
  if (typeof arena !== "number") return arena;
  resetLocked(ctx, arena);
  arenaDecay(ctx, arena, PURGE_ON_EPOCH_ADVANCE, true);
  heapLock(ctx, HDR_LOCK_ARENAS_B);
  try {
    ctx.u32[(arenaFieldsB(ctx, arena) + ARENA_STATE_B) >>> 2] = ARENA_STATE_DESTROYED;
    ctx.i32[HDR_LAST_DESTROYED_B >>> 2] = ind;
  } finally {
    heapUnlock(ctx, HDR_LOCK_ARENAS_B);
  }
  return 0;
}
