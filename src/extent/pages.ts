/**
 * pages: what stands for the operating system (jemalloc's pages.c). The buffer is the address space:
 * "mapping" bumps the header's `top` and grows the buffer to cover it; purging zero-fills (forced, as
 * MADV_DONTNEED guarantees) or only changes state (lazy). A resizable ArrayBuffer shrinks again when
 * the pages at its end are given back (pagesTrimTail).
 *
 * Synchronization: `top` and buffer growth are under the map lock (HDR_LOCK_MAP_B); the lock is a leaf
 * (nothing else is taken while holding it).
 */
import { HDR_LOCK_MAP_B, HDR_MAX_BYTES_B, HDR_TOP_B } from "../layout/header.js";
import { lengthTracking } from "../layout/index.js";
import type { HeapCtx } from "./ctx.js";
import { heapLock, heapUnlock } from "./lock.js";

/** Growth granularity of the buffer (a WebAssembly page: cheap for engines to commit). */
export const BUFFER_GROW_STEP = 65536;

function topGet(ctx: HeapCtx): number {
  return ctx.f64[HDR_TOP_B >>> 3]!;
}

/**
 * Maps `size` bytes (a page multiple) at the top of the address space. Returns the address, or 0 when
 * the buffer cannot grow that far (out of memory: nothing changes).
 */
export function pagesMap(ctx: HeapCtx, size: number): number {
  heapLock(ctx, HDR_LOCK_MAP_B);
  try {
    if (ctx.failpoint !== null) ctx.failpoint("map.locked");
    const top = topGet(ctx);
    const newTop = top + size;
    const max = ctx.f64[HDR_MAX_BYTES_B >>> 3]!;
    if (newTop > max || newTop > 2 ** 32) return 0;
    if (!bufferEnsure(ctx, newTop, max)) return 0;
    ctx.f64[HDR_TOP_B >>> 3] = newTop;
    return top;
  } finally {
    heapUnlock(ctx, HDR_LOCK_MAP_B);
  }
}

/** Grows the buffer so that [0, end) is addressable; false if the engine refuses. */
function bufferEnsure(ctx: HeapCtx, end: number, max: number): boolean {
  const buf = ctx.buffer;
  if (buf.byteLength >= end) return true;
  const want = Math.min(max, Math.ceil(end / BUFFER_GROW_STEP) * BUFFER_GROW_STEP);
  try {
    if (ctx.shared) (buf as SharedArrayBuffer).grow(want);
    else (buf as ArrayBuffer).resize(want);
  } catch (err) {
    if (err instanceof RangeError) return false;
    throw err;
  }
  return buf.byteLength >= end;
}

/** Forced purge: the pages read as zero afterwards (MADV_DONTNEED). */
export function pagesPurgeForced(ctx: HeapCtx, addr: number, size: number): void {
  ctx.u8.fill(0, addr, addr + size);
}

/** A resizable ArrayBuffer gives memory back when the top of the address space is unused. */
export function pagesTrimTail(ctx: HeapCtx, newTop: number): void {
  if (ctx.shared) return;
  heapLock(ctx, HDR_LOCK_MAP_B);
  try {
    const top = topGet(ctx);
    if (newTop >= top) return;
    ctx.f64[HDR_TOP_B >>> 3] = newTop;
    const want = Math.ceil(newTop / BUFFER_GROW_STEP) * BUFFER_GROW_STEP;
    const buf = ctx.buffer as ArrayBuffer;
    // Only a buffer whose views track its length may shrink (fixed views would go out of bounds).
    if (want < buf.byteLength && ctx.u8.length === buf.byteLength && isLengthTracking(ctx)) buf.resize(want);
  } finally {
    heapUnlock(ctx, HDR_LOCK_MAP_B);
  }
}

function isLengthTracking(ctx: HeapCtx): boolean {
  // A length-tracking view was created without a length: its byteOffset is 0 and it follows resizes.
  const probe = ctx.u8;
  return (
    (probe as unknown as { length: number }).length === ctx.buffer.byteLength && lengthTracking.has(probe)
  );
}

export function pagesTop(ctx: HeapCtx): number {
  return topGet(ctx);
}
