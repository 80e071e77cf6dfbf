/**
 * eset / ecache: one cache of free extents in one state (dirty, muzzy or retained), jemalloc's eset.c
 * and ecache.h. Extents sit in one pairing heap per page-size class — the class of
 * psz_quantize_floor(size) — ordered by (sn, addr), and in an LRU list (insertion order) that decay
 * evicts from. Fit takes the globally oldest-then-lowest extent over the classes that can hold the
 * request, bounded by `lg_max_fit` (the dirty cache will not split an extent 64× the request).
 *
 * ╒══════════ Ecache record (esetBytes(nbins)) ══════════╕
 *  bytes            field          units   meaning
 *   0..3            npages         pages   Σ pages of member extents
 *   4..7            state          enum    EXTENT_STATE_DIRTY / MUZZY / RETAINED
 *   8..11           lruHead        edata   least recently inserted
 *  12..15           lruTail        edata
 *  16..19           delayCoalesce  bool    dirty: small extents wait for eviction to coalesce
 *  20..23           nextents       count   member extents
 *  24..             roots          edata   one heap root per class (nbins u32)
 *  then (8-aligned) nbytes         f64     per class: bytes of member extents
 *  then             nextentsBin    u32     per class: member extents
 *  then             nonempty       bits    per class: 1 when its heap has members (fit skips empty classes)
 *  then             minSn          serial  per class: sn of the heap's root (valid while non-empty)
 *  then             minAddr        bytes   per class: addr of the heap's root — jemalloc's heap_min summary,
 *                                          so first fit compares classes without reading their records
 * ╘═══════════════════════════════════════════════════════╛
 * Synchronization: caller holds the arena's extent lock.
 */

import type { HeapCtx } from "../ctx/ctx.js";
import { alignUp } from "../layout/index.js";
import type { SizeClasses } from "../sizeclass/index.js";
import {
  EDATA_W_ADDR,
  EDATA_W_LIST_NEXT,
  EDATA_W_LIST_PREV,
  EDATA_W_SIZE,
  EDATA_W_SN,
  edataAddr,
  edataBase,
  edataSize,
  edataSn,
} from "./edata.js";
import { phFirst, phInsert, phRemove } from "./ph.js";

export const ESET_NPAGES_B = 0;
export const ESET_STATE_B = 4;
export const ESET_LRU_HEAD_B = 8;
export const ESET_LRU_TAIL_B = 12;
export const ESET_DELAY_COALESCE_B = 16;
export const ESET_NEXTENTS_B = 20;
export const ESET_ROOTS_B = 24;

export function esetNbytesB(nbins: number): number {
  return alignUp(ESET_ROOTS_B + nbins * 4, 8);
}
export function esetNextentsBinB(nbins: number): number {
  return esetNbytesB(nbins) + nbins * 8;
}
export function esetBitmapB(nbins: number): number {
  return esetNextentsBinB(nbins) + nbins * 4;
}
export function esetMinSnB(nbins: number): number {
  return esetBitmapB(nbins) + Math.ceil(nbins / 32) * 4;
}
export function esetMinAddrB(nbins: number): number {
  return esetMinSnB(nbins) + nbins * 4;
}
export function esetBytes(nbins: number): number {
  return alignUp(esetMinAddrB(nbins) + nbins * 4, 8);
}

// The per-class arrays' offsets for the last nbins seen (one heap geometry per process, usually):
// derived once, not on every insert and remove.
let offNbins = -1;
let offNbytesB = 0;
let offNextentsB = 0;
let offBitmapB = 0;
let offMinSnB = 0;
let offMinAddrB = 0;

function offsetsFor(nbins: number): void {
  offNbins = nbins;
  offNbytesB = esetNbytesB(nbins);
  offNextentsB = esetNextentsBinB(nbins);
  offBitmapB = esetBitmapB(nbins);
  offMinSnB = esetMinSnB(nbins);
  offMinAddrB = esetMinAddrB(nbins);
}

/** Whether class `pind`'s summary names its root's (sn, addr) (for the checker). */
export function esetSummaryOk(ctx: HeapCtx, ec: number, pind: number): boolean {
  const u32 = ctx.u32;
  const root = u32[esetRootW(ec, pind)]!;
  const nb = ctx.arenaLayout.esetNbins;
  return (
    root === 0 ||
    (u32[((ec + esetMinSnB(nb)) >>> 2) + pind] === edataSn(u32, root) &&
      u32[((ec + esetMinAddrB(nb)) >>> 2) + pind] === edataAddr(u32, root))
  );
}

function bitmapW(ctx: HeapCtx, ec: number): number {
  const nb = ctx.arenaLayout.esetNbins;
  if (nb !== offNbins) offsetsFor(nb);
  return (ec + offBitmapB) >>> 2;
}

/** 2^k for k in 0..64, exact doubles (the fit bound without Math.pow). */
const POW2 = Float64Array.from({ length: 65 }, (_, k) => 2 ** k);

export function esetInit(ctx: HeapCtx, ec: number, state: number, delayCoalesce: boolean): void {
  ctx.u8.fill(0, ec, ec + ctx.arenaLayout.esetBytes);
  ctx.u32[(ec + ESET_STATE_B) >>> 2] = state;
  ctx.u32[(ec + ESET_DELAY_COALESCE_B) >>> 2] = delayCoalesce ? 1 : 0;
}

export function esetNpages(ctx: HeapCtx, ec: number): number {
  return ctx.u32[(ec + ESET_NPAGES_B) >>> 2]!;
}
export function esetState(ctx: HeapCtx, ec: number): number {
  return ctx.u32[(ec + ESET_STATE_B) >>> 2]!;
}
export function esetDelayCoalesce(ctx: HeapCtx, ec: number): boolean {
  return ctx.u32[(ec + ESET_DELAY_COALESCE_B) >>> 2] !== 0;
}
export function esetNextents(ctx: HeapCtx, ec: number): number {
  return ctx.u32[(ec + ESET_NEXTENTS_B) >>> 2]!;
}
export function esetRootW(ec: number, pind: number): number {
  return ((ec + ESET_ROOTS_B) >>> 2) + pind;
}
/** Per-class statistics (stats.arenas.<i>.extents.<j>). */
export function esetBinNextents(ctx: HeapCtx, ec: number, pind: number): number {
  return ctx.u32[((ec + esetNextentsBinB(ctx.arenaLayout.esetNbins)) >>> 2) + pind]!;
}
export function esetBinNbytes(ctx: HeapCtx, ec: number, pind: number): number {
  return ctx.f64[((ec + esetNbytesB(ctx.arenaLayout.esetNbins)) >>> 3) + pind]!;
}

// The class of a free extent by its page count, for the size classes last seen (one per process,
// usually): a table read on every insert and remove instead of a division and a method call.
const FLOOR_TAB_PAGES = 4096;
let floorSc: SizeClasses | null = null;
let floorTab = new Uint16Array(0);

function floorTabFor(sc: SizeClasses): Uint16Array {
  const tab = new Uint16Array(FLOOR_TAB_PAGES);
  for (let n = 1; n < FLOOR_TAB_PAGES; n++) tab[n] = sc.pszFloorInd(n * sc.page);
  floorSc = sc;
  floorTab = tab;
  return tab;
}

/** sc.pszFloorInd(size) for `size` a page multiple below 2^32 (a record's size word). */
function binOf(ctx: HeapCtx, size: number): number {
  const sc = ctx.sc;
  const n = size >>> ctx.lgPage;
  if (n >= FLOOR_TAB_PAGES || n === 0) return sc.pszFloorInd(size);
  return (sc === floorSc ? floorTab : floorTabFor(sc))[n]!;
}

// esetInsert and esetRemove run on every split and merge: they read and write the words directly
// (offsets derived once per geometry) rather than through small helpers, each of whose calls would
// spend V8's per-function inlining budget that their callers need.

export function esetInsert(ctx: HeapCtx, ec: number, e: number): void {
  const u32 = ctx.u32;
  const nb = ctx.arenaLayout.esetNbins;
  if (nb !== offNbins) offsetsFor(nb);
  const we = e >>> 2;
  const size = u32[we + EDATA_W_SIZE]!;
  const pind = binOf(ctx, size);
  const rootW = esetRootW(ec, pind);
  phInsert(u32, rootW, e);
  const bw = ((ec + offBitmapB) >>> 2) + (pind >>> 5);
  u32[bw] = (u32[bw]! | (1 << (pind & 31))) >>> 0;
  if (u32[rootW] === e) {
    u32[((ec + offMinSnB) >>> 2) + pind] = u32[we + EDATA_W_SN]!;
    u32[((ec + offMinAddrB) >>> 2) + pind] = u32[we + EDATA_W_ADDR]!;
  }
  const nw = ((ec + offNextentsB) >>> 2) + pind;
  u32[nw] = u32[nw]! + 1;
  const bd = ((ec + offNbytesB) >>> 3) + pind;
  ctx.f64[bd] = ctx.f64[bd]! + size;
  // LRU append
  const ecW = ec >>> 2;
  const tail = u32[ecW + (ESET_LRU_TAIL_B >>> 2)]!;
  u32[we + EDATA_W_LIST_PREV] = tail;
  u32[we + EDATA_W_LIST_NEXT] = 0;
  if (tail === 0) u32[ecW + (ESET_LRU_HEAD_B >>> 2)] = e;
  else u32[(tail >>> 2) + EDATA_W_LIST_NEXT] = e;
  u32[ecW + (ESET_LRU_TAIL_B >>> 2)] = e;
  u32[ecW + (ESET_NPAGES_B >>> 2)] = u32[ecW + (ESET_NPAGES_B >>> 2)]! + (size >>> ctx.lgPage);
  u32[ecW + (ESET_NEXTENTS_B >>> 2)] = u32[ecW + (ESET_NEXTENTS_B >>> 2)]! + 1;
}

export function esetRemove(ctx: HeapCtx, ec: number, e: number): void {
  const u32 = ctx.u32;
  const nb = ctx.arenaLayout.esetNbins;
  if (nb !== offNbins) offsetsFor(nb);
  const we = e >>> 2;
  const size = u32[we + EDATA_W_SIZE]!;
  const pind = binOf(ctx, size);
  const rootW = esetRootW(ec, pind);
  const wasRoot = u32[rootW] === e;
  phRemove(u32, rootW, e);
  const root = u32[rootW]!;
  const bw = ((ec + offBitmapB) >>> 2) + (pind >>> 5);
  if (root === 0) u32[bw] = (u32[bw]! & ~(1 << (pind & 31))) >>> 0;
  else if (wasRoot) {
    u32[((ec + offMinSnB) >>> 2) + pind] = u32[(root >>> 2) + EDATA_W_SN]!;
    u32[((ec + offMinAddrB) >>> 2) + pind] = u32[(root >>> 2) + EDATA_W_ADDR]!;
  }
  const nw = ((ec + offNextentsB) >>> 2) + pind;
  u32[nw] = u32[nw]! - 1;
  const bd = ((ec + offNbytesB) >>> 3) + pind;
  ctx.f64[bd] = ctx.f64[bd]! - size;
  const ecW = ec >>> 2;
  const prev = u32[we + EDATA_W_LIST_PREV]!;
  const next = u32[we + EDATA_W_LIST_NEXT]!;
  if (prev === 0) u32[ecW + (ESET_LRU_HEAD_B >>> 2)] = next;
  else u32[(prev >>> 2) + EDATA_W_LIST_NEXT] = next;
  if (next === 0) u32[ecW + (ESET_LRU_TAIL_B >>> 2)] = prev;
  else u32[(next >>> 2) + EDATA_W_LIST_PREV] = prev;
  u32[we + EDATA_W_LIST_PREV] = 0;
  u32[we + EDATA_W_LIST_NEXT] = 0;
  u32[ecW + (ESET_NPAGES_B >>> 2)] = u32[ecW + (ESET_NPAGES_B >>> 2)]! - (size >>> ctx.lgPage);
  u32[ecW + (ESET_NEXTENTS_B >>> 2)] = u32[ecW + (ESET_NEXTENTS_B >>> 2)]! - 1;
}

export function esetLruFirst(ctx: HeapCtx, ec: number): number {
  return ctx.u32[(ec + ESET_LRU_HEAD_B) >>> 2]!;
}

/** jemalloc's eset_first_fit: oldest-then-lowest over the classes from pszQuantizeCeil(size) up. */
function esetFirstFit(ctx: HeapCtx, ec: number, size: number, exactOnly: boolean, lgMaxFit: number): number {
  const u32 = ctx.u32;
  const sc = ctx.sc;
  const nbins = ctx.arenaLayout.esetNbins;
  const pind = sc.pszCeilInd(size);
  if (pind >= nbins) return 0;
  if (exactOnly) return phFirst(u32, esetRootW(ec, pind));
  let ret = 0;
  const k = POW2[lgMaxFit < 63 ? lgMaxFit : 63]!;
  // (pind2sz(i) >> lg_max_fit) > size, without the shift: floor(a / 2^k) > b  ⇔  a ≥ (b + 1)·2^k
  const tooBig = size * k + k;
  // The walk ends at the first class whose size reaches tooBig: found once by psz2ind, not per class.
  const end = tooBig > sc.pindToSizeTab[nbins - 1]! ? nbins : sc.psz2ind(tooBig);
  const bw = bitmapW(ctx, ec);
  const rootW = esetRootW(ec, 0);
  const snW = (ec + offMinSnB) >>> 2;
  const addrW = (ec + offMinAddrB) >>> 2;
  let retSn = 0;
  let retAddr = 0;
  const nwords = (nbins + 31) >>> 5;
  // Walk the non-empty classes from pind up, one bitmap word at a time, comparing the classes'
  // (sn, addr) summaries (edata_snad_comp on heap_min) instead of their root records.
  for (let wi = pind >>> 5; wi < nwords; wi++) {
    let word = u32[bw + wi]!;
    if (wi === pind >>> 5) word = (word & (0xffffffff << (pind & 31))) >>> 0;
    while (word !== 0) {
      const i = wi * 32 + (31 - Math.clz32(word & -word));
      if (i >= end) return ret;
      word = (word & (word - 1)) >>> 0;
      const sn = u32[snW + i]!;
      const addr = u32[addrW + i]!;
      if (ret === 0 || sn < retSn || (sn === retSn && addr < retAddr)) {
        ret = u32[rootW + i]!;
        retSn = sn;
        retAddr = addr;
      }
    }
  }
  return ret;
}

/** jemalloc's eset_fit_alignment: retry classes in [min, max) checking the real alignment. */
function esetFitAlignment(
  ctx: HeapCtx,
  ec: number,
  minSize: number,
  maxSize: number,
  alignment: number,
): number {
  const u32 = ctx.u32;
  const sc = ctx.sc;
  const nbins = ctx.arenaLayout.esetNbins;
  const pind = sc.psz2ind(sc.pszQuantizeCeil(minSize));
  const pindMax = Math.min(nbins, sc.psz2ind(sc.pszQuantizeCeil(maxSize)));
  const palign = alignUp(alignment, ctx.page);
  for (let i = pind; i < pindMax; i++) {
    const e = u32[esetRootW(ec, i)]!;
    if (e === 0) continue;
    const base = edataBase(u32, e);
    const candidate = edataSize(u32, e);
    const nextAlign = alignUp(base, palign);
    if (base > nextAlign || base + candidate <= nextAlign) continue;
    if (candidate - (nextAlign - base) >= minSize) return e;
  }
  return 0;
}

export function esetFit(
  ctx: HeapCtx,
  ec: number,
  esize: number,
  alignment: number,
  exactOnly: boolean,
  lgMaxFit: number,
): number {
  const maxSize = alignment <= ctx.page ? esize : esize + alignUp(alignment, ctx.page) - ctx.page;
  let e = esetFirstFit(ctx, ec, maxSize, exactOnly, lgMaxFit);
  if (alignment > ctx.page && e === 0) e = esetFitAlignment(ctx, ec, esize, maxSize, alignment);
  return e;
}

/** For the checker: (sn, addr) of an extent, as a string key. */
export function esetKey(ctx: HeapCtx, e: number): string {
  return `${edataSn(ctx.u32, e)}:${edataAddr(ctx.u32, e)}`;
}
