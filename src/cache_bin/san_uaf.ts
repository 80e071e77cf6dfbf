/**
 * san_uaf: sampled use-after-free detection (jemalloc 5.3's san.h / san.c, `opt.lg_san_uaf_align`).
 * With n ≥ 0, a small block freed into a thread cache whose address is a multiple of 2^n is junked
 * with 0x5b and stashed at the bottom of its cache bin instead of being reused; when the stash is
 * flushed (the bin's next fill, flush or GC visit) the junk is verified, and a changed byte is a
 * write after free. Off (-1, the default): nothing here runs — handles of such a heap keep their fast
 * paths; with it on they take the slow paths, which stash.
 *
 * Junk positions, as jemalloc without --enable-debug: the first, middle and last pointer-sized words
 * of the block (pointers here are 4-byte offsets); in debug mode the whole block, as jemalloc's debug
 * build does.
 */
import type { HeapCtx } from "../ctx/ctx.js";

/** jemalloc's uaf_detect_junk byte. */
export const UAF_JUNK_BYTE = 0x5b;
const UAF_JUNK_WORD = 0x5b5b5b5b;
const PTR_BYTES = 4;

/** Stashed blocks found written after free: pointer → what the report says (the caller reports). */
export const stashReports = new Map<number, string>();

/** cache_bin_nonfast_aligned: whether a freed small block at `ptr` is sampled. */
export function sanUafAligned(ctx: HeapCtx, ptr: number): boolean {
  const lg = ctx.optRaw.lg_san_uaf_align;
  return lg >= 0 && ptr % 2 ** lg === 0;
}

/** The middle junk word's offset (san_junk_ptr_locations), word-aligned. */
function midOffset(usize: number): number {
  return (usize >>> 1) & ~(PTR_BYTES - 1);
}

/** san_junk_ptr: junks the freed block at `ptr` (usable `usize`) before it is stashed. */
export function sanJunkPtr(ctx: HeapCtx, ptr: number, usize: number): void {
  if (ctx.debug) {
    ctx.u8.fill(UAF_JUNK_BYTE, ptr, ptr + usize);
    return;
  }
  const u32 = ctx.u32;
  u32[ptr >>> 2] = UAF_JUNK_WORD;
  u32[(ptr + midOffset(usize)) >>> 2] = UAF_JUNK_WORD;
  u32[(ptr + usize - PTR_BYTES) >>> 2] = UAF_JUNK_WORD;
}

/**
 * san_stashed_corrupted: the first changed byte's offset in the stashed block at `ptr` (usable
 * `usize`), or -1 when its junk is intact. A pointer outside the buffer reads as changed.
 */
export function sanStashedChanged(ctx: HeapCtx, ptr: number, usize: number): number {
  const u8 = ctx.u8;
  if (ctx.debug) {
    for (let i = 0; i < usize; i++) if (u8[ptr + i] !== UAF_JUNK_BYTE) return i;
    return -1;
  }
  for (const at of [0, midOffset(usize), usize - PTR_BYTES]) {
    for (let i = at; i < at + PTR_BYTES; i++) if (u8[ptr + i] !== UAF_JUNK_BYTE) return i;
  }
  return -1;
}

/** jemalloc's report (safety_check_fail) for a stashed block found written, with the offset. */
export function sanUafMessage(ptr: number, usize: number, off: number): string {
  return `write-after-free detected on deallocated pointer ${ptr} (size ${usize}): byte at offset ${off} changed`;
}
