/**
 * StructHeap: the part of the heap the struct layer uses. The real `Heap` has exactly these members; tests
 * use a small fake (test/helpers/fake-heap.ts). The struct layer never touches allocator internals.
 *
 * Invariants: the views cover `buffer` from byte 0 and track its growth; `mallocx` returns a byte offset
 * aligned as the flags ask, or 0 when out of memory; `mallocUsableSize` throws for a pointer that is not a
 * live block (freed, interior or foreign), which is how `Layout.at`/`Layout.free` detect bad pointers.
 */
export interface StructHeap {
  readonly buffer: SharedArrayBuffer | ArrayBuffer;
  readonly u8: Uint8Array;
  readonly i32: Int32Array;
  readonly u32: Uint32Array;
  readonly f64: Float64Array;
  readonly dv: DataView;
  mallocx(size: number, flags: number): number;
  dallocx(ptr: number, flags: number): void;
  free(ptr: number): void;
  mallocUsableSize(ptr: number): number;
}
