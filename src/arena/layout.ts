/**
 * Arena record layout. An arena record is carved from its base and holds, in order: the PAC part
 * (extent lock, ecaches, decay — src/extent/pac_layout.ts), the arena fields below, the large-class
 * statistics, and one bin record per (small size class, shard).
 *
 * ╒══════════ Arena fields (at ArenaLayout.arenaFieldsB) ══════════╕
 *  bytes   field           units   meaning / sync
 *   0..3   isAuto          bool    automatic arena (0..narenas-1, huge) vs manual (arenas.create)
 *   4..7   nthreads        i32     threads bound (application), Atomics
 *   8..11  nthreadsInt     i32     threads bound for internal use, Atomics
 *  12..15  binshardNext    u32     next shard selector handed to a thread (arenas lock)
 *  16..19  largeHead       edata   manual arenas: live large extents (extent lock)
 *  20..23  largeTail       edata
 *  24..27  state           enum    ARENA_STATE_LIVE / DESTROYED
 *  28..31  tcacheHead      u32     tcaches associated with the arena (issue: thread caches)
 *  32..39  internal        f64     bytes of internal allocations (stats.arenas.<i>.internal)
 *  40..47  createTimeNs    f64     for uptime
 *  48..55  dirtyDecayMsOpt f64     (reserved)
 * ╘════════════════════════════════════════════════════════════════╛
 * Large-class statistics (nlextentsAddr entries × LSTATS_BYTES): nmalloc, ndalloc, nrequests, nflushes (f64).
 *
 * ╒══════════ Bin record (BIN_BYTES) ══════════╕
 *  bytes          field         meaning (all under the bin's lock)
 *   0..L-1        lock
 *   L+0           slabcur       current slab (edata) or 0
 *   L+4           nonfullRoot   pairing heap of non-full slabs by (sn, addr)
 *   L+8           fullHead      manual arenas: full slabs (list)
 *   L+12          fullTail
 *   L+16..        stats (f64)   nmalloc ndalloc nrequests curregs curslabs nslabs nreslabs
 *                               nonfull_slabs nfills nflushes
 * ╘════════════════════════════════════════════╛
 */

import type { ArenaLayout, HeapCtx } from "../ctx/ctx.js";
import { LOCK_BYTES } from "../ctx/header.js";
import { DECAY_BYTES } from "../decay/index.js";
import { esetBytes } from "../extent/eset.js";
import { PAC_FIXED_BYTES } from "../extent/pac_layout.js";
import { alignUp } from "../layout/index.js";
import type { SizeClasses } from "../sizeclass/index.js";

export const ARENA_IS_AUTO_B = 0;
export const ARENA_NTHREADS_B = 4;
export const ARENA_NTHREADS_INT_B = 8;
export const ARENA_BINSHARD_NEXT_B = 12;
export const ARENA_LARGE_HEAD_B = 16;
export const ARENA_LARGE_TAIL_B = 20;
export const ARENA_STATE_B = 24;
export const ARENA_TCACHE_HEAD_B = 28;
export const ARENA_INTERNAL_B = 32;
export const ARENA_CREATE_TIME_B = 40;
export const ARENA_FIELDS_BYTES = 64;

export const ARENA_STATE_LIVE = 1;
export const ARENA_STATE_DESTROYED = 2;

export const LSTATS_NMALLOC = 0;
export const LSTATS_NDALLOC = 1;
export const LSTATS_NREQUESTS = 2;
export const LSTATS_NFLUSHES = 3;
export const LSTATS_BYTES = 32;

export const BIN_LOCK_B = 0;
export const BIN_SLABCUR_B = LOCK_BYTES;
export const BIN_NONFULL_ROOT_B = LOCK_BYTES + 4;
export const BIN_FULL_HEAD_B = LOCK_BYTES + 8;
export const BIN_FULL_TAIL_B = LOCK_BYTES + 12;
export const BIN_STATS_B = alignUp(LOCK_BYTES + 16, 8);
export const BSTATS_NMALLOC = 0;
export const BSTATS_NDALLOC = 1;
export const BSTATS_NREQUESTS = 2;
export const BSTATS_CURREGS = 3;
export const BSTATS_CURSLABS = 4;
export const BSTATS_NSLABS = 5;
export const BSTATS_NRESLABS = 6;
export const BSTATS_NONFULL_SLABS = 7;
export const BSTATS_NFILLS = 8;
export const BSTATS_NFLUSHES = 9;
export const BSTATS_COUNT = 10;
export const BIN_BYTES = alignUp(BIN_STATS_B + BSTATS_COUNT * 8, 8);

export function arenaLayoutCompute(sc: SizeClasses): ArenaLayout {
  // Page classes this address space can hold: psz2ind of the largest page multiple below 2^lgVaddr.
  const maxPsz = 2 ** sc.lgVaddr;
  let esetNbins = 0;
  while (esetNbins < sc.npsizes && sc.pind2sz(esetNbins) <= maxPsz) esetNbins++;
  esetNbins += 1;
  const eb = esetBytes(esetNbins);
  const ecacheDirtyB = PAC_FIXED_BYTES;
  const ecacheMuzzyB = ecacheDirtyB + eb;
  const ecacheRetainedB = ecacheMuzzyB + eb;
  const decayDirtyB = alignUp(ecacheRetainedB + eb, 8);
  const decayMuzzyB = decayDirtyB + DECAY_BYTES;
  const arenaFieldsB = alignUp(decayMuzzyB + DECAY_BYTES, 8);
  const lstatsB = arenaFieldsB + ARENA_FIELDS_BYTES;
  const nlextentsAddr = sc.maxClassIndex - sc.nbins + 1;
  const binsB = alignUp(lstatsB + nlextentsAddr * LSTATS_BYTES, 8);
  const binFirst = new Uint32Array(sc.nbins);
  let nbinRecords = 0;
  for (let i = 0; i < sc.nbins; i++) {
    binFirst[i] = nbinRecords;
    nbinRecords += sc.binNshards[i]!;
  }
  const arenaBytes = alignUp(binsB + nbinRecords * BIN_BYTES, 64);
  return {
    arenaBytes,
    esetNbins,
    esetBytes: eb,
    ecacheDirtyB,
    ecacheMuzzyB,
    ecacheRetainedB,
    decayDirtyB,
    decayMuzzyB,
    lstatsB,
    nlextentsAddr,
    binsB,
    binBytes: BIN_BYTES,
    binFirst,
    nbinRecords,
    arenaFieldsB,
  };
}

/** Byte offset of arena record `arena`'s own fields (the ARENA_* offsets above start there). */
export function arenaFieldsB(ctx: HeapCtx, arena: number): number {
  return arena + ctx.arenaLayout.arenaFieldsB;
}

/** An automatic arena (chosen for threads), as opposed to one made with arenas.create. */
export function arenaIsAuto(ctx: HeapCtx, arena: number): boolean {
  return ctx.u32[(arenaFieldsB(ctx, arena) + ARENA_IS_AUTO_B) >>> 2] !== 0;
}
