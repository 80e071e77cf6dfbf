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
import type { HeapCtx } from "./extent/ctx.js";
import { edataArena } from "./extent/edata.js";
import {
  type CorruptionHandler,
  EINVAL,
  ENOMEM,
  HeapPoisonedError,
  checkFlags,
  checkPtr,
  checkSize,
  heapCorruptionDetected___check_frees_and_sizes_or_enable_junk_to_debug,
} from "./errors.js";
import { MALLOCX_ZERO, mallocxArenaIndex, mallocxLgAlign } from "./flags.js";
import {
  type HeapAttachOptions,
  type HeapCreateOptions,
  bootArenas,
  bootAttach,
  bootCreate,
  buildCtx,
} from "./heap/boot.js";
import {
  PTR_FREED_REGION,
  PTR_INTERIOR,
  PTR_NOT_ACTIVE,
  dallocArena,
  lastPtrError,
  lookupLive,
  mallocArena,
  pallocArena,
  rallocArena,
  rallocMoved,
  rallocNoMove,
  usizeOf,
} from "./heap/ops.js";
import { HDR_POISON_B, HDR_ZERO_REALLOCS_B, THREAD_LAST_ERROR_B } from "./layout/header.js";
import { isPow2 } from "./layout/index.js";
import { slotRelease } from "./sync/index.js";
import type { Derived } from "./heap/boot.js";
import { heapMallctl } from "./heap/mallctl.js";
import { heapCheck, type CheckReport } from "./check/check.js";

export type { HeapAttachOptions, HeapCreateOptions };

export class Heap {
  /** @internal this thread's context (views, tables, slot). */
  readonly ctx: HeapCtx;
  /** @internal what was derived from the header. */
  readonly derived: Derived;
  #detached = false;
  #corruption: CorruptionHandler = heapCorruptionDetected___check_frees_and_sizes_or_enable_junk_to_debug;

  private constructor(ctx: HeapCtx, derived: Derived) {
    this.ctx = ctx;
    this.derived = derived;
  }

  /** A new heap on a growable SharedArrayBuffer (or, with `shared: false`, a resizable ArrayBuffer). */
  static create(options: HeapCreateOptions = {}): Heap {
    const { buffer, derived } = bootCreate(options);
    const ctx = buildCtx(buffer, derived, options.clock, options.lockTimeoutMs, false);
    bootArenas(ctx);
    return new Heap(ctx, derived);
  }

  /** The heap in `buffer`, seen from this thread (another worker, usually). */
  static attach(buffer: SharedArrayBuffer | ArrayBuffer, options: HeapAttachOptions = {}): Heap {
    const derived = bootAttach(buffer, options);
    const ctx = buildCtx(buffer, derived, options.clock, options.lockTimeoutMs, false);
    return new Heap(ctx, derived);
  }

  /** @internal a heap whose clock is virtual nanoseconds-from-zero (trace replay). */
  static createVirtual(options: HeapCreateOptions, clockMs: () => number): Heap {
    const { buffer, derived } = bootCreate(options);
    const ctx = buildCtx(buffer, derived, clockMs, options.lockTimeoutMs, true);
    bootArenas(ctx);
    return new Heap(ctx, derived);
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

  #enter(fn: string): void {
    if (this.#detached) throw new HeapPoisonedError(`${fn}: this Heap handle was detached`);
    if (this.ctx.i32[HDR_POISON_B >>> 2] === 2 || this.ctx.i32[HDR_POISON_B >>> 2] === 3) {
      throw new HeapPoisonedError(`${fn}: the heap is poisoned (internal corruption was detected earlier)`);
    }
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
    const e = lookupLive(this.ctx, ptr);
    if (e !== 0) return e;
    const why = lastPtrError();
    if (why === PTR_INTERIOR) this.#report("interior-pointer", fn, ptr, "not the start of an allocation (interior pointer)");
    else if (why === PTR_NOT_ACTIVE || why === PTR_FREED_REGION)
      this.#report("double-free", fn, ptr, "pointer is not allocated (double free or use after free)");
    else this.#report("invalid-pointer", fn, ptr, "pointer was not returned by this heap");
    return 0;
  }

  // ---- the C API --------------------------------------------------------------------------------

  malloc(size: number): number {
    this.#enter("malloc");
    size = checkSize(size, "malloc");
    const sc = this.ctx.sc;
    if (size > sc.maxClass) return this.#fail(ENOMEM);
    const ind = sc.size2index(size);
    const usize = sc.index2size(ind);
    const p = mallocArena(this.ctx, usize, ind, size, -1, this.ctx.opt.zero);
    return p === 0 ? this.#fail(ENOMEM) : p;
  }

  calloc(n: number, size: number): number {
    this.#enter("calloc");
    n = checkSize(n, "calloc", "count");
    size = checkSize(size, "calloc");
    const total = n * size;
    const sc = this.ctx.sc;
    if (!Number.isSafeInteger(total) || total > sc.maxClass) return this.#fail(ENOMEM);
    const ind = sc.size2index(total);
    const p = mallocArena(this.ctx, sc.index2size(ind), ind, total, -1, true);
    return p === 0 ? this.#fail(ENOMEM) : p;
  }

  /** C11 aligned_alloc: `alignment` a power of two (else 0 with EINVAL). */
  alignedAlloc(alignment: number, size: number): number {
    this.#enter("alignedAlloc");
    alignment = checkSize(alignment, "alignedAlloc", "alignment");
    size = checkSize(size, "alignedAlloc");
    if (!isPow2(alignment)) return this.#fail(EINVAL);
    return this.#aligned(alignment, size, this.ctx.opt.zero);
  }

  #aligned(alignment: number, size: number, zero: boolean): number {
    const sc = this.ctx.sc;
    if (size > sc.maxClass || alignment > 2 ** 31) return this.#fail(ENOMEM);
    const usize = sc.sa2u(size === 0 ? 1 : size, alignment);
    if (usize === 0) return this.#fail(ENOMEM);
    const p = pallocArena(this.ctx, usize, alignment, -1, zero);
    return p === 0 ? this.#fail(ENOMEM) : p;
  }

  /** posix_memalign: `{ error, ptr }` — error 0, EINVAL (alignment not a power of two ≥ 8) or ENOMEM. */
  posixMemalign(alignment: number, size: number): { error: number; ptr: number } {
    this.#enter("posixMemalign");
    alignment = checkSize(alignment, "posixMemalign", "alignment");
    size = checkSize(size, "posixMemalign");
    if (!isPow2(alignment) || alignment < 8) return { error: EINVAL, ptr: 0 };
    const ptr = this.#aligned(alignment, size, this.ctx.opt.zero);
    return { error: ptr === 0 ? ENOMEM : 0, ptr };
  }

  free(ptr: number): void {
    this.#enter("free");
    ptr = checkPtr(ptr, "free");
    if (ptr === 0) return;
    const e = this.#live("free", ptr);
    if (e === 0) return;
    if (!dallocArena(this.ctx, ptr, e)) this.#report("double-free", "free", ptr, "pointer is not allocated (double free)");
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
    if (ptr === 0) return this.malloc(size);
    const e = this.#live("realloc", ptr);
    if (e === 0) return 0;
    if (size === 0) {
      const mode = this.ctx.opt.zeroRealloc;
      this.ctx.f64[HDR_ZERO_REALLOCS_B >>> 3]! += 1;
      if (mode === "abort") throw new Error("<jemalloc>: Called realloc(non-null-ptr, 0) with zero_realloc:abort set");
      if (mode === "free") {
        dallocArena(this.ctx, ptr, e);
        return 0;
      }
      size = 1;
    }
    if (size > this.ctx.sc.maxClass) return this.#fail(ENOMEM);
    const p = rallocArena(this.ctx, ptr, e, usizeOf(this.ctx, e), size, 0, false, -1);
    return p === 0 ? this.#fail(ENOMEM) : p;
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
    if (a >= narenasTotal(this.ctx)) throw new RangeError(`${fn}: MALLOCX_ARENA(${a}) names no arena (arenas.narenas is ${narenasTotal(this.ctx)})`);
    return a;
  }

  mallocx(size: number, flags = 0): number {
    this.#enter("mallocx");
    size = checkSize(size, "mallocx");
    flags = checkFlags(flags, "mallocx");
    const usize = this.#usizeFor(size, flags);
    if (usize === 0) return this.#fail(ENOMEM);
    const zero = (flags & MALLOCX_ZERO) !== 0 || this.ctx.opt.zero;
    const arenaInd = this.#arenaFlag(flags, "mallocx");
    const la = mallocxLgAlign(flags);
    const sc = this.ctx.sc;
    const p = la === 0
      ? mallocArena(this.ctx, usize, sc.size2index(usize), size, arenaInd, zero)
      : pallocArena(this.ctx, usize, 2 ** la, arenaInd, zero);
    return p === 0 ? this.#fail(ENOMEM) : p;
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
    const p = rallocArena(this.ctx, ptr, e, usizeOf(this.ctx, e), size === 0 ? 1 : size, la === 0 ? 0 : 2 ** la, zero, this.#arenaFlag(flags, "rallocx"));
    return p === 0 ? this.#fail(ENOMEM) : p;
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
    rallocNoMove(ctx, e, old, size === 0 ? 1 : size, extra, zero);
    return usizeOf(ctx, e);
  }

  sallocx(ptr: number, _flags = 0): number {
    this.#enter("sallocx");
    ptr = checkPtr(ptr, "sallocx");
    const e = this.#live("sallocx", ptr);
    return e === 0 ? 0 : usizeOf(this.ctx, e);
  }

  dallocx(ptr: number, flags = 0): void {
    this.#enter("dallocx");
    checkFlags(flags, "dallocx");
    ptr = checkPtr(ptr, "dallocx");
    if (ptr === 0) return;
    this.free(ptr);
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
      this.#report("size-mismatch", "sdallocx", ptr,
        `size mismatch detected (true size ${usize} vs input size ${size}), likely caused by application sized deallocation bugs`);
      return;
    }
    if (!dallocArena(this.ctx, ptr, e)) this.#report("double-free", "sdallocx", ptr, "pointer is not allocated (double free)");
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
    return heapMallctl(this, name, newValue);
  }

  /** Walks the whole heap and verifies every invariant; throws with a report naming what is wrong. */
  check(): CheckReport {
    if (this.#detached) throw new HeapPoisonedError("check: this Heap handle was detached");
    return heapCheck(this.ctx);
  }

  /** The arena a live pointer belongs to. */
  arenaOf(ptr: number): number {
    this.#enter("arenaOf");
    ptr = checkPtr(ptr, "arenaOf");
    const e = this.#live("arenaOf", ptr);
    return e === 0 ? -1 : edataArena(this.ctx.u32, e);
  }

  /** Gives up this thread's slot; the handle is unusable afterwards. */
  detach(): void {
    if (this.#detached) return;
    const { ctx } = this;
    const tag = ctx.ownerTag;
    slotRelease(ctx.i32, ctx.hdr.slotsB >>> 2, ctx.slot, tag >>> 10);
    this.#detached = true;
  }

  /** @internal arena record for index (tests). */
  arenaRecord(ind: number): number {
    return arenaRecordByInd(this.ctx, ind);
  }
}
