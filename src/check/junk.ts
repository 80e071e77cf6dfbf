/**
 * junk: use-after-free detection by verifying the free junk (debug mode with opt.junk free or true).
 * Every freed small or cached block is filled with 0x5a when freed (a cached block's first word then
 * holds its cache mark, src/tcache/mark.ts); in debug mode fresh slabs are junked when created and a
 * block flushed from a cache gets its first word junked back. So every byte of a free region and every
 * byte but the first word of a cached block must read 0x5a: a write into a freed block is found when
 * the block is handed out again, or by heap.check(), whichever comes first.
 *
 * Found blocks go to flushProblems (so the operation reports them when it completes) with the detail
 * in `uafDetails`, which the report turns into a "use-after-free" naming block, class and offset.
 */
import { slabRegIsAllocated } from "../arena/slab.js";
import { flushProblems } from "../cache_bin/cache_bin.js";
import type { HeapCtx } from "../ctx/ctx.js";
import { EXTENT_STATE_ACTIVE, edataBase, edataSlab, edataState, edataSzind } from "../extent/edata.js";
import { tcacheGeom, tcacheRecordSane, tcacheRecords } from "../tcache/index.js";
import { TBIN_W_CAP, TBIN_W_HEAD, TBIN_W_SLOTS, tbinW } from "../tcache/layout.js";

export const JUNK_FREE_BYTE = 0x5a;
export const JUNK_FREE_WORD = 0x5a5a5a5a;

/** Use-after-free details by block, for the report (drained by the reporter). */
export const uafDetails = new Map<number, string>();

/** True when freed blocks carry junk that must be verified (debug mode with free junk). */
export function junkVerifying(ctx: HeapCtx): boolean {
  return ctx.debug && ctx.opt.junkFree;
}

/** First offset in [from, size) of the block at `p` that is not free junk, or -1. */
export function junkFirstChanged(ctx: HeapCtx, p: number, from: number, size: number): number {
  const u8 = ctx.u8;
  const u32 = ctx.u32;
  let i = from;
  // Word steps where aligned (blocks are 8-byte aligned), bytes for the rest.
  while (i + 4 <= size && ((p + i) & 3) === 0) {
    if (u32[(p + i) >>> 2] !== JUNK_FREE_WORD) break;
    i += 4;
  }
  for (; i < size; i++) if (u8[p + i] !== JUNK_FREE_BYTE) return i;
  return -1;
}

/** The message for a block of class `ind` written after free at `off`. */
export function uafMessage(ctx: HeapCtx, p: number, ind: number, off: number): string {
  const size = ctx.sc.index2size(ind);
  return `use after free: block ${p} (size class ${ind}, ${size} bytes) was written after it was freed; first changed byte at offset ${off}`;
}

/**
 * Verifies the junk of block `p` (class `ind`, usable `usize`) as it is handed out again; `from` is 4
 * for a block leaving a cache (its first word is the mark), 0 otherwise. Records what it finds.
 */
export function junkVerifyAtReuse(ctx: HeapCtx, p: number, ind: number, usize: number, from: number): void {
  const off = junkFirstChanged(ctx, p, from, usize);
  if (off < 0) return;
  uafDetails.set(p, uafMessage(ctx, p, ind, off));
  flushProblems.push(p);
}

/**
 * heap.check()'s walk (debug): every free region of every active slab must be all junk, every cached
 * block all junk after its mark. Bounded by the size-class table and the cache geometry.
 */
export function checkJunk(ctx: HeapCtx, extents: Iterable<number>, problems: string[]): void {
  const u32 = ctx.u32;
  const sc = ctx.sc;
  for (const e of extents) {
    if (edataState(u32, e) !== EXTENT_STATE_ACTIVE || !edataSlab(u32, e)) continue;
    const ind = edataSzind(u32, e);
    if (ind >= sc.nbins) continue;
    const regSize = sc.binRegSize[ind]!;
    const nregs = sc.binNregs[ind]!;
    const base = edataBase(u32, e);
    for (let r = 0; r < nregs; r++) {
      if (slabRegIsAllocated(u32, e, r)) continue;
      const off = junkFirstChanged(ctx, base + r * regSize, 0, regSize);
      if (off >= 0) problems.push(`C8 ${uafMessage(ctx, base + r * regSize, ind, off)}`);
    }
  }
  const g = tcacheGeom(ctx);
  for (const tc of tcacheRecords(ctx)) {
    if (!tcacheRecordSane(ctx, tc)) continue;
    for (let i = 0; i < g.nhbins; i++) {
      const w = tbinW(tc, i);
      const slots = u32[w + TBIN_W_SLOTS]!;
      const cap = Math.min(u32[w + TBIN_W_CAP]!, g.cap[i]!);
      for (let k = u32[w + TBIN_W_HEAD]!; k < cap; k++) {
        const p = u32[slots + k]!;
        const off = junkFirstChanged(ctx, p, 4, sc.index2size(i));
        if (off >= 0) problems.push(`C8 ${uafMessage(ctx, p, i, off)} (in a thread cache)`);
      }
    }
  }
}
