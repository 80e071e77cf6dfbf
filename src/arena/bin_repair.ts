/**
 * bin_repair: makes a bin consistent again after a thread died holding its lock (the POSIX robust
 * mutex's EOWNERDEAD → "make the state consistent" step; RELIABILITY.md §5.3).
 *
 * The slab bitmaps are the truth: every other word of a bin is derived from them. A region is taken
 * or given back by a single bitmap-word store, so a dead thread leaves each region either allocated or
 * free, never half; what it can leave behind is everything derived — a slab's nfree, slabcur, the
 * non-full heap (possibly mid-meld), the full list, and the counters (curregs, curslabs,
 * nonfull_slabs, nmalloc). The repair recomputes all of them from the bin's slabs, found in the page
 * map (the bin itself cannot be trusted to list them):
 *   - a slab the bin did not link that carries an in-flight mark (heap/inflight.ts: a fresh slab
 *     before its installation, an emptied one on its way back) is its holder's, not the bin's, and is
 *     left alone (a dead holder's reclaim gives it back);
 *   - every other active slab of this arena, bin class and shard the page map names belongs to the
 *     bin: linked ones, full ones (an automatic arena lists none), and an unmarked empty one — the
 *     dead holder stopped between taking a fresh slab's mark off and installing it, or between
 *     unlinking an emptied slab and marking it. The latter is kept as an empty non-full slab.
 * The walk runs under the arena's extent lock too (bins rank before extents), so no live thread is
 * half-way through making a slab in the page allocator (where it is marked before it is a slab).
 * Statistics that only count events (nrequests, nfills, …) keep their values; nmalloc is raised or
 * lowered so that nmalloc − ndalloc = curregs again (the dead thread's last, uncounted operations).
 *
 * Synchronization: the caller holds the bin's lock, and the repair takes the arena's extent lock.
 * Slabs of this bin cannot enter or leave it without the bin lock, nor become slabs without the extent
 * lock; the page-map walk reads other arenas' entries racily and filters them out.
 */

import type { HeapCtx } from "../ctx/ctx.js";
import {
  EDATA_W_BM_HINT,
  EDATA_W_LIST_NEXT,
  EDATA_W_LIST_PREV,
  EDATA_W_NFREE,
  EDATA_W_PH_PARENT,
  EXTENT_STATE_ACTIVE,
  edataArena,
  edataBinshard,
  edataSlab,
  edataState,
  edataSzind,
} from "../extent/edata.js";
import { emapRecords } from "../extent/emap.js";
import { heapLock, heapUnlock } from "../extent/lock.js";
import { PAC_LOCK_B } from "../extent/pac_layout.js";
import { phForEach, phInsert } from "../extent/ph.js";
import {
  ARENA_IS_AUTO_B,
  BIN_FULL_HEAD_B,
  BIN_FULL_TAIL_B,
  BIN_NONFULL_ROOT_B,
  BIN_SLABCUR_B,
  BIN_STATS_B,
  BSTATS_CURREGS,
  BSTATS_CURSLABS,
  BSTATS_NDALLOC,
  BSTATS_NMALLOC,
  BSTATS_NONFULL_SLABS,
} from "./layout.js";
import { slabPopcount } from "./slab.js";

/** Bound on heap members visited while reading a possibly broken heap. */
const HEAP_WALK_LIMIT = 1 << 20;

export interface BinRepairReport {
  slabs: number;
  regions: number;
  /** Derived words that differed from the bitmaps and were rewritten. */
  fixed: number;
}

/** Every active slab of (arena `ind`, bin class `binind`, shard `shard`) named by the page map. */
function slabsInPageMap(ctx: HeapCtx, ind: number, binind: number, shard: number): number[] {
  return emapRecords(
    ctx,
    (u32, e) =>
      edataState(u32, e) === EXTENT_STATE_ACTIVE &&
      edataSlab(u32, e) &&
      edataArena(u32, e) === ind &&
      edataSzind(u32, e) === binind &&
      edataBinshard(u32, e) === shard,
  );
}

function setStat(ctx: HeapCtx, bin: number, stat: number, v: number): number {
  const d = ((bin + BIN_STATS_B) >>> 3) + stat;
  if (ctx.f64[d] === v) return 0;
  ctx.f64[d] = v;
  return 1;
}

/**
 * Rebuilds bin `bin` (arena record `arena`, index `ind`) from its slabs' bitmaps. The caller holds the
 * bin lock, taken over from a dead holder.
 */
export function binRepair(
  ctx: HeapCtx,
  arena: number,
  ind: number,
  bin: number,
  binind: number,
  shard: number,
): BinRepairReport {
  const u32 = ctx.u32;
  const nregs = ctx.sc.binNregs[binind]!;
  const linked = new Set<number>();
  const cur0 = u32[(bin + BIN_SLABCUR_B) >>> 2]!;
  if (cur0 !== 0) linked.add(cur0);
  phForEach(u32, (bin + BIN_NONFULL_ROOT_B) >>> 2, HEAP_WALK_LIMIT, (e) => linked.add(e));
  const report: BinRepairReport = { slabs: 0, regions: 0, fixed: 0 };
  const keep: number[] = [];
  heapLock(ctx, arena + PAC_LOCK_B);
  let mine: number[];
  try {
    mine = slabsInPageMap(ctx, ind, binind, shard);
  } finally {
    heapUnlock(ctx, arena + PAC_LOCK_B);
  }
  for (const e of mine) {
    // Marked in flight: its holder's (installing clears the mark, so a linked slab has none).
    if (!linked.has(e) && (u32[(e >>> 2) + EDATA_W_PH_PARENT]! & 1) === 1) continue;
    const used = slabPopcount(u32, e, nregs);
    if (u32[(e >>> 2) + EDATA_W_NFREE] !== nregs - used) report.fixed++;
    u32[(e >>> 2) + EDATA_W_NFREE] = nregs - used;
    u32[(e >>> 2) + EDATA_W_BM_HINT] = 0;
    keep.push(e);
    report.regions += used;
  }
  report.slabs = keep.length;
  const isAuto = u32[(arena + ctx.arenaLayout.arenaFieldsB + ARENA_IS_AUTO_B) >>> 2] !== 0;
  const cur = keep.includes(cur0) ? cur0 : 0;
  if (cur !== cur0) report.fixed++;
  u32[(bin + BIN_SLABCUR_B) >>> 2] = cur;
  u32[(bin + BIN_NONFULL_ROOT_B) >>> 2] = 0;
  u32[(bin + BIN_FULL_HEAD_B) >>> 2] = 0;
  u32[(bin + BIN_FULL_TAIL_B) >>> 2] = 0;
  let nonfull = 0;
  for (const e of keep) {
    if (e === cur) continue;
    if (u32[(e >>> 2) + EDATA_W_NFREE]! > 0) {
      phInsert(u32, (bin + BIN_NONFULL_ROOT_B) >>> 2, e);
      nonfull++;
    } else if (!isAuto) {
      fullAppend(u32, bin, e);
    }
  }
  const f = ctx.f64;
  const statD = (bin + BIN_STATS_B) >>> 3;
  report.fixed += setStat(ctx, bin, BSTATS_CURREGS, report.regions);
  report.fixed += setStat(ctx, bin, BSTATS_CURSLABS, keep.length);
  report.fixed += setStat(ctx, bin, BSTATS_NONFULL_SLABS, nonfull);
  if (isAuto) {
    const ndalloc = Math.max(0, f[statD + BSTATS_NDALLOC]!);
    report.fixed += setStat(ctx, bin, BSTATS_NDALLOC, ndalloc);
    report.fixed += setStat(ctx, bin, BSTATS_NMALLOC, ndalloc + report.regions);
  }
  return report;
}

function fullAppend(u32: Uint32Array, bin: number, slab: number): void {
  const tail = u32[(bin + BIN_FULL_TAIL_B) >>> 2]!;
  u32[(slab >>> 2) + EDATA_W_LIST_PREV] = tail;
  u32[(slab >>> 2) + EDATA_W_LIST_NEXT] = 0;
  if (tail === 0) u32[(bin + BIN_FULL_HEAD_B) >>> 2] = slab;
  else u32[(tail >>> 2) + EDATA_W_LIST_NEXT] = slab;
  u32[(bin + BIN_FULL_TAIL_B) >>> 2] = slab;
}
