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
 *   - a slab belongs to the bin when the page map names it as an active slab of this arena, bin class
 *     and shard with at least one allocated region, or when the bin already linked it (slabcur / heap);
 *   - an empty slab the bin did not link is in flight (a live thread's fresh slab, or a dead thread's,
 *     which its reclaim frees) and is left alone.
 * Statistics that only count events (nrequests, nfills, …) keep their values; nmalloc is raised or
 * lowered so that nmalloc − ndalloc = curregs again (the dead thread's last, uncounted operations).
 *
 * Synchronization: the caller holds the bin's lock. Slabs of this bin cannot enter or leave it
 * without that lock; the page-map walk reads other extents' entries racily and re-checks each record.
 */

import type { HeapCtx } from "../ctx/ctx.js";
import { emapRecords } from "../extent/emap.js";
import {
  EDATA_W_BM_HINT,
  EDATA_W_LIST_NEXT,
  EDATA_W_LIST_PREV,
  EDATA_W_NFREE,
  EXTENT_STATE_ACTIVE,
  edataArena,
  edataBinshard,
  edataSlab,
  edataState,
  edataSzind,
} from "../extent/edata.js";
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
  for (const e of slabsInPageMap(ctx, ind, binind, shard)) {
    const used = slabPopcount(u32, e, nregs);
    if (used === 0 && !linked.has(e)) continue; // in flight, not the bin's
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
