/**
 * StructMemory: one set of typed-array views per heap, shared by every layout, view and accessor that uses
 * that heap in this thread. Views are made once per buffer size, never per access.
 *
 * Why not the heap's own length-tracking views: in Node 20 (V8 11.3) a view that tracks a growable
 * SharedArrayBuffer is 30-50x slower to index than a fixed-length one (measured: ~100 ns vs ~2.5 ns per
 * access). So for a growable SharedArrayBuffer the views here have a fixed length, and every accessor checks
 * `ptr + end <= memory.end` (one compare) and calls `ensure` to re-make them after the buffer grew. A
 * resizable ArrayBuffer can also shrink, so there the views track its length; a fixed buffer needs neither.
 *
 * Synchronization: worker-private (one StructMemory per heap object per thread); reads the buffer length,
 * which other workers may grow at any time.
 */
import type { StructHeap } from "./heap-like.js";

const BUFFER_FIXED = 0;
const BUFFER_GROWABLE_SHARED = 1;
const BUFFER_RESIZABLE = 2;

export class StructMemory {
  readonly heap: StructHeap;
  readonly buffer: SharedArrayBuffer | ArrayBuffer;
  /** Bytes the views cover; accessors call `ensure` for anything past it. */
  end = 0;
  u8!: Uint8Array;
  i8!: Int8Array;
  u16!: Uint16Array;
  i16!: Int16Array;
  u32!: Uint32Array;
  i32!: Int32Array;
  f32!: Float32Array;
  f64!: Float64Array;
  u64!: BigUint64Array;
  i64!: BigInt64Array;
  dv!: DataView;
  private readonly bufferKind: number;
  private readonly remakeHooks: (() => void)[] = [];

  constructor(heap: StructHeap) {
    const buffer = heap.buffer;
    if (!(buffer instanceof ArrayBuffer) && !isSharedArrayBuffer(buffer)) {
      throw new TypeError(
        `struct: heap.buffer must be a SharedArrayBuffer or ArrayBuffer, got ${String(buffer)}`,
      );
    }
    this.heap = heap;
    this.buffer = buffer;
    this.bufferKind = bufferKindOf(buffer);
    this.makeViews();
  }

  /** Re-makes the views if the buffer grew; throws when `limit` is still past the buffer's end. */
  ensure(limit: number): void {
    if (this.buffer.byteLength !== this.end) this.makeViews();
    if (!(limit <= this.end)) {
      throw new RangeError(`struct: access up to byte ${limit} is outside the heap (${this.end} bytes)`);
    }
  }

  /** Calls `hook` after every re-making of the views (bound accessors re-point their copies). */
  onRemake(hook: () => void): void {
    this.remakeHooks.push(hook);
  }

  private makeViews(): void {
    const b = this.buffer;
    const len = b.byteLength;
    // Length-tracking views (no length argument) only where the buffer can shrink.
    const track = this.bufferKind === BUFFER_RESIZABLE;
    const n = (bytesPerElement: number) => (track ? undefined : Math.floor(len / bytesPerElement));
    this.u8 = new Uint8Array(b, 0, n(1));
    this.i8 = new Int8Array(b, 0, n(1));
    this.u16 = new Uint16Array(b, 0, n(2));
    this.i16 = new Int16Array(b, 0, n(2));
    this.u32 = new Uint32Array(b, 0, n(4));
    this.i32 = new Int32Array(b, 0, n(4));
    this.f32 = new Float32Array(b, 0, n(4));
    this.f64 = new Float64Array(b, 0, n(8));
    this.u64 = new BigUint64Array(b, 0, n(8));
    this.i64 = new BigInt64Array(b, 0, n(8));
    this.dv = new DataView(b, 0, n(1));
    this.end = len;
    for (const hook of this.remakeHooks) hook();
  }
}

function isSharedArrayBuffer(b: unknown): b is SharedArrayBuffer {
  return typeof SharedArrayBuffer !== "undefined" && b instanceof SharedArrayBuffer;
}

function bufferKindOf(b: SharedArrayBuffer | ArrayBuffer): number {
  if (isSharedArrayBuffer(b))
    return (b as { growable?: boolean }).growable ? BUFFER_GROWABLE_SHARED : BUFFER_FIXED;
  return (b as { resizable?: boolean }).resizable ? BUFFER_RESIZABLE : BUFFER_FIXED;
}

/**
 * One-entry cache in front of the WeakMap: hot loops use one heap, so the lookup is one compare. The
 * specialized accessors read it directly (see specialize.ts).
 */
export const memoryCache: { heap: StructHeap | null; memory: StructMemory | null } = {
  heap: null,
  memory: null,
};
const memories = new WeakMap<StructHeap, StructMemory>();

/** The StructMemory of `heap` in this thread (created on first use). */
export function memoryOf(heap: StructHeap): StructMemory {
  if (heap === memoryCache.heap) return memoryCache.memory!;
  return memoryOfSlow(heap);
}

function memoryOfSlow(heap: StructHeap): StructMemory {
  if (typeof heap !== "object" || heap === null) {
    throw new TypeError(`struct: expected a heap, got ${String(heap)}`);
  }
  let m = memories.get(heap);
  if (m === undefined || m.buffer !== heap.buffer) {
    m = new StructMemory(heap);
    memories.set(heap, m);
  }
  memoryCache.heap = heap;
  memoryCache.memory = m;
  return m;
}
