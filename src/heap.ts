/**
 * heap: the public API — a `Heap` is one thread's handle on a heap that lives entirely in a
 * SharedArrayBuffer (or a resizable ArrayBuffer). `Heap.create` writes a new heap; `Heap.attach`
 * gives another worker a handle on the same buffer. Pointers are byte offsets (numbers); 0 is NULL.
 *
 * C semantics: malloc(0) returns a unique minimal block, free(0) is a no-op, out of memory returns 0
 * (never throws; `lastError` is ENOMEM), and the heap stays intact. Arguments of the wrong type or
 * out of range throw TypeError / RangeError naming the value; misuse the heap detects (double free,
 * pointers it never returned, interior pointers, sized frees with the wrong size) goes to the
 * corruption handler, which throws HeapCorruptionError by default.
 */
import { arenaRecordByInd, narenasTotal } from "./arena/arena.js";
import { uafDetails } from "./check/junk.js";
import {
  type CorruptionHandler,
  checkFlags,
  checkPtr,
  checkSize,
  EINVAL,
  ENOMEM,
  HeapPoisonedError,
  heapCorruptionDetected___check_frees_and_sizes_or_enable_junk_to_debug,
} from "./errors.js";
import type { HeapCtx } from "./ctx/ctx.js";
import { poisonedError } from "./extent/lock.js";
import {
  EDATA_BITS_SLAB_MASK,
  EDATA_BITS_STATE_MASK,
  EDATA_W_BASE,
  EDATA_W_BITS,
  EDATA_W_SIZE,
  EDATA_W_SZIND,
  edataArena,
} from "./extent/edata.js";
import { MALLOCX_ZERO, mallocxArenaIndex, mallocxLgAlign, mallocxTcacheIndex } from "./flags.js";
import {
  bootArenas,
  bootAttach,
  bootCreate,
  buildCtx,
  type HeapAttachOptions,
  type HeapCreateOptions,
} from "./heap/boot.js";
import { threadEvents } from "./ctx/events.js";
import { hostWriteError } from "./platform/index.js";
import { hookCallsRefresh } from "./heap/hook_calls.js";
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
  pallocCore,
  rallocCore,
  rallocMoved,
  rallocNoMove,
  threadTcache,
  usizeOf,
} from "./heap/ops.js";
import {
  type ReclaimReport,
  reclaimSlot,
  slotOfThreadId,
  threadDetach,
} from "./heap/threads.js";
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
} from "./ctx/header.js";
import { isPow2 } from "./layout/index.js";
import { slotThreadId } from "./sync/index.js";
import { tcacheExplicitGet } from "./tcache/index.js";
import {
  TBIN_W_CAP,
  TBIN_W_LOW_WATER,
  TBIN_W_NREQUESTS,
  TBIN_W_SLOTS,
  TBIN_WORDS,
  tbinW,
} from "./tcache/layout.js";
import { cacheMarkOk, cacheMarkSet } from "./tcache/mark.js";
import { flushProblems, tcacheGeom } from "./tcache/tcache.js";

export type { ReclaimReport };

import { backgroundThreadSet } from "./background/index.js";
import { backgroundWorkerScriptDefaultSet } from "./background/spawn.js";
import { type CheckReport, heapCheck } from "./check/check.js";
import type { Derived } from "./heap/boot.js";
import { guardError } from "./heap/guard.js";
import {
  heapMallctl,
  heapStatsPrint,
  heapStatsPrintAtExit,
  mallctlByMib,
  mallctlNameToMib,
} from "./heap/mallctl.js";
import { heapProfile, profAtExit } from "./prof/index.js";
import { profFreeSampled } from "./prof/sample.js";
import { type HeapMapSnapshot, heapMap } from "./heap/map.js";
import { terminateWatched, type WatchableWorker, watchWorker } from "./heap/watch.js";

export type { HeapAttachOptions, HeapCreateOptions };

// The module background purge threads run (started from src/background, which cannot import this layer).
backgroundWorkerScriptDefaultSet(new URL("./heap/background_worker.js", import.meta.url));

const RTREE_LEAF_MASK = 2 ** RTREE_LEAF_BITS - 1;
const FAST_BITS_MASK = EDATA_BITS_STATE_MASK | EDATA_BITS_SLAB_MASK;

export class Heap {
  /** @internal this thread's context (views, tables, slot). */
  readonly ctx: HeapCtx;
  /** @internal what was derived from the header. */
  readonly derived: Derived;
  #detached = false;
  // Fast-path fields, read once per thread (the heap's state itself stays in the buffer).
  #u32: Uint32Array;
  #f64: Float64Array;
  /** Buffer length the fast views cover: reads beyond read undefined and bail to the slow path. */
  #viewLen: number;
  #s2iTab: Uint8Array;
  #classSize: Float64Array;
  #classInv: Float64Array;
  #lgPage: number;
  #rootW: number;
  #allocD: number;
  #allocNextD: number;
  #deallocD: number;
  #deallocNextD: number;
  /** u32 index of the thread cache's bin 0 record; 0 when the fast path is off. */
  #tcW0 = 0;
  /** The cache #setFast last derived the fields from (-1: none yet). */
  #fastTc = -1;
  #nhbins = 0;
  #corruption: CorruptionHandler = heapCorruptionDetected___check_frees_and_sizes_or_enable_junk_to_debug;

  private constructor(ctx: HeapCtx, derived: Derived) {
    this.ctx = ctx;
    this.derived = derived;
    this.#viewLen = ctx.buffer.byteLength;
    this.#u32 = new Uint32Array(ctx.buffer, 0, Math.floor(this.#viewLen / 4));
    this.#f64 = new Float64Array(ctx.buffer, 0, Math.floor(this.#viewLen / 8));
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

  /** A new heap on a growable SharedArrayBuffer (or, with `shared: false`, a resizable ArrayBuffer). */
  static create(options: HeapCreateOptions = {}): Heap {
    const { buffer, derived } = bootCreate(options);
    const ctx = buildCtx(buffer, derived, options.clock, options.lockTimeoutMs, false);
    bootArenas(ctx);
    const heap = new Heap(ctx, derived);
    heap.#bindWriter(options.writer);
    // malloc_init_hard: opt.background_thread starts the workers (shared heaps only).
    if (derived.conf.opt.background_thread && ctx.shared) backgroundThreadSet(heap, true);
    heapStatsPrintAtExit(heap);
    profAtExit(heap);
    return heap;
  }

  /** The heap in `buffer`, seen from this thread (another worker, usually). */
  static attach(buffer: SharedArrayBuffer | ArrayBuffer, options: HeapAttachOptions = {}): Heap {
    const derived = bootAttach(buffer, options);
    const ctx = buildCtx(buffer, derived, options.clock, options.lockTimeoutMs, false);
    const heap = new Heap(ctx, derived);
    heap.#bindWriter(options.writer);
    return heap;
  }

  /** opt.stats_interval's reports go where the heap's other messages go (default: stderr). */
  #bindWriter(writer: ((msg: string) => void) | undefined): void {
    const out = writer ?? hostWriteError;
    threadEvents(this.ctx).printer = (opts) => out(this.statsPrint(opts));
  }

  /** @internal a heap whose clock is virtual nanoseconds-from-zero (trace replay). */
  static createVirtual(options: HeapCreateOptions, clockMs: () => number): Heap {
    const { buffer, derived } = bootCreate(options);
    const ctx = buildCtx(buffer, derived, clockMs, options.lockTimeoutMs, true);
    bootArenas(ctx);
    const heap = new Heap(ctx, derived);
    heap.#bindWriter(options.writer);
    return heap;
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

  /** @internal experimental.hooks changed this thread's hook sets: (un)wrap the C API calls. */
  allocHooksChanged(): void {
    hookCallsRefresh(this);
  }

  /** Replaces the handler for detected misuse (default: throw HeapCorruptionError). */
  setCorruptionHandler(fn: CorruptionHandler | null): void {
    this.#corruption = fn ?? heapCorruptionDetected___check_frees_and_sizes_or_enable_junk_to_debug;
  }

  #enter(fn: string): void {
    if (this.#detached) throw new HeapPoisonedError(`${fn}: this Heap handle was detached`);
    const poison = Atomics.load(this.ctx.i32, HDR_POISON_B >>> 2);
    if (poison !== 0) throw poisonedError(fn, poison);
  }

  #fail(errno: number): number {
    this.ctx.u32[(this.ctx.threadB + THREAD_LAST_ERROR_B) >>> 2] = errno;
    return 0;
  }

  #report(kind: string, fn: string, ptr: number, detail: string): void {
    this.#corruption({ kind, ptr, message: `<jemalloc>: ${fn}(${ptr}): ${detail}` });
  }

  /** The live record for `ptr`, or 0 after reporting the misuse. */
  #live(fn: string, ptr: number): number {
    let e: number;
    try {
      e = lookupLive(this.ctx, ptr);
    } catch (err) {
      throw guardError(this.ctx, fn, err);
    }
    if (e !== 0) return e;
    const why = lastPtrError();
    if (why === PTR_INTERIOR)
      this.#report("interior-pointer", fn, ptr, "not the start of an allocation (interior pointer)");
    else if (why === PTR_NOT_ACTIVE || why === PTR_FREED_REGION)
      this.#report("double-free", fn, ptr, "pointer is not allocated (double free or use after free)");
    else this.#report("invalid-pointer", fn, ptr, "pointer was not returned by this heap");
    return 0;
  }

  // ---- the C API --------------------------------------------------------------------------------

  /**
   * malloc. Fast path (no call, no lock, no allocation): an integer size ≤ 4096, the thread cache on
   * and its bin non-empty, and no GC event due — one table lookup, one pop, counters bumped.
   */
  malloc(size: number): number {
    if (typeof size === "number" && size <= 4096 && size >>> 0 === size && this.#tcW0 !== 0) {
      const ind = this.#s2iTab[(size + 7) >>> 3]!;
      if (ind < this.#nhbins) {
        const u32 = this.#u32;
        const w = this.#tcW0 + ind * TBIN_WORDS;
        const head = u32[w]!;
        const cap = u32[w + TBIN_W_CAP]!;
        const f64 = this.#f64;
        const after = f64[this.#allocD]! + this.#classSize[ind]!;
        if (head !== cap && after < f64[this.#allocNextD]!) {
          const slotW = u32[w + TBIN_W_SLOTS]! + head;
          const p = u32[slotW]!;
          // The block's cached mark must name this slot (else: freed twice; the slow path reports).
          if (cacheMarkOk(u32, p, slotW)) {
            u32[w] = head + 1;
            if (cap - head - 1 < u32[w + TBIN_W_LOW_WATER]!) u32[w + TBIN_W_LOW_WATER] = cap - head - 1;
            f64[(w + TBIN_W_NREQUESTS) >>> 1]! += 1;
            f64[this.#allocD] = after;
            return p;
          }
        }
      }
    }
    return this.#mallocSlow(size);
  }

  #mallocSlow(size: number): number {
    this.#enter("malloc");
    size = checkSize(size, "malloc");
    const ctx = this.ctx;
    const sc = ctx.sc;
    if (size > sc.maxClass) return this.#fail(ENOMEM);
    const ind = sc.size2index(size);
    const usize = sc.index2size(ind);
    let p: number;
    try {
      p = allocCore(ctx, this.#tcache(), usize, ind, size, -1, ctx.opt.zero);
    } catch (err) {
      throw guardError(ctx, "malloc", err);
    }
    if (p === 0) return this.#fail(ENOMEM);
    eventAlloc(ctx, usize, p);
    if (flushProblems.length !== 0) this.#reportFlushProblems("malloc");
    return p;
  }

  /** The thread's cache (created on first use), refreshing the fast path's cached fields. */
  #tcache(): number {
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
      (ctx.shared ? ctx.f64[HDR_TOP_B >>> 3]! <= this.#viewLen : ctx.buffer.byteLength === this.#viewLen)
    )
      return;
    this.#fastTc = tc;
    const len = ctx.buffer.byteLength;
    if (len !== this.#viewLen) {
      this.#viewLen = len;
      this.#u32 = new Uint32Array(ctx.buffer, 0, Math.floor(len / 4));
      this.#f64 = new Float64Array(ctx.buffer, 0, Math.floor(len / 8));
    }
    const ok = tc !== 0 && !ctx.opt.zero && !ctx.opt.junkAlloc && !ctx.opt.junkFree && !this.#detached;
    this.#tcW0 = ok ? tbinW(tc, 0) : 0;
    this.#nhbins = tc !== 0 ? tcacheGeom(ctx).nhbins : 0;
  }

  calloc(n: number, size: number): number {
    this.#enter("calloc");
    n = checkSize(n, "calloc", "count");
    size = checkSize(size, "calloc");
    const total = n * size;
    const ctx = this.ctx;
    const sc = ctx.sc;
    if (!Number.isSafeInteger(total) || total > sc.maxClass) return this.#fail(ENOMEM);
    const ind = sc.size2index(total);
    const usize = sc.index2size(ind);
    let p: number;
    try {
      p = allocCore(ctx, this.#tcache(), usize, ind, total, -1, true);
    } catch (err) {
      throw guardError(ctx, "calloc", err);
    }
    if (p === 0) return this.#fail(ENOMEM);
    eventAlloc(ctx, usize, p);
    if (flushProblems.length !== 0) this.#reportFlushProblems("calloc");
    return p;
  }

  /** C11 aligned_alloc: `alignment` a power of two (else 0 with EINVAL). */
  alignedAlloc(alignment: number, size: number): number {
    this.#enter("alignedAlloc");
    alignment = checkSize(alignment, "alignedAlloc", "alignment");
    size = checkSize(size, "alignedAlloc");
    if (!isPow2(alignment)) return this.#fail(EINVAL);
    return this.#aligned(alignment, size, this.ctx.opt.zero, this.#tcache(), -1);
  }

  #aligned(alignment: number, size: number, zero: boolean, tc: number, arenaInd: number): number {
    const ctx = this.ctx;
    const sc = ctx.sc;
    if (size > sc.maxClass || alignment > 2 ** 31) return this.#fail(ENOMEM);
    const usize = sc.sa2u(size === 0 ? 1 : size, alignment);
    if (usize === 0) return this.#fail(ENOMEM);
    let p: number;
    try {
      p = pallocCore(ctx, tc, usize, alignment, arenaInd, zero);
    } catch (err) {
      throw guardError(ctx, "alignedAlloc", err);
    }
    if (p === 0) return this.#fail(ENOMEM);
    eventAlloc(ctx, usize, p);
    if (flushProblems.length !== 0) this.#reportFlushProblems("alignedAlloc");
    return p;
  }

  /** posix_memalign: `{ error, ptr }` — error 0, EINVAL (alignment not a power of two ≥ 8) or ENOMEM. */
  posixMemalign(alignment: number, size: number): { error: number; ptr: number } {
    this.#enter("posixMemalign");
    alignment = checkSize(alignment, "posixMemalign", "alignment");
    size = checkSize(size, "posixMemalign");
    if (!isPow2(alignment) || alignment < 8) return { error: EINVAL, ptr: 0 };
    const ptr = this.#aligned(alignment, size, this.ctx.opt.zero, this.#tcache(), -1);
    return { error: ptr === 0 ? ENOMEM : 0, ptr };
  }

  /**
   * free. Fast path: a small region of a cached class whose cache bin has room and no GC event is
   * due — one page-map read, range and alignment checks, one push.
   */
  free(ptr: number): void {
    if (typeof ptr === "number" && ptr >>> 0 === ptr && ptr !== 0 && this.#tcW0 !== 0) {
      const u32 = this.#u32;
      const page = ptr >>> this.#lgPage;
      const leaf = u32[this.#rootW + (page >>> RTREE_LEAF_BITS)];
      if (leaf !== undefined && leaf !== 0) {
        const ew = u32[(leaf >>> 2) + (page & RTREE_LEAF_MASK)]! >>> 2;
        // Active (state 0) slab: bits & (state | slab) === slab.
        if (ew !== 0 && (u32[ew + EDATA_W_BITS]! & FAST_BITS_MASK) === EDATA_BITS_SLAB_MASK) {
          const base = u32[ew + EDATA_W_BASE]!;
          const ind = u32[ew + EDATA_W_SZIND]!;
          const regSize = this.#classSize[ind]!;
          const off = ptr - base;
          // Start-of-region check without a division: off / regSize by a precomputed reciprocal,
          // rounded; exact for every valid offset, and a wrong one never multiplies back to off.
          if (
            off >= 0 &&
            off < u32[ew + EDATA_W_SIZE]! &&
            ind < this.#nhbins &&
            Math.round(off * this.#classInv[ind]!) * regSize === off
          ) {
            const w = this.#tcW0 + ind * TBIN_WORDS;
            const head = u32[w]!;
            const slots = u32[w + TBIN_W_SLOTS]!;
            const f64 = this.#f64;
            const after = f64[this.#deallocD]! + regSize;
            if (
              head !== 0 &&
              u32[slots + head] !== ptr &&
              after < f64[this.#deallocNextD]! &&
              ptr < this.#viewLen
            ) {
              cacheMarkSet(u32, ptr, slots + head - 1);
              u32[slots + head - 1] = ptr;
              u32[w] = head - 1;
              f64[this.#deallocD] = after;
              return;
            }
          }
        }
      }
    }
    this.#freeSlow(ptr);
  }

  #freeSlow(ptr: number): void {
    this.#enter("free");
    ptr = checkPtr(ptr, "free");
    if (ptr === 0) return;
    const e = this.#live("free", ptr);
    if (e === 0) return;
    this.#dalloc("free", ptr, e, this.#tcache());
  }

  /** Frees a validated live block through `tc` (0: straight to the arena) and counts the event. */
  #dalloc(fn: string, ptr: number, e: number, tc: number): void {
    const ctx = this.ctx;
    const usize = usizeOf(ctx, e);
    let ok: boolean;
    try {
      ok = dallocCore(ctx, tc, ptr, e, usize);
    } catch (err) {
      throw guardError(ctx, fn, err);
    }
    if (!ok) {
      this.#report("double-free", fn, ptr, "pointer is not allocated (double free)");
      return;
    }
    eventDalloc(ctx, usize);
    this.#reportFlushProblems(fn);
  }

  #reportFlushProblems(fn: string): void {
    if (flushProblems.length === 0) return;
    const p = flushProblems[0]!;
    flushProblems.length = 0;
    const uaf = uafDetails.get(p);
    uafDetails.clear();
    if (uaf !== undefined) {
      this.#report("use-after-free", fn, p, uaf);
      return;
    }
    this.#report(
      "double-free",
      fn,
      p,
      "pointer in thread cache was freed twice, written after free, or is not a live region (detected when it left the cache)",
    );
  }

  /** Usable size of a live allocation; 0 for NULL. */
  mallocUsableSize(ptr: number): number {
    this.#enter("mallocUsableSize");
    ptr = checkPtr(ptr, "mallocUsableSize");
    if (ptr === 0) return 0;
    const e = this.#live("mallocUsableSize", ptr);
    return e === 0 ? 0 : usizeOf(this.ctx, e);
  }

  /** realloc: NULL → malloc; size 0 → as opt.zero_realloc says (default: free, return 0). */
  realloc(ptr: number, size: number): number {
    this.#enter("realloc");
    ptr = checkPtr(ptr, "realloc");
    size = checkSize(size, "realloc");
    if (ptr === 0) return this.#mallocSlow(size);
    const e = this.#live("realloc", ptr);
    if (e === 0) return 0;
    const ctx = this.ctx;
    if (size === 0) {
      const mode = ctx.opt.zeroRealloc;
      ctx.f64[HDR_ZERO_REALLOCS_B >>> 3]! += 1;
      if (mode === "abort")
        throw new Error("<jemalloc>: Called realloc(non-null-ptr, 0) with zero_realloc:abort set");
      if (mode === "free") {
        this.#dalloc("realloc", ptr, e, this.#tcache());
        return 0;
      }
      size = 1;
    }
    if (size > ctx.sc.maxClass) return this.#fail(ENOMEM);
    return this.#ralloc(ptr, e, size, 0, ctx.opt.zero, this.#tcache(), -1);
  }

  #ralloc(
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
    if (p === 0) return this.#fail(ENOMEM);
    if (p === ptr) profFreeSampled(ctx, ptr, e); // resized in place: the old sample ends here
    eventAlloc(ctx, ctx.sc.s2u(size) === 0 ? old : usizeOf(ctx, lookupLive(ctx, p)), p);
    eventDalloc(ctx, old);
    this.#reportFlushProblems("realloc");
    return p;
  }

  /** @internal whether the last realloc/rallocx moved the block. */
  get lastReallocMoved(): boolean {
    return rallocMoved;
  }

  // ---- jemalloc's non-standard API ----------------------------------------------------------------

  #usizeFor(size: number, flags: number): number {
    const sc = this.ctx.sc;
    const la = mallocxLgAlign(flags);
    if (la === 0) return size > sc.maxClass ? 0 : sc.s2u(size);
    if (la >= 32) return 0;
    return sc.sa2u(size === 0 ? 1 : size, 2 ** la);
  }

  #arenaFlag(flags: number, fn: string): number {
    const a = mallocxArenaIndex(flags);
    if (a < 0) return -1;
    if (a >= narenasTotal(this.ctx))
      throw new RangeError(
        `${fn}: MALLOCX_ARENA(${a}) names no arena (arenas.narenas is ${narenasTotal(this.ctx)})`,
      );
    return a;
  }

  /** The cache a flags word selects: automatic, none, or an explicit one. */
  #tcacheFlag(flags: number, fn: string): number {
    const t = mallocxTcacheIndex(flags);
    if (t === -2) return this.#tcache();
    if (t === -1) return 0;
    const tc = tcacheExplicitGet(this.ctx, t);
    if (tc === 0) throw new RangeError(`${fn}: MALLOCX_TCACHE(${t}) names no live explicit thread cache`);
    return tc;
  }

  mallocx(size: number, flags = 0): number {
    this.#enter("mallocx");
    size = checkSize(size, "mallocx");
    flags = checkFlags(flags, "mallocx");
    const usize = this.#usizeFor(size, flags);
    if (usize === 0) return this.#fail(ENOMEM);
    const ctx = this.ctx;
    const zero = (flags & MALLOCX_ZERO) !== 0 || ctx.opt.zero;
    const arenaInd = this.#arenaFlag(flags, "mallocx");
    const tc = this.#tcacheFlag(flags, "mallocx");
    const la = mallocxLgAlign(flags);
    if (la !== 0) return this.#aligned(2 ** la, size, zero, tc, arenaInd);
    let p: number;
    try {
      p = allocCore(ctx, tc, usize, ctx.sc.size2index(usize), size, arenaInd, zero);
    } catch (err) {
      throw guardError(ctx, "mallocx", err);
    }
    if (p === 0) return this.#fail(ENOMEM);
    eventAlloc(ctx, usize, p);
    if (flushProblems.length !== 0) this.#reportFlushProblems("mallocx");
    return p;
  }

  rallocx(ptr: number, size: number, flags = 0): number {
    this.#enter("rallocx");
    ptr = checkPtr(ptr, "rallocx");
    size = checkSize(size, "rallocx");
    flags = checkFlags(flags, "rallocx");
    if (ptr === 0) throw new RangeError("rallocx: ptr must not be NULL (0)");
    const e = this.#live("rallocx", ptr);
    if (e === 0) return 0;
    if (size > this.ctx.sc.maxClass) return this.#fail(ENOMEM);
    const la = mallocxLgAlign(flags);
    if (la >= 32) return this.#fail(ENOMEM);
    const zero = (flags & MALLOCX_ZERO) !== 0 || this.ctx.opt.zero;
    const arenaInd = this.#arenaFlag(flags, "rallocx");
    return this.#ralloc(
      ptr,
      e,
      size === 0 ? 1 : size,
      la === 0 ? 0 : 2 ** la,
      zero,
      this.#tcacheFlag(flags, "rallocx"),
      arenaInd,
    );
  }

  /** Resize in place only; returns the resulting usable size (the old one if impossible). */
  xallocx(ptr: number, size: number, extra = 0, flags = 0): number {
    this.#enter("xallocx");
    ptr = checkPtr(ptr, "xallocx");
    size = checkSize(size, "xallocx");
    extra = checkSize(extra, "xallocx", "extra");
    flags = checkFlags(flags, "xallocx");
    const e = this.#live("xallocx", ptr);
    if (e === 0) return 0;
    const ctx = this.ctx;
    const old = usizeOf(ctx, e);
    const max = ctx.sc.maxClass;
    if (size > max) return old;
    if (size + extra > max) extra = max - size;
    const la = mallocxLgAlign(flags);
    if (la !== 0 && ptr % 2 ** la !== 0) return old;
    const zero = (flags & MALLOCX_ZERO) !== 0 || ctx.opt.zero;
    try {
      rallocNoMove(ctx, e, old, size === 0 ? 1 : size, extra, zero);
    } catch (err) {
      throw guardError(ctx, "xallocx", err);
    }
    const now = usizeOf(ctx, e);
    if (now !== old) {
      profFreeSampled(ctx, ptr, e);
      eventAlloc(ctx, now, ptr);
      eventDalloc(ctx, old);
    }
    return now;
  }

  sallocx(ptr: number, _flags = 0): number {
    this.#enter("sallocx");
    ptr = checkPtr(ptr, "sallocx");
    const e = this.#live("sallocx", ptr);
    return e === 0 ? 0 : usizeOf(this.ctx, e);
  }

  dallocx(ptr: number, flags = 0): void {
    this.#enter("dallocx");
    flags = checkFlags(flags, "dallocx");
    ptr = checkPtr(ptr, "dallocx");
    if (ptr === 0) return;
    const e = this.#live("dallocx", ptr);
    if (e === 0) return;
    this.#dalloc("dallocx", ptr, e, this.#tcacheFlag(flags, "dallocx"));
  }

  /** Sized free: `size` must lie in [requested size, usable size] (checked: a mismatch is reported). */
  sdallocx(ptr: number, size: number, flags = 0): void {
    this.#enter("sdallocx");
    ptr = checkPtr(ptr, "sdallocx");
    size = checkSize(size, "sdallocx");
    flags = checkFlags(flags, "sdallocx");
    if (ptr === 0) return;
    const e = this.#live("sdallocx", ptr);
    if (e === 0) return;
    const usize = usizeOf(this.ctx, e);
    const expect = this.#usizeFor(size, flags);
    if (expect !== usize) {
      this.#report(
        "size-mismatch",
        "sdallocx",
        ptr,
        `size mismatch detected (true size ${usize} vs input size ${size}), likely caused by application sized deallocation bugs`,
      );
      return;
    }
    this.#dalloc("sdallocx", ptr, e, this.#tcacheFlag(flags, "sdallocx"));
  }

  /** The usable size mallocx(size, flags) would give; 0 if too large. */
  nallocx(size: number, flags = 0): number {
    this.#enter("nallocx");
    size = checkSize(size, "nallocx");
    flags = checkFlags(flags, "nallocx");
    return this.#usizeFor(size, flags);
  }

  // ---- control and inspection ---------------------------------------------------------------------

  /** jemalloc's mallctl: read a value, or write one (returns the old value where there is one). */
  mallctl(name: string, newValue?: unknown): unknown {
    this.#enter("mallctl");
    let old: unknown;
    try {
      old = heapMallctl(this, name, newValue);
    } catch (err) {
      throw typeof name === "string" ? guardError(this.ctx, "mallctl", err) : err;
    }
    // A flush it caused (thread.tcache.flush, tcache.*) may have found a double free.
    if (flushProblems.length !== 0) this.#reportFlushProblems("mallctl");
    return old;
  }

  /** mallctlnametomib: the MIB of a name (numeric components are the index itself). */
  mallctlnametomib(name: string, maxLength?: number): number[] {
    this.#enter("mallctlnametomib");
    return mallctlNameToMib(this, name, maxLength);
  }

  /** mallctlbymib: mallctl through a MIB from mallctlnametomib. */
  mallctlbymib(mib: readonly number[], newValue?: unknown): unknown {
    this.#enter("mallctlbymib");
    return mallctlByMib(this, mib, newValue);
  }

  /** malloc_stats_print: jemalloc's text report, or its JSON with "J"; option letters g m d a b l x e h. */
  statsPrint(opts?: string): string {
    this.#enter("statsPrint");
    try {
      return heapStatsPrint(this, opts);
    } catch (err) {
      throw opts === undefined || typeof opts === "string" ? guardError(this.ctx, "statsPrint", err) : err;
    }
  }

  /**
   * The heap profile of every thread's live sampled allocations: `format: "pprof"` gives a
   * gzip-compressed pprof protobuf, `"jeprof"` (default) the text of a jeprof-readable heap_v2 dump.
   * Throws when the heap was created without opt.prof.
   */
  profile(options: { format: "pprof" }): Uint8Array;
  profile(options?: { format?: "jeprof" }): string;
  profile(options: { format?: "pprof" | "jeprof" } = {}): Uint8Array | string {
    this.#enter("profile");
    return heapProfile(this.ctx, options.format ?? "jeprof");
  }

  /** Walks the whole heap and verifies every invariant; throws with a report naming what is wrong. */
  check(): CheckReport {
    this.#enter("check");
    try {
      return heapCheck(this.ctx);
    } catch (err) {
      throw guardError(this.ctx, "check", err);
    }
  }

  /** The arena a live pointer belongs to. */
  arenaOf(ptr: number): number {
    this.#enter("arenaOf");
    ptr = checkPtr(ptr, "arenaOf");
    const e = this.#live("arenaOf", ptr);
    return e === 0 ? -1 : edataArena(this.ctx.u32, e);
  }

  /** This thread's id in the heap (monotonic across the heap's life; what `reclaim` takes). */
  get threadId(): number {
    return slotThreadId(this.ctx.i32, this.ctx.hdr.slotsB >>> 2, this.ctx.slot);
  }

  /**
   * Thread exit: unbinds the arena, flushes and frees this thread's cache (purging the arena fully
   * when no thread is left on it), and frees the slot. The handle is unusable afterwards.
   */
  detach(): void {
    if (this.#detached) return;
    this.#enter("detach");
    try {
      threadDetach(this.ctx);
    } catch (err) {
      throw guardError(this.ctx, "detach", err);
    }
    this.#reportFlushProblems("detach");
    this.#detached = true;
    this.#tcW0 = 0;
  }

  /**
   * Reclaims the slot of a thread that is gone without detaching (a terminated worker): its locks are
   * taken over, its cache validated entry by entry and flushed, its arena unbound, its slot freed.
   * Returns what was found, or null if no live slot has that thread id.
   */
  reclaim(threadId: number): ReclaimReport | null {
    this.#enter("reclaim");
    if (!Number.isInteger(threadId) || threadId < 0)
      throw new RangeError(`reclaim: threadId must be a non-negative integer, got ${String(threadId)}`);
    const slot = slotOfThreadId(this.ctx, threadId);
    return slot < 0 ? null : reclaimSlot(this.ctx, slot);
  }

  /**
   * Reclaims automatically every slot a worker held when it leaves: a Node Worker on its 'exit' event;
   * a browser Worker (which cannot be observed) when the page ends it with terminate(), given the heap
   * thread id(s) the worker reported (its `heap.threadId`).
   */
  watch(worker: WatchableWorker, threadIds?: number | readonly number[]): void {
    watchWorker(this.ctx, worker, threadIds, () => !this.#detached);
  }

  /** A snapshot of the whole address space: every extent of every arena (see heapMapSvg). */
  map(): HeapMapSnapshot {
    this.#enter("map");
    return heapMap(this.ctx);
  }

  /** Terminates a worker and reclaims its slots (see watch); resolves to what was reclaimed. */
  terminate(worker: WatchableWorker): Promise<ReclaimReport[]> {
    this.#enter("terminate");
    return terminateWatched(this.ctx, worker);
  }

  /** @internal arena record for index (tests). */
  arenaRecord(ind: number): number {
    return arenaRecordByInd(this.ctx, ind);
  }
}
