/**
 * check: the heap checker. Walks the whole heap at quiescence (no thread inside the allocator) and
 * verifies every invariant (RELIABILITY.md §6.5):
 *   C1 header      magic, layout version, page size, top within the buffer
 *   C2 partition   extents page-aligned, inside [header, top), non-overlapping; the page map's first
 *                  and last pages (every page for slabs) name their extent
 *   C3 containers  every free extent is in exactly one cache matching its state, in the heap of its
 *                  page class; cached page and extent counts match the members
 *   C4 slabs       nfree equals the bitmap's free bits; slabcur / non-full heap / full placement
 *   C6 stats       per bin curregs = Σ allocated regions, nmalloc − ndalloc = curregs, curslabs = slabs;
 *                  pactive = Σ active pages; no counter negative
 *   C5 caches      every offset in every thread cache (threads' and explicit) is the start of a live
 *                  region of that bin's class (allocated in its slab, or the large extent's address),
 *                  and appears once across all caches
 *   C7 locks       every lock word is free
 * Returns a report of counts; throws HeapCheckError listing every violation found.
 */
import { arenaIsAuto, arenaRecordByInd, narenasTotal } from "../arena/arena.js";
import { binFullFirst, binRecord, bstatD } from "../arena/bin.js";
import { internalBlocksBytes, internalCountD } from "../arena/internal.js";
import {
  BIN_LOCK_B,
  BIN_NONFULL_ROOT_B,
  BIN_SLABCUR_B,
  BSTATS_COUNT,
  BSTATS_CURREGS,
  BSTATS_CURSLABS,
  BSTATS_NDALLOC,
  BSTATS_NMALLOC,
  BSTATS_NONFULL_SLABS,
} from "../arena/layout.js";
import { slabPopcount, slabRegIsAllocated } from "../arena/slab.js";
import { cacheMarkOk } from "../cache_bin/cache_bin.js";
import type { HeapCtx } from "../ctx/ctx.js";
import {
  HDR_HEADER_BYTES_B,
  HDR_LG_PAGE_B,
  HDR_LOCK_ARENAS_B,
  HDR_LOCK_CTL_B,
  HDR_LOCK_MAP_B,
  HDR_MAGIC_B,
  HDR_TOP_B,
  HDR_VERSION_B,
  HEAP_MAGIC,
  LAYOUT_VERSION,
  RTREE_LEAF_BITS,
} from "../ctx/header.js";
import { HeapCorruptionError } from "../errors.js";
import {
  EDATA_W_LIST_NEXT,
  EXTENT_STATE_ACTIVE,
  EXTENT_STATE_CACHED,
  EXTENT_STATE_DIRTY,
  EXTENT_STATE_MUZZY,
  EXTENT_STATE_RETAINED,
  edataAddr,
  edataArena,
  edataBase,
  edataIsRecord,
  edataNfree,
  edataSize,
  edataSlab,
  edataState,
  edataSzind,
} from "../extent/edata.js";
import { emapRead } from "../extent/emap.js";
import { ESET_LRU_HEAD_B, esetNextents, esetNpages, esetRootW, esetSummaryOk } from "../extent/eset.js";
import { pacEcacheDirty, pacEcacheMuzzy, pacEcacheRetained } from "../extent/extent.js";
import { PAC_LOCK_B, PAC_NACTIVE_B } from "../extent/pac_layout.js";
import { phForEach } from "../extent/ph.js";
import { lockIsHeld } from "../sync/index.js";
import { tcacheBlocksBytes, tcacheRecordSane, tcacheRecords } from "../tcache/index.js";
import { TBIN_W_CAP, TBIN_W_HEAD, TBIN_W_SLOTS, TCACHE_NHBINS_B, tbinW } from "../tcache/layout.js";
import { checkAddressSpace } from "./check_space.js";
import { checkJunk, junkVerifying } from "./junk.js";

/** What heap.check() throws: a HeapCorruptionError listing every problem found. */
export class HeapCheckError extends HeapCorruptionError {
  override name = "HeapCheckError";
  readonly problems: string[];
  constructor(problems: string[]) {
    super(
      `heap check failed (${problems.length} problem${problems.length === 1 ? "" : "s"}):\n  ${problems.slice(0, 30).join("\n  ")}`,
      0,
    );
    this.problems = problems;
  }
}

export interface CheckReport {
  arenas: number;
  extents: number;
  activeExtents: number;
  slabs: number;
  freeExtents: number;
  liveRegions: number;
  /** Offsets sitting in thread caches (all verified live). */
  cachedEntries: number;
}

const WALK_LIMIT = 50_000_000;

/** Every distinct extent record reachable from the page map, keyed by record offset. */
export function collectExtents(ctx: HeapCtx, problems: string[]): Set<number> {
  const found = new Set<number>();
  const rootW = ctx.hdr.rtreeRootB >>> 2;
  const leafEntries = 2 ** RTREE_LEAF_BITS;
  for (let r = 0; r < ctx.hdr.rtreeRootEntries; r++) {
    const leaf = ctx.u32[rootW + r]!;
    if (leaf === 0) continue;
    for (let k = 0; k < leafEntries; k++) {
      const e = ctx.u32[(leaf >>> 2) + k]!;
      if (e === 0 || found.has(e)) continue;
      if (!edataIsRecord(ctx.u32, e)) {
        problems.push(
          `C2 page map entry for page ${r * leafEntries + k} names ${e}, which is not an extent record`,
        );
        continue;
      }
      if (edataState(ctx.u32, e) === EXTENT_STATE_CACHED) continue;
      found.add(e);
    }
  }
  return found;
}

function checkHeader(ctx: HeapCtx, problems: string[]): void {
  if (ctx.u32[HDR_MAGIC_B >>> 2] !== HEAP_MAGIC) problems.push("C1 header magic is wrong");
  if (ctx.u32[HDR_VERSION_B >>> 2] !== LAYOUT_VERSION) problems.push("C1 layout version is wrong");
  if (ctx.u32[HDR_LG_PAGE_B >>> 2] !== ctx.lgPage)
    problems.push("C1 lg_page differs from this thread's tables");
  const top = ctx.f64[HDR_TOP_B >>> 3]!;
  if (top > ctx.buffer.byteLength)
    problems.push(`C1 top ${top} is beyond the buffer (${ctx.buffer.byteLength} bytes)`);
  for (const [name, b] of [
    ["map", HDR_LOCK_MAP_B],
    ["ctl", HDR_LOCK_CTL_B],
    ["arenas", HDR_LOCK_ARENAS_B],
  ] as const) {
    if (lockIsHeld(ctx.i32, b >>> 2)) problems.push(`C7 the ${name} lock is held at quiescence`);
  }
}

function checkPartition(ctx: HeapCtx, extents: Set<number>, problems: string[]): void {
  const u32 = ctx.u32;
  const lo = u32[HDR_HEADER_BYTES_B >>> 2]!;
  const top = ctx.f64[HDR_TOP_B >>> 3]!;
  const sorted = [...extents].sort((a, b) => edataBase(u32, a) - edataBase(u32, b));
  let prevEnd = 0;
  for (const e of sorted) {
    const base = edataBase(u32, e);
    const size = edataSize(u32, e);
    if (base % ctx.page !== 0 || size % ctx.page !== 0 || size === 0)
      problems.push(`C2 extent ${e} [${base}, +${size}) is not page aligned`);
    if (base < lo || base + size > top)
      problems.push(`C2 extent ${e} [${base}, +${size}) is outside [${lo}, ${top})`);
    if (base < prevEnd)
      problems.push(`C2 extent ${e} at ${base} overlaps the previous extent ending at ${prevEnd}`);
    prevEnd = Math.max(prevEnd, base + size);
    if (emapRead(ctx, base) !== e)
      problems.push(`C2 the page map's entry for ${base} does not name extent ${e}`);
    if (emapRead(ctx, base + size - ctx.page) !== e)
      problems.push(`C2 the page map's last-page entry of extent ${e} is wrong`);
    if (edataSlab(u32, e) && edataState(u32, e) === EXTENT_STATE_ACTIVE) {
      for (let p = base; p < base + size; p += ctx.page) {
        if (emapRead(ctx, p) !== e) problems.push(`C2 slab ${e}: interior page ${p} is not mapped to it`);
      }
    }
  }
}

/** Members of one ecache (heaps and LRU), checked against their state. */
export function checkEcache(
  ctx: HeapCtx,
  ec: number,
  state: number,
  name: string,
  problems: string[],
): Set<number> {
  const u32 = ctx.u32;
  const members = new Set<number>();
  let pages = 0;
  for (let p = 0; p < ctx.arenaLayout.esetNbins; p++) {
    phForEach(u32, esetRootW(ec, p), WALK_LIMIT, (e) => {
      if (members.has(e)) problems.push(`C3 ${name}: extent ${e} is twice in its heaps`);
      members.add(e);
      pages += edataSize(u32, e) / ctx.page;
      if (edataState(u32, e) !== state)
        problems.push(`C3 ${name}: extent ${e} has state ${edataState(u32, e)}`);
      const pind = ctx.sc.psz2ind(ctx.sc.pszQuantizeFloor(edataSize(u32, e)));
      if (pind !== p)
        problems.push(`C3 ${name}: extent ${e} of ${edataSize(u32, e)} bytes is in class ${p}, not ${pind}`);
    });
    if (!esetSummaryOk(ctx, ec, p))
      problems.push(`C3 ${name}: class ${p}'s (sn, addr) summary is not its root's`);
  }
  let lru = 0;
  for (let e = u32[(ec + ESET_LRU_HEAD_B) >>> 2]!; e !== 0; e = u32[(e >>> 2) + EDATA_W_LIST_NEXT]!) {
    if (++lru > members.size + 1) {
      problems.push(`C3 ${name}: LRU list is longer than the set (cycle?)`);
      break;
    }
    if (!members.has(e)) problems.push(`C3 ${name}: LRU member ${e} is not in the heaps`);
  }
  if (lru !== members.size) problems.push(`C3 ${name}: LRU has ${lru} extents, heaps ${members.size}`);
  if (esetNpages(ctx, ec) !== pages)
    problems.push(`C3 ${name}: npages ${esetNpages(ctx, ec)} but members hold ${pages}`);
  if (esetNextents(ctx, ec) !== members.size)
    problems.push(`C3 ${name}: nextents ${esetNextents(ctx, ec)} but ${members.size} members`);
  return members;
}

interface SlabTally {
  slabs: number;
  regions: number;
}

function checkBins(
  ctx: HeapCtx,
  arena: number,
  ind: number,
  slabsOf: Map<number, number[]>,
  problems: string[],
): SlabTally {
  const u32 = ctx.u32;
  const isAuto = arenaIsAuto(ctx, arena);
  const sc = ctx.sc;
  const tally: SlabTally = { slabs: 0, regions: 0 };
  for (let i = 0; i < sc.nbins; i++) {
    for (let s = 0; s < sc.binNshards[i]!; s++) {
      const bin = binRecord(ctx, arena, i, s);
      if (lockIsHeld(ctx.i32, (bin + BIN_LOCK_B) >>> 2))
        problems.push(`C7 arena ${ind} bin ${i}: lock held at quiescence`);
      const nonfull = new Set<number>();
      phForEach(u32, (bin + BIN_NONFULL_ROOT_B) >>> 2, WALK_LIMIT, (e) => nonfull.add(e));
      const cur = u32[(bin + BIN_SLABCUR_B) >>> 2]!;
      const slabs = (slabsOf.get(i) ?? []).filter((e) => ctx.u32[(e >>> 2) + 8] === s);
      let regions = 0;
      for (const e of slabs) {
        const nregs = sc.binNregs[i]!;
        const used = slabPopcount(u32, e, nregs);
        if (used !== nregs - edataNfree(u32, e))
          problems.push(
            `C4 slab ${e} (bin ${i}): nfree ${edataNfree(u32, e)} but bitmap has ${used} of ${nregs} allocated`,
          );
        regions += used;
        const inHeap = nonfull.has(e);
        if (e === cur && inHeap) problems.push(`C4 slab ${e} is slabcur and in the non-full heap`);
        if (e !== cur && edataNfree(u32, e) > 0 && !inHeap)
          problems.push(`C4 non-full slab ${e} (bin ${i}) is neither slabcur nor in the non-full heap`);
        if (edataNfree(u32, e) === 0 && inHeap) problems.push(`C4 full slab ${e} is in the non-full heap`);
      }
      for (const e of nonfull)
        if (!slabs.includes(e))
          problems.push(`C4 non-full heap of bin ${i} holds ${e}, not an active slab of it`);
      const f = ctx.f64;
      // Without statistics (stats: false) the counters stay 0: there is nothing to compare.
      if (!ctx.opt.stats) {
        tally.slabs += slabs.length;
        tally.regions += regions;
        continue;
      }
      const curregs = f[bstatD(bin, BSTATS_CURREGS)]!;
      if (curregs !== regions)
        problems.push(`C6 arena ${ind} bin ${i}: curregs ${curregs} but slabs hold ${regions} regions`);
      // A manual arena's reset zeroes curregs but keeps the history (as jemalloc does).
      if (isAuto && f[bstatD(bin, BSTATS_NMALLOC)]! - f[bstatD(bin, BSTATS_NDALLOC)]! !== curregs)
        problems.push(`C6 arena ${ind} bin ${i}: nmalloc - ndalloc != curregs`);
      if (f[bstatD(bin, BSTATS_CURSLABS)] !== slabs.length)
        problems.push(
          `C6 arena ${ind} bin ${i}: curslabs ${f[bstatD(bin, BSTATS_CURSLABS)]} but ${slabs.length} slabs`,
        );
      if (f[bstatD(bin, BSTATS_NONFULL_SLABS)] !== nonfull.size)
        problems.push(
          `C6 arena ${ind} bin ${i}: nonfull_slabs ${f[bstatD(bin, BSTATS_NONFULL_SLABS)]} but heap has ${nonfull.size}`,
        );
      for (let k = 0; k < BSTATS_COUNT; k++)
        if (f[bstatD(bin, k)]! < 0) problems.push(`C6 arena ${ind} bin ${i}: statistic ${k} is negative`);
      void binFullFirst;
      tally.slabs += slabs.length;
      tally.regions += regions;
    }
  }
  return tally;
}

function checkCaches(ctx: HeapCtx, problems: string[]): number {
  const u32 = ctx.u32;
  const seen = new Set<number>();
  let entries = 0;
  for (const tc of tcacheRecords(ctx)) {
    if (!tcacheRecordSane(ctx, tc)) {
      problems.push(`C5 thread cache record ${tc} has a broken geometry`);
      continue;
    }
    const nhbins = u32[(tc + TCACHE_NHBINS_B) >>> 2]!;
    for (let i = 0; i < nhbins; i++) {
      const w = tbinW(tc, i);
      const cap = u32[w + TBIN_W_CAP]!;
      const slots = u32[w + TBIN_W_SLOTS]!;
      for (let k = u32[w + TBIN_W_HEAD]!; k < cap; k++) {
        const p = u32[slots + k]!;
        entries++;
        if (seen.has(p)) problems.push(`C5 offset ${p} is cached twice`);
        seen.add(p);
        const e = emapRead(ctx, p);
        if (
          e === 0 ||
          !edataIsRecord(u32, e) ||
          edataState(u32, e) !== EXTENT_STATE_ACTIVE ||
          edataSzind(u32, e) !== i
        ) {
          problems.push(`C5 cache ${tc} bin ${i} holds ${p}, which is not a live block of class ${i}`);
          continue;
        }
        if (edataSlab(u32, e)) {
          const off = p - edataBase(u32, e);
          const reg = ctx.sc.binRegSize[i]!;
          if (off % reg !== 0 || !slabRegIsAllocated(u32, e, off / reg))
            problems.push(`C5 cache ${tc} bin ${i}: ${p} is not an allocated region start`);
        } else if (edataAddr(u32, e) !== p) {
          problems.push(`C5 cache ${tc} bin ${i}: ${p} is not the large block's address`);
          continue;
        }
        if (!cacheMarkOk(u32, p, slots + k))
          problems.push(
            `C5 cache ${tc} bin ${i}: the cached mark of ${p} names slot ${u32[p >>> 2]}, not ${slots + k} (freed twice, or written after free)`,
          );
      }
    }
  }
  // The caches' own blocks and the internal blocks threads hold (a report's buffer) are arena 0's
  // internal bytes (stats.arenas.0.internal), as in jemalloc.
  const a0 = arenaRecordByInd(ctx, 0);
  if (ctx.opt.stats && a0 !== 0) {
    const internal = ctx.f64[internalCountD(ctx)]!;
    const blockBytes = tcacheBlocksBytes(ctx);
    const heldBytes = internalBlocksBytes(ctx);
    if (internal !== blockBytes + heldBytes)
      problems.push(
        `C5 arena 0 counts ${internal} internal bytes, but the live thread caches' blocks are ${blockBytes} and the internal blocks threads hold ${heldBytes}`,
      );
  }
  return entries;
}

export function heapCheck(ctx: HeapCtx): CheckReport {
  const problems: string[] = [];
  try {
    return heapCheckWalk(ctx, problems);
  } catch (err) {
    // Metadata so broken that the walk itself faulted (an index out of range, a non-record): report
    // it as a failed check, never as a raw engine error.
    if (err instanceof HeapCheckError || !(err instanceof RangeError || err instanceof TypeError)) throw err;
    problems.push(`C0 the walk stopped: ${err.message}`);
    throw new HeapCheckError(problems);
  }
}

function heapCheckWalk(ctx: HeapCtx, problems: string[]): CheckReport {
  checkHeader(ctx, problems);
  const extents = collectExtents(ctx, problems);
  checkPartition(ctx, extents, problems);
  checkAddressSpace(ctx, extents, problems);
  const report: CheckReport = {
    arenas: 0,
    extents: extents.size,
    activeExtents: 0,
    slabs: 0,
    freeExtents: 0,
    liveRegions: 0,
    cachedEntries: 0,
  };
  const n = narenasTotal(ctx);
  const byArena = new Map<number, number[]>();
  for (const e of extents) {
    const a = edataArena(ctx.u32, e);
    let l = byArena.get(a);
    if (l === undefined) {
      l = [];
      byArena.set(a, l);
    }
    l.push(e);
  }
  for (let ind = 0; ind < n; ind++) {
    const arena = arenaRecordByInd(ctx, ind);
    if (arena === 0) continue;
    report.arenas++;
    if (lockIsHeld(ctx.i32, (arena + PAC_LOCK_B) >>> 2))
      problems.push(`C7 arena ${ind}: extent lock held at quiescence`);
    const mine = byArena.get(ind) ?? [];
    const caches = [
      [pacEcacheDirty(ctx, arena), EXTENT_STATE_DIRTY, "dirty"],
      [pacEcacheMuzzy(ctx, arena), EXTENT_STATE_MUZZY, "muzzy"],
      [pacEcacheRetained(ctx, arena), EXTENT_STATE_RETAINED, "retained"],
    ] as const;
    const inCaches = new Map<number, number>();
    for (const [ec, state, name] of caches) {
      for (const e of checkEcache(ctx, ec, state, `arena ${ind} ${name}`, problems)) inCaches.set(e, state);
    }
    let activePages = 0;
    const slabsOf = new Map<number, number[]>();
    for (const e of mine) {
      const st = edataState(ctx.u32, e);
      if (st === EXTENT_STATE_ACTIVE) {
        report.activeExtents++;
        activePages += edataSize(ctx.u32, e) / ctx.page;
        if (edataSlab(ctx.u32, e)) {
          const b = edataSzind(ctx.u32, e);
          let l = slabsOf.get(b);
          if (l === undefined) {
            l = [];
            slabsOf.set(b, l);
          }
          l.push(e);
        }
      } else {
        report.freeExtents++;
        if (inCaches.get(e) !== st)
          problems.push(`C3 arena ${ind}: free extent ${e} (state ${st}) is not in the matching cache`);
      }
    }
    for (const e of inCaches.keys())
      if (!extents.has(e))
        problems.push(`C3 arena ${ind}: cached extent ${e} is not reachable from the page map`);
    const pactive = ctx.f64[(arena + PAC_NACTIVE_B) >>> 3]!;
    if (pactive !== activePages)
      problems.push(`C6 arena ${ind}: pactive ${pactive} but active extents hold ${activePages} pages`);
    const t = checkBins(ctx, arena, ind, slabsOf, problems);
    report.slabs += t.slabs;
    report.liveRegions += t.regions;
  }
  report.cachedEntries = checkCaches(ctx, problems);
  if (junkVerifying(ctx)) checkJunk(ctx, extents, problems);
  if (problems.length > 0) throw new HeapCheckError(problems);
  return report;
}
