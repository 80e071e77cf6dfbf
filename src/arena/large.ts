/**
 * large: allocations of LARGE_MINCLASS and up (jemalloc's large.c). Each is one extent of
 * usize + one page (the cache-oblivious pad); the returned address is offset into that first page by a
 * random multiple of the cache line when the alignment allows, as jemalloc does. Growth and shrinking
 * happen in place when the neighbouring pages allow (pa_expand / pa_shrink).
 * Manual arenas track their large extents in a list (for arena reset).
 */
import type { HeapCtx } from "../ctx/ctx.js";
import {
  EDATA_W_LIST_NEXT,
  EDATA_W_LIST_PREV,
  EXTENT_STATE_ACTIVE,
  EXTENT_STATE_MERGING,
  edataAddr,
  edataAddrSet,
  edataArena,
  edataBase,
  edataSize,
  edataState,
  edataStateSet,
  edataSzind,
} from "../extent/edata.js";
import { paAllocLocked, pacLock, pacUnlock, paDallocLocked, paExpand, paShrink } from "../extent/pac.js";
import { PAC_OFFSET_STATE_B } from "../extent/pac_layout.js";
import { alignUp, lgFloor } from "../layout/index.js";
import { arenaHandleDeferredWork } from "./decay.js";
import {
  ARENA_LARGE_HEAD_B,
  ARENA_LARGE_TAIL_B,
  arenaIsAuto,
  LSTATS_BYTES,
  LSTATS_NDALLOC,
  LSTATS_NMALLOC,
} from "./layout.js";
import { slabMarkInFlight } from "./slab.js";

export const CACHELINE = 64;
const LG_CACHELINE = 6;

export function arenaRecordByInd(ctx: HeapCtx, ind: number): number {
  return Atomics.load(ctx.i32, (ctx.hdr.arenaTableB >>> 2) + ind) >>> 0;
}

function lstatAdd(ctx: HeapCtx, arena: number, usize: number, stat: number, v: number): void {
  if (!ctx.opt.stats) return;
  const sc = ctx.sc;
  lstatAddInd(ctx, arena, sc.size2index(usize < sc.largeMinclass ? sc.largeMinclass : usize), stat, v);
}

/** lstatAdd by class index (a large extent's szind: no size arithmetic on the free path). */
function lstatAddInd(ctx: HeapCtx, arena: number, ind: number, stat: number, v: number): void {
  if (!ctx.opt.stats) return;
  const nbins = ctx.sc.nbins;
  const d =
    ((arena + ctx.arenaLayout.lstatsB + ((ind < nbins ? nbins : ind) - nbins) * LSTATS_BYTES) >>> 3) + stat;
  ctx.f64[d] = ctx.f64[d]! + v;
}

function largeListAppend(ctx: HeapCtx, arena: number, e: number): void {
  const u32 = ctx.u32;
  const f = arena + ctx.arenaLayout.arenaFieldsB;
  const tail = u32[(f + ARENA_LARGE_TAIL_B) >>> 2]!;
  u32[(e >>> 2) + EDATA_W_LIST_PREV] = tail;
  u32[(e >>> 2) + EDATA_W_LIST_NEXT] = 0;
  if (tail === 0) u32[(f + ARENA_LARGE_HEAD_B) >>> 2] = e;
  else u32[(tail >>> 2) + EDATA_W_LIST_NEXT] = e;
  u32[(f + ARENA_LARGE_TAIL_B) >>> 2] = e;
}

function largeListRemove(ctx: HeapCtx, arena: number, e: number): void {
  const u32 = ctx.u32;
  const f = arena + ctx.arenaLayout.arenaFieldsB;
  const prev = u32[(e >>> 2) + EDATA_W_LIST_PREV]!;
  const next = u32[(e >>> 2) + EDATA_W_LIST_NEXT]!;
  if (prev === 0) u32[(f + ARENA_LARGE_HEAD_B) >>> 2] = next;
  else u32[(prev >>> 2) + EDATA_W_LIST_NEXT] = next;
  if (next === 0) u32[(f + ARENA_LARGE_TAIL_B) >>> 2] = prev;
  else u32[(next >>> 2) + EDATA_W_LIST_PREV] = prev;
  u32[(e >>> 2) + EDATA_W_LIST_PREV] = 0;
  u32[(e >>> 2) + EDATA_W_LIST_NEXT] = 0;
}

export function largeListFirst(ctx: HeapCtx, arena: number): number {
  return ctx.u32[(arena + ctx.arenaLayout.arenaFieldsB + ARENA_LARGE_HEAD_B) >>> 2]!;
}

/** Usable size of a large extent. */
export function largeUsize(ctx: HeapCtx, e: number): number {
  return ctx.sc.index2size(edataSzind(ctx.u32, e));
}

/** lg of `alignment` rounded up to whole cache lines (out of line: malloc's alignment is one line). */
function lgLineAlign(alignment: number): number {
  return lgFloor(alignUp(alignment, CACHELINE));
}

/** arena_cache_oblivious_randomize: offset into the pad page by a random multiple of the line. */
function cacheObliviousRandomize(ctx: HeapCtx, arena: number, e: number, alignment: number): void {
  if (alignment >= ctx.page) return;
  // lg of the line-rounded alignment: 6 (one line) for every alignment up to CACHELINE.
  const lgAlign = alignment <= CACHELINE ? LG_CACHELINE : lgLineAlign(alignment);
  const lgRange = ctx.lgPage - lgAlign;
  const w = (arena + PAC_OFFSET_STATE_B) >>> 2;
  const s = (Math.imul(ctx.u32[w]!, 1103515245) + 12345) >>> 0;
  ctx.u32[w] = s;
  const r = lgRange === 0 ? 0 : s >>> (32 - lgRange);
  // r · 2^lgAlign < page: a shift.
  edataAddrSet(ctx.u32, e, edataBase(ctx.u32, e) + (r << lgAlign));
}

/** large_palloc on a chosen arena: the extent record, or 0 on OOM. */
export function largeAlloc(
  ctx: HeapCtx,
  arena: number,
  usize: number,
  alignment: number,
  zero: boolean,
  knownSzind = -1,
): number {
  const sc = ctx.sc;
  // arena_malloc_hard already has the class of usize: no second size2index on the large path.
  const szind = knownSzind >= 0 && sc.index2size(knownSzind) === usize ? knownSzind : sc.size2index(usize);
  // One critical section for the extent, its statistics, offset and list (one lock pair per call).
  pacLock(ctx, arena);
  try {
    const e = paAllocLocked(ctx, arena, usize + sc.largePad, alignment, false, szind, zero);
    if (e === 0) return 0;
    lstatAddInd(ctx, arena, szind, LSTATS_NMALLOC, 1);
    cacheObliviousRandomize(ctx, arena, e, alignment);
    if (!arenaIsAuto(ctx, arena)) largeListAppend(ctx, arena, e);
    return e;
  } finally {
    pacUnlock(ctx, arena);
  }
}

/** large_dalloc_prep_locked: statistics and the manual arena's list (extent lock held). */
export function largeDallocPrepLocked(ctx: HeapCtx, arena: number, e: number): void {
  edataStateSet(ctx.u32, e, EXTENT_STATE_MERGING);
  slabMarkInFlight(ctx.u32, e, ctx.ownerTag); // claimed: given back after the unlock
  lstatAddInd(ctx, arena, edataSzind(ctx.u32, e), LSTATS_NDALLOC, 1);
  if (!arenaIsAuto(ctx, arena)) largeListRemove(ctx, arena, e);
}

/**
 * large_dalloc: statistics, list, then the page allocator. False if `e` was not active (double free).
 * `arena`: e's arena record when the caller has it already.
 */
export function largeDalloc(
  ctx: HeapCtx,
  e: number,
  arena = arenaRecordByInd(ctx, edataArena(ctx.u32, e)),
): boolean {
  // One critical section: the claim, statistics and list, then pa_dalloc (one lock pair per call).
  pacLock(ctx, arena);
  try {
    if (edataState(ctx.u32, e) !== EXTENT_STATE_ACTIVE) return false;
    // Claimed: a racing second free of the same block now fails the check above.
    edataStateSet(ctx.u32, e, EXTENT_STATE_MERGING);
    slabMarkInFlight(ctx.u32, e, ctx.ownerTag); // as a freed slab's mark (heap/inflight.ts)
    lstatAddInd(ctx, arena, edataSzind(ctx.u32, e), LSTATS_NDALLOC, 1);
    if (!arenaIsAuto(ctx, arena)) largeListRemove(ctx, arena, e);
    paDallocLocked(ctx, arena, e);
  } finally {
    pacUnlock(ctx, arena);
  }
  arenaHandleDeferredWork(ctx, arena);
  return true;
}

function rallocStats(ctx: HeapCtx, arena: number, oldUsize: number, usize: number): void {
  pacLock(ctx, arena);
  lstatAdd(ctx, arena, oldUsize, LSTATS_NDALLOC, 1);
  lstatAdd(ctx, arena, usize, LSTATS_NMALLOC, 1);
  pacUnlock(ctx, arena);
}

/** large_ralloc_no_move_expand. True on failure. */
function expandInPlace(ctx: HeapCtx, e: number, usize: number, zero: boolean): boolean {
  const sc = ctx.sc;
  const arena = arenaRecordByInd(ctx, edataArena(ctx.u32, e));
  const oldSize = edataSize(ctx.u32, e);
  const oldUsize = largeUsize(ctx, e);
  if (paExpand(ctx, arena, e, oldSize, usize + sc.largePad, sc.size2index(usize), zero)) return true;
  if (zero) {
    // The new pages came zeroed; clear the tail of the old last page up to the next page boundary.
    const zbase = edataAddr(ctx.u32, e) + oldUsize;
    const zpast = Math.floor((zbase + ctx.page) / ctx.page) * ctx.page;
    ctx.u8.fill(0, zbase, zpast);
  }
  rallocStats(ctx, arena, oldUsize, usize);
  return false;
}

/** large_ralloc_no_move_shrink. True on failure. */
function shrinkInPlace(ctx: HeapCtx, e: number, usize: number): boolean {
  const sc = ctx.sc;
  const arena = arenaRecordByInd(ctx, edataArena(ctx.u32, e));
  const oldSize = edataSize(ctx.u32, e);
  const oldUsize = largeUsize(ctx, e);
  if (paShrink(ctx, arena, e, oldSize, usize + sc.largePad, sc.size2index(usize))) return true;
  arenaHandleDeferredWork(ctx, arena);
  rallocStats(ctx, arena, oldUsize, usize);
  return false;
}

/**
 * large_ralloc_no_move: resize in place to a usable size in [usizeMin, usizeMax]. True on failure.
 * (The usizeMin retry mirrors jemalloc 5.3 exactly, including its inverted test.)
 */
export function largeRallocNoMove(
  ctx: HeapCtx,
  e: number,
  usizeMin: number,
  usizeMax: number,
  zero: boolean,
): boolean {
  const oldUsize = largeUsize(ctx, e);
  if (usizeMax > oldUsize) {
    if (!expandInPlace(ctx, e, usizeMax, zero)) return false;
    if (usizeMin < usizeMax && usizeMin > oldUsize && expandInPlace(ctx, e, usizeMin, zero)) return false;
  }
  if (oldUsize >= usizeMin && oldUsize <= usizeMax) return false;
  if (oldUsize > usizeMax && !shrinkInPlace(ctx, e, usizeMax)) return false;
  return true;
}
