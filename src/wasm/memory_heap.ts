/**
 * memory_heap: a Heap inside a WebAssembly.Memory. The allocator runs on heap offsets (its views start
 * at `base`, see space.ts); this handle is what users and the module see, so every pointer that crosses
 * it is a module address (heap offset + base), and `u8`/`i32`/`u32`/`f64`/`dv` cover the whole memory,
 * so `heap.u8[p]` reads what the module's `*p` reads. Each call first catches up with a memory another
 * thread grew, and repeats a call that failed only because this thread's views were short (space.ts).
 * Ordinary heaps never meet this class: their methods and fast paths are untouched.
 */

import type { HeapCtx } from "../ctx/ctx.js";
import { threadEvents } from "../ctx/events.js";
import { HDR_LOCK_MAP_B, HDR_TOP_B, THREAD_LAST_ERROR_B } from "../ctx/header.js";
import { EINVAL, ENOMEM } from "../errors.js";
import { heapLock, heapUnlock } from "../extent/lock.js";
import { mallocxLgAlign } from "../flags.js";
import type { Derived } from "../heap/boot.js";
import { Heap } from "../heap.js";
import { fixedViews, type Views } from "../layout/index.js";
import { hostWriteError } from "../platform/index.js";
import { headroomBytes, type MemorySpace } from "./space.js";

/** Times a call is run again after growing (other threads may take the new pages first). */
const RETRIES = 16;

/** A word to sleep on between polls (nothing ever notifies it). */
const PAUSE = new Int32Array(new SharedArrayBuffer(4));

import { type WasmImports, wasmImportsOf } from "./imports.js";

export class WasmHeap extends Heap {
  readonly memory: import("../heap/boot.js").WasmMemory;
  /** Where the heap's space starts in the memory (a multiple of 64 KiB; the heap proper follows 64 KiB on). */
  readonly base: number;
  /** Largest alignment a module address can be given (the largest power of two dividing the heap's start). */
  readonly maxAlign: number;
  /** Module address of heap offset 0. */
  readonly #origin: number;
  readonly #space: MemorySpace;
  /** Calls this thread is inside (the handle's methods call each other). */
  #depth = 0;
  #full: Views;
  #imports: WasmImports | null = null;
  readonly #strings = new Map<string, number>();

  /** @internal built by wasm/create.ts */
  constructor(ctx: HeapCtx, derived: Derived, space: MemorySpace, writer?: (msg: string) => void) {
    super(ctx, derived);
    this.memory = space.memory;
    this.base = space.spaceB;
    this.#origin = space.baseB;
    this.maxAlign = space.baseB & -space.baseB;
    this.#space = space;
    space.publish(ctx.slot, 0);
    space.reclaiming = (run) => this.#inCall(run);
    this.#full = fixedViews(space.memory.buffer);
    const out = writer ?? hostWriteError;
    threadEvents(ctx).printer = (opts) => out(this.statsPrint(opts));
  }

  // ---- views over the whole memory (module addresses) -------------------------------------------

  #views(): Views {
    const buf = this.memory.buffer;
    if (this.#full.u8.buffer !== buf) this.#full = fixedViews(buf);
    return this.#full;
  }
  override get buffer(): SharedArrayBuffer | ArrayBuffer {
    return this.memory.buffer;
  }
  override get u8(): Uint8Array {
    return this.#views().u8;
  }
  override get i32(): Int32Array {
    return this.#views().i32;
  }
  override get u32(): Uint32Array {
    return this.#views().u32;
  }
  override get f64(): Float64Array {
    return this.#views().f64;
  }
  override get dv(): DataView {
    return this.#views().dv;
  }

  /** The module's imports: malloc, free, ... with C's conventions (imports.ts). */
  override wasmImports(): WasmImports {
    this.#imports ??= wasmImportsOf(this);
    return this.#imports;
  }

  // ---- catching up, growing ahead, retrying ------------------------------------------------------

  /**
   * Entering a call: publish this thread's view end (the old one first, so a thread that maps meanwhile
   * sees a bound at least as small), catch up with a grown memory, grow ahead when the top nears the end.
   */
  #enter(): void {
    if (this.#depth++ !== 0) return;
    const ctx = this.ctx;
    const sp = this.#space;
    this.#catchUp();
    const top = ctx.f64[HDR_TOP_B >>> 3]!;
    const have = ctx.buffer.byteLength - this.#origin;
    if (top + headroomBytes(top) / 2 > have && have < sp.maxBytes) this.#grow(top + headroomBytes(top));
    sp.viewEnd = ctx.buffer.byteLength - this.#origin;
    sp.publish(ctx.slot, sp.viewEnd);
  }

  /** Catching up with a memory another thread grew (the old view end published first). */
  #catchUp(): void {
    const ctx = this.ctx;
    const sp = this.#space;
    sp.retry = false;
    const buf = this.memory.buffer;
    if (buf !== ctx.buffer) {
      sp.publish(ctx.slot, ctx.buffer.byteLength - this.#origin);
      sp.adopt(ctx, buf);
    }
  }

  /**
   * A reclaim as a call: caught up and published, but never growing first — the map lock may name the
   * dead thread being reclaimed, which only this reclaim takes over (recover.ts).
   */
  #inCall<T>(run: () => T): T {
    if (this.#depth++ === 0) {
      this.#catchUp();
      this.#space.viewEnd = this.ctx.buffer.byteLength - this.#origin;
      this.#space.publish(this.ctx.slot, this.#space.viewEnd);
    }
    try {
      return run();
    } finally {
      this.#leave();
    }
  }

  #leave(): void {
    if (--this.#depth === 0) this.#space.publish(this.ctx.slot, 0);
  }

  /** Grows the memory to hold heap offsets [0, end) (at most the maximum), outside the allocator's calls. */
  #grow(end: number): boolean {
    const ctx = this.ctx;
    const sp = this.#space;
    let ok: boolean;
    heapLock(ctx, HDR_LOCK_MAP_B);
    try {
      if (ctx.failpoint !== null) ctx.failpoint("wasm.grow.locked");
      ok = sp.grow(Math.min(sp.maxBytes, end), 0);
      // A non-shared memory detached the old buffer: the unlock needs the new views already.
      sp.refresh(ctx);
    } finally {
      heapUnlock(ctx, HDR_LOCK_MAP_B);
    }
    sp.refresh(ctx);
    return ok;
  }

  /**
   * After a call failed: true if it failed only for memory the memory can grow to, or that a thread
   * inside a call does not see yet. Then (holding no lock, published as outside a call) this grows the
   * memory, waits until the other threads inside calls see `need` (bounded by the lock timeout), and
   * enters again with fresh views.
   */
  #again(): boolean {
    const sp = this.#space;
    const ctx = this.ctx;
    if (!sp.retry) return false;
    sp.retry = false;
    sp.publish(ctx.slot, 0);
    const need = sp.need;
    sp.need = 0;
    if (!this.#grow(need + headroomBytes(need))) return false;
    const deadline = performance.now() + ctx.lockCtx.timeoutMs;
    while (sp.minView(ctx, ctx.slot) < need) {
      if (performance.now() > deadline) return false;
      if (ctx.lockCtx.canBlock) Atomics.wait(PAUSE, 0, 0, 1);
    }
    sp.refresh(ctx);
    sp.viewEnd = ctx.buffer.byteLength - this.#origin;
    sp.publish(ctx.slot, sp.viewEnd);
    return true;
  }

  #lastErrorW(): number {
    return (this.ctx.threadB + THREAD_LAST_ERROR_B) >>> 2;
  }

  /** Runs an allocating call, again after a growth (#retry). */
  #alloc(call: () => number): number {
    this.#enter();
    try {
      const err = this.ctx.u32[this.#lastErrorW()]!;
      const p = call();
      return p !== 0 ? p + this.#origin : this.#retry(call, err);
    } finally {
      this.#leave();
    }
  }

  /** After an allocating call returned 0: runs it again after each growth; lastError as before when it succeeds. */
  #retry(call: () => number, err: number): number {
    for (let i = 0; i < RETRIES && this.#again(); i++) {
      this.ctx.u32[this.#lastErrorW()] = err;
      const p = call();
      if (p !== 0) return p + this.#origin;
    }
    return 0;
  }

  /** Runs a call that does not allocate for the caller inside enter/leave. */
  #run<T>(call: () => T): T {
    this.#enter();
    try {
      return call();
    } finally {
      this.#leave();
    }
  }

  /** A module address as a heap offset; -1 after reporting one that cannot be the heap's. */
  #in(ptr: number, fn: string): number {
    if (typeof ptr !== "number" || !Number.isInteger(ptr) || ptr === 0) return ptr;
    if (ptr >= this.#origin && ptr < 2 ** 32) return ptr - this.#origin;
    if (ptr < 0 || ptr >= 2 ** 32) return ptr; // the range error names it
    this.#reportAbs(
      "invalid-pointer",
      fn,
      ptr,
      "pointer lies below the heap's base (not returned by this heap)",
    );
    return -1;
  }

  #reportAbs(kind: string, fn: string, ptr: number, detail: string): void {
    super._report(kind, fn, ptr, detail);
  }

  /** @internal misuse of a module address (already absolute) for the corruption handler. */
  reportForeign(kind: string, fn: string, ptr: number, detail: string): void {
    this.#reportAbs(kind, fn, ptr, detail);
  }

  /** Reports name module addresses. */
  protected override _report(kind: string, fn: string, ptr: number, detail: string): void {
    super._report(kind, fn, ptr + this.#origin, detail);
  }

  /** An alignment a module address cannot have at this base: refused (C11's unsupported alignment). */
  #alignTooLarge(alignment: number): boolean {
    return typeof alignment === "number" && alignment > this.maxAlign;
  }

  // ---- the C API in module addresses ---------------------------------------------------------------

  /** malloc written out (no closure unless it has to run again): the module's most frequent call. */
  override malloc(size: number): number {
    this.#enter();
    try {
      const err = this.ctx.u32[this.#lastErrorW()]!;
      const p = super.malloc(size);
      if (p !== 0) return p + this.#origin;
      return this.#space.retry ? this.#retry(() => super.malloc(size), err) : 0;
    } finally {
      this.#leave();
    }
  }
  override calloc(n: number, size: number): number {
    return this.#alloc(() => super.calloc(n, size));
  }
  override alignedAlloc(alignment: number, size: number): number {
    if (this.#alignTooLarge(alignment)) return this._fail(EINVAL);
    return this.#alloc(() => super.alignedAlloc(alignment, size));
  }
  override posixMemalign(alignment: number, size: number): { error: number; ptr: number } {
    if (this.#alignTooLarge(alignment)) return { error: EINVAL, ptr: 0 };
    let error = 0;
    const ptr = this.#alloc(() => {
      const r = super.posixMemalign(alignment, size);
      error = r.error;
      return r.ptr;
    });
    return { error: ptr === 0 ? error || ENOMEM : 0, ptr };
  }
  override mallocx(size: number, flags = 0): number {
    if (typeof flags === "number" && this.#alignTooLarge(2 ** mallocxLgAlign(flags)))
      return this._fail(ENOMEM);
    return this.#alloc(() => super.mallocx(size, flags));
  }
  override realloc(ptr: number, size: number): number {
    const q = this.#in(ptr, "realloc");
    if (q === -1) return 0;
    return this.#alloc(() => super.realloc(q, size));
  }
  override rallocx(ptr: number, size: number, flags = 0): number {
    const q = this.#in(ptr, "rallocx");
    if (q === -1) return 0;
    if (typeof flags === "number" && this.#alignTooLarge(2 ** mallocxLgAlign(flags)))
      return this._fail(ENOMEM);
    return this.#alloc(() => super.rallocx(q, size, flags));
  }
  override xallocx(ptr: number, size: number, extra = 0, flags = 0): number {
    const q = this.#in(ptr, "xallocx");
    if (q === -1) return 0;
    return this.#run(() => super.xallocx(q, size, extra, flags));
  }
  override free(ptr: number): void {
    const q = this.#in(ptr, "free");
    if (q === -1) return;
    this.#enter();
    try {
      super.free(q);
    } finally {
      this.#leave();
    }
  }
  override dallocx(ptr: number, flags = 0): void {
    const q = this.#in(ptr, "dallocx");
    if (q === -1) return;
    this.#run(() => super.dallocx(q, flags));
  }
  override sdallocx(ptr: number, size: number, flags = 0): void {
    const q = this.#in(ptr, "sdallocx");
    if (q === -1) return;
    this.#run(() => super.sdallocx(q, size, flags));
  }
  override mallocUsableSize(ptr: number): number {
    const q = this.#in(ptr, "mallocUsableSize");
    if (q === -1) return 0;
    return this.#run(() => super.mallocUsableSize(q));
  }
  override sallocx(ptr: number, flags = 0): number {
    const q = this.#in(ptr, "sallocx");
    if (q === -1) return 0;
    return this.#run(() => super.sallocx(q, flags));
  }
  override arenaOf(ptr: number): number {
    const q = this.#in(ptr, "arenaOf");
    if (q === -1) return -1;
    return this.#run(() => super.arenaOf(q));
  }

  /** mallctl, with the nodes that take or give pointers speaking module addresses. */
  override mallctl(name: string, newValue?: unknown): unknown {
    if (typeof name === "string") newValue = this.#ctlIn(name, newValue);
    this.#enter();
    try {
      return this.#ctlOut(name, super.mallctl(name, newValue));
    } catch (err) {
      // Failed only for want of memory it may map after a growth (space.ts): again.
      if (!this.#again()) throw err;
      return this.#ctlOut(name, super.mallctl(name, newValue));
    } finally {
      this.#leave();
    }
  }

  #ctlIn(name: string, v: unknown): unknown {
    const off = (p: unknown) => (typeof p === "number" && p >= this.#origin ? p - this.#origin : p);
    if (name === "arenas.lookup" || name === "experimental.utilization.query") return off(v);
    if (name === "experimental.utilization.batch_query" && (Array.isArray(v) || v instanceof Uint32Array))
      return Array.from(v as ArrayLike<number>, off);
    // Hooks would see heap offsets, not module addresses: not offered for a memory-backed heap.
    const hooks = name === "experimental.hooks.install" || /^arena\.\d+\.extent_hooks$/.test(name);
    if ((hooks || name === "arenas.create" || name === "background_thread") && v !== undefined && v !== false)
      throw new TypeError(
        `mallctl(${name}): ${name === "background_thread" ? "background threads" : "hooks"} are not available for a heap inside a WebAssembly.Memory`,
      );
    return v;
  }

  #ctlOut(name: string, r: unknown): unknown {
    if (name === "experimental.utilization.query" && r !== null && typeof r === "object") {
      const q = r as { slabcur_addr?: number };
      if (typeof q.slabcur_addr === "number" && q.slabcur_addr !== 0) q.slabcur_addr += this.#origin;
    }
    return r;
  }

  override check(): ReturnType<Heap["check"]> {
    return this.#run(() => super.check());
  }

  override statsPrint(opts?: string): string {
    return this.#run(() => super.statsPrint(opts));
  }

  override mallctlbymib(mib: readonly number[], newValue?: unknown): unknown {
    return this.#run(() => super.mallctlbymib(mib, newValue));
  }

  override map(): ReturnType<Heap["map"]> {
    return this.#run(() => super.map());
  }

  override reclaim(threadId: number): ReturnType<Heap["reclaim"]> {
    return this.#inCall(() => super.reclaim(threadId));
  }

  override detach(): void {
    if (this._detached) return;
    this.#run(() => super.detach());
  }

  /** @internal a NUL-terminated copy of `s` in the heap, kept (jemalloc hands out static strings). */
  cStringOf(s: string): number {
    let p = this.#strings.get(s);
    if (p === undefined) {
      const b = new TextEncoder().encode(s);
      p = this.malloc(b.length + 1);
      if (p === 0) return 0;
      this.u8.set(b, p);
      this.u8[p + b.length] = 0;
      this.#strings.set(s, p);
    }
    return p;
  }

  /** Whether `[p, p + bytes)` lies inside the memory now (for pointers the module passes). */
  inMemory(p: number, bytes: number): boolean {
    return p >= 0 && p + bytes <= this.memory.buffer.byteLength;
  }
}
