/**
 * check_space: the address space below the top has three kinds of owner — extents (the page map),
 * metadata blocks (each base's block list) and placement gaps (owned by nobody; pages.ts). Mappings
 * made once the top is full are cut from gaps, so the checker proves that no byte has two of them:
 * every gap is well formed, page aligned, inside [header end, top) and below the one listed before it,
 * and no gap, base block or extent overlaps another.
 */
import { arenaRecordByInd, narenasTotal } from "../arena/arena.js";
import type { HeapCtx } from "../ctx/ctx.js";
import { HDR_BASE0_B, HDR_HEADER_BYTES_B, HDR_TOP_B } from "../ctx/header.js";
import { baseBlocks } from "../extent/base.js";
import { edataBase, edataSize } from "../extent/edata.js";
import { PAC_BASE_B } from "../extent/pac_layout.js";
import { pagesGaps } from "../extent/pages.js";

interface Owner {
  start: number;
  end: number;
  what: string;
}

/** Appends a problem for every malformed gap or doubly owned range. `extents`: from collectExtents. */
export function checkAddressSpace(ctx: HeapCtx, extents: Set<number>, problems: string[]): void {
  const lo = ctx.u32[HDR_HEADER_BYTES_B >>> 2]!;
  const top = ctx.f64[HDR_TOP_B >>> 3]!;
  const owners: Owner[] = [];
  let below = top;
  for (const [start, end] of pagesGaps(ctx)) {
    if (start % ctx.page !== 0 || end % ctx.page !== 0 || end <= start || start < lo || end > below)
      problems.push(`C2 gap [${start}, ${end}) is malformed, unaligned or out of order (below ${below})`);
    below = Math.min(below, start);
    owners.push({ start, end, what: "gap" });
  }
  const bases = new Set<number>([ctx.u32[HDR_BASE0_B >>> 2]!]);
  for (let ind = 0; ind < narenasTotal(ctx); ind++) {
    const arena = arenaRecordByInd(ctx, ind);
    if (arena !== 0) bases.add(ctx.u32[(arena + PAC_BASE_B) >>> 2]!);
  }
  for (const b of bases) {
    if (b === 0) continue;
    for (const [start, end] of baseBlocks(ctx, b)) {
      if (start < lo || end > top)
        problems.push(`C2 base ${b}: block [${start}, ${end}) is outside [${lo}, ${top})`);
      owners.push({ start, end, what: `base ${b} block` });
    }
  }
  for (const e of extents) {
    const start = edataBase(ctx.u32, e);
    owners.push({ start, end: start + edataSize(ctx.u32, e), what: `extent ${e}` });
  }
  owners.sort((a, b) => a.start - b.start || a.end - b.end);
  let prev: Owner | null = null;
  for (const o of owners) {
    if (prev !== null && o.start < prev.end)
      problems.push(`C2 ${o.what} [${o.start}, ${o.end}) overlaps ${prev.what} [${prev.start}, ${prev.end})`);
    if (prev === null || o.end > prev.end) prev = o;
  }
}
