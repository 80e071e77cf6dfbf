/**
 * emap: the page map (jemalloc's emap over an rtree): page → extent record, O(1), two levels.
 * The root (in the header) holds leaf offsets; a leaf holds one u32 record offset per page and covers
 * 2^RTREE_LEAF_BITS pages. Leaves are carved from b0 on first use and never freed.
 *
 * Every extent registers its first and last page; a slab also registers its interior pages, so any
 * pointer into a slab finds its slab. Entries can be stale (a page once covered by another extent), so
 * every reader checks that the record it found really covers the address (emapLookupChecked) — a
 * wrong pointer from a caller can never reach a record that does not own it.
 *
 * Synchronization: entries of an arena's extents are written under that arena's extent lock; leaf
 * creation is under b0's lock and published with Atomics.store; reads are plain (same-width, racy
 * reads see either the old or the new offset, both re-checked).
 */

import type { HeapCtx } from "../ctx/ctx.js";
import { HDR_BASE0_B, RTREE_LEAF_BITS } from "../ctx/header.js";
import { baseAlloc } from "./base.js";
import { EXTENT_STATE_CACHED, edataBase, edataIsRecord, edataSize, edataSlab, edataState } from "./edata.js";

const LEAF_ENTRIES = 2 ** RTREE_LEAF_BITS;
const LEAF_MASK = LEAF_ENTRIES - 1;

/** Record covering the page of `addr` as the map says (may be stale or 0). No lock. */
export function emapRead(ctx: HeapCtx, addr: number): number {
  // A shift for every offset of a 32-bit heap (no float division on the free and flush paths); any
  // other number is out of line.
  if (!(addr < 4294967296 && addr >= 0)) return emapReadOther(ctx, addr);
  const page = addr >>> ctx.lgPage;
  const leaf = ctx.u32[(ctx.hdr.rtreeRootB >>> 2) + (page >>> RTREE_LEAF_BITS)];
  if (leaf === undefined || leaf === 0) return 0;
  return ctx.u32[(leaf >>> 2) + (page & LEAF_MASK)]!;
}

/** emapRead for an address outside [0, 2^32) (or not a number): the same lookup by division. */
function emapReadOther(ctx: HeapCtx, addr: number): number {
  const page = Math.floor(addr / ctx.page);
  const leaf = ctx.u32[(ctx.hdr.rtreeRootB >>> 2) + (page >>> RTREE_LEAF_BITS)];
  if (leaf === undefined || leaf === 0) return 0;
  return ctx.u32[(leaf >>> 2) + (page & LEAF_MASK)]!;
}

/** The live record that covers `addr`, or 0. Checks the record's range and that it is in use. */
export function emapLookupChecked(ctx: HeapCtx, addr: number): number {
  const e = emapRead(ctx, addr);
  if (e === 0 || !edataIsRecord(ctx.u32, e)) return 0;
  const base = edataBase(ctx.u32, e);
  if (addr < base || addr >= base + edataSize(ctx.u32, e)) return 0;
  if (edataState(ctx.u32, e) === EXTENT_STATE_CACHED) return 0;
  return e;
}

function leafFor(ctx: HeapCtx, page: number): number {
  const rootW = (ctx.hdr.rtreeRootB >>> 2) + (page >>> RTREE_LEAF_BITS);
  // A published leaf never changes: a plain read that sees it is enough (0 may be stale: re-read atomically).
  const leaf = ctx.u32[rootW]!;
  if (leaf !== 0) return leaf;
  return leafCreate(ctx, rootW);
}

function leafCreate(ctx: HeapCtx, rootW: number): number {
  const leaf = Atomics.load(ctx.i32, rootW) >>> 0;
  if (leaf !== 0) return leaf;
  const b0 = ctx.u32[HDR_BASE0_B >>> 2]!;
  const fresh = baseAlloc(ctx, b0, LEAF_ENTRIES * 4, 64);
  if (fresh === 0) return 0;
  // Two threads may race to create the same leaf: the loser's block stays unused (b0 never frees).
  const prev = Atomics.compareExchange(ctx.i32, rootW, 0, fresh | 0) >>> 0;
  return prev === 0 ? fresh : prev;
}

function setPage(ctx: HeapCtx, page: number, e: number): boolean {
  const leaf = leafFor(ctx, page);
  if (leaf === 0) return false;
  ctx.u32[(leaf >>> 2) + (page & LEAF_MASK)] = e;
  return true;
}

function clearPage(ctx: HeapCtx, page: number, e: number): void {
  const leaf = ctx.u32[(ctx.hdr.rtreeRootB >>> 2) + (page >>> RTREE_LEAF_BITS)]!;
  if (leaf === 0) return;
  const w = (leaf >>> 2) + (page & LEAF_MASK);
  if (ctx.u32[w] === e) ctx.u32[w] = 0;
}

/**
 * Creates the leaves covering pages [first, last] (all of them when `interior`, else the two ends'),
 * so the writes that follow cannot fail half-way (emap_register_boundary's lookups). False on OOM.
 */
function leavesReady(ctx: HeapCtx, first: number, last: number, interior: boolean): boolean {
  if (leafFor(ctx, first) === 0 || leafFor(ctx, last) === 0) return false;
  if (!interior) return true;
  for (let l = (first >>> RTREE_LEAF_BITS) + 1; l < last >>> RTREE_LEAF_BITS; l++) {
    if (leafFor(ctx, l * LEAF_ENTRIES) === 0) return false;
  }
  return true;
}

/** Creates the leaves for the first and last page of [addr, addr + size) (extent_split's prepare). */
export function emapPrepare(ctx: HeapCtx, addr: number, size: number): boolean {
  // addr and size are page multiples below 2^32 (record words): shifts, not divisions.
  const first = addr >>> ctx.lgPage;
  return leavesReady(ctx, first, first + (size >>> ctx.lgPage) - 1, false);
}

/**
 * Maps the first and last page of `e` to it (and every page if it is a slab). False on OOM, with
 * no page mapped.
 */
export function emapRegister(ctx: HeapCtx, e: number): boolean {
  const u32 = ctx.u32;
  if (edataSlab(u32, e)) return emapRegisterSlab(ctx, e);
  const first = edataBase(u32, e) >>> ctx.lgPage;
  const last = first + (edataSize(u32, e) >>> ctx.lgPage) - 1;
  // Both leaves first (none mapped on OOM); one lookup when both ends share a leaf.
  const leafFirst = leafFor(ctx, first);
  if (leafFirst === 0) return false;
  const leafLast = last >>> RTREE_LEAF_BITS === first >>> RTREE_LEAF_BITS ? leafFirst : leafFor(ctx, last);
  if (leafLast === 0) return false;
  u32[(leafFirst >>> 2) + (first & LEAF_MASK)] = e;
  u32[(leafLast >>> 2) + (last & LEAF_MASK)] = e;
  return true;
}

function emapRegisterSlab(ctx: HeapCtx, e: number): boolean {
  const u32 = ctx.u32;
  const first = edataBase(u32, e) >>> ctx.lgPage;
  const last = first + (edataSize(u32, e) >>> ctx.lgPage) - 1;
  if (!leavesReady(ctx, first, last, true)) return false;
  if (!setPage(ctx, first, e) || !setPage(ctx, last, e)) return false;
  return emapRegisterInterior(ctx, e);
}

/** Maps the interior pages of a slab (jemalloc's emap_register_interior). False on OOM, none mapped. */
export function emapRegisterInterior(ctx: HeapCtx, e: number): boolean {
  const u32 = ctx.u32;
  const first = edataBase(u32, e) >>> ctx.lgPage;
  const last = first + (edataSize(u32, e) >>> ctx.lgPage) - 1;
  if (!leavesReady(ctx, first, last, true)) return false;
  for (let p = first + 1; p < last; p++) if (!setPage(ctx, p, e)) return false;
  return true;
}

export function emapDeregister(ctx: HeapCtx, e: number): void {
  const u32 = ctx.u32;
  const first = edataBase(u32, e) >>> ctx.lgPage;
  const last = first + (edataSize(u32, e) >>> ctx.lgPage) - 1;
  // Only a slab has its interior registered: any other extent clears two entries, whatever its size.
  if (edataSlab(u32, e)) {
    for (let p = first; p <= last; p++) clearPage(ctx, p, e);
    return;
  }
  clearPage(ctx, first, e);
  if (last !== first) clearPage(ctx, last, e);
}

/**
 * The page-map part of splitting a (non-slab) extent: `e` keeps [base, base + sizeA) and `trail` (its
 * record already written) takes the rest. e's first page names e already; e's new last page and the
 * trail's two ends are written (emap_split_commit). The leaves exist: emapPrepare made the two around
 * the cut, and the trail's last page was e's. False on OOM, with nothing written.
 */
export function emapSplitCommit(ctx: HeapCtx, e: number, trail: number): boolean {
  const u32 = ctx.u32;
  const firstB = edataBase(u32, trail) >>> ctx.lgPage;
  const lastB = firstB + (edataSize(u32, trail) >>> ctx.lgPage) - 1;
  const leafA = leafFor(ctx, firstB - 1);
  const leafB =
    firstB >>> RTREE_LEAF_BITS === (firstB - 1) >>> RTREE_LEAF_BITS ? leafA : leafFor(ctx, firstB);
  const leafLast = lastB >>> RTREE_LEAF_BITS === firstB >>> RTREE_LEAF_BITS ? leafB : leafFor(ctx, lastB);
  if (leafA === 0 || leafB === 0 || leafLast === 0) return false;
  u32[(leafA >>> 2) + ((firstB - 1) & LEAF_MASK)] = e;
  u32[(leafB >>> 2) + (firstB & LEAF_MASK)] = trail;
  u32[(leafLast >>> 2) + (lastB & LEAF_MASK)] = trail;
  return true;
}

/**
 * The page-map part of merging (non-slab) `b`, just above `a`, into `a`: b's first page becomes
 * interior (cleared if it still names b) and its last page names `a`; a's first page names a already
 * (emap_merge_commit). Call before the records merge (b's size is read).
 */
export function emapMergeCommit(ctx: HeapCtx, a: number, b: number): void {
  const u32 = ctx.u32;
  const first = edataBase(u32, b) >>> ctx.lgPage;
  const last = first + (edataSize(u32, b) >>> ctx.lgPage) - 1;
  clearPage(ctx, first, b);
  setPage(ctx, last, a); // b is registered: its last page's leaf exists
}

/** Clears the interior pages of a slab that stops being a slab. */
export function emapDeregisterInterior(ctx: HeapCtx, e: number): void {
  const u32 = ctx.u32;
  const first = edataBase(u32, e) >>> ctx.lgPage;
  const last = first + (edataSize(u32, e) >>> ctx.lgPage) - 1;
  for (let p = first + 1; p < last; p++) clearPage(ctx, p, e);
}

/**
 * Every distinct extent record the page map names for which `keep` holds (recovery and repair walks;
 * no lock: the caller holds what makes the answer meaningful). Stale entries are skipped.
 */
export function emapRecords(ctx: HeapCtx, keep: (u32: Uint32Array, e: number) => boolean): number[] {
  const u32 = ctx.u32;
  const out: number[] = [];
  const seen = new Set<number>();
  const rootW = ctx.hdr.rtreeRootB >>> 2;
  const leafEntries = 2 ** RTREE_LEAF_BITS;
  for (let r = 0; r < ctx.hdr.rtreeRootEntries; r++) {
    const leaf = u32[rootW + r]!;
    if (leaf === 0) continue;
    for (let k = 0; k < leafEntries; k++) {
      const e = u32[(leaf >>> 2) + k]!;
      if (e === 0 || seen.has(e)) continue;
      seen.add(e);
      if (edataIsRecord(u32, e) && keep(u32, e)) out.push(e);
    }
  }
  return out;
}
