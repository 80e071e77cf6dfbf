/**
 * sample: the sampling event (jemalloc's te_prof_sample_event and prof_malloc_sample_object /
 * prof_free_sampled_object). Each thread waits a geometric number of allocated bytes (mean
 * 2^lg_prof_sample, drawn from the thread's PRNG) between samples. The allocation that crosses the
 * threshold is sampled: its stack is captured and interned, and its usable size added to its
 * (stack, thread) counters, raw and unbiased as jemalloc 5.3 keeps them.
 *
 * The event rides on the thread's existing "next event" threshold (THREAD_GC_ALLOC_NEXT_B, which the
 * malloc fast path already compares against): with profiling on it holds min(tcache GC threshold,
 * sample threshold), so the fast path is unchanged and only the slow path knows which event is due.
 */

import type { HeapCtx } from "../ctx/ctx.js";
import { HDR_TOP_B, THREAD_ALLOCATED_B, THREAD_GC_ALLOC_NEXT_B } from "../ctx/header.js";
import { prngLgRangeU64, prngSeedU64 } from "../decay/prng.js";
import { EDATA_BITS_SLAB_MASK, EDATA_W_BITS, EDATA_W_SZIND } from "../extent/edata.js";
import { emapLookupChecked } from "../extent/emap.js";
import { slotThreadId } from "../sync/index.js";
import { profDumpAuto } from "./dump.js";
import { internSiteRoot, internStackTexts } from "./intern.js";
import {
  LG_TINY_MIN,
  PROF_ACTIVE_B,
  PROF_GDUMP_B,
  PROF_GDUMP_PEAK_B,
  PROF_INTERVAL_ACC_B,
  PROF_STATS_TABLE_B,
  PROF_THREAD_ACTIVE_INIT_B,
  PSTATS_BYTES,
  PT_ACTIVE_B,
  PT_LAST_EVENT_B,
  PT_PRNG_B,
  PT_SAMPLE_NEXT_B,
  PT_TID_B,
  TCTX_ACCUMBYTES_B,
  TCTX_ACCUMBYTES_UNBIASED_B,
  TCTX_ACCUMOBJS_B,
  TCTX_ACCUMOBJS_SHIFTED_B,
  TCTX_CURBYTES_B,
  TCTX_CURBYTES_UNBIASED_B,
  TCTX_CUROBJS_B,
  TCTX_CUROBJS_SHIFTED_B,
} from "./layout.js";
import {
  allocRecordAdd,
  allocRecordTake,
  allocSize,
  allocTctx,
  allocUsize,
  extentProfCount,
  f64Add,
  tctxGet,
} from "./records.js";
import {
  profFlag,
  profLgSample,
  profLock,
  profRegion,
  profRegionEnsure,
  profThreadB,
  profUnlock,
} from "./region.js";
import {
  captureClose,
  captureOpen,
  captureSites,
  type SiteNode,
  type StackHolder,
  siteTrieFind,
  stackTexts,
} from "./stack.js";
import { profSysThreadName } from "./tdata.js";

// ---- unbiasing (prof_unbias_map_init) -----------------------------------------------------------

interface UnbiasMap {
  readonly bytes: Float64Array;
  readonly shiftedCnt: Float64Array;
}
const unbiasMaps = new Map<string, UnbiasMap>();

/** prof_unbiased_sz / prof_shifted_unbiased_cnt for the heap's size classes at rate 2^lg. */
let lastMap: { lg: number; sizes: Float64Array; map: UnbiasMap } | null = null;

export function unbiasMap(ctx: HeapCtx, lg: number): UnbiasMap {
  const sizes = ctx.sc.indexToSizeTab;
  if (lastMap !== null && lastMap.lg === lg && lastMap.sizes === sizes) return lastMap.map;
  lastMap = { lg, sizes, map: unbiasMapOf(sizes, lg) };
  return lastMap.map;
}

function unbiasMapOf(sizes: Float64Array, lg: number): UnbiasMap {
  const key = `${lg}:${sizes.length}:${sizes[sizes.length - 1]}`;
  let m = unbiasMaps.get(key);
  if (m !== undefined) return m;
  const rate = 2 ** lg;
  const bytes = new Float64Array(sizes.length);
  const shiftedCnt = new Float64Array(sizes.length);
  for (let i = 0; i < sizes.length; i++) {
    const div = 1 - Math.exp(-sizes[i]! / rate);
    bytes[i] = Math.round(sizes[i]! / div);
    shiftedCnt[i] = Math.round(2 ** LG_TINY_MIN / div);
  }
  m = { bytes, shiftedCnt };
  unbiasMaps.set(key, m);
  return m;
}

// ---- the thread's event state ---------------------------------------------------------------------

/** prof_sample_new_event_wait: bytes until the next sample, geometric with mean 2^lg. */
export function sampleWait(ctx: HeapCtx, pt: number, lg: number): number {
  if (lg === 0) return 1;
  const r = prngLgRangeU64(ctx.i32, (pt + PT_PRNG_B) >>> 2, 53);
  const u = r === 0 ? 1 : r * 2 ** -53;
  return Math.floor(Math.log(u) / Math.log(1 - 1 / 2 ** lg)) + 1;
}

/**
 * A thread joins profiling (prof_tdata_init): its PRNG is seeded from its thread record's address
 * (jemalloc seeds from the tsd address), thread.prof.active from prof.thread_active_init, and the
 * first sample threshold is drawn.
 */
export function profThreadInit(ctx: HeapCtx, unbias: boolean): void {
  ctx.profB = profRegion(ctx) || profRegionEnsure(ctx, unbias);
  const pt = profThreadB(ctx);
  const f64 = ctx.f64;
  prngSeedU64(ctx.i32, (pt + PT_PRNG_B) >>> 2, ctx.threadB);
  ctx.u32[(pt + PT_ACTIVE_B) >>> 2] = profFlag(ctx, PROF_THREAD_ACTIVE_INIT_B) ? 1 : 0;
  ctx.u32[(pt + PT_TID_B) >>> 2] = slotThreadId(ctx.i32, ctx.hdr.slotsB >>> 2, ctx.slot);
  const allocated = f64[(ctx.threadB + THREAD_ALLOCATED_B) >>> 3]!;
  const nd = (ctx.threadB + THREAD_GC_ALLOC_NEXT_B) >>> 3;
  f64[(pt + PT_LAST_EVENT_B) >>> 3] = allocated;
  const next = allocated + sampleWait(ctx, pt, profLgSample(ctx));
  f64[(pt + PT_SAMPLE_NEXT_B) >>> 3] = next;
  f64[nd] = Math.min(f64[nd]!, next);
}

/**
 * The sample event (te_prof_sample_event_handler), run by the thread's allocation events when they are
 * due (src/heap/ops.ts): when the thread's allocated bytes passed the sample threshold, draw the next
 * one and record `ptr` (of `usize` bytes) if profiling is active; then the interval and gdump triggers.
 */
export function profAllocEvent(ctx: HeapCtx, after: number, usize: number, ptr: number): void {
  const f64 = ctx.f64;
  const pt = profThreadB(ctx);
  const sD = (pt + PT_SAMPLE_NEXT_B) >>> 3;
  if (after >= f64[sD]!) {
    f64[sD] = after + sampleWait(ctx, pt, profLgSample(ctx));
    const active = profFlag(ctx, PROF_ACTIVE_B) && ctx.u32[(pt + PT_ACTIVE_B) >>> 2] !== 0;
    if (active && ptr !== 0) profSample(ctx, ptr, usize, sampleStack(ctx, after, usize));
    else aheadStack = null;
  }
  triggers(ctx, pt, after);
}

/** The thread's next sample threshold (allocated bytes), for the allocation events' earliest one. */
export function profSampleNext(ctx: HeapCtx): number {
  return ctx.f64[(profThreadB(ctx) + PT_SAMPLE_NEXT_B) >>> 3]!;
}

/** prof_idump / prof_gdump: the allocator holds no lock here, so the dump is written at once. */
function triggers(ctx: HeapCtx, pt: number, after: number): void {
  const f64 = ctx.f64;
  const elapsed = after - f64[(pt + PT_LAST_EVENT_B) >>> 3]!;
  f64[(pt + PT_LAST_EVENT_B) >>> 3] = after;
  const lgInterval = ctx.opt.profIntervalLg;
  if (lgInterval >= 0 && profFlag(ctx, PROF_ACTIVE_B)) {
    const accD = (ctx.profB + PROF_INTERVAL_ACC_B) >>> 3;
    const acc = f64[accD]! + elapsed;
    if (acc >= 2 ** lgInterval) {
      f64[accD] = acc % 2 ** lgInterval;
      profDumpAuto(ctx, "i");
    } else f64[accD] = acc;
  }
  if (profFlag(ctx, PROF_GDUMP_B)) {
    const top = f64[HDR_TOP_B >>> 3]!;
    const peakD = (ctx.profB + PROF_GDUMP_PEAK_B) >>> 3;
    if (top > f64[peakD]!) {
      f64[peakD] = top;
      profDumpAuto(ctx, "u");
    }
  }
}

/**
 * The stack taken ahead of a sampled allocation (jemalloc's prof_alloc_prep takes the backtrace before
 * allocating), for the sample event to record; tagged with the thread and its allocated bytes before
 * the allocation, so an allocation that fails or is counted differently falls back to a fresh capture.
 */
let aheadStack: SiteNode | null = null;
let aheadCtx: HeapCtx | null = null;
let aheadAllocated = -1;
let aheadUsize = 0;

/**
 * te_prof_sample_event_lookahead + prof_active: whether the allocation of `usize` bytes about to be
 * made will be sampled (so a small one is promoted first, as imalloc_sample does). When it will, the
 * caller takes the stack before allocating (jemalloc's prof_alloc_prep): profSampleAhead, or inline as
 * malloc's slow path does (see profSampleTaken).
 */
export function profSampleDue(ctx: HeapCtx, usize: number): boolean {
  const pt = profThreadB(ctx);
  const f64 = ctx.f64;
  if (f64[(ctx.threadB + THREAD_ALLOCATED_B) >>> 3]! + usize < f64[(pt + PT_SAMPLE_NEXT_B) >>> 3]!)
    return false;
  return profFlag(ctx, PROF_ACTIVE_B) && ctx.u32[(pt + PT_ACTIVE_B) >>> 2] !== 0;
}

/**
 * The stack of an allocation profSampleDue said is sampled, taken by the caller in its own frame:
 *
 *   const holder: StackHolder = {};
 *   captureOpen();
 *   try { Error.captureStackTrace(holder, api); } finally { sampled = profSampleTaken(ctx, usize, holder); }
 *
 * `api` is the public method the user called: V8 builds no call site for it and the frames above it,
 * but it does walk and summarize each of them (an optimized frame costs ~0.3 µs), so the capture is
 * made as close to `api` as can be. Always returns true (the allocation is sampled).
 */
export function profSampleTaken(ctx: HeapCtx, usize: number, holder: StackHolder): boolean {
  let sites = captureClose(holder);
  // Nothing below the cut-off: `api` was not on the stack (or nothing called it from JavaScript);
  // cut here instead, and the allocator's frames are dropped by name as usual.
  if (sites.length === 0) sites = captureSites(profSampleTaken);
  aheadStack = stackNode(ctx, sites);
  aheadCtx = ctx;
  aheadAllocated = ctx.f64[(ctx.threadB + THREAD_ALLOCATED_B) >>> 3]!;
  aheadUsize = usize;
  return true;
}

/** profSampleDue, and when sampled the stack above `caller` (one frame more for V8 than inline). */
export function profSampleAhead(ctx: HeapCtx, usize: number, caller: (...args: never[]) => unknown): boolean {
  if (!profSampleDue(ctx, usize)) return false;
  const holder: StackHolder = {};
  captureOpen();
  try {
    Error.captureStackTrace(holder, caller);
  } finally {
    profSampleTaken(ctx, usize, holder);
  }
  return true;
}

/** The thread's trie node for captured `sites` (it keeps them while the stack is new). */
function stackNode(ctx: HeapCtx, sites: NodeJS.CallSite[]): SiteNode {
  return siteTrieFind(internSiteRoot(ctx), sites);
}

/** The stack for the sampled allocation that brought the thread to `after` bytes. */
function sampleStack(ctx: HeapCtx, after: number, usize: number): SiteNode {
  const s = aheadStack;
  const hit = s !== null && aheadCtx === ctx && aheadUsize === usize && aheadAllocated === after - usize;
  aheadStack = null;
  aheadCtx = null;
  return hit ? s : stackNode(ctx, captureSites(profAllocEvent));
}

/**
 * arena_prof_promote: the sampled small allocation `p` was made as a page-aligned large extent; its
 * size class becomes the small one, so its usable size is the small size. A promoted extent is one
 * that is not a slab and has a small class (jemalloc's test at free).
 */
export function profPromote(ctx: HeapCtx, p: number, ind: number): void {
  const e = emapLookupChecked(ctx, p);
  if (e !== 0) ctx.u32[(e >>> 2) + EDATA_W_SZIND] = ind;
}

/** arena_dalloc_promoted: gives a promoted extent back its large class before it is freed. */
export function profUnpromote(ctx: HeapCtx, e: number): void {
  const u32 = ctx.u32;
  const w = e >>> 2;
  if ((u32[w + EDATA_W_BITS]! & EDATA_BITS_SLAB_MASK) !== 0 || u32[w + EDATA_W_SZIND]! >= ctx.sc.nbins)
    return;
  u32[w + EDATA_W_SZIND] = ctx.sc.size2index(ctx.sc.largeMinclass);
}

/** prof_malloc_sample_object: records the allocation at `ptr` under the caller's stack (its trie node). */
function profSample(ctx: HeapCtx, ptr: number, usize: number, node: SiteNode): void {
  if (ctx.optRaw.prof_sys_thread_name) profSysThreadName(ctx);
  const tid = ctx.u32[(profThreadB(ctx) + PT_TID_B) >>> 2]!;
  const e = extentOfLive(ctx, ptr);
  if (e === 0) return;
  profLock(ctx);
  try {
    // A stack seen before is its node's record; a new one is named and interned once, here.
    if (node.stack === 0) {
      node.stack = internStackTexts(ctx, stackTexts(node.pending ?? []));
      if (node.stack !== 0) node.pending = null;
    }
    const stack = node.stack;
    const t = stack === 0 ? 0 : tctxGet(ctx, stack, tid);
    if (t === 0 || !allocRecordAdd(ctx, ptr, t, usize, usize, e)) return;
    const ind = ctx.sc.size2index(usize);
    const m = unbiasMap(ctx, profLgSample(ctx));
    f64Add(ctx, t + TCTX_CUROBJS_B, 1);
    f64Add(ctx, t + TCTX_CUROBJS_SHIFTED_B, m.shiftedCnt[ind]!);
    f64Add(ctx, t + TCTX_CURBYTES_B, usize);
    f64Add(ctx, t + TCTX_CURBYTES_UNBIASED_B, m.bytes[ind]!);
    if (ctx.optRaw.prof_accum) {
      f64Add(ctx, t + TCTX_ACCUMOBJS_B, 1);
      f64Add(ctx, t + TCTX_ACCUMOBJS_SHIFTED_B, m.shiftedCnt[ind]!);
      f64Add(ctx, t + TCTX_ACCUMBYTES_B, usize);
      f64Add(ctx, t + TCTX_ACCUMBYTES_UNBIASED_B, m.bytes[ind]!);
    }
    if (ctx.optRaw.prof_stats) statsAdd(ctx, ind, usize, 1, true);
  } finally {
    profUnlock(ctx);
  }
}

/**
 * prof_free_sampled_object: `ptr` (extent `e`, whose prof count is non-zero) is being freed or
 * resized; if it was sampled its counters drop it. Call before the block is released.
 */
export function profFreeSampled(ctx: HeapCtx, ptr: number, e: number): void {
  if (ctx.profB === 0 || extentProfCount(ctx.u32, e) === 0) return;
  profLock(ctx);
  try {
    const a = allocRecordTake(ctx, ptr, e);
    if (a === 0) return;
    const t = allocTctx(ctx, a);
    const usize = allocUsize(ctx, a);
    const ind = ctx.sc.size2index(usize);
    const m = unbiasMap(ctx, profLgSample(ctx));
    f64Add(ctx, t + TCTX_CUROBJS_B, -1);
    f64Add(ctx, t + TCTX_CUROBJS_SHIFTED_B, -m.shiftedCnt[ind]!);
    f64Add(ctx, t + TCTX_CURBYTES_B, -usize);
    f64Add(ctx, t + TCTX_CURBYTES_UNBIASED_B, -m.bytes[ind]!);
    if (ctx.optRaw.prof_stats) statsAdd(ctx, ind, allocSize(ctx, a), -1, false);
  } finally {
    profUnlock(ctx);
  }
}

/** prof_stats_inc / prof_stats_dec. */
function statsAdd(ctx: HeapCtx, ind: number, size: number, n: number, accum: boolean): void {
  const s = ctx.u32[(ctx.profB + PROF_STATS_TABLE_B) >>> 2]! + ind * PSTATS_BYTES;
  f64Add(ctx, s, n * size);
  f64Add(ctx, s + 8, n);
  if (accum) {
    f64Add(ctx, s + 16, size);
    f64Add(ctx, s + 24, 1);
  }
}

function extentOfLive(ctx: HeapCtx, ptr: number): number {
  return emapLookupChecked(ctx, ptr);
}
