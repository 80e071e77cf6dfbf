/**
 * map: a snapshot of the heap's whole address space for a live heap map (heap.map()). Every extent of
 * every arena, in address order, with its state and, for slabs, the size class and free/total regions.
 *
 * Synchronization: an arena's extents and their page-map entries change only under that arena's
 * extent lock, so each arena is walked with its lock held (one at a time, never nested): the walk of one
 * arena is consistent, arenas are each a moment apart. A slab's nfree word changes under its bin lock;
 * it is read as one atomic word while the extent lock keeps the slab itself in place. Never blocks a
 * thread that cannot block (the lock spins there).
 */
import { arenaRecordByInd, narenasTotal } from "../arena/arena.js";
import type { HeapCtx } from "../ctx/ctx.js";
import { HDR_HEADER_BYTES_B, HDR_MAX_BYTES_B, HDR_TOP_B, RTREE_LEAF_BITS } from "../ctx/header.js";
import {
  EDATA_W_NFREE,
  EXTENT_STATE_ACTIVE,
  EXTENT_STATE_DIRTY,
  EXTENT_STATE_MUZZY,
  EXTENT_STATE_RETAINED,
  edataArena,
  edataBase,
  edataIsRecord,
  edataSize,
  edataSlab,
  edataState,
  edataSzind,
} from "../extent/edata.js";
import { emapRead } from "../extent/emap.js";
import { heapLock, heapUnlock } from "../extent/lock.js";
import { PAC_LOCK_B } from "../extent/pac_layout.js";

export type ExtentStateName = "active" | "dirty" | "muzzy" | "retained";

/** One extent: a run of pages owned by one arena. */
export interface HeapMapExtent {
  /** Byte offset of its first page. */
  address: number;
  size: number;
  state: ExtentStateName;
  arena: number;
  /** Active extents: the size class (bytes) of the slab's regions or of the large allocation. */
  sizeClass?: number;
  /** Slabs only: free regions. */
  nfree?: number;
  /** Slabs only: regions per slab. */
  nregs?: number;
}

/** Per-state byte totals. */
export interface HeapMapTotals {
  active: number;
  dirty: number;
  muzzy: number;
  retained: number;
}

export interface HeapMapArena {
  index: number;
  totals: HeapMapTotals;
  extents: number;
  slabs: number;
}

export interface HeapMapSnapshot {
  pageBytes: number;
  /** Bytes before the first extent that hold the heap's header and page-map root. */
  headerBytes: number;
  /** End of the carved address space (extents and metadata lie below it). */
  topBytes: number;
  maxBytes: number;
  arenas: HeapMapArena[];
  /** All extents of all arenas, by address. */
  extents: HeapMapExtent[];
  totals: HeapMapTotals;
}

const STATE_NAMES: Record<number, ExtentStateName> = {
  [EXTENT_STATE_ACTIVE]: "active",
  [EXTENT_STATE_DIRTY]: "dirty",
  [EXTENT_STATE_MUZZY]: "muzzy",
  [EXTENT_STATE_RETAINED]: "retained",
};

function zeroTotals(): HeapMapTotals {
  return { active: 0, dirty: 0, muzzy: 0, retained: 0 };
}

function describe(ctx: HeapCtx, e: number, ind: number, state: ExtentStateName): HeapMapExtent {
  const u32 = ctx.u32;
  const x: HeapMapExtent = { address: edataBase(u32, e), size: edataSize(u32, e), state, arena: ind };
  if (state !== "active") return x;
  const szind = edataSzind(u32, e);
  if (szind < ctx.sc.nsizes) x.sizeClass = ctx.sc.index2size(szind);
  if (edataSlab(u32, e) && szind < ctx.sc.nbins) {
    x.nfree = Atomics.load(ctx.i32, (e >>> 2) + EDATA_W_NFREE);
    x.nregs = ctx.sc.binNregs[szind]!;
  }
  return x;
}

/** Extents of arena `ind` (its extent lock held): each record found through the page map once. */
function walkArena(ctx: HeapCtx, ind: number, out: HeapMapExtent[]): void {
  const seen = new Set<number>();
  const rootW = ctx.hdr.rtreeRootB >>> 2;
  const leafEntries = 2 ** RTREE_LEAF_BITS;
  const lastPage = Math.ceil(ctx.f64[HDR_TOP_B >>> 3]! / ctx.page);
  const nroots = Math.min(ctx.hdr.rtreeRootEntries, Math.ceil(lastPage / leafEntries));
  for (let r = 0; r < nroots; r++) {
    const leaf = Atomics.load(ctx.i32, rootW + r) >>> 0;
    if (leaf === 0) continue;
    for (let k = 0; k < leafEntries; k++) {
      const e = ctx.u32[(leaf >>> 2) + k]!;
      if (e === 0 || seen.has(e) || !edataIsRecord(ctx.u32, e)) continue;
      seen.add(e);
      if (edataArena(ctx.u32, e) !== ind) continue;
      const state = STATE_NAMES[edataState(ctx.u32, e)];
      // Stale entries (a page once covered by a record since recycled) do not name the record's base.
      if (state === undefined || emapRead(ctx, edataBase(ctx.u32, e)) !== e) continue;
      out.push(describe(ctx, e, ind, state));
    }
  }
}

/** heap.map(): see the module comment. */
export function heapMap(ctx: HeapCtx): HeapMapSnapshot {
  const extents: HeapMapExtent[] = [];
  const arenas: HeapMapArena[] = [];
  const n = narenasTotal(ctx);
  for (let ind = 0; ind < n; ind++) {
    const arena = arenaRecordByInd(ctx, ind);
    if (arena === 0) continue;
    const from = extents.length;
    heapLock(ctx, arena + PAC_LOCK_B);
    try {
      walkArena(ctx, ind, extents);
    } finally {
      heapUnlock(ctx, arena + PAC_LOCK_B);
    }
    const a: HeapMapArena = { index: ind, totals: zeroTotals(), extents: extents.length - from, slabs: 0 };
    for (let i = from; i < extents.length; i++) {
      const x = extents[i]!;
      a.totals[x.state] += x.size;
      if (x.nregs !== undefined) a.slabs++;
    }
    arenas.push(a);
  }
  extents.sort((a, b) => a.address - b.address);
  const totals = zeroTotals();
  for (const a of arenas) for (const k of Object.keys(totals) as ExtentStateName[]) totals[k] += a.totals[k];
  return {
    pageBytes: ctx.page,
    headerBytes: ctx.u32[HDR_HEADER_BYTES_B >>> 2]!,
    topBytes: ctx.f64[HDR_TOP_B >>> 3]!,
    maxBytes: ctx.f64[HDR_MAX_BYTES_B >>> 3]!,
    arenas,
    extents,
    totals,
  };
}
