import { cacheBinAllocEasy, cacheBinDallocEasy } from "../cache_bin/cache_bin.js";
import { stashReports } from "../cache_bin/san_uaf.js";
import { uafDetails } from "../check/junk.js";
import type { HeapCtx } from "../ctx/ctx.js";
import {
  HDR_POISON_B,
  HDR_TOP_B,
  HDR_ZERO_REALLOCS_B,
  RTREE_LEAF_BITS,
  THREAD_ALLOCATED_B,
  THREAD_DEALLOCATED_B,
  THREAD_GC_ALLOC_NEXT_B,
  THREAD_GC_DALLOC_NEXT_B,
  THREAD_LAST_ERROR_B,
} from "../ctx/header.js";
import {
  type CorruptionHandler,
  checkPtr,
  checkSize,
  ENOMEM,
  HeapPoisonedError,
  heapCorruptionDetected___check_frees_and_sizes_or_enable_junk_to_debug,
} from "../errors.js";
import {
  EDATA_BITS_SLAB_MASK,
  EDATA_BITS_STATE_MASK,
  EDATA_W_ADDR,
  EDATA_W_BASE,
  EDATA_W_BITS,
  EDATA_W_SIZE,
  EDATA_W_SZIND,
} from "../extent/edata.js";
import { poisonedError } from "../extent/lock.js";
import { TBIN_W_NREQUESTS, TBIN_WORDS, tbinW } from "../tcache/layout.js";
import { flushProblems, tcacheGeom } from "../tcache/tcache.js";
import type { HeapAttachOptions, HeapCreateOptions } from "./boot.js";
import {
  allocCore,
  dallocCore,
  eventAlloc,
  eventDalloc,
  eventsInit,
  lastPtrError,
  lookupLive,
  PTR_FREED_REGION,
  PTR_INTERIOR,
  PTR_NOT_ACTIVE,
  rallocCore,
  rallocMoved,
  threadTcache,
  usizeOf,
} from "./ops.js";
import type { ReclaimReport } from "./threads.js";

export type { ReclaimReport };

import { profFreeSampled, profSampleDue, profSampleTaken } from "../prof/sample.js";
import { captureOpen, type StackHolder } from "../prof/stack.js";
import type { Derived } from "./boot.js";
import { guardError } from "./guard.js";

export type { HeapAttachOptions, HeapCreateOptions };

const RTREE_LEAF_MASK = 2 ** RTREE_LEAF_BITS - 1;
const FAST_BITS_MASK = EDATA_BITS_STATE_MASK | EDATA_BITS_SLAB_MASK;
// Local copies of the layout constants the fast paths read: V8 folds a module's own constants into
// the optimized code but loads an imported binding from its module cell at every use.
const LEAF_BITS = RTREE_LEAF_BITS;
const SLAB_BIT = EDATA_BITS_SLAB_MASK;
const E_BITS = EDATA_W_BITS;
const E_BASE = EDATA_W_BASE;
const E_ADDR = EDATA_W_ADDR;
const E_SZIND = EDATA_W_SZIND;
const E_SIZE = EDATA_W_SIZE;
const BIN_WORDS = TBIN_WORDS;
const BIN_NREQUESTS = TBIN_W_NREQUESTS;
// The same for the cache-bin functions the fast paths inline: called through an imported binding,
// the optimized code reloads and compares the binding before the inlined body at every call.
const allocEasy = cacheBinAllocEasy;
const dallocEasy = cacheBinDallocEasy;

export class HeapCore {
  /** @internal this thread's context (views, tables, slot). */
  readonly ctx: HeapCtx;
  /** @internal what was derived from the header. */
  readonly derived: Derived;
  protected _detached = false;
  // Fast-path fields, read once per thread (the heap's state itself stays in the buffer). Each has an
  // initializer of its final type: a field first defined as undefined gets V8's generic (tagged)
  // representation, and every fast-path read then checks and untags it.
  #u32: Uint32Array = new Uint32Array(0);
  #f64: Float64Array = new Float64Array(0);
  /** Buffer length the fast views cover: reads beyond read undefined and bail to the slow path. */
  #viewLen = 0;
  #s2iTab: Uint8Array = new Uint8Array(0);
  /** The cached classes above 4 KiB: index of size is #s2iBig[(size - 1) >>> #bigLgGrain] up to #bigLimit. */
  #s2iBig: Uint8Array = new Uint8Array(0);
  #bigLgGrain = 0;
  #bigLimit = 0;
  /** tcache_maxclass: a malloc above it has no cache bin (#mallocUncached). */
  #cachedMax = 0;
  #classSize: Float64Array = new Float64Array(0);
  #classInv: Float64Array = new Float64Array(0);
  #lgPage = 0;
  #rootW = 0;
  #allocD = 0;
  #allocNextD = 0;
  #deallocD = 0;
  #deallocNextD = 0;
  /** u32 index of the thread cache's bin 0 record; 0 when the fast path is off. */
  protected _tcW0 = 0;
  /** The cache #setFast last derived the fields from (-1: none yet). */
  #fastTc = -1;
  #nhbins = 0;
  /**
   * The first class a large fast free may push: nbins, the first large class; or 256 — none — with
   * profiling on, whose slow free must see every sampled block (a promoted one keeps its small index).
   */
  #largeFastMin = 256;
  #corruption: CorruptionHandler = heapCorruptionDetected___check_frees_and_sizes_or_enable_junk_to_debug;

  protected constructor(ctx: HeapCtx, derived: Derived) {
    this.ctx = ctx;
    this.derived = derived;
    // A heap inside a WebAssembly.Memory starts at its base (src/wasm): views and lengths from there.
    this.#viewLen = ctx.buffer.byteLength - ctx.u8.byteOffset;
    this.#u32 = new Uint32Array(ctx.buffer, ctx.u8.byteOffset, Math.floor(this.#viewLen / 4));
    this.#f64 = new Float64Array(ctx.buffer, ctx.u8.byteOffset, Math.floor(this.#viewLen / 8));
    this.#s2iTab = ctx.sc.size2indexTab;
    this.#classSize = ctx.sc.indexToSizeTab;
    this.#classInv = this.#classSize.map((x) => 1 / x);
    this.#lgPage = ctx.lgPage;
    this.#rootW = ctx.hdr.rtreeRootB >>> 2;
    this.#allocD = (ctx.threadB + THREAD_ALLOCATED_B) >>> 3;
    this.#allocNextD = (ctx.threadB + THREAD_GC_ALLOC_NEXT_B) >>> 3;
    this.#deallocD = (ctx.threadB + THREAD_DEALLOCATED_B) >>> 3;
    this.#deallocNextD = (ctx.threadB + THREAD_GC_DALLOC_NEXT_B) >>> 3;
    eventsInit(ctx, derived.conf.profUnbias);
  }

  get buffer(): SharedArrayBuffer | ArrayBuffer {
    return this.ctx.buffer;
  }
  get u8(): Uint8Array {
    return this.ctx.u8;
  }
  get i32(): Int32Array {
    return this.ctx.i32;
  }
  get u32(): Uint32Array {
    return this.ctx.u32;
  }
  get f64(): Float64Array {
    return this.ctx.f64;
  }
  get dv(): DataView {
    return this.ctx.dv;
  }
  /** errno of this thread's last failed call (ENOMEM 12, EINVAL 22), 0 if none. */
  get lastError(): number {
    return this.ctx.u32[(this.ctx.threadB + THREAD_LAST_ERROR_B) >>> 2]!;
  }
  /** This thread's slot in the heap's thread registry. */
  get threadSlot(): number {
    return this.ctx.slot;
  }

  /** Replaces the handler for detected misuse (default: throw HeapCorruptionError). */
  setCorruptionHandler(fn: CorruptionHandler | null): void {
    this.#corruption = fn ?? heapCorruptionDetected___check_frees_and_sizes_or_enable_junk_to_debug;
  }

  protected _enter(fn: string): void {
    if (this._detached) throw new HeapPoisonedError(`${fn}: this Heap handle was detached`);
    const poison = Atomics.load(this.ctx.i32, HDR_POISON_B >>> 2);
    if (poison !== 0) throw poisonedError(fn, poison);
  }

  protected _fail(errno: number): number {
    this.ctx.u32[(this.ctx.threadB + THREAD_LAST_ERROR_B) >>> 2] = errno;
    return 0;
  }

  protected _report(kind: string, fn: string, ptr: number, detail: string): void {
    this.#corruption({ kind, ptr, message: `<jemalloc>: ${fn}(${ptr}): ${detail}` });
  }

  /** The live record for `ptr`, or 0 after reporting the misuse. */
  protected _live(fn: string, ptr: number): number {
    let e: number;
    try {
      e = lookupLive(this.ctx, ptr);
    } catch (err) {
      throw guardError(this.ctx, fn, err);
    }
    if (e !== 0) return e;
    const why = lastPtrError();
    if (why === PTR_INTERIOR)
      this._report("interior-pointer", fn, ptr, "not the start of an allocation (interior pointer)");
    else if (why === PTR_NOT_ACTIVE || why === PTR_FREED_REGION)
      this._report("double-free", fn, ptr, "pointer is not allocated (double free or use after free)");
    else this._report("invalid-pointer", fn, ptr, "pointer was not returned by this heap");
    return 0;
  }

  // ---- the C API --------------------------------------------------------------------------------

  /**
   * malloc. Fast path (no call, no lock, no allocation): an integer size ≤ 4096, the thread cache on
   * and its bin non-empty, and no GC event due — one table lookup, one pop, counters bumped. The cached
   * classes above 4 KiB: #mallocCachedLarge, the slow path's first step.
   */
  malloc(size: number): number {
    if (typeof size === "number" && size <= 4096 && size >>> 0 === size && this._tcW0 !== 0) {
      const ind = this.#s2iTab[(size + 7) >>> 3]!;
      if (ind < this.#nhbins) {
        const u32 = this.#u32;
        const w = this._tcW0 + ind * BIN_WORDS;
        const f64 = this.#f64;
        const after = f64[this.#allocD]! + this.#classSize[ind]!;
        if (after < f64[this.#allocNextD]!) {
          // 0 when the bin is empty or its top entry was freed twice (the slow path reports).
          const p = allocEasy(u32, w);
          if (p !== 0) {
            f64[(w + BIN_NREQUESTS) >>> 1]! += 1;
            f64[this.#allocD] = after;
            return p;
          }
        }
      }
    }
    return this.#mallocSlow(size);
  }

  /**
   * malloc's fast path for the cached classes above 4 KiB (small ones up to the largest slab class,
   * large ones up to tcache_max): the same pop, the class from a coarser table; 0 when it does not
   * apply. Called first by the slow path: in malloc itself it would grow the code V8 inlines into
   * every caller (measured: small churn 17.7 against 16.2 ns per call). The pop is written out here
   * and in malloc: one shared function for both cost small churn ~5 % and records ~5 % (V8 code shape).
   */
  #mallocCachedLarge(size: number): number {
    // typeof first: a BigInt passes the comparisons, and `>>> 0` would throw on it before the checks.
    if (
      typeof size === "number" &&
      size > 4096 &&
      size <= this.#bigLimit &&
      size >>> 0 === size &&
      this._tcW0 !== 0
    ) {
      const ind = this.#s2iBig[(size - 1) >>> this.#bigLgGrain]!;
      if (ind < this.#nhbins) {
        const w = this._tcW0 + ind * BIN_WORDS;
        const f64 = this.#f64;
        const after = f64[this.#allocD]! + this.#classSize[ind]!;
        if (after < f64[this.#allocNextD]!) {
          const p = allocEasy(this.#u32, w);
          if (p !== 0) {
            f64[(w + BIN_NREQUESTS) >>> 1]! += 1;
            f64[this.#allocD] = after;
            return p;
          }
        }
      }
    }
    return 0;
  }

  /** `api`: the public method the user called (realloc(0, n) is a malloc). */
  #mallocSlow(size: number, api: (...args: never[]) => unknown = HeapCore.prototype.malloc): number {
    const cached = this.#mallocCachedLarge(size);
    if (cached !== 0) return cached;
    if (
      typeof size === "number" &&
      size > this.#cachedMax &&
      size >>> 0 === size &&
      this._tcW0 !== 0 &&
      this.ctx.profB === 0
    )
      return this.#mallocUncached(size, api);
    this._enter("malloc");
    size = checkSize(size, "malloc");
    const sc = this.ctx.sc;
    if (size > sc.maxClass) return this._fail(ENOMEM);
    const ind = sc.size2index(size);
    return this._allocCounted("malloc", api, sc.index2size(ind), ind, size, this.ctx.opt.zero, true);
  }

  /**
   * malloc of a class above tcache_max while the fast path is on: there is no cache bin to consult, so
   * no cache lookup; and what the fast path's state already implies (an attached handle, an integer
   * size, the thread's cache set up, no junk, zero or profiling) is not checked again.
   */
  #mallocUncached(size: number, api: (...args: never[]) => unknown): number {
    const ctx = this.ctx;
    const poison = Atomics.load(ctx.i32, HDR_POISON_B >>> 2);
    if (poison !== 0) throw poisonedError("malloc", poison);
    const sc = ctx.sc;
    if (size > sc.maxClass) return this._fail(ENOMEM);
    const ind = sc.size2index(size);
    const p = this._allocCounted("malloc", api, sc.index2size(ind), ind, size, false, false);
    // The views as the slow path leaves them: this allocation may have grown the heap.
    this.#setFast(this.#fastTc);
    return p;
  }

  /**
   * What malloc and calloc share after their checks: the thread's cache, the profiling sample (its
   * stack cut at `api`, the method the user called: profSampleTaken), allocCore and the event count.
   * `cache`: whether the class may be cached (false: above tcache_max, the thread's cache is not used).
   * Returns 0 with ENOMEM on failure.
   */
  protected _allocCounted(
    fn: string,
    api: (...args: never[]) => unknown,
    usize: number,
    ind: number,
    chooseSize: number,
    zero: boolean,
    cache: boolean,
  ): number {
    const ctx = this.ctx;
    let p: number;
    try {
      const tc = cache ? this._tcache() : 0;
      let sampled = false;
      if (ctx.profB !== 0 && profSampleDue(ctx, usize)) {
        const holder: StackHolder = {};
        captureOpen();
        try {
          Error.captureStackTrace(holder, api);
        } finally {
          sampled = profSampleTaken(ctx, usize, holder);
        }
      }
      p = allocCore(ctx, tc, usize, ind, chooseSize, -1, zero, sampled);
    } catch (err) {
      throw guardError(ctx, fn, err);
    }
    if (p === 0) return this._fail(ENOMEM);
    eventAlloc(ctx, usize, p);
    if (flushProblems.length !== 0) this._reportFlushProblems(fn);
    return p;
  }

  /**
   * Turns the fast paths off until the next slow call re-derives their fields: after anything that may
   * have destroyed or replaced the thread's cache (a mallctl such as thread.tcache.enabled), whose
   * bins they would otherwise keep pushing to.
   */
  protected _fastReset(): void {
    this._tcW0 = 0;
    this.#fastTc = -1;
  }

  /** The thread's cache (created on first use), refreshing the fast path's cached fields. */
  protected _tcache(): number {
    const tc = threadTcache(this.ctx);
    this.#setFast(tc);
    return tc;
  }

  #setFast(tc: number): void {
    const ctx = this.ctx;
    // Nothing to refresh while the cache is the same and the views still cover the mapped space (a
    // SharedArrayBuffer never shrinks; a resizable ArrayBuffer may, so its length is compared).
    if (
      tc === this.#fastTc &&
      (ctx.shared
        ? ctx.f64[HDR_TOP_B >>> 3]! <= this.#viewLen
        : ctx.buffer.byteLength - ctx.u8.byteOffset === this.#viewLen)
    )
      return;
    this.#refreshFast(tc);
  }

  /** #setFast's refresh, out of line: every slow call checks, few refresh (V8 inlines the check). */
  #refreshFast(tc: number): void {
    const ctx = this.ctx;
    this.#fastTc = tc;
    const len = ctx.buffer.byteLength - ctx.u8.byteOffset;
    if (len !== this.#viewLen || this.#u32.buffer !== ctx.buffer) {
      this.#viewLen = len;
      this.#u32 = new Uint32Array(ctx.buffer, ctx.u8.byteOffset, Math.floor(len / 4));
      this.#f64 = new Float64Array(ctx.buffer, ctx.u8.byteOffset, Math.floor(len / 8));
    }
    // Off for junk and for opt.lg_san_uaf_align (its stash lives on the slow paths).
    const ok =
      tc !== 0 &&
      !ctx.opt.zero &&
      !ctx.opt.junkAlloc &&
      !ctx.opt.junkFree &&
      ctx.optRaw.lg_san_uaf_align < 0 &&
      !this._detached;
    this._tcW0 = ok ? tbinW(tc, 0) : 0;
    const nhbins = tc !== 0 ? tcacheGeom(ctx).nhbins : 0;
    if (nhbins !== this.#nhbins && nhbins !== 0) {
      const big = ctx.sc.coarseLookup(ctx.sc.index2size(nhbins - 1));
      this.#s2iBig = big.tab;
      this.#bigLgGrain = big.lgGrain;
      this.#bigLimit = big.limit;
      // Not #bigLimit: with tcache_max ≤ 4 KiB there is no coarse table (limit 0), yet every class up
      // to tcache_max is cached.
      this.#cachedMax = ctx.sc.index2size(nhbins - 1);
    }
    this.#nhbins = nhbins;
    // Profiling is set up after the constructor: read here, where the cache is first taken.
    this.#largeFastMin = ctx.profB === 0 ? ctx.sc.nbins : 256;
  }

  /**
   * free. Fast path: a block of a cached class whose cache bin has room and no GC event is due — one
   * page-map read, range and alignment checks, one push. A small region is checked against its slab;
   * a cached large block (an active extent that is not a slab) must be the extent's address.
   */
  free(ptr: number): void {
    // `p`: the pointer as an integer. Callers often keep pointers in a Float64Array; the test below
    // does not tell V8 that `ptr` is integral, so every later use of `ptr` would be a float operation.
    const p = typeof ptr === "number" ? ptr >>> 0 : 0;
    if (p === ptr && p !== 0 && this._tcW0 !== 0) {
      const u32 = this.#u32;
      const page = p >>> this.#lgPage;
      const leaf = u32[this.#rootW + (page >>> LEAF_BITS)];
      if (leaf !== undefined && leaf !== 0) {
        const ew = u32[(leaf >>> 2) + (page & RTREE_LEAF_MASK)]! >>> 2;
        // Active (state 0) slab: bits & (state | slab) === slab.
        if (ew !== 0 && (u32[ew + E_BITS]! & FAST_BITS_MASK) === SLAB_BIT) {
          const base = u32[ew + E_BASE]!;
          const ind = u32[ew + E_SZIND]!;
          const regSize = this.#classSize[ind]!;
          const off = p - base;
          // Start-of-region check without a division: off / regSize by a precomputed reciprocal,
          // rounded; exact for every valid offset, and a wrong one never multiplies back to off.
          if (
            off >= 0 &&
            off < u32[ew + E_SIZE]! &&
            ind < this.#nhbins &&
            Math.round(off * this.#classInv[ind]!) * regSize === off
          ) {
            const w = this._tcW0 + ind * BIN_WORDS;
            const f64 = this.#f64;
            const after = f64[this.#deallocD]! + regSize;
            // The view check: a block beyond this handle's view would lose its mark.
            if (p < this.#viewLen && after < f64[this.#deallocNextD]!) {
              if (dallocEasy(u32, w, p)) {
                f64[this.#deallocD] = after;
                return;
              }
            }
          }
        } else if (ew !== 0 && this.#freeLargeFast(u32, p, ew)) return;
      }
    }
    this.#freeSlow(ptr);
  }

  /**
   * free's fast path for a large block: an active extent that is not a slab, freed at its address. A
   * cached class is pushed as a small region is, an uncached one goes to the arena. True when done.
   * (The push is written out here and in free: sharing it slowed small churn and records ~5 %.)
   */
  #freeLargeFast(u32: Uint32Array, p: number, ew: number): boolean {
    const ind = u32[ew + E_SZIND]!;
    if ((u32[ew + E_BITS]! & FAST_BITS_MASK) !== 0 || ind < this.#largeFastMin || p !== u32[ew + E_ADDR]!)
      return false;
    if (ind >= this.#nhbins) return this.#freeLargeArena(p, ew << 2);
    const f64 = this.#f64;
    const after = f64[this.#deallocD]! + this.#classSize[ind]!;
    if (
      p < this.#viewLen &&
      after < f64[this.#deallocNextD]! &&
      dallocEasy(u32, this._tcW0 + ind * BIN_WORDS, p)
    ) {
      f64[this.#deallocD] = after;
      return true;
    }
    return false;
  }

  /**
   * free of an uncached large block the fast path has looked up (active, not a slab, at its address):
   * straight to the arena, without the slow path's second page-map read and cache lookup. The arena
   * re-checks the state under its lock, so a racing second free is still reported.
   */
  #freeLargeArena(p: number, e: number): boolean {
    const poison = Atomics.load(this.ctx.i32, HDR_POISON_B >>> 2);
    if (poison !== 0) throw poisonedError("free", poison);
    this._dalloc("free", p, e, 0);
    return true;
  }

  #freeSlow(ptr: number): void {
    this._enter("free");
    ptr = checkPtr(ptr, "free");
    if (ptr === 0) return;
    const e = this._live("free", ptr);
    if (e === 0) return;
    this._dalloc("free", ptr, e, this._tcache());
  }

  /** Frees a validated live block through `tc` (0: straight to the arena) and counts the event. */
  protected _dalloc(fn: string, ptr: number, e: number, tc: number): void {
    const ctx = this.ctx;
    const usize = usizeOf(ctx, e);
    let ok: boolean;
    try {
      ok = dallocCore(ctx, tc, ptr, e, usize);
    } catch (err) {
      throw guardError(ctx, fn, err);
    }
    if (!ok) {
      this._report("double-free", fn, ptr, "pointer is not allocated (double free)");
      return;
    }
    eventDalloc(ctx, usize);
    this._reportFlushProblems(fn);
  }

  protected _reportFlushProblems(fn: string): void {
    if (flushProblems.length === 0) return;
    const p = flushProblems[0]!;
    flushProblems.length = 0;
    const uaf = uafDetails.get(p) ?? stashReports.get(p);
    uafDetails.clear();
    stashReports.clear();
    if (uaf !== undefined) {
      this._report("use-after-free", fn, p, uaf);
      return;
    }
    this._report(
      "double-free",
      fn,
      p,
      "pointer in thread cache was freed twice, written after free, or is not a live region (detected when it left the cache)",
    );
  }

  /** Usable size of a live allocation; 0 for NULL. */
  mallocUsableSize(ptr: number): number {
    this._enter("mallocUsableSize");
    ptr = checkPtr(ptr, "mallocUsableSize");
    if (ptr === 0) return 0;
    const e = this._live("mallocUsableSize", ptr);
    return e === 0 ? 0 : usizeOf(this.ctx, e);
  }

  /** realloc: NULL → malloc; size 0 → as opt.zero_realloc says (default: free, return 0). */
  realloc(ptr: number, size: number): number {
    this._enter("realloc");
    ptr = checkPtr(ptr, "realloc");
    size = checkSize(size, "realloc");
    if (ptr === 0) return this.#mallocSlow(size, HeapCore.prototype.realloc);
    const e = this._live("realloc", ptr);
    if (e === 0) return 0;
    const ctx = this.ctx;
    if (size === 0) {
      const mode = ctx.opt.zeroRealloc;
      ctx.f64[HDR_ZERO_REALLOCS_B >>> 3]! += 1;
      if (mode === "abort")
        throw new Error("<jemalloc>: Called realloc(non-null-ptr, 0) with zero_realloc:abort set");
      if (mode === "free") {
        this._dalloc("realloc", ptr, e, this._tcache());
        return 0;
      }
      size = 1;
    }
    if (size > ctx.sc.maxClass) return this._fail(ENOMEM);
    return this._ralloc(ptr, e, size, 0, ctx.opt.zero, this._tcache(), -1);
  }

  protected _ralloc(
    ptr: number,
    e: number,
    size: number,
    alignment: number,
    zero: boolean,
    tc: number,
    arenaInd: number,
  ): number {
    const ctx = this.ctx;
    const old = usizeOf(ctx, e);
    let p: number;
    try {
      p = rallocCore(ctx, tc, ptr, e, old, size, alignment, zero, arenaInd);
    } catch (err) {
      throw guardError(ctx, "realloc", err);
    }
    if (p === 0) return this._fail(ENOMEM);
    if (p === ptr) profFreeSampled(ctx, ptr, e); // resized in place: the old sample ends here
    eventAlloc(ctx, ctx.sc.s2u(size) === 0 ? old : usizeOf(ctx, lookupLive(ctx, p)), p);
    eventDalloc(ctx, old);
    this._reportFlushProblems("realloc");
    return p;
  }

  /** @internal whether the last realloc/rallocx moved the block. */
  get lastReallocMoved(): boolean {
    return rallocMoved;
  }
}
