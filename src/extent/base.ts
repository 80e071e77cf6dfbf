/**
 * base: the metadata allocator (jemalloc's base.c). Each arena has one; arena 0 shares the heap's
 * global base (b0), which also carries the page-map leaves. A base maps blocks from the address space
 * and bump-allocates from the newest, never freeing: metadata lives until its arena is destroyed.
 * Block size follows jemalloc: the larger of HUGEPAGE_CEILING(request) and HUGEPAGE_CEILING(the page
 * class after the previous block) — falling back to just the request when the buffer cannot grow that
 * far, so small heaps still work.
 *
 * ╒══════════ Base record (BASE_BYTES), at the start of its first block (b0: in the header area) ══════╕
 *  bytes              field           units   meaning
 *   0..LOCK_BYTES-1   lock                    guards everything below
 *   L+0..L+7          cur             f64     next free byte of the current block
 *   L+8..L+15         end             f64     end of the current block
 *   L+16..L+23        allocated       f64     bytes handed out (stats.arenas.<i>.base)
 *   L+24..L+31        mapped          f64     bytes of all blocks
 *   L+32..L+39        resident        f64     bytes of blocks touched (page granular)
 *   L+40..L+43        nextPind        u32     page class of the next block
 *   L+44..L+47        nblocks         u32
 *   L+48..L+51        edataAllocated  u32     extent records carved (for the checker)
 *   L+52..L+55        reserved
 * ╘══════════════════════════════════════════════════════════════════════════════════════════════════╛
 */
import { LOCK_BYTES } from "../layout/header.js";
import { alignUp } from "../layout/index.js";
import { lockInit } from "../sync/index.js";
import type { HeapCtx } from "./ctx.js";
import { heapLock, heapUnlock } from "./lock.js";
import { pagesMap } from "./pages.js";

export const BASE_LOCK_B = 0;
export const BASE_CUR_B = LOCK_BYTES;
export const BASE_END_B = LOCK_BYTES + 8;
export const BASE_ALLOCATED_B = LOCK_BYTES + 16;
export const BASE_MAPPED_B = LOCK_BYTES + 24;
export const BASE_RESIDENT_B = LOCK_BYTES + 32;
export const BASE_NEXT_PIND_B = LOCK_BYTES + 40;
export const BASE_NBLOCKS_B = LOCK_BYTES + 44;
export const BASE_EDATA_ALLOCATED_B = LOCK_BYTES + 48;
export const BASE_BYTES = alignUp(LOCK_BYTES + 56, 16);

function f64At(ctx: HeapCtx, b: number): number {
  return ctx.f64[b >>> 3]!;
}
function f64Set(ctx: HeapCtx, b: number, v: number): void {
  ctx.f64[b >>> 3] = v;
}

/** Size of the next block for a request of `need` bytes (jemalloc's base_block_alloc sizing). */
function blockSize(ctx: HeapCtx, baseB: number, need: number): number {
  const nextPind = ctx.u32[(baseB + BASE_NEXT_PIND_B) >>> 2]!;
  const hp = ctx.hugepage;
  const minBlock = alignUp(need, hp);
  const sc = ctx.sc;
  const npsizes = sc.npsizes;
  const nextSize = nextPind < npsizes ? sc.pind2sz(nextPind) : minBlock;
  return Math.max(minBlock, alignUp(nextSize, hp));
}

/** Maps a new block able to hold `need` bytes and makes it current. False when out of memory. */
function mapBlock(ctx: HeapCtx, baseB: number, need: number): boolean {
  let size = blockSize(ctx, baseB, need);
  let addr = pagesMap(ctx, size);
  if (addr === 0) {
    // The faithful size does not fit the buffer's maximum: take only what this request needs.
    size = alignUp(need, ctx.page);
    addr = pagesMap(ctx, size);
    if (addr === 0) return false;
  }
  const sc = ctx.sc;
  const pind = sc.psz2ind(size);
  ctx.u32[(baseB + BASE_NEXT_PIND_B) >>> 2] = Math.min(pind + 1, sc.npsizes - 1);
  f64Set(ctx, baseB + BASE_MAPPED_B, f64At(ctx, baseB + BASE_MAPPED_B) + size);
  ctx.u32[(baseB + BASE_NBLOCKS_B) >>> 2] = ctx.u32[(baseB + BASE_NBLOCKS_B) >>> 2]! + 1;
  f64Set(ctx, baseB + BASE_CUR_B, addr);
  f64Set(ctx, baseB + BASE_END_B, addr + size);
  return true;
}

/** Initializes a base record at `baseB` (memory already zero) whose first block is [curB, endB). */
export function baseInitAt(ctx: HeapCtx, baseB: number, curB: number, endB: number, mapped: number): void {
  lockInit(ctx.i32, (baseB + BASE_LOCK_B) >>> 2);
  f64Set(ctx, baseB + BASE_CUR_B, curB);
  f64Set(ctx, baseB + BASE_END_B, endB);
  f64Set(ctx, baseB + BASE_ALLOCATED_B, 0);
  f64Set(ctx, baseB + BASE_MAPPED_B, mapped);
  f64Set(ctx, baseB + BASE_RESIDENT_B, 0);
  ctx.u32[(baseB + BASE_NEXT_PIND_B) >>> 2] = ctx.sc.psz2ind(ctx.hugepage) + 1;
  ctx.u32[(baseB + BASE_NBLOCKS_B) >>> 2] = mapped > 0 ? 1 : 0;
}

/** A new base with its own first block (jemalloc's base_new). Returns the record's offset or 0. */
export function baseNew(ctx: HeapCtx): number {
  const size = Math.max(alignUp(BASE_BYTES, ctx.hugepage), ctx.hugepage);
  let addr = pagesMap(ctx, size);
  let mapped = size;
  if (addr === 0) {
    mapped = alignUp(BASE_BYTES, ctx.page);
    addr = pagesMap(ctx, mapped);
    if (addr === 0) return 0;
  }
  baseInitAt(ctx, addr, addr + BASE_BYTES, addr + mapped, mapped);
  f64Set(ctx, addr + BASE_ALLOCATED_B, BASE_BYTES);
  f64Set(ctx, addr + BASE_RESIDENT_B, ctx.page);
  return addr;
}

/**
 * Allocates `size` zeroed bytes aligned to `align` (≥ 8, power of two). Returns 0 when out of memory.
 * Takes the base's lock; callers may hold arena locks (BASE ranks after them).
 */
export function baseAlloc(ctx: HeapCtx, baseB: number, size: number, align: number): number {
  heapLock(ctx, baseB + BASE_LOCK_B);
  try {
    if (ctx.failpoint !== null) ctx.failpoint("base.locked");
    let cur = alignUp(f64At(ctx, baseB + BASE_CUR_B), align);
    if (cur + size > f64At(ctx, baseB + BASE_END_B)) {
      // The rest of the current block is abandoned (jemalloc keeps it for smaller requests).
      if (!mapBlock(ctx, baseB, size + align)) return 0;
      cur = alignUp(f64At(ctx, baseB + BASE_CUR_B), align);
    }
    f64Set(ctx, baseB + BASE_CUR_B, cur + size);
    f64Set(ctx, baseB + BASE_ALLOCATED_B, f64At(ctx, baseB + BASE_ALLOCATED_B) + size);
    const touched = alignUp(cur + size, ctx.page) - alignUp(cur, ctx.page);
    f64Set(ctx, baseB + BASE_RESIDENT_B, f64At(ctx, baseB + BASE_RESIDENT_B) + touched);
    return cur;
  } finally {
    heapUnlock(ctx, baseB + BASE_LOCK_B);
  }
}

export function baseStats(
  ctx: HeapCtx,
  baseB: number,
): { allocated: number; resident: number; mapped: number } {
  return {
    allocated: f64At(ctx, baseB + BASE_ALLOCATED_B),
    resident: f64At(ctx, baseB + BASE_RESIDENT_B),
    mapped: f64At(ctx, baseB + BASE_MAPPED_B),
  };
}
