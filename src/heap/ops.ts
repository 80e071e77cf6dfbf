/**
 * ops: the allocation operations behind the public API (jemalloc.c's imalloc / ifree / iralloc and
 * arena_malloc / arena_dalloc), after argument validation: the thread cache for the classes it holds,
 * the arena otherwise (huge requests to the huge arena), resizing in place or by moving, and the
 * per-thread events (allocated / deallocated bytes driving the tcache GC).
 * `tc` is the cache to use: a tcache record, or 0 for none (tcache off or MALLOCX_TCACHE_NONE).
 */
import {
  arenaChooseMaybeHuge,
  arenaDecayTick,
  arenaGet,
  arenaMallocHard,
  arenaPalloc,
  arenaRecordByInd,
  threadArena,
} from "../arena/arena.js";
import { dallocArena } from "../arena/dalloc.js";
import { CACHELINE, largeRallocNoMove, largeUsize } from "../arena/large.js";
import { slabRegIsAllocated } from "../arena/slab.js";
import {
  cacheBinFull,
  cacheBinPopChecked,
  cacheBinPush,
  cacheBinStash,
  cacheBinStashHolds,
  cacheMarkHeld,
} from "../cache_bin/cache_bin.js";
import { sanJunkPtr, sanUafAligned } from "../cache_bin/san_uaf.js";
import { junkVerifyAtReuse, junkVerifying } from "../check/junk.js";
import type { HeapCtx } from "../ctx/ctx.js";
import {
  allocEventsDue,
  dallocEventsDue,
  nextAllocEvent,
  nextDallocEvent,
  threadEvents,
  threadEventsInit,
} from "../ctx/events.js";
import {
  THREAD_ALLOCATED_B,
  THREAD_DEALLOCATED_B,
  THREAD_GC_ALLOC_NEXT_B,
  THREAD_GC_DALLOC_NEXT_B,
  THREAD_TCACHE_B,
  THREAD_TCACHE_ON_B,
} from "../ctx/header.js";
import {
  EXTENT_STATE_ACTIVE,
  edataAddr,
  edataArena,
  edataBase,
  edataSlab,
  edataState,
  edataSzind,
} from "../extent/edata.js";
import { emapLookupChecked } from "../extent/emap.js";
import {
  profAllocEvent,
  profFreeSampled,
  profPromote,
  profSampleAhead,
  profSampleNext,
  profThreadInit,
  profUnpromote,
} from "../prof/sample.js";
import { profSpareHolds, profSpareKeep, profSpareTake } from "../prof/spare.js";
import type { TcacheGeom } from "../tcache/geom.js";
import {
  TBIN_W_CAP,
  TBIN_W_HEAD,
  TBIN_W_NREQUESTS,
  TBIN_W_SLOTS,
  TCACHE_KIND_THREAD,
  tbinW,
} from "../tcache/layout.js";
import {
  tbinAssertSane,
  tcacheAllocLargeMiss,
  tcacheAllocSmallHard,
  tcacheCreate,
  tcacheDallocHard,
  tcacheEvent,
  tcacheGeom,
  tcacheIsLive,
} from "../tcache/tcache.js";

/** Why a pointer was refused (0 = fine). Set by lookupLive. */
export const PTR_OK = 0;
export const PTR_UNKNOWN = 1;
export const PTR_NOT_ACTIVE = 2;
export const PTR_INTERIOR = 3;
export const PTR_FREED_REGION = 4;

let ptrError = PTR_OK;
export function lastPtrError(): number {
  return ptrError;
}

/**
 * The extent record of a live allocation starting at `ptr`, or 0 (with lastPtrError saying why).
 * The slab bitmap check is racy here; frees re-check under the bin lock. A region sitting in a thread
 * cache still counts as allocated.
 */
export function lookupLive(ctx: HeapCtx, ptr: number): number {
  const e = emapLookupChecked(ctx, ptr);
  if (e === 0) {
    ptrError = PTR_UNKNOWN;
    return 0;
  }
  const u32 = ctx.u32;
  if (edataState(u32, e) !== EXTENT_STATE_ACTIVE) {
    ptrError = PTR_NOT_ACTIVE;
    return 0;
  }
  if (edataSlab(u32, e)) {
    const regSize = ctx.sc.binRegSize[edataSzind(u32, e)]!;
    const off = ptr - edataBase(u32, e);
    if (off % regSize !== 0) {
      ptrError = PTR_INTERIOR;
      return 0;
    }
    if (!slabRegIsAllocated(u32, e, off / regSize)) {
      ptrError = PTR_FREED_REGION;
      return 0;
    }
  } else if (ptr !== edataAddr(u32, e)) {
    ptrError = PTR_INTERIOR;
    return 0;
  }
  ptrError = PTR_OK;
  return e;
}

/** Usable size of the live allocation `e` (from lookupLive). */
export function usizeOf(ctx: HeapCtx, e: number): number {
  const u32 = ctx.u32;
  return edataSlab(u32, e) ? ctx.sc.binRegSize[edataSzind(u32, e)]! : largeUsize(ctx, e);
}

/** The thread cache geometry: the context's cached copy (a field read), built on first use. */
function geomOf(ctx: HeapCtx): TcacheGeom {
  return (ctx.tcacheGeom as TcacheGeom | undefined) ?? tcacheGeom(ctx);
}

// ---- the thread's cache ---------------------------------------------------------------------------

/** The thread's cache, created on first use when thread.tcache.enabled; 0 when off. */
export function threadTcache(ctx: HeapCtx): number {
  const tb = ctx.threadB;
  if (ctx.u32[(tb + THREAD_TCACHE_ON_B) >>> 2] === 0) return 0;
  const tc = ctx.u32[(tb + THREAD_TCACHE_B) >>> 2]!;
  if (tc !== 0 && tcacheIsLive(ctx, tc)) return tc;
  return tcacheCreate(ctx, threadArena(ctx), TCACHE_KIND_THREAD, tb + THREAD_TCACHE_B);
}

// ---- events -------------------------------------------------------------------------------------

/**
 * thread_alloc_event: count the bytes; run the events due (GC every tcache_gc_incr_bytes, peak, stats,
 * and with opt.prof the sample event: `ptr` is the allocation that may be sampled, src/prof/sample.ts).
 */
export function eventAlloc(ctx: HeapCtx, usize: number, ptr = 0): void {
  const f64 = ctx.f64;
  const d = (ctx.threadB + THREAD_ALLOCATED_B) >>> 3;
  const after = f64[d]! + usize;
  f64[d] = after;
  if (after >= f64[(ctx.threadB + THREAD_GC_ALLOC_NEXT_B) >>> 3]!) eventAllocDue(ctx, after, usize, ptr);
}

function eventAllocDue(ctx: HeapCtx, after: number, usize: number, ptr: number): void {
  const ev = threadEvents(ctx);
  if (after >= ev.gcAllocNext) {
    ev.gcAllocNext = after + geomOf(ctx).gcIncrBytes;
    const tc = threadTcacheIfLive(ctx);
    if (tc !== 0) tcacheEvent(ctx, tc);
  }
  allocEventsDue(ctx, ev, after);
  let next = nextAllocEvent(ev);
  if (ctx.profB !== 0) {
    profAllocEvent(ctx, after, usize, ptr);
    const sample = profSampleNext(ctx);
    if (sample < next) next = sample;
  }
  ctx.f64[(ctx.threadB + THREAD_GC_ALLOC_NEXT_B) >>> 3] = next;
}

export function eventDalloc(ctx: HeapCtx, usize: number): void {
  const f64 = ctx.f64;
  const d = (ctx.threadB + THREAD_DEALLOCATED_B) >>> 3;
  const after = f64[d]! + usize;
  f64[d] = after;
  if (after >= f64[(ctx.threadB + THREAD_GC_DALLOC_NEXT_B) >>> 3]!) eventDallocDue(ctx, after);
}

function eventDallocDue(ctx: HeapCtx, after: number): void {
  const ev = threadEvents(ctx);
  if (after >= ev.gcDallocNext) {
    ev.gcDallocNext = after + geomOf(ctx).gcIncrBytes;
    const tc = threadTcacheIfLive(ctx);
    if (tc !== 0) tcacheEvent(ctx, tc);
  }
  dallocEventsDue(ctx, ev, after);
  ctx.f64[(ctx.threadB + THREAD_GC_DALLOC_NEXT_B) >>> 3] = nextDallocEvent(ev);
}

function threadTcacheIfLive(ctx: HeapCtx): number {
  if (ctx.u32[(ctx.threadB + THREAD_TCACHE_ON_B) >>> 2] === 0) return 0;
  const tc = ctx.u32[(ctx.threadB + THREAD_TCACHE_B) >>> 2]!;
  return tcacheIsLive(ctx, tc) ? tc : 0;
}

/** te_init: every event's threshold starts one wait from the current counts (the first sample's too). */
export function eventsInit(ctx: HeapCtx, profUnbias = true): void {
  const incr = ctx.optRaw.tcache_gc_incr_bytes;
  const ev = threadEventsInit(ctx, incr > 0 ? incr : Number.POSITIVE_INFINITY);
  ctx.f64[(ctx.threadB + THREAD_GC_ALLOC_NEXT_B) >>> 3] = nextAllocEvent(ev);
  ctx.f64[(ctx.threadB + THREAD_GC_DALLOC_NEXT_B) >>> 3] = nextDallocEvent(ev);
  if (ctx.optRaw.prof) profThreadInit(ctx, profUnbias);
}

// ---- allocation ---------------------------------------------------------------------------------

function junkAlloc(ctx: HeapCtx, p: number, usize: number, zero: boolean): void {
  if (!zero && ctx.opt.junkAlloc) ctx.u8.fill(0xa5, p, p + usize);
}

/** Pop from a cache bin, or 0 when empty (keeps the low-water mark; refuses double-freed entries). */
function cacheBinAlloc(ctx: HeapCtx, w: number): number {
  return cacheBinPopChecked(ctx, w);
}

/**
 * arena_malloc: class `ind` (usable `usize`). `chooseSize` is what decides the huge arena (the
 * requested size for malloc, the usable size for aligned and realloc). No events counted. `sampled`:
 * whether the public method the user called decided to sample it (profSampleAhead, taking the stack
 * from there: fewer frames for V8 to walk); undefined when it did not ask.
 */
export function allocCore(
  ctx: HeapCtx,
  tc: number,
  usize: number,
  ind: number,
  chooseSize: number,
  arenaInd: number,
  zero: boolean,
  sampled?: boolean,
): number {
  const sc = ctx.sc;
  if (ctx.profB !== 0 && (sampled ?? profSampleAhead(ctx, usize, allocCore)) && usize <= sc.smallMaxclass)
    return allocPromoted(ctx, tc, ind, arenaInd, zero);
  if (tc !== 0 && ind < geomOf(ctx).nhbins) {
    tbinAssertSane(ctx, tc, ind);
    const w = tbinW(tc, ind);
    let p = cacheBinAlloc(ctx, w);
    if (p !== 0 && junkVerifying(ctx)) junkVerifyAtReuse(ctx, p, ind, usize, 4);
    if (ind < sc.nbins) {
      if (p === 0) {
        p = tcacheAllocSmallHard(ctx, tc, ind, arenaInd);
        if (p !== 0 && junkVerifying(ctx)) junkVerifyAtReuse(ctx, p, ind, usize, 4);
      }
      if (p === 0) return 0;
      if (zero) ctx.u8.fill(0, p, p + usize);
      else junkAlloc(ctx, p, usize, false);
      ctx.f64[(w + TBIN_W_NREQUESTS) >>> 1] = ctx.f64[(w + TBIN_W_NREQUESTS) >>> 1]! + 1;
      return p;
    }
    if (p === 0) {
      p = tcacheAllocLargeMiss(ctx, usize, zero, arenaInd);
      if (p !== 0) junkAlloc(ctx, p, usize, zero);
      return p;
    }
    if (zero) ctx.u8.fill(0, p, p + usize);
    else junkAlloc(ctx, p, usize, false);
    ctx.f64[(w + TBIN_W_NREQUESTS) >>> 1] = ctx.f64[(w + TBIN_W_NREQUESTS) >>> 1]! + 1;
    return p;
  }
  const arena = arenaChooseMaybeHuge(ctx, arenaInd, chooseSize);
  if (arena === 0) return 0;
  const p = arenaMallocHard(ctx, arena, usize, ind, zero);
  // A zeroed small block was cleared already; others are verified before the alloc junk.
  if (p !== 0 && !zero && ind < sc.nbins && junkVerifying(ctx)) junkVerifyAtReuse(ctx, p, ind, usize, 0);
  if (p !== 0) junkAlloc(ctx, p, usize, zero);
  return p;
}

/**
 * imalloc_sample: a sampled small allocation is a page-aligned large extent of the small class. In an
 * automatic arena it comes first from the thread's spares (freed promoted blocks, src/prof/spare.ts),
 * then from the tcache's bin of that large class when its top block is page-aligned: no arena round
 * trip per sample.
 */
function allocPromoted(ctx: HeapCtx, tc: number, ind: number, arenaInd: number, zero: boolean): number {
  const large = ctx.sc.largeMinclass;
  // An explicit arena gets its own extent (arena.<i>.reset must find it there).
  // Spares stand in for the cache (jemalloc caches a promoted page in the tcache): none without one.
  let p = arenaInd < 0 && tc !== 0 ? profSpareTake(ctx) : 0;
  if (p === 0 && tc !== 0 && arenaInd < 0)
    p = cacheBinTakeAligned(ctx, tc, ctx.sc.size2index(large), ctx.page);
  if (p !== 0) {
    if (zero) ctx.u8.fill(0, p, p + large);
  } else p = pallocCore(ctx, tc, large, ctx.page, arenaInd, zero);
  if (p !== 0) profPromote(ctx, p, ind);
  return p;
}

/** Pops the cache bin's top block of class `ind` when it is `alignment`-aligned, else 0. */
function cacheBinTakeAligned(ctx: HeapCtx, tc: number, ind: number, alignment: number): number {
  if (ind >= geomOf(ctx).nhbins) return 0;
  const u32 = ctx.u32;
  const w = tbinW(tc, ind);
  const head = u32[w + TBIN_W_HEAD]!;
  if (head === u32[w + TBIN_W_CAP] || u32[u32[w + TBIN_W_SLOTS]! + head]! % alignment !== 0) return 0;
  const p = cacheBinAlloc(ctx, w);
  ctx.f64[(w + TBIN_W_NREQUESTS) >>> 1] = ctx.f64[(w + TBIN_W_NREQUESTS) >>> 1]! + 1;
  return p;
}

/** ipalloc: aligned (usize from sa2u). Small classes may come from the cache. `sampled` as allocCore's. */
export function pallocCore(
  ctx: HeapCtx,
  tc: number,
  usize: number,
  alignment: number,
  arenaInd: number,
  zero: boolean,
  sampled?: boolean,
): number {
  const sc = ctx.sc;
  if (usize <= sc.smallMaxclass)
    return allocCore(ctx, tc, usize, sc.size2index(usize), usize, arenaInd, zero, sampled);
  const arena = arenaChooseMaybeHuge(ctx, arenaInd, usize);
  if (arena === 0) return 0;
  const p = arenaPalloc(ctx, arena, usize, alignment, zero);
  if (p !== 0) junkAlloc(ctx, p, usize, zero);
  return p;
}

// ---- deallocation -------------------------------------------------------------------------------

/**
 * arena_dalloc with a cache: cacheable classes go to the cache (flushing when full), others to the
 * arena. `usize` is the allocation's usable size. False for a detected double free.
 */
export function dallocCore(ctx: HeapCtx, tc: number, ptr: number, e: number, usize: number): boolean {
  if (ctx.profB !== 0) {
    if (profSpareHolds(ctx, ptr)) return false; // a spare: freed already
    profFreeSampled(ctx, ptr, e);
    if (tc !== 0 && profSpareKeep(ctx, ptr, e)) return true;
    profUnpromote(ctx, e);
  }
  const ind = edataSzind(ctx.u32, e);
  const cached = tc !== 0 && ind < geomOf(ctx).nhbins;
  if (cached) tbinAssertSane(ctx, tc, ind);
  // Still in this thread's cache: a double free, caught before anything changes.
  if (cached && cacheMarkHeld(ctx.u32, tbinW(tc, ind), ptr)) return false;
  if (ctx.opt.junkFree) ctx.u8.fill(0x5a, ptr, ptr + usize);
  if (cached) {
    const w = tbinW(tc, ind);
    // opt.lg_san_uaf_align: a sampled small block is junked and stashed (tcache_dalloc_small).
    if (ind < ctx.sc.nbins && sanUafAligned(ctx, ptr)) {
      if (cacheBinStashHolds(ctx.u32, w, ptr)) return false;
      sanJunkPtr(ctx, ptr, usize);
      if (cacheBinStash(ctx.u32, w, ptr)) return true;
    }
    if (cacheBinFull(ctx.u32, w)) tcacheDallocHard(ctx, tc, ind, ptr);
    else cacheBinPush(ctx.u32, w, ptr);
    return true;
  }
  return dallocArena(ctx, ptr, e);
}

// ---- resizing -----------------------------------------------------------------------------------

/**
 * arena_ralloc_no_move for a live allocation: same small class, or a large extent resized in place.
 * True on failure.
 */
export function rallocNoMove(
  ctx: HeapCtx,
  e: number,
  oldUsize: number,
  size: number,
  extra: number,
  zero: boolean,
): boolean {
  const sc = ctx.sc;
  const usizeMin = sc.s2u(size);
  const usizeMax = sc.s2u(Math.min(size + extra, sc.maxClass));
  const arena = arenaRecordByInd(ctx, edataArena(ctx.u32, e));
  if (oldUsize <= sc.smallMaxclass && usizeMin !== 0 && usizeMin <= sc.smallMaxclass) {
    if (
      (usizeMax > sc.smallMaxclass || sc.size2index(usizeMax) !== sc.size2index(oldUsize)) &&
      (size > oldUsize || usizeMax < oldUsize)
    ) {
      return true;
    }
    arenaDecayTick(ctx, arena);
    return false;
  }
  if (oldUsize >= sc.largeMinclass && usizeMax >= sc.largeMinclass) {
    const fail = largeRallocNoMove(ctx, e, usizeMin, usizeMax, zero);
    if (!fail) arenaDecayTick(ctx, arena);
    return fail;
  }
  return true;
}

/** Set by rallocCore: whether the last resize moved the block. */
export let rallocMoved = false;

/**
 * arena_ralloc: resize the live allocation `e` at `ptr` (usable `oldUsize`) to `size` with
 * `alignment` (0 = none). Returns the new address (maybe `ptr`), or 0 on OOM (old block untouched).
 * No events counted (the caller counts usize allocated and oldUsize freed).
 */
export function rallocCore(
  ctx: HeapCtx,
  tc: number,
  ptr: number,
  e: number,
  oldUsize: number,
  size: number,
  alignment: number,
  zero: boolean,
  arenaInd: number,
): number {
  const sc = ctx.sc;
  const usize = alignment === 0 ? sc.s2u(size) : sc.sa2u(size, alignment);
  rallocMoved = false;
  if (usize === 0) return 0;
  if (usize <= sc.smallMaxclass && !rallocNoMove(ctx, e, oldUsize, usize, 0, zero)) return ptr;
  let p: number;
  if (
    oldUsize >= sc.largeMinclass &&
    usize >= sc.largeMinclass &&
    (alignment <= CACHELINE || ptr % alignment === 0)
  ) {
    if (!largeRallocNoMove(ctx, e, usize, usize, zero)) {
      arenaDecayTick(ctx, arenaRecordByInd(ctx, edataArena(ctx.u32, e)));
      return ptr;
    }
    // large_ralloc_move_helper: the new block comes from the arena, never from the cache.
    const arena = arenaChooseMaybeHuge(ctx, arenaInd, usize);
    p =
      arena === 0 ? 0 : arenaPalloc(ctx, arena, usize, alignment <= CACHELINE ? CACHELINE : alignment, zero);
    if (p !== 0) junkAlloc(ctx, p, usize, zero);
  } else {
    p =
      alignment === 0
        ? allocCore(ctx, tc, usize, sc.size2index(usize), usize, arenaInd, zero)
        : pallocCore(ctx, tc, usize, alignment, arenaInd, zero);
  }
  if (p === 0) return 0;
  ctx.u8.copyWithin(p, ptr, ptr + Math.min(usize, oldUsize));
  dallocCore(ctx, tc, ptr, e, oldUsize);
  rallocMoved = true;
  return p;
}

/** The arena index a thread's allocations go to (for tests and mallctl). */
export function threadArenaIndex(ctx: HeapCtx): number {
  return threadArena(ctx);
}

void arenaGet;
