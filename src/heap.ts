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
import { threadEvents } from "./ctx/events.js";
import { checkFlags, checkPtr, checkSize, EINVAL, ENOMEM } from "./errors.js";
import { edataArena } from "./extent/edata.js";
import { MALLOCX_ZERO, mallocxArenaIndex, mallocxLgAlign, mallocxTcacheIndex } from "./flags.js";
import {
  bootArenas,
  bootAttach,
  bootCreate,
  buildCtx,
  type HeapAttachOptions,
  type HeapCreateOptions,
  isWasmMemory,
  type WasmMemory,
} from "./heap/boot.js";
import { HeapCore } from "./heap/core.js";
import { hookCallsRefresh } from "./heap/hook_calls.js";
import { allocCore, eventAlloc, eventDalloc, pallocCore, rallocNoMove, usizeOf } from "./heap/ops.js";
import { type ReclaimReport, reclaimSlot, slotOfThreadId, threadDetach } from "./heap/threads.js";
import { hostWriteError } from "./platform/index.js";
import { slotThreadId } from "./sync/index.js";
import { tcacheExplicitGet } from "./tcache/index.js";
import { flushProblems } from "./tcache/tcache.js";

export type { ReclaimReport };

import { backgroundThreadSet } from "./background/index.js";
import { backgroundWorkerScriptDefaultSet } from "./background/spawn.js";
import { type CheckReport, heapCheck } from "./check/check.js";
import { guardError } from "./heap/guard.js";
import {
  heapMallctl,
  heapStatsPrint,
  heapStatsPrintAtExit,
  mallctlByMib,
  mallctlNameToMib,
} from "./heap/mallctl.js";
import { type HeapMapSnapshot, heapMap } from "./heap/map.js";
import { terminateWatched, type WatchableWorker, watchWorker } from "./heap/watch.js";
import { isPow2 } from "./layout/index.js";
import { heapProfile, profAtExit } from "./prof/index.js";
import { profFreeSampled, profSampleAhead } from "./prof/sample.js";

export type { HeapAttachOptions, HeapCreateOptions };

// The module background purge threads run (started from src/background, which cannot import this layer).
backgroundWorkerScriptDefaultSet(new URL("./heap/background_worker.js", import.meta.url));

/** Heaps inside a WebAssembly.Memory: installed by src/wasm (which builds on this class). */
export interface MemoryHeaps {
  create(options: HeapCreateOptions): Heap;
  attach(memory: WasmMemory, options: HeapAttachOptions): Heap;
}
let memoryHeaps: MemoryHeaps | null = null;
/** @internal */
export function memoryHeapsSet(m: MemoryHeaps): void {
  memoryHeaps = m;
}
function memoryHeapsGet(fn: string): MemoryHeaps {
  if (memoryHeaps === null)
    throw new TypeError(
      `${fn}: a WebAssembly.Memory heap needs jemalloc-ts's wasm module (import the package's entry)`,
    );
  return memoryHeaps;
}

export class Heap extends HeapCore {
  /**
   * A new heap on a growable SharedArrayBuffer (or, with `shared: false`, a resizable ArrayBuffer), or
   * with `memory`, inside a WebAssembly.Memory from byte `base` (see README, "WebAssembly").
   */
  static create(options: HeapCreateOptions = {}): Heap {
    if (options !== null && typeof options === "object" && options.memory !== undefined)
      return memoryHeapsGet("Heap.create").create(options);
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
  static attach(buffer: SharedArrayBuffer | ArrayBuffer | WasmMemory, options: HeapAttachOptions = {}): Heap {
    if (isWasmMemory(buffer)) return memoryHeapsGet("Heap.attach").attach(buffer, options);
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

  /**
   * The functions a WebAssembly module imports as its allocator (malloc, free, ...; README,
   * "WebAssembly"). Only a heap created inside a WebAssembly.Memory has them.
   */
  wasmImports(): Record<string, (...args: number[]) => unknown> {
    throw new TypeError(
      "wasmImports: this heap is not inside a WebAssembly.Memory (Heap.create({ memory }))",
    );
  }

  /** @internal experimental.hooks changed this thread's hook sets: (un)wrap the C API calls. */
  allocHooksChanged(): void {
    hookCallsRefresh(this);
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
    if (t === -2) return this._tcache();
    if (t === -1) return 0;
    const tc = tcacheExplicitGet(this.ctx, t);
    if (tc === 0) throw new RangeError(`${fn}: MALLOCX_TCACHE(${t}) names no live explicit thread cache`);
    return tc;
  }

  calloc(n: number, size: number): number {
    this._enter("calloc");
    n = checkSize(n, "calloc", "count");
    size = checkSize(size, "calloc");
    const total = n * size;
    const sc = this.ctx.sc;
    if (!Number.isSafeInteger(total) || total > sc.maxClass) return this._fail(ENOMEM);
    const ind = sc.size2index(total);
    return this._allocCounted("calloc", Heap.prototype.calloc, sc.index2size(ind), ind, total, true, true);
  }

  /** C11 aligned_alloc: `alignment` a power of two (else 0 with EINVAL). */
  alignedAlloc(alignment: number, size: number): number {
    this._enter("alignedAlloc");
    alignment = checkSize(alignment, "alignedAlloc", "alignment");
    size = checkSize(size, "alignedAlloc");
    if (!isPow2(alignment)) return this._fail(EINVAL);
    return this._aligned(alignment, size, this.ctx.opt.zero, this._tcache(), -1, Heap.prototype.alignedAlloc);
  }

  /** `api`: the public method the user called (a sample's stack is cut there, src/prof/sample.ts). */
  protected _aligned(
    alignment: number,
    size: number,
    zero: boolean,
    tc: number,
    arenaInd: number,
    api: (...args: never[]) => unknown,
  ): number {
    const ctx = this.ctx;
    const sc = ctx.sc;
    if (size > sc.maxClass || alignment > 2 ** 31) return this._fail(ENOMEM);
    const usize = sc.sa2u(size === 0 ? 1 : size, alignment);
    if (usize === 0) return this._fail(ENOMEM);
    let p: number;
    try {
      const sampled = ctx.profB !== 0 && profSampleAhead(ctx, usize, api);
      p = pallocCore(ctx, tc, usize, alignment, arenaInd, zero, sampled);
    } catch (err) {
      throw guardError(ctx, "alignedAlloc", err);
    }
    if (p === 0) return this._fail(ENOMEM);
    eventAlloc(ctx, usize, p);
    if (flushProblems.length !== 0) this._reportFlushProblems("alignedAlloc");
    return p;
  }

  /** posix_memalign: `{ error, ptr }` — error 0, EINVAL (alignment not a power of two ≥ 8) or ENOMEM. */
  posixMemalign(alignment: number, size: number): { error: number; ptr: number } {
    this._enter("posixMemalign");
    alignment = checkSize(alignment, "posixMemalign", "alignment");
    size = checkSize(size, "posixMemalign");
    if (!isPow2(alignment) || alignment < 8) return { error: EINVAL, ptr: 0 };
    const ptr = this._aligned(
      alignment,
      size,
      this.ctx.opt.zero,
      this._tcache(),
      -1,
      Heap.prototype.posixMemalign,
    );
    return { error: ptr === 0 ? ENOMEM : 0, ptr };
  }

  mallocx(size: number, flags = 0): number {
    this._enter("mallocx");
    size = checkSize(size, "mallocx");
    flags = checkFlags(flags, "mallocx");
    const usize = this.#usizeFor(size, flags);
    if (usize === 0) return this._fail(ENOMEM);
    const ctx = this.ctx;
    const zero = (flags & MALLOCX_ZERO) !== 0 || ctx.opt.zero;
    const arenaInd = this.#arenaFlag(flags, "mallocx");
    const tc = this.#tcacheFlag(flags, "mallocx");
    const la = mallocxLgAlign(flags);
    if (la !== 0) return this._aligned(2 ** la, size, zero, tc, arenaInd, Heap.prototype.mallocx);
    let p: number;
    try {
      // A sample's stack is cut at the user's mallocx, as malloc's (src/prof/sample.ts).
      const sampled = ctx.profB !== 0 && profSampleAhead(ctx, usize, Heap.prototype.mallocx);
      p = allocCore(ctx, tc, usize, ctx.sc.size2index(usize), size, arenaInd, zero, sampled);
    } catch (err) {
      throw guardError(ctx, "mallocx", err);
    }
    if (p === 0) return this._fail(ENOMEM);
    eventAlloc(ctx, usize, p);
    if (flushProblems.length !== 0) this._reportFlushProblems("mallocx");
    return p;
  }

  rallocx(ptr: number, size: number, flags = 0): number {
    this._enter("rallocx");
    ptr = checkPtr(ptr, "rallocx");
    size = checkSize(size, "rallocx");
    flags = checkFlags(flags, "rallocx");
    if (ptr === 0) throw new RangeError("rallocx: ptr must not be NULL (0)");
    const e = this._live("rallocx", ptr);
    if (e === 0) return 0;
    if (size > this.ctx.sc.maxClass) return this._fail(ENOMEM);
    const la = mallocxLgAlign(flags);
    if (la >= 32) return this._fail(ENOMEM);
    const zero = (flags & MALLOCX_ZERO) !== 0 || this.ctx.opt.zero;
    const arenaInd = this.#arenaFlag(flags, "rallocx");
    return this._ralloc(
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
    this._enter("xallocx");
    ptr = checkPtr(ptr, "xallocx");
    size = checkSize(size, "xallocx");
    extra = checkSize(extra, "xallocx", "extra");
    flags = checkFlags(flags, "xallocx");
    const e = this._live("xallocx", ptr);
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
    this._enter("sallocx");
    ptr = checkPtr(ptr, "sallocx");
    const e = this._live("sallocx", ptr);
    return e === 0 ? 0 : usizeOf(this.ctx, e);
  }

  dallocx(ptr: number, flags = 0): void {
    this._enter("dallocx");
    flags = checkFlags(flags, "dallocx");
    ptr = checkPtr(ptr, "dallocx");
    if (ptr === 0) return;
    const e = this._live("dallocx", ptr);
    if (e === 0) return;
    this._dalloc("dallocx", ptr, e, this.#tcacheFlag(flags, "dallocx"));
  }

  /** Sized free: `size` must lie in [requested size, usable size] (checked: a mismatch is reported). */
  sdallocx(ptr: number, size: number, flags = 0): void {
    this._enter("sdallocx");
    ptr = checkPtr(ptr, "sdallocx");
    size = checkSize(size, "sdallocx");
    flags = checkFlags(flags, "sdallocx");
    if (ptr === 0) return;
    const e = this._live("sdallocx", ptr);
    if (e === 0) return;
    const usize = usizeOf(this.ctx, e);
    const expect = this.#usizeFor(size, flags);
    if (expect !== usize) {
      this._report(
        "size-mismatch",
        "sdallocx",
        ptr,
        `size mismatch detected (true size ${usize} vs input size ${size}), likely caused by application sized deallocation bugs`,
      );
      return;
    }
    this._dalloc("sdallocx", ptr, e, this.#tcacheFlag(flags, "sdallocx"));
  }

  /** The usable size mallocx(size, flags) would give; 0 if too large. */
  nallocx(size: number, flags = 0): number {
    this._enter("nallocx");
    size = checkSize(size, "nallocx");
    flags = checkFlags(flags, "nallocx");
    return this.#usizeFor(size, flags);
  }

  // ---- control and inspection ---------------------------------------------------------------------

  /** jemalloc's mallctl: read a value, or write one (returns the old value where there is one). */
  mallctl(name: string, newValue?: unknown): unknown {
    this._enter("mallctl");
    let old: unknown;
    try {
      old = heapMallctl(this, name, newValue);
    } catch (err) {
      throw typeof name === "string" ? guardError(this.ctx, "mallctl", err) : err;
    } finally {
      // thread.tcache.enabled, thread.arena, tcache.* and arena.* may destroy or move the thread's cache.
      this._fastReset();
    }
    // A flush it caused (thread.tcache.flush, tcache.*) may have found a double free.
    if (flushProblems.length !== 0) this._reportFlushProblems("mallctl");
    return old;
  }

  /** mallctlnametomib: the MIB of a name (numeric components are the index itself). */
  mallctlnametomib(name: string, maxLength?: number): number[] {
    this._enter("mallctlnametomib");
    return mallctlNameToMib(this, name, maxLength);
  }

  /** mallctlbymib: mallctl through a MIB from mallctlnametomib. */
  mallctlbymib(mib: readonly number[], newValue?: unknown): unknown {
    this._enter("mallctlbymib");
    try {
      return mallctlByMib(this, mib, newValue);
    } finally {
      this._fastReset(); // as mallctl
    }
  }

  /** malloc_stats_print: jemalloc's text report, or its JSON with "J"; option letters g m d a b l x e h. */
  statsPrint(opts?: string): string {
    this._enter("statsPrint");
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
    this._enter("profile");
    return heapProfile(this.ctx, options.format ?? "jeprof");
  }

  /** Walks the whole heap and verifies every invariant; throws with a report naming what is wrong. */
  check(): CheckReport {
    this._enter("check");
    try {
      return heapCheck(this.ctx);
    } catch (err) {
      throw guardError(this.ctx, "check", err);
    }
  }

  /** The arena a live pointer belongs to. */
  arenaOf(ptr: number): number {
    this._enter("arenaOf");
    ptr = checkPtr(ptr, "arenaOf");
    const e = this._live("arenaOf", ptr);
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
    if (this._detached) return;
    this._enter("detach");
    try {
      threadDetach(this.ctx);
    } catch (err) {
      throw guardError(this.ctx, "detach", err);
    }
    this._reportFlushProblems("detach");
    this._detached = true;
    this._fastReset();
  }

  /**
   * Reclaims the slot of a thread that is gone without detaching (a terminated worker): its locks are
   * taken over, its cache validated entry by entry and flushed, its arena unbound, its slot freed.
   * Returns what was found, or null if no live slot has that thread id.
   */
  reclaim(threadId: number): ReclaimReport | null {
    this._enter("reclaim");
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
    watchWorker(this.ctx, worker, threadIds, () => !this._detached);
  }

  /** A snapshot of the whole address space: every extent of every arena (see heapMapSvg). */
  map(): HeapMapSnapshot {
    this._enter("map");
    return heapMap(this.ctx);
  }

  /** Terminates a worker and reclaims its slots (see watch); resolves to what was reclaimed. */
  terminate(worker: WatchableWorker): Promise<ReclaimReport[]> {
    this._enter("terminate");
    return terminateWatched(this.ctx, worker);
  }

  /** @internal arena record for index (tests). */
  arenaRecord(ind: number): number {
    return arenaRecordByInd(this.ctx, ind);
  }
}
