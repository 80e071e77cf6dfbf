/**
 * hook_result: what an application's extent hook answers is input, not truth. jemalloc trusts its
 * hooks; here a bad answer would hand out the header, metadata or a live block, so every answer is
 * checked and anything unexpected counts as the hook failing (jemalloc's failure semantics: the
 * allocation fails cleanly, a failed purge or dalloc keeps the pages):
 *  - alloc: a finite integer address, aligned to max(alignment, page), with [addr, addr + size) inside
 *    the mapped part of the buffer above the header, overlapping no extent the page map knows (live,
 *    cached or retained), no metadata block of any arena's base and no placement gap (pages.ts: not
 *    mapped). Anything else, a throw included, is null (failure).
 *  - boolean hooks (dalloc, commit, decommit, purges, split, merge): `false` means success and `true`
 *    failure, as in jemalloc; any other value or a throw is a failure.
 *  - destroy: its result is ignored; a throw is swallowed (the pages are simply not given back).
 */

import type { HeapCtx } from "../ctx/ctx.js";
import {
  ARENAS_MAX,
  HDR_BASE0_B,
  HDR_HEADER_BYTES_B,
  HDR_NARENAS_TOTAL_B,
  HDR_TOP_B,
} from "../ctx/header.js";
import { baseOverlaps } from "./base.js";
import { EXTENT_STATE_CACHED, edataBase, edataIsRecord, edataSize, edataState } from "./edata.js";
import { emapRead } from "./emap.js";
import { PAC_BASE_B } from "./pac_layout.js";
import { pagesGapOverlaps } from "./pages.js";

/** A boolean hook's answer as a failure flag: only `false` is success. */
export function hookFailed(r: unknown): boolean {
  return r !== false;
}

/** The extent record covering `addr` as the page map says, or 0 (cached records excluded). */
function extentAt(ctx: HeapCtx, addr: number): number {
  const e = emapRead(ctx, addr);
  if (e === 0 || !edataIsRecord(ctx.u32, e) || edataState(ctx.u32, e) === EXTENT_STATE_CACHED) return 0;
  const b = edataBase(ctx.u32, e);
  return addr >= b && addr < b + edataSize(ctx.u32, e) ? e : 0;
}

/** Whether [addr, addr + size) overlaps an extent: any mapped page inside, or one reaching into it. */
function overlapsExtent(ctx: HeapCtx, addr: number, size: number, lo: number): boolean {
  const page = ctx.page;
  for (let p = addr; p < addr + size; p += page)
    if (emapRead(ctx, p) !== 0 && extentAt(ctx, p) !== 0) return true;
  // An extent's interior pages are not mapped: the nearest mapped page below decides.
  for (let p = addr - page; p >= lo; p -= page) {
    const e = emapRead(ctx, p);
    if (e === 0) continue;
    if (extentAt(ctx, p) === 0) continue;
    return edataBase(ctx.u32, e) + edataSize(ctx.u32, e) > addr;
  }
  return false;
}

function overlapsMetadata(ctx: HeapCtx, addr: number, size: number): boolean {
  if (baseOverlaps(ctx, ctx.u32[HDR_BASE0_B >>> 2]!, addr, size)) return true;
  const table = ctx.hdr.arenaTableB >>> 2;
  const n = Math.min(ctx.i32[HDR_NARENAS_TOTAL_B >>> 2]!, ARENAS_MAX);
  for (let i = 0; i < n; i++) {
    const a = ctx.u32[table + i]!;
    if (a !== 0 && baseOverlaps(ctx, ctx.u32[(a + PAC_BASE_B) >>> 2]!, addr, size)) return true;
  }
  return false;
}

/** Why an alloc hook's answer is unusable, or null when it names a free range of the buffer. */
export function hookAllocProblem(ctx: HeapCtx, r: unknown, size: number, alignment: number): string | null {
  if (typeof r !== "number" || !Number.isInteger(r)) return `not an integer address (${String(r)})`;
  const align = alignment > ctx.page ? alignment : ctx.page;
  if (r <= 0 || r % align !== 0) return `address ${r} is not a positive multiple of ${align}`;
  const lo = ctx.u32[HDR_HEADER_BYTES_B >>> 2]!;
  const top = Math.min(ctx.f64[HDR_TOP_B >>> 3]!, ctx.buffer.byteLength);
  if (r < lo || r + size > top) return `[${r}, +${size}) is outside the mapped heap [${lo}, ${top})`;
  if (overlapsExtent(ctx, r, size, lo)) return `[${r}, +${size}) overlaps an extent in use`;
  if (overlapsMetadata(ctx, r, size)) return `[${r}, +${size}) overlaps allocator metadata`;
  // A placement gap is address space no mapping owns; base blocks and extents may be mapped there later.
  if (pagesGapOverlaps(ctx, r, size)) return `[${r}, +${size}) overlaps unmapped address space (a gap)`;
  return null;
}
