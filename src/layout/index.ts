/**
 * layout: units and helpers shared by every record that lives in the heap's buffer.
 *
 * Glossary (used across the code base, as in jemalloc):
 *   B / Bytes   a byte offset into the buffer or a byte count
 *   W           a 32-bit word index (byte offset >>> 2) into the heap's Int32Array / Uint32Array
 *   D           a 64-bit word index (byte offset >>> 3) into the heap's Float64Array
 *   ind / szind size-class index;  pind  page-size-class index
 *   sn          extent serial number (age), lower = older
 *   edata       an extent record;  pac  page allocator (dirty / muzzy / retained caches)
 *
 * Every pointer is an unsigned 32-bit byte offset; 0 is NULL and is never handed out (the heap header
 * occupies the first page or pages).
 */

/** Views over one heap buffer, created once per thread and length-tracking, so they stay valid after growth. */
export interface Views {
  readonly u8: Uint8Array;
  readonly i32: Int32Array;
  readonly u32: Uint32Array;
  readonly f64: Float64Array;
  readonly dv: DataView;
}

/**
 * Views over the whole buffer. A buffer that can still grow gets length-tracking views (always
 * correct, but V8 in Node 20 reads and writes them ~20× slower); a buffer at its maximum length gets
 * fixed-length views (fast). Hot paths keep their own fixed views (fixedViews) and refresh them.
 */
export function makeViews(buffer: SharedArrayBuffer | ArrayBuffer, baseB = 0): Views {
  if (!canGrow(buffer) || baseB !== 0) return fixedViews(buffer, baseB);
  const u8 = new Uint8Array(buffer);
  lengthTracking.add(u8);
  return {
    u8,
    i32: new Int32Array(buffer),
    u32: new Uint32Array(buffer),
    f64: new Float64Array(buffer),
    dv: new DataView(buffer),
  };
}

/**
 * Fixed-length views over the buffer's current length (must be refreshed after growth). With `baseB`
 * (a heap inside a WebAssembly.Memory, src/wasm) the views start at that byte: the heap's offset 0.
 */
export function fixedViews(buffer: SharedArrayBuffer | ArrayBuffer, baseB = 0): Views {
  const len = buffer.byteLength - baseB;
  return {
    u8: new Uint8Array(buffer, baseB, len),
    i32: new Int32Array(buffer, baseB, Math.floor(len / 4)),
    u32: new Uint32Array(buffer, baseB, Math.floor(len / 4)),
    f64: new Float64Array(buffer, baseB, Math.floor(len / 8)),
    dv: new DataView(buffer, baseB, len),
  };
}

/** u8 views that track their buffer's length (so the buffer may shrink under them). */
export const lengthTracking = new WeakSet<object>();

export function canGrow(buffer: SharedArrayBuffer | ArrayBuffer): boolean {
  const b = buffer as { growable?: boolean; resizable?: boolean; maxByteLength?: number };
  const growable = b.growable === true || b.resizable === true;
  return growable && (b.maxByteLength ?? 0) > buffer.byteLength;
}

/** Round `n` up to a multiple of `align` (a power of two); exact for all n < 2^53 (no 32-bit wrap). */
export function alignUp(n: number, align: number): number {
  return Math.ceil(n / align) * align;
}

export function alignDown(n: number, align: number): number {
  return Math.floor(n / align) * align;
}

export function isPow2(n: number): boolean {
  return Number.isInteger(n) && n > 0 && 2 ** Math.round(Math.log2(n)) === n;
}

/** floor(log2(n)) for 1 <= n < 2^53. */
export function lgFloor(n: number): number {
  return n < 2 ** 32 ? 31 - Math.clz32(n) : Math.floor(Math.log2(n));
}

/** ceil(log2(n)) for 1 <= n < 2^53. */
export function lgCeil(n: number): number {
  const f = lgFloor(n);
  return 2 ** f === n ? f : f + 1;
}

/** Adds `v` to the float64 counter at byte offset `byteOffset` (8-aligned) of the buffer. */
export function f64AddB(f64: Float64Array, byteOffset: number, v: number): void {
  const d = byteOffset >>> 3;
  f64[d] = f64[d]! + v;
}

/** Adds `v` to the float64 counter at 64-bit word index `d`. */
export function f64AddD(f64: Float64Array, d: number, v: number): void {
  f64[d] = f64[d]! + v;
}
