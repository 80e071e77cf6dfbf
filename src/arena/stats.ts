/**
 * stats: reading an arena's statistics out of the buffer into plain objects (slow path: mallctl's
 * stats.* refresh and malloc_stats_print). Each figure means what jemalloc's does:
 *   pactive       pages in active extents (slabs and large allocations, with their pad pages)
 *   pdirty/pmuzzy pages in the dirty / muzzy extent caches
 *   retained      bytes in the retained cache (address space kept for reuse)
 *   mapped        base blocks + address space mapped for this arena's extents
 *   resident      base blocks touched + (active + dirty) pages: pages handed out and not purged
 *   base          metadata bytes carved by the arena's base; internal: internal allocations
 */

import type { HeapCtx } from "../ctx/ctx.js";
import { DECAY_B_NMADVISE, DECAY_B_NPURGE, DECAY_B_PURGED_PAGES, decayMsRead } from "../decay/index.js";
import { baseStats } from "../extent/base.js";
import { esetBinNbytes, esetBinNextents, esetNpages } from "../extent/eset.js";
import {
  pacDecayDirty,
  pacDecayMuzzy,
  pacEcacheDirty,
  pacEcacheMuzzy,
  pacEcacheRetained,
} from "../extent/extent.js";
import { pacLock, pacUnlock } from "../extent/pac.js";
import { PAC_BASE_B, PAC_EDATA_AVAIL_COUNT_B, PAC_MAPPED_B, PAC_NACTIVE_B } from "../extent/pac_layout.js";
import { binLock, binRecord, binUnlock, bstatD } from "./bin.js";
import {
  ARENA_CREATE_TIME_B,
  ARENA_INTERNAL_B,
  ARENA_NTHREADS_B,
  BSTATS_COUNT,
  BSTATS_CURREGS,
  BSTATS_CURSLABS,
  BSTATS_NDALLOC,
  BSTATS_NFILLS,
  BSTATS_NFLUSHES,
  BSTATS_NMALLOC,
  BSTATS_NONFULL_SLABS,
  BSTATS_NREQUESTS,
  BSTATS_NRESLABS,
  BSTATS_NSLABS,
  LSTATS_BYTES,
  LSTATS_NDALLOC,
  LSTATS_NFLUSHES,
  LSTATS_NMALLOC,
  LSTATS_NREQUESTS,
} from "./layout.js";

export interface BinStats {
  nmalloc: number;
  ndalloc: number;
  nrequests: number;
  curregs: number;
  curslabs: number;
  nslabs: number;
  nreslabs: number;
  nonfull_slabs: number;
  nfills: number;
  nflushes: number;
}

export interface LextentStats {
  nmalloc: number;
  ndalloc: number;
  nrequests: number;
  nflushes: number;
  curlextents: number;
}

export interface ExtentClassStats {
  ndirty: number;
  nmuzzy: number;
  nretained: number;
  dirty_bytes: number;
  muzzy_bytes: number;
  retained_bytes: number;
}

export interface SizeGroupStats {
  allocated: number;
  nmalloc: number;
  ndalloc: number;
  nrequests: number;
  nfills: number;
  nflushes: number;
}

export interface ArenaStats {
  nthreads: number;
  uptimeNs: number;
  dirty_decay_ms: number;
  muzzy_decay_ms: number;
  pactive: number;
  pdirty: number;
  pmuzzy: number;
  mapped: number;
  retained: number;
  base: number;
  internal: number;
  metadata_thp: number;
  resident: number;
  extent_avail: number;
  dirty_npurge: number;
  dirty_nmadvise: number;
  dirty_purged: number;
  muzzy_npurge: number;
  muzzy_nmadvise: number;
  muzzy_purged: number;
  /** Bytes of small regions parked in thread caches (tcache_bytes). */
  tcache_bytes: number;
  small: SizeGroupStats;
  large: SizeGroupStats;
  bins: BinStats[];
  /** Indexed by large class j (0 = LARGE_MINCLASS); length nlextents of this address space. */
  lextents: LextentStats[];
  /** Indexed by page class. */
  extents: ExtentClassStats[];
}

/** Bytes parked in caches per arena (filled by the tcache layer; 0 without caches). */
export type TcacheBytesOf = (arenaInd: number) => number;

export function arenaStatsRead(
  ctx: HeapCtx,
  arena: number,
  _arenaInd: number,
  tcacheBytes: number,
): ArenaStats {
  const f64 = ctx.f64;
  const u32 = ctx.u32;
  const sc = ctx.sc;
  const al = ctx.arenaLayout;
  const f = arena + al.arenaFieldsB;
  const bins: BinStats[] = [];
  const small: SizeGroupStats = {
    allocated: 0,
    nmalloc: 0,
    ndalloc: 0,
    nrequests: 0,
    nfills: 0,
    nflushes: 0,
  };
  for (let i = 0; i < sc.nbins; i++) {
    const acc = new Float64Array(BSTATS_COUNT);
    for (let s = 0; s < sc.binNshards[i]!; s++) {
      const bin = binRecord(ctx, arena, i, s);
      binLock(ctx, bin);
      for (let k = 0; k < BSTATS_COUNT; k++) acc[k]! += f64[bstatD(bin, k)]!;
      binUnlock(ctx, bin);
    }
    const b: BinStats = {
      nmalloc: acc[BSTATS_NMALLOC]!,
      ndalloc: acc[BSTATS_NDALLOC]!,
      nrequests: acc[BSTATS_NREQUESTS]!,
      curregs: acc[BSTATS_CURREGS]!,
      curslabs: acc[BSTATS_CURSLABS]!,
      nslabs: acc[BSTATS_NSLABS]!,
      nreslabs: acc[BSTATS_NRESLABS]!,
      nonfull_slabs: acc[BSTATS_NONFULL_SLABS]!,
      nfills: acc[BSTATS_NFILLS]!,
      nflushes: acc[BSTATS_NFLUSHES]!,
    };
    bins.push(b);
    small.allocated += b.curregs * sc.binRegSize[i]!;
    small.nmalloc += b.nmalloc;
    small.ndalloc += b.ndalloc;
    small.nrequests += b.nrequests;
    small.nfills += b.nfills;
    small.nflushes += b.nflushes;
  }
  pacLock(ctx, arena);
  try {
    const large: SizeGroupStats = {
      allocated: 0,
      nmalloc: 0,
      ndalloc: 0,
      nrequests: 0,
      nfills: 0,
      nflushes: 0,
    };
    const lextents: LextentStats[] = [];
    for (let j = 0; j < al.nlextentsAddr; j++) {
      const d = (arena + al.lstatsB + j * LSTATS_BYTES) >>> 3;
      const nmalloc = f64[d + LSTATS_NMALLOC]!;
      const ndalloc = f64[d + LSTATS_NDALLOC]!;
      const l: LextentStats = {
        nmalloc,
        ndalloc,
        nrequests: nmalloc + f64[d + LSTATS_NREQUESTS]!,
        nflushes: f64[d + LSTATS_NFLUSHES]!,
        curlextents: nmalloc - ndalloc,
      };
      lextents.push(l);
      large.allocated += l.curlextents * sc.index2size(sc.nbins + j);
      large.nmalloc += nmalloc;
      large.ndalloc += ndalloc;
      large.nrequests += l.nrequests;
      large.nfills += nmalloc;
      large.nflushes += l.nflushes;
    }
    const dirty = pacEcacheDirty(ctx, arena);
    const muzzy = pacEcacheMuzzy(ctx, arena);
    const retained = pacEcacheRetained(ctx, arena);
    const extents: ExtentClassStats[] = [];
    for (let p = 0; p < al.esetNbins; p++) {
      extents.push({
        ndirty: esetBinNextents(ctx, dirty, p),
        nmuzzy: esetBinNextents(ctx, muzzy, p),
        nretained: esetBinNextents(ctx, retained, p),
        dirty_bytes: esetBinNbytes(ctx, dirty, p),
        muzzy_bytes: esetBinNbytes(ctx, muzzy, p),
        retained_bytes: esetBinNbytes(ctx, retained, p),
      });
    }
    const base = baseStats(ctx, u32[(arena + PAC_BASE_B) >>> 2]!);
    const pactive = f64[(arena + PAC_NACTIVE_B) >>> 3]!;
    const pdirty = esetNpages(ctx, dirty);
    const dd = pacDecayDirty(ctx, arena);
    const dm = pacDecayMuzzy(ctx, arena);
    return {
      nthreads: Atomics.load(ctx.i32, (f + ARENA_NTHREADS_B) >>> 2),
      uptimeNs: Math.max(0, ctx.nowNs() - f64[(f + ARENA_CREATE_TIME_B) >>> 3]!),
      dirty_decay_ms: decayMsRead(ctx, dd),
      muzzy_decay_ms: decayMsRead(ctx, dm),
      pactive,
      pdirty,
      pmuzzy: esetNpages(ctx, muzzy),
      mapped: base.mapped + f64[(arena + PAC_MAPPED_B) >>> 3]!,
      retained: esetNpages(ctx, retained) * ctx.page,
      base: base.allocated,
      internal: f64[(f + ARENA_INTERNAL_B) >>> 3]!,
      metadata_thp: 0,
      resident: base.resident + (pactive + pdirty) * ctx.page,
      extent_avail: u32[(arena + PAC_EDATA_AVAIL_COUNT_B) >>> 2]!,
      dirty_npurge: f64[(dd + DECAY_B_NPURGE) >>> 3]!,
      dirty_nmadvise: f64[(dd + DECAY_B_NMADVISE) >>> 3]!,
      dirty_purged: f64[(dd + DECAY_B_PURGED_PAGES) >>> 3]!,
      muzzy_npurge: f64[(dm + DECAY_B_NPURGE) >>> 3]!,
      muzzy_nmadvise: f64[(dm + DECAY_B_NMADVISE) >>> 3]!,
      muzzy_purged: f64[(dm + DECAY_B_PURGED_PAGES) >>> 3]!,
      tcache_bytes: tcacheBytes,
      small,
      large,
      bins,
      lextents,
      extents,
    };
  } finally {
    pacUnlock(ctx, arena);
  }
}
