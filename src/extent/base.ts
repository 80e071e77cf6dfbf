/**
 * base: the metadata allocator (jemalloc's base.c). Each arena has one; arena 0 shares the heap's
 * global base (b0), which also carries the page-map leaves. A base maps blocks from the address space
 * and bump-allocates from the newest, never freeing: metadata lives until its arena is destroyed.
 * Block size follows jemalloc: the larger of HUGEPAGE_CEILING(request) and HUGEPAGE_CEILING(the page
 * class after the previous block) — falling back to just the request when the buffer cannot grow that
 * far, and, once the top is at the buffer's maximum, to a block of just the request cut from a
 * placement gap below it (pages.ts), so small and full heaps still get metadata.
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
 *   L+52..L+55        blocks          u32     newest block node (0: none); b0's header block has none
 * ╘══════════════════════════════════════════════════════════════════════════════════════════════════╛
 *
 * Block node (BASE_NODE_BYTES), carved first from every block mapped after the first (and right after
 * the record in a base's own first block), so the blocks of a base can be listed — an extent hook's
 * result must not overlap metadata (src/extent/hook_result.ts):
 *   0..3 prev node (u32, 0 ends the list)   4..7 block start (u32)   8..15 block size (f64)
 */

import type { HeapCtx } from "../ctx/ctx.js";
import { LOCK_BYTES } from "../ctx/header.js";
import { alignUp } from "../layout/index.js";
import { lockInit } from "../sync/index.js";
import { heapLock, heapUnlock } from "./lock.js";
import { pagesMapBase, pagesMappedBytes } from "./pages.js";

export const BASE_LOCK_B = 0;
export const BASE_CUR_B = LOCK_BYTES;
export const BASE_END_B = LOCK_BYTES + 8;
export const BASE_ALLOCATED_B = LOCK_BYTES + 16;
export const BASE_MAPPED_B = LOCK_BYTES + 24;
export const BASE_RESIDENT_B = LOCK_BYTES + 32;
export const BASE_NEXT_PIND_B = LOCK_BYTES + 40;
export const BASE_NBLOCKS_B = LOCK_BYTES + 44;
export const BASE_EDATA_ALLOCATED_B = LOCK_BYTES + 48;
export const BASE_BLOCKS_B = LOCK_BYTES + 52;
export const BASE_NODE_BYTES = 16;
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
  // The faithful size, or only what this request needs when the buffer's maximum is near.
  const faithful = blockSize(ctx, baseB, need);
  const addr = pagesMapBase(ctx, faithful, alignUp(need, ctx.page));
  if (addr === 0) return false;
  const size = pagesMappedBytes;
  const sc = ctx.sc;
  const pind = sc.psz2ind(Math.min(faithful, size));
  ctx.u32[(baseB + BASE_NEXT_PIND_B) >>> 2] = Math.min(pind + 1, sc.npsizes - 1);
  f64Set(ctx, baseB + BASE_MAPPED_B, f64At(ctx, baseB + BASE_MAPPED_B) + size);
  ctx.u32[(baseB + BASE_NBLOCKS_B) >>> 2] = ctx.u32[(baseB + BASE_NBLOCKS_B) >>> 2]! + 1;
  pushNode(ctx, baseB, addr, addr, size);
  f64Set(ctx, baseB + BASE_RESIDENT_B, f64At(ctx, baseB + BASE_RESIDENT_B) + ctx.page);
  f64Set(ctx, baseB + BASE_CUR_B, addr + BASE_NODE_BYTES);
  f64Set(ctx, baseB + BASE_END_B, addr + size);
  return true;
}

function pushNode(ctx: HeapCtx, baseB: number, node: number, start: number, size: number): void {
  ctx.u32[node >>> 2] = ctx.u32[(baseB + BASE_BLOCKS_B) >>> 2]!;
  ctx.u32[(node >>> 2) + 1] = start;
  f64Set(ctx, node + 8, size);
  ctx.u32[(baseB + BASE_BLOCKS_B) >>> 2] = node;
}

/** Whether [addr, addr + size) overlaps a block of the base at `baseB` (its record's block included). */
export function baseOverlaps(ctx: HeapCtx, baseB: number, addr: number, size: number): boolean {
  let node = ctx.u32[(baseB + BASE_BLOCKS_B) >>> 2]!;
  for (let guard = 0; node !== 0 && guard < 1 << 20; guard++) {
    const start = ctx.u32[(node >>> 2) + 1]!;
    if (addr < start + f64At(ctx, node + 8) && start < addr + size) return true;
    node = ctx.u32[node >>> 2]!;
  }
  return false;
}

/** The blocks of base `baseB` as [start, end) pairs, newest first (slow path: the checker). */
export function baseBlocks(ctx: HeapCtx, baseB: number): [number, number][] {
  const out: [number, number][] = [];
  let node = ctx.u32[(baseB + BASE_BLOCKS_B) >>> 2]!;
  for (; node !== 0 && out.length < 1 << 20; node = ctx.u32[node >>> 2]!) {
    const start = ctx.u32[(node >>> 2) + 1]!;
    out.push([start, start + f64At(ctx, node + 8)]);
  }
  return out;
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
  const addr = pagesMapBase(ctx, size, alignUp(BASE_BYTES, ctx.page));
  if (addr === 0) return 0;
  const mapped = pagesMappedBytes;
  baseInitAt(ctx, addr, addr + BASE_BYTES + BASE_NODE_BYTES, addr + mapped, mapped);
  pushNode(ctx, addr, addr + BASE_BYTES, addr, mapped);
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
      if (!mapBlock(ctx, baseB, size + align + BASE_NODE_BYTES)) return 0;
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
