/**
 * c_heap: what the C functions (imports.ts, mallctl_c.ts) use of a memory-backed handle — named here so
 * they do not import the handle's class, which builds them.
 */
import type { HeapHandle } from "../ctx/ctx.js";

export interface CHeap extends HeapHandle {
  readonly u8: Uint8Array;
  readonly dv: DataView;
  malloc(size: number): number;
  calloc(n: number, size: number): number;
  realloc(ptr: number, size: number): number;
  free(ptr: number): void;
  alignedAlloc(alignment: number, size: number): number;
  posixMemalign(alignment: number, size: number): { error: number; ptr: number };
  mallocUsableSize(ptr: number): number;
  rallocx(ptr: number, size: number, flags?: number): number;
  xallocx(ptr: number, size: number, extra?: number, flags?: number): number;
  sallocx(ptr: number, flags?: number): number;
  dallocx(ptr: number, flags?: number): void;
  sdallocx(ptr: number, size: number, flags?: number): void;
  nallocx(size: number, flags?: number): number;
  /** Whether [p, p + bytes) lies inside the memory now. */
  inMemory(p: number, bytes: number): boolean;
  /** Reports misuse at a module address to the corruption handler. */
  reportForeign(kind: string, fn: string, ptr: number, detail: string): void;
  /** A kept NUL-terminated copy of `s` in the heap (0 when out of memory). */
  cStringOf(s: string): number;
}
