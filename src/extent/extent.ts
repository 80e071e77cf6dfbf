/**
 * extent: an arena's extent records — splitting and coalescing them and recording freed extents
 * (jemalloc's extent.c, rule for rule); allocation from the caches and growth are ecache.ts:
 *   record     coalesce: retained/muzzy at once and fully; dirty only for extents ≥ LARGE_MINCLASS
 *              (smaller ones wait for eviction), and a dirty result ≥ oversize_threshold is purged to
 *              retained at once unless a decay time is −1
 *   merges     never across a mapping's head (is_head), never across arenas or commit states
 * Every function here runs with the arena's extent lock held (PAC_LOCK_B); `pac` is the arena
 * record's offset. Results that jemalloc returns through out-parameters are returned in module-level
 * registers (splitLead / splitTrail / coalesced) so nothing allocates.
 */

import type { HeapCtx } from "../ctx/ctx.js";
import { DECAY_B_NMADVISE, DECAY_B_PURGED_PAGES, decayMsRead } from "../decay/index.js";
import { f64AddB } from "../layout/index.js";
import { baseAlloc } from "./base.js";
import {
  EDATA_BITS_COMMITTED_MASK,
  EDATA_BITS_HEAD_MASK,
  EDATA_BITS_SLAB_MASK,
  EDATA_BITS_STATE_MASK,
  EDATA_BITS_ZEROED_MASK,
  EDATA_W_ADDR,
  EDATA_W_ARENA,
  EDATA_W_BASE,
  EDATA_W_BITS,
  EDATA_W_LIST_NEXT,
  EDATA_W_SIZE,
  EDATA_W_SN,
  EDATA_W_SZIND,
  EXTENT_STATE_ACTIVE,
  EXTENT_STATE_CACHED,
  EXTENT_STATE_MERGING,
  EXTENT_STATE_MUZZY,
  edataAddrSet,
  edataArena,
  edataBase,
  edataCommitted,
  edataCommittedSet,
  edataInit,
  edataInitTail,
  edataIsRecord,
  edataSize,
  edataSizeSet,
  edataSlab,
  edataState,
  edataStateSet,
  edataZeroedSet,
} from "./edata.js";
import {
  ehooksDalloc,
  ehooksDecommit,
  ehooksMerge,
  ehooksPurgeForced,
  ehooksPurgeLazy,
  ehooksSplit,
} from "./ehooks.js";
import {
  emapDeregister,
  emapMergeCommit,
  emapPrepare,
  emapRead,
  emapRegister,
  emapSplitCommit,
} from "./emap.js";
import { esetDelayCoalesce, esetInsert, esetRemove, esetState } from "./eset.js";
import { INTENT_MERGE, INTENT_SPLIT, intentClear, intentSet, intentSetNeighbor } from "./intent.js";
import {
  PAC_ARENA_IND_B,
  PAC_BASE_B,
  PAC_EDATA_AVAIL_COUNT_B,
  PAC_EDATA_AVAIL_HEAD_B,
  PAC_MAPPED_B,
  PAC_OVERSIZE_THRESHOLD_B,
  PAC_SN_NEXT_B,
} from "./pac_layout.js";

// ---- small accessors ---------------------------------------------------------------------------

export function pacArenaInd(ctx: HeapCtx, pac: number): number {
  return ctx.u32[(pac + PAC_ARENA_IND_B) >>> 2]!;
}
export function pacEcacheDirty(ctx: HeapCtx, pac: number): number {
  return pac + ctx.arenaLayout.ecacheDirtyB;
}
export function pacEcacheMuzzy(ctx: HeapCtx, pac: number): number {
  return pac + ctx.arenaLayout.ecacheMuzzyB;
}
export function pacEcacheRetained(ctx: HeapCtx, pac: number): number {
  return pac + ctx.arenaLayout.ecacheRetainedB;
}
export function pacDecayDirty(ctx: HeapCtx, pac: number): number {
  return pac + ctx.arenaLayout.decayDirtyB;
}
export function pacDecayMuzzy(ctx: HeapCtx, pac: number): number {
  return pac + ctx.arenaLayout.decayMuzzyB;
}
export function snNext(ctx: HeapCtx, pac: number): number {
  const w = (pac + PAC_SN_NEXT_B) >>> 2;
  const sn = ctx.u32[w]!;
  ctx.u32[w] = sn + 1;
  return sn;
}

/** pac_decay_ms_get(pac, muzzy) != 0 */
export function pacMayHaveMuzzy(ctx: HeapCtx, pac: number): boolean {
  return decayMsRead(ctx, pacDecayMuzzy(ctx, pac)) !== 0;
}
/** extent_may_force_decay: neither decay time is −1. */
function mayForceDecay(ctx: HeapCtx, pac: number): boolean {
  return !(
    decayMsRead(ctx, pacDecayDirty(ctx, pac)) === -1 || decayMsRead(ctx, pacDecayMuzzy(ctx, pac)) === -1
  );
}

// ---- edata cache (extent_avail) -------------------------------------------------------------------

export function edataCacheGet(ctx: HeapCtx, pac: number): number {
  const u32 = ctx.u32;
  const head = u32[(pac + PAC_EDATA_AVAIL_HEAD_B) >>> 2]!;
  if (head !== 0) {
    u32[(pac + PAC_EDATA_AVAIL_HEAD_B) >>> 2] = u32[(head >>> 2) + EDATA_W_LIST_NEXT]!;
    u32[(pac + PAC_EDATA_AVAIL_COUNT_B) >>> 2] = u32[(pac + PAC_EDATA_AVAIL_COUNT_B) >>> 2]! - 1;
    return head;
  }
  return edataCacheGrow(ctx, pac);
}

/** A fresh record from the arena's base allocator (out of line: the cache usually has one). */
function edataCacheGrow(ctx: HeapCtx, pac: number): number {
  const u32 = ctx.u32;
  const e = baseAlloc(ctx, u32[(pac + PAC_BASE_B) >>> 2]!, ctx.edataBytes, 64);
  if (e !== 0)
    edataInit(u32, e, pacArenaInd(ctx, pac), 0, 0, false, 0, 0, EXTENT_STATE_CACHED, false, false, false);
  return e;
}

export function edataCachePut(ctx: HeapCtx, pac: number, e: number): void {
  const u32 = ctx.u32;
  edataStateSet(u32, e, EXTENT_STATE_CACHED);
  u32[(e >>> 2) + EDATA_W_LIST_NEXT] = u32[(pac + PAC_EDATA_AVAIL_HEAD_B) >>> 2]!;
  u32[(pac + PAC_EDATA_AVAIL_HEAD_B) >>> 2] = e;
  u32[(pac + PAC_EDATA_AVAIL_COUNT_B) >>> 2] = u32[(pac + PAC_EDATA_AVAIL_COUNT_B) >>> 2]! + 1;
}

// ---- split and merge ----------------------------------------------------------------------------

/** The bits a split's trail takes from its extent (edataInit of its state, zeroed and committed). */
const SPLIT_KEPT_BITS = EDATA_BITS_STATE_MASK | EDATA_BITS_COMMITTED_MASK | EDATA_BITS_ZEROED_MASK;

/** Whether the last failed extentSplit failed because the split hook refused (else: no metadata). */
export let splitHookRefused = false;

/**
 * The records' part of a split: `trail` becomes [base + sizeA, sizeB) with `e`'s state, serial
 * number, zeroed and committed flags, and `e` keeps the lead. Shared by the split and by the
 * recovery that finishes a split a dead thread left half done (heap/recover_intent.ts).
 */
export function extentSplitRecords(
  ctx: HeapCtx,
  e: number,
  trail: number,
  sizeA: number,
  sizeB: number,
): void {
  const u32 = ctx.u32;
  const we = e >>> 2;
  const w = trail >>> 2;
  const base = u32[we + EDATA_W_BASE]! + sizeA;
  // edataInit's record, written word by word (its tail shared): the state, committed and zeroed bits of e (not slab, not
  // head, no profiling count), no class, e's arena and serial number, links and slab fields cleared.
  u32[w + EDATA_W_ADDR] = base;
  u32[w + EDATA_W_BASE] = base;
  u32[w + EDATA_W_SIZE] = sizeB;
  u32[w + EDATA_W_BITS] = u32[we + EDATA_W_BITS]! & SPLIT_KEPT_BITS;
  u32[w + EDATA_W_SZIND] = ctx.sc.nsizes;
  u32[w + EDATA_W_ARENA] = u32[we + EDATA_W_ARENA]!;
  u32[w + EDATA_W_SN] = u32[we + EDATA_W_SN]!;
  edataInitTail(u32, trail);
  u32[we + EDATA_W_SIZE] = sizeA;
}

/**
 * The records' part of a merge: `a` becomes the active extent of `sizeBytes` with the older serial
 * number and zeroed only if both were. Shared with the recovery that finishes a merge.
 */
export function extentMergeRecords(u32: Uint32Array, a: number, b: number, sizeBytes: number): void {
  const wa = a >>> 2;
  const wb = b >>> 2;
  const bitsA = u32[wa + EDATA_W_BITS]!;
  // Active; zeroed only if both were (b's zeroed bit masks a's).
  u32[wa + EDATA_W_BITS] =
    ((bitsA & ~EDATA_BITS_STATE_MASK & ~(EDATA_BITS_ZEROED_MASK & ~u32[wb + EDATA_W_BITS]!)) |
      EXTENT_STATE_ACTIVE) >>>
    0;
  u32[wa + EDATA_W_SIZE] = sizeBytes;
  const snA = u32[wa + EDATA_W_SN]!;
  const snB = u32[wb + EDATA_W_SN]!;
  u32[wa + EDATA_W_SN] = snA < snB ? snA : snB;
}

/**
 * Splits `e` into [sizeA | sizeB]; `e` keeps the lead. Returns the trail, or 0 on failure with `e`
 * unchanged. As in jemalloc, the trail's record and the page-map leaves are had before the split hook
 * runs, so nothing can fail after it.
 */
export function extentSplit(ctx: HeapCtx, pac: number, e: number, sizeA: number, sizeB: number): number {
  const u32 = ctx.u32;
  const base = u32[(e >>> 2) + EDATA_W_BASE]!;
  splitHookRefused = false;
  const trail = edataCacheGet(ctx, pac);
  if (trail === 0) return 0;
  if (!emapPrepare(ctx, base + sizeA - ctx.page, 2 * ctx.page)) return splitDropTrail(ctx, pac, trail, false);
  if (ctx.hooks.size !== 0 && splitHookRefuses(ctx, e, sizeA, sizeB))
    return splitDropTrail(ctx, pac, trail, true);
  // From here to the registrations the page map is unsound: a taker finishes the split (intent.ts).
  intentSet(u32, pac, INTENT_SPLIT, e, trail, sizeA, sizeB, 0);
  extentSplitRecords(ctx, e, trail, sizeA, sizeB);
  if (ctx.failpoint !== null) ctx.failpoint("extent.split.mid");
  if ((u32[(e >>> 2) + EDATA_W_BITS]! & EDATA_BITS_SLAB_MASK) !== 0 || !emapSplitCommit(ctx, e, trail))
    return splitSlowCommit(ctx, pac, e, trail, sizeA + sizeB);
  intentClear(u32, pac);
  return trail;
}

// The split's rare paths, out of line so the common one stays small enough for V8 to inline.

/** The split did not start: the trail's record goes back (`refused`: the split hook said no). */
function splitDropTrail(ctx: HeapCtx, pac: number, trail: number, refused: boolean): number {
  edataCachePut(ctx, pac, trail);
  splitHookRefused = refused;
  return 0;
}

/** An installed split hook's answer (out of line: without hooks the split never calls it). */
function splitHookRefuses(ctx: HeapCtx, e: number, sizeA: number, sizeB: number): boolean {
  const u32 = ctx.u32;
  const size = sizeA + sizeB;
  return ehooksSplit(ctx, edataArena(u32, e), edataBase(u32, e), size, sizeA, sizeB, edataCommitted(u32, e));
}

/** A slab's registration (every page), or undoing a split the page map had no leaf for. */
function splitSlowCommit(ctx: HeapCtx, pac: number, e: number, trail: number, size: number): number {
  const u32 = ctx.u32;
  if (edataSlab(u32, e) && emapRegister(ctx, trail) && emapRegister(ctx, e)) {
    intentClear(u32, pac);
    return trail;
  }
  intentClear(u32, pac);
  edataSizeSet(u32, e, size);
  emapRegister(ctx, e);
  edataCachePut(ctx, pac, trail);
  return 0;
}

/** Merges `b` (just above `a`) into `a`. True on failure (the merge hook refused). */
export function extentMerge(ctx: HeapCtx, pac: number, a: number, b: number): boolean {
  const u32 = ctx.u32;
  if (ctx.hooks.size !== 0 && mergeHookRefuses(ctx, a, b)) return true;
  const availCount = u32[(pac + PAC_EDATA_AVAIL_COUNT_B) >>> 2]!;
  const sizeA = u32[(a >>> 2) + EDATA_W_SIZE]!;
  const sizeB = u32[(b >>> 2) + EDATA_W_SIZE]!;
  intentSet(u32, pac, INTENT_MERGE, a, b, sizeA, sizeB, availCount);
  const slab = (u32[(a >>> 2) + EDATA_W_BITS]! & EDATA_BITS_SLAB_MASK) !== 0;
  if (slab) emapDeregister(ctx, b);
  else emapMergeCommit(ctx, a, b);
  if (ctx.failpoint !== null) ctx.failpoint("extent.merge.mid");
  extentMergeRecords(u32, a, b, sizeA + sizeB);
  if (slab) emapRegister(ctx, a);
  edataCachePut(ctx, pac, b);
  intentClear(u32, pac);
  return false;
}

/** An installed merge hook's answer (out of line: without hooks the merge never calls it). */
function mergeHookRefuses(ctx: HeapCtx, a: number, b: number): boolean {
  const u32 = ctx.u32;
  const sizeA = edataSize(u32, a);
  const baseB = edataBase(u32, b);
  const sizeB = edataSize(u32, b);
  const committed = edataCommitted(u32, a);
  return ehooksMerge(ctx, edataArena(u32, a), edataBase(u32, a), sizeA, baseB, sizeB, committed);
}

// ---- neighbours and coalescing ------------------------------------------------------------------

/**
 * emap_try_acquire_edata_neighbor: the free neighbour of `e` in `expectedState`, or 0. It must be a
 * real record covering exactly the adjacent pages, of the same arena, and the higher of the two must
 * not be a mapping head. When acquired its state becomes MERGING (an intent until the caller merges
 * it or puts it back: intent.ts).
 */
export function acquireNeighbor(
  ctx: HeapCtx,
  pac: number,
  e: number,
  expectedState: number,
  forward: boolean,
  expanding: boolean,
): number {
  // The record words are read directly (no accessor calls): this runs up to four times per free, and
  // each accessor call would spend V8's per-function inlining budget that the callers above need.
  const u32 = ctx.u32;
  const we = e >>> 2;
  const baseE = u32[we + EDATA_W_BASE]!;
  const bitsE = u32[we + EDATA_W_BITS]!;
  const addr = forward ? baseE + u32[we + EDATA_W_SIZE]! : baseE - ctx.page;
  if (addr < 0 || addr >= 2 ** 32) return 0;
  const n = emapRead(ctx, addr);
  if (n === 0 || n === e || !edataIsRecord(u32, n)) return 0;
  const wn = n >>> 2;
  const baseN = u32[wn + EDATA_W_BASE]!;
  if (forward ? baseN !== addr : baseN + u32[wn + EDATA_W_SIZE]! !== baseE) return 0;
  const bitsN = u32[wn + EDATA_W_BITS]!;
  if (!mergeAcrossHeads && ((forward ? bitsN : bitsE) & EDATA_BITS_HEAD_MASK) !== 0) return 0;
  if ((bitsN & EDATA_BITS_STATE_MASK) !== expectedState) return 0;
  if (!expanding && ((bitsE ^ bitsN) & EDATA_BITS_COMMITTED_MASK) !== 0) return 0;
  if (u32[wn + EDATA_W_ARENA] !== u32[we + EDATA_W_ARENA]) return 0;
  intentSetNeighbor(u32, pac, n, expectedState);
  u32[wn + EDATA_W_BITS] = (bitsN & ~EDATA_BITS_STATE_MASK) | EXTENT_STATE_MERGING;
  return n;
}

/**
 * Lifts the mapping-head rule for this thread (pac_last_resort.ts, a full buffer only): jemalloc keeps
 * mappings apart to preserve first-fit by serial number; one buffer can always join adjacent pages.
 */
export let mergeAcrossHeads = false;
export function extentMergeAcrossHeadsSet(on: boolean): void {
  mergeAcrossHeads = on;
}

/** Set by extentTryCoalesce: whether any merge happened (delayed-coalescing ecaches). */
export let coalesced = false;
/**
 * With `coalesced`: false when that merge was with the lower neighbour after the forward side found no
 * neighbour to acquire (a hook's refusal counts as found). Nothing above moved since, so the next call
 * need not probe forward again (extentRecord).
 */
let nextProbeDue = true;

function extentCoalesce(
  ctx: HeapCtx,
  pac: number,
  ec: number,
  inner: number,
  outer: number,
  forward: boolean,
): boolean {
  esetRemove(ctx, ec, outer);
  if (ctx.failpoint !== null) ctx.failpoint("extent.neighbor");
  const err = forward ? extentMerge(ctx, pac, inner, outer) : extentMerge(ctx, pac, outer, inner);
  if (err) {
    edataStateSet(ctx.u32, outer, esetState(ctx, ec));
    esetInsert(ctx, ec, outer);
    intentClear(ctx.u32, pac);
  }
  return err;
}

/**
 * extent_try_coalesce_impl: returns the (possibly different) record now holding `e`. As in jemalloc,
 * every merge starts another round; a round re-probes only the sides whose boundary moved. A probe
 * that failed has no effect, and a merge on one side leaves the other side's neighbour, e's head,
 * committed and arena bits and the page map on that side as they were, so it would fail again.
 */
export function extentTryCoalesce(
  ctx: HeapCtx,
  pac: number,
  ec: number,
  e: number,
  probeNextFirst = true,
): number {
  const state = esetState(ctx, ec);
  const delay = esetDelayCoalesce(ctx, ec);
  // Whether each side is probed this round: its boundary moved, or a merge hook refused it last round.
  let probeNext = probeNextFirst;
  let probePrev = true;
  let again: boolean;
  let guard = 0;
  do {
    again = false;
    if (++guard > 1_000_000) throw new Error("extent coalescing did not terminate: extent map is corrupt");
    const next: number = probeNext ? acquireNeighbor(ctx, pac, e, state, true, false) : 0;
    probeNext = next !== 0;
    if (next !== 0 && !extentCoalesce(ctx, pac, ec, e, next, true)) {
      if (delay) {
        coalesced = true;
        nextProbeDue = true;
        return e;
      }
      again = true;
    }
    const prev: number = probePrev ? acquireNeighbor(ctx, pac, e, state, false, false) : 0;
    probePrev = prev !== 0;
    if (prev !== 0 && !extentCoalesce(ctx, pac, ec, e, prev, false)) {
      e = prev;
      if (delay) {
        coalesced = true;
        // The forward side was probed (or skipped) without a neighbour: it need not be probed again.
        nextProbeDue = probeNext;
        return e;
      }
      again = true;
    }
  } while (again);
  if (delay) coalesced = false;
  return e;
}

/** extent_deactivate_locked: into the set, in the set's state. */
export function deactivate(ctx: HeapCtx, ec: number, e: number): void {
  const u32 = ctx.u32;
  const w = (e >>> 2) + EDATA_W_BITS;
  u32[w] = (u32[w]! & ~EDATA_BITS_STATE_MASK) | esetState(ctx, ec);
  esetInsert(ctx, ec, e);
}

/** extent_record: coalesce as the ecache's policy says, then insert. */
export function extentRecord(ctx: HeapCtx, pac: number, ec: number, e: number): void {
  const u32 = ctx.u32;
  if (!esetDelayCoalesce(ctx, ec)) {
    e = extentTryCoalesce(ctx, pac, ec, e);
  } else if (u32[(e >>> 2) + EDATA_W_SIZE]! >= ctx.sc.largeMinclass) {
    let probeNext = true;
    do {
      e = extentTryCoalesce(ctx, pac, ec, e, probeNext);
      probeNext = nextProbeDue;
    } while (coalesced);
    const threshold = u32[(pac + PAC_OVERSIZE_THRESHOLD_B) >>> 2]!;
    if (u32[(e >>> 2) + EDATA_W_SIZE]! >= threshold && mayForceDecay(ctx, pac)) {
      extentMaximallyPurge(ctx, pac, e);
      return;
    }
  }
  deactivate(ctx, ec, e);
}

/** Purges one extent to retained, counted as a dirty purge (extent_maximally_purge). */
function extentMaximallyPurge(ctx: HeapCtx, pac: number, e: number): void {
  const size = edataSize(ctx.u32, e);
  extentDallocWrapper(ctx, pac, e);
  const d = pacDecayDirty(ctx, pac);
  if (ctx.opt.stats) {
    f64AddB(ctx.f64, d + DECAY_B_NMADVISE, 1);
    f64AddB(ctx.f64, d + DECAY_B_PURGED_PAGES, size / ctx.page);
  }
  f64AddB(ctx.f64, pac + PAC_MAPPED_B, -size);
}

/** extent_dalloc_wrapper: unmap if the hook allows (never by default), else purge into retained. */
export function extentDallocWrapper(ctx: HeapCtx, pac: number, e: number): void {
  const u32 = ctx.u32;
  const arena = edataArena(u32, e);
  const base = edataBase(u32, e);
  const size = edataSize(u32, e);
  edataAddrSet(u32, e, base);
  const hooks = ctx.hooks.get(arena);
  if (hooks?.dalloc !== undefined) {
    emapDeregister(ctx, e);
    if (!ehooksDalloc(ctx, arena, base, size, edataCommitted(u32, e))) {
      edataCachePut(ctx, pac, e);
      return;
    }
    emapRegister(ctx, e);
  }
  let zeroed: boolean;
  if (!edataCommitted(u32, e)) zeroed = true;
  else if (!ehooksDecommit(ctx, arena, base, size)) {
    edataCommittedSet(u32, e, false);
    zeroed = true;
  } else if (!ehooksPurgeForced(ctx, arena, base, size)) zeroed = true;
  else {
    if (edataState(u32, e) !== EXTENT_STATE_MUZZY) ehooksPurgeLazy(ctx, arena, base, size);
    zeroed = false;
  }
  edataZeroedSet(u32, e, zeroed);
  extentRecord(ctx, pac, pacEcacheRetained(ctx, pac), e);
}
