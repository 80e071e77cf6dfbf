/**
 * imports: the allocator functions a WebAssembly module imports (`env.malloc`, ...), with C's
 * conventions on wasm32 (size_t and pointers are 32-bit; they arrive as signed i32 and are read
 * unsigned). Failures return what C returns (NULL, or an errno from posix_memalign and mallctl), never
 * an exception; a bad argument of the JS API (a flags word naming no arena, ...) is C's EINVAL/NULL.
 * Misuse the heap detects (double free, foreign pointers, pointers the module passes that lie outside
 * its memory) goes to the corruption handler, as the JS API's does.
 */
import { EFAULT, EINVAL } from "../errors.js";
import type { CHeap } from "./c_heap.js";
import { mallctlC } from "./mallctl_c.js";

/** The import object's functions (C signatures in README, "WebAssembly"). */
export interface WasmImports {
  malloc(size: number): number;
  calloc(n: number, size: number): number;
  realloc(ptr: number, size: number): number;
  free(ptr: number): void;
  aligned_alloc(alignment: number, size: number): number;
  posix_memalign(memptr: number, alignment: number, size: number): number;
  malloc_usable_size(ptr: number): number;
  mallocx(size: number, flags: number): number;
  rallocx(ptr: number, size: number, flags: number): number;
  xallocx(ptr: number, size: number, extra: number, flags: number): number;
  sallocx(ptr: number, flags: number): number;
  dallocx(ptr: number, flags: number): void;
  sdallocx(ptr: number, size: number, flags: number): void;
  nallocx(size: number, flags: number): number;
  mallctl(name: number, oldp: number, oldlenp: number, newp: number, newlen: number): number;
  [name: string]: (...args: number[]) => unknown;
}

/** A bad argument of the JS API is C's failure result; anything else (corruption, poison) propagates. */
function cFail<T>(err: unknown, result: T): T {
  if (err instanceof RangeError || err instanceof TypeError) return result;
  throw err;
}

export function wasmImportsOf(heap: CHeap): WasmImports {
  const u = (x: number): number => x >>> 0;
  const alloc = (f: () => number): number => {
    try {
      return f();
    } catch (err) {
      return cFail(err, 0);
    }
  };
  const fns = {
    malloc(size: number): number {
      try {
        return heap.malloc(size >>> 0);
      } catch (err) {
        return cFail(err, 0);
      }
    },
    calloc: (n: number, size: number) => alloc(() => heap.calloc(u(n), u(size))),
    realloc: (ptr: number, size: number) => alloc(() => heap.realloc(u(ptr), u(size))),
    free: (ptr: number) => heap.free(u(ptr)),
    aligned_alloc: (alignment: number, size: number) => alloc(() => heap.alignedAlloc(u(alignment), u(size))),
    posix_memalign(memptr: number, alignment: number, size: number): number {
      memptr = u(memptr);
      if (memptr === 0 || memptr % 4 !== 0 || !heap.inMemory(memptr, 4)) {
        heap.reportForeign(
          "invalid-pointer",
          "posix_memalign",
          memptr,
          "memptr does not point at 4 writable bytes of the memory",
        );
        return EFAULT;
      }
      // C: posix_memalign's alignment must be a power of two multiple of sizeof(void *) (4 on wasm32).
      const a = u(alignment);
      if (a < 4 || (a & (a - 1)) !== 0) return EINVAL;
      let r: { error: number; ptr: number };
      try {
        r = heap.posixMemalign(a < 8 ? 8 : a, u(size));
      } catch (err) {
        return cFail(err, EINVAL);
      }
      if (r.error === 0) heap.dv.setUint32(memptr, r.ptr, true);
      return r.error;
    },
    malloc_usable_size: (ptr: number) => heap.mallocUsableSize(u(ptr)),
    mallocx: (size: number, flags: number) => alloc(() => heap.mallocx(u(size), flags | 0)),
    rallocx: (ptr: number, size: number, flags: number) =>
      alloc(() => heap.rallocx(u(ptr), u(size), flags | 0)),
    xallocx(ptr: number, size: number, extra: number, flags: number): number {
      try {
        return heap.xallocx(u(ptr), u(size), u(extra), flags | 0);
      } catch (err) {
        return cFail(err, heap.sallocx(u(ptr)));
      }
    },
    sallocx: (ptr: number, flags: number) => heap.sallocx(u(ptr), flags | 0),
    dallocx(ptr: number, flags: number): void {
      try {
        heap.dallocx(u(ptr), flags | 0);
      } catch (err) {
        cFail(err, undefined);
      }
    },
    sdallocx(ptr: number, size: number, flags: number): void {
      try {
        heap.sdallocx(u(ptr), u(size), flags | 0);
      } catch (err) {
        cFail(err, undefined);
      }
    },
    nallocx(size: number, flags: number): number {
      try {
        return heap.nallocx(u(size), flags | 0);
      } catch (err) {
        return cFail(err, 0);
      }
    },
    mallctl: (name: number, oldp: number, oldlenp: number, newp: number, newlen: number) =>
      mallctlC(heap, u(name), u(oldp), u(oldlenp), u(newp), u(newlen)),
  };
  return fns as WasmImports;
}
