/**
 * FakeHeap: a tiny bump allocator implementing StructHeap, for testing the struct layer before the real
 * heap exists. Every byte of state is in the buffer, so `FakeHeap.attach(buffer)` in a worker gives the same
 * heap; the bump pointer and counters move with Atomics. Memory is never reused, so it is always zero when
 * handed out (MALLOCX_ZERO holds for free).
 *
 *   heap header (64 bytes at 0)              block (at the old bump pointer h)
 *   word  field                              bytes       field
 *    0    magic "FAKE"                       h+0..3      BLOCK_MAGIC
 *    1    top: next block header (bump)      h+4..7      state: 1 live, 2 freed
 *    2    live blocks                        h+8..11     requested size
 *    3    live usable bytes                  h+12..15    usable size (requested rounded up to 16)
 *    4    mallocs                            h+16..19    ptr (the block's start, for validation)
 *    5    frees                              ptr-4..-1   back pointer to h
 *    6    limit: allocations end below it    ptr..       usable bytes; next header at alignUp(ptr+usable, 8)
 *
 * Bad pointers (0 excepted) throw a HeapCorruptionError-like error: never allocated, interior, freed twice.
 */
import { MALLOCX_LG_ALIGN_MASK } from "../../src/flags.js";
import type { StructHeap } from "../../src/struct/heap-like.js";

const HEAP_MAGIC = 0x454b4146; // "FAKE"
const BLOCK_MAGIC = 0x4b4c4f42; // "BLOK"
const W_MAGIC = 0;
const W_TOP = 1;
const W_LIVE = 2;
const W_LIVE_BYTES = 3;
const W_MALLOCS = 4;
const W_FREES = 5;
const W_LIMIT = 6;
const HEADER_BYTES = 64;
const BLOCK_HEADER_BYTES = 24; // five words plus the back pointer
const STATE_LIVE = 1;
const STATE_FREED = 2;

export class FakeHeapCorruptionError extends Error {
  override name = "HeapCorruptionError";
}

export interface FakeHeapOptions {
  /** Initial buffer size in bytes (default 64 KiB). */
  initialBytes?: number;
  /** Largest buffer size (default 64 MiB); the buffer grows on demand up to it. */
  maxBytes?: number;
  /** Allocations fail (return 0) when they would end past this offset (default: maxBytes). */
  limitBytes?: number;
}

export class FakeHeap implements StructHeap {
  readonly buffer: SharedArrayBuffer;
  readonly u8: Uint8Array;
  readonly i32: Int32Array;
  readonly u32: Uint32Array;
  readonly f64: Float64Array;
  readonly dv: DataView;
  /** Pointers freed through this object (this thread only). */
  readonly frees: number[] = [];

  static create(options: FakeHeapOptions = {}): FakeHeap {
    const maxBytes = options.maxBytes ?? 64 << 20;
    const buffer = new SharedArrayBuffer(options.initialBytes ?? 64 << 10, { maxByteLength: maxBytes });
    const i32 = new Int32Array(buffer);
    i32[W_TOP] = HEADER_BYTES;
    i32[W_LIMIT] = Math.min(options.limitBytes ?? maxBytes, 0x7fff_fff0);
    Atomics.store(i32, W_MAGIC, HEAP_MAGIC);
    return new FakeHeap(buffer);
  }

  static attach(buffer: SharedArrayBuffer): FakeHeap {
    return new FakeHeap(buffer);
  }

  private constructor(buffer: SharedArrayBuffer) {
    this.buffer = buffer;
    this.u8 = new Uint8Array(buffer);
    this.i32 = new Int32Array(buffer);
    this.u32 = new Uint32Array(buffer);
    this.f64 = new Float64Array(buffer);
    this.dv = new DataView(buffer);
    if (Atomics.load(this.i32, W_MAGIC) !== HEAP_MAGIC)
      throw new TypeError("FakeHeap.attach: not a fake heap");
  }

  mallocx(size: number, flags: number): number {
    if (!Number.isInteger(size) || size < 0 || size > 0x7fff_0000) {
      throw new RangeError(`FakeHeap.mallocx: bad size ${String(size)}`);
    }
    const align = Math.max(8, 2 ** (flags & MALLOCX_LG_ALIGN_MASK));
    const usable = Math.ceil(Math.max(size, 1) / 16) * 16;
    for (;;) {
      const h = Atomics.load(this.i32, W_TOP);
      const p = Math.ceil((h + BLOCK_HEADER_BYTES) / align) * align;
      const end = Math.ceil((p + usable) / 8) * 8;
      if (end > Atomics.load(this.i32, W_LIMIT) || !this.reach(end)) return 0;
      if (Atomics.compareExchange(this.i32, W_TOP, h, end) !== h) continue;
      const w = h >>> 2;
      this.u32[w + 2] = size;
      this.u32[w + 3] = usable;
      this.u32[w + 4] = p;
      this.u32[(p - 4) >>> 2] = h;
      Atomics.store(this.i32, w + 1, STATE_LIVE);
      Atomics.store(this.i32, w, BLOCK_MAGIC);
      Atomics.add(this.i32, W_LIVE, 1);
      Atomics.add(this.i32, W_LIVE_BYTES, usable);
      Atomics.add(this.i32, W_MALLOCS, 1);
      return p;
    }
  }

  dallocx(ptr: number, _flags: number): void {
    this.free(ptr);
  }

  free(ptr: number): void {
    if (ptr === 0) return;
    const h = this.blockHeader(ptr, "free");
    if (Atomics.compareExchange(this.i32, (h >>> 2) + 1, STATE_LIVE, STATE_FREED) !== STATE_LIVE) {
      throw new FakeHeapCorruptionError(`FakeHeap.free: double free of ${ptr}`);
    }
    Atomics.sub(this.i32, W_LIVE, 1);
    Atomics.sub(this.i32, W_LIVE_BYTES, this.u32[(h >>> 2) + 3]!);
    Atomics.add(this.i32, W_FREES, 1);
    this.frees.push(ptr);
  }

  mallocUsableSize(ptr: number): number {
    const h = this.blockHeader(ptr, "mallocUsableSize");
    if (Atomics.load(this.i32, (h >>> 2) + 1) !== STATE_LIVE) {
      throw new FakeHeapCorruptionError(`FakeHeap.mallocUsableSize: ${ptr} was freed`);
    }
    return this.u32[(h >>> 2) + 3]!;
  }

  /** The subset of mallctl the struct tests use. */
  mallctl(name: string): number {
    if (name === "stats.allocated") return Atomics.load(this.i32, W_LIVE_BYTES);
    throw new RangeError(`FakeHeap.mallctl: unknown name ${name}`);
  }

  liveBlocks(): number {
    return Atomics.load(this.i32, W_LIVE);
  }

  counts(): { mallocs: number; frees: number; live: number } {
    return {
      mallocs: Atomics.load(this.i32, W_MALLOCS),
      frees: Atomics.load(this.i32, W_FREES),
      live: this.liveBlocks(),
    };
  }

  /** Walks every block; throws if a header is damaged or the counters disagree with the walk. */
  check(): void {
    const top = Atomics.load(this.i32, W_TOP);
    let live = 0;
    let liveBytes = 0;
    for (let h = HEADER_BYTES; h < top; ) {
      const w = h >>> 2;
      const p = this.u32[w + 4]!;
      const state = this.u32[w + 1]!;
      if (this.u32[w] !== BLOCK_MAGIC || this.u32[(p - 4) >>> 2] !== h || (state !== 1 && state !== 2)) {
        throw new FakeHeapCorruptionError(`FakeHeap.check: damaged block header at ${h}`);
      }
      if (state === STATE_LIVE) {
        live++;
        liveBytes += this.u32[w + 3]!;
      }
      h = Math.ceil((p + this.u32[w + 3]!) / 8) * 8;
    }
    if (live !== this.liveBlocks() || liveBytes !== Atomics.load(this.i32, W_LIVE_BYTES)) {
      throw new FakeHeapCorruptionError(`FakeHeap.check: counters disagree with the walk (${live} live)`);
    }
  }

  private blockHeader(ptr: number, op: string): number {
    const top = Atomics.load(this.i32, W_TOP);
    if (!Number.isInteger(ptr) || ptr < HEADER_BYTES + BLOCK_HEADER_BYTES || ptr >= top || ptr % 8 !== 0) {
      throw new FakeHeapCorruptionError(`FakeHeap.${op}: ${String(ptr)} is not a heap block`);
    }
    const h = this.u32[(ptr - 4) >>> 2]!;
    const ok = h >= HEADER_BYTES && h < ptr && h % 8 === 0 && this.u32[h >>> 2] === BLOCK_MAGIC;
    if (!ok || this.u32[(h >>> 2) + 4] !== ptr) {
      throw new FakeHeapCorruptionError(`FakeHeap.${op}: ${ptr} is not the start of a block`);
    }
    return h;
  }

  /** Grows the buffer to hold `end` bytes; false when it cannot. */
  private reach(end: number): boolean {
    const b = this.buffer;
    if (end <= b.byteLength) return true;
    const target = Math.min(Math.max(end, b.byteLength * 2), b.maxByteLength);
    if (target < end) return false;
    try {
      b.grow(target);
    } catch {
      // Another worker grew it first (grow never shrinks) or the limit was hit.
    }
    return end <= b.byteLength;
  }
}
