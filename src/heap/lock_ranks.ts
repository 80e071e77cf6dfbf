/**
 * lock_ranks: which lock a lock word is, for the debug witness (src/sync/witness.ts). Debug mode gives
 * every thread a Witness whose rank function classifies a lock word by where it lives: the header's
 * global locks, an arena's extent lock or bin locks, a base, the background threads' locks. The order
 * (ascending = may be taken while holding a lower one) follows jemalloc 5.3's witness ranks for the
 * locks this port has; the page map lock (address-space growth) is a leaf: nothing is taken under it.
 * Two departures, from how this port nests them: background_thread enable takes the arenas lock while
 * holding the background global lock, so that lock ranks with TCACHES (below ARENAS); and background
 * thread 0 takes the other threads' info locks while holding its own, so those share a rank and go in
 * ascending address order (jemalloc's address-ordered ranks).
 *
 * Cost: a classification walks the arena table (debug mode only).
 */
import { arenaRecordByInd, narenasTotal } from "../arena/arena.js";
import { INFO_BYTES, INFO_LOCK_B, REGION_GLOBAL_LOCK_B, REGION_HEADER_BYTES } from "../background/layout.js";
import type { HeapCtx } from "../ctx/ctx.js";
import {
  HDR_BASE0_B,
  HDR_BG_NINFO_B,
  HDR_BG_REGION_B,
  HDR_LOCK_ARENAS_B,
  HDR_LOCK_CTL_B,
  HDR_LOCK_MAP_B,
  HDR_LOCK_TCACHES_B,
} from "../ctx/header.js";
import { BASE_LOCK_B } from "../extent/base.js";
import { PAC_BASE_B, PAC_LOCK_B } from "../extent/pac_layout.js";
import {
  LOCK_RANK_ARENAS,
  LOCK_RANK_BACKGROUND_THREAD,
  LOCK_RANK_BASE,
  LOCK_RANK_BIN,
  LOCK_RANK_CTL,
  LOCK_RANK_EXTENTS,
  LOCK_RANK_LEAF,
  LOCK_RANK_OMIT,
  LOCK_RANK_TCACHES,
  Witness,
} from "../sync/witness.js";

interface LockKind {
  rank: number;
  name: string;
}

const UNKNOWN: LockKind = { rank: LOCK_RANK_OMIT, name: "" };

/** The rank and name of the lock at word `lockW` (UNKNOWN for a word that is no heap lock). */
export function lockKind(ctx: HeapCtx, lockW: number): LockKind {
  const b = lockW * 4;
  if (b === HDR_LOCK_CTL_B) return { rank: LOCK_RANK_CTL, name: "ctl lock" };
  if (b === HDR_LOCK_TCACHES_B) return { rank: LOCK_RANK_TCACHES, name: "tcaches lock" };
  if (b === HDR_LOCK_ARENAS_B) return { rank: LOCK_RANK_ARENAS, name: "arenas lock" };
  if (b === HDR_LOCK_MAP_B) return { rank: LOCK_RANK_LEAF, name: "address-space (map) lock" };
  const u32 = ctx.u32;
  if (b === u32[HDR_BASE0_B >>> 2]! + BASE_LOCK_B) return { rank: LOCK_RANK_BASE, name: "base 0 lock" };
  const region = u32[HDR_BG_REGION_B >>> 2]!;
  if (region !== 0) {
    if (b === region + REGION_GLOBAL_LOCK_B)
      return { rank: LOCK_RANK_TCACHES, name: "background_thread global lock" };
    const rel = b - region - REGION_HEADER_BYTES - INFO_LOCK_B;
    if (rel >= 0 && rel % INFO_BYTES === 0 && rel / INFO_BYTES < u32[HDR_BG_NINFO_B >>> 2]!)
      return { rank: LOCK_RANK_BACKGROUND_THREAD, name: `background_thread ${rel / INFO_BYTES} lock` };
  }
  const al = ctx.arenaLayout;
  const n = Math.min(narenasTotal(ctx), 4096);
  for (let ind = 0; ind < n; ind++) {
    const a = arenaRecordByInd(ctx, ind);
    if (a === 0) continue;
    if (b === a + PAC_LOCK_B) return { rank: LOCK_RANK_EXTENTS, name: `arena ${ind} extent lock` };
    const rel = b - a - al.binsB;
    if (rel >= 0 && rel % al.binBytes === 0 && rel / al.binBytes < al.nbinRecords)
      return { rank: LOCK_RANK_BIN, name: `arena ${ind} bin record ${rel / al.binBytes} lock` };
    const base = u32[(a + PAC_BASE_B) >>> 2]!;
    if (base !== 0 && b === base + BASE_LOCK_B)
      return { rank: LOCK_RANK_BASE, name: `arena ${ind} base lock` };
  }
  return UNKNOWN;
}

/** This thread's lock-order witness (debug mode). */
export function heapWitness(ctx: HeapCtx): Witness {
  return new Witness((lockW) => lockKind(ctx, lockW).rank, {
    nameOf: (lockW) => {
      const k = lockKind(ctx, lockW);
      return k === UNKNOWN ? `lock@${lockW}` : `${k.name} (word ${lockW})`;
    },
    addressOrderedRanks: [LOCK_RANK_BACKGROUND_THREAD],
  });
}
