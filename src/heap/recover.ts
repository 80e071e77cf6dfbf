/**
 * recover: what happens after a thread dies inside the allocator (RELIABILITY.md §5.3, issue 11).
 *
 * Every lock names its holder in its state word, so the locks a dead thread held are found by
 * scanning the heap's lock records for its owner tag. Whoever takes such a lock over — a waiter, or
 * the supervisor's reclaim — runs `recoverLock` before using the structure:
 *   bin        rebuilt from its slabs' bitmaps (bin_repair.ts): always consistent afterwards;
 *   extent     first the one change the holder's write-ahead record names (a split, a merge, a
 *              neighbour marked for merging, a registration) is finished or undone (recover_intent.ts);
 *              then verified with the checker's rules for extent caches and pactive
 *              (recover_extent.ts): used as is when consistent; else the caches and pactive are
 *              rebuilt from a sound page map; else poison;
 *   map        (growth: the top of the mapped space) consistent at every instruction: used as is;
 *   arenas     every section under it is restartable: the arena count and the reusable index are
 *              redone from the arena table (recover_arenas.ts);
 *   base       a bump allocator usable after any store (recover_base.ts): the position is clamped;
 *   any other  (ctl, thread-cache list, background threads, registry) — a
 *              dead holder may have left it half-changed and no repair is attempted: the heap is
 *              poisoned, naming the lock class and the dead slot.
 * Slabs a dead thread held outside their bin (between locks) are given back by inflight.ts.
 * Every later call on every thread then throws HeapPoisonedError (Heap's entry check, and lock waits
 * through LockContext.abortWait). Recovery never reports a poisoned heap as healthy, and never
 * throws out of a supervisor's exit handler (reclaimSafely).
 */
import { arenaRecordByInd, narenasTotal } from "../arena/arena.js";
import { binRecord } from "../arena/bin.js";
import { binRepair } from "../arena/bin_repair.js";
import { BIN_LOCK_B } from "../arena/layout.js";
import { INFO_LOCK_B, infoB, REGION_GLOBAL_LOCK_B } from "../background/layout.js";
import type { HeapCtx } from "../ctx/ctx.js";
import {
  HDR_BG_NINFO_B,
  HDR_BG_REGION_B,
  HDR_LOCK_ARENAS_B,
  HDR_LOCK_CTL_B,
  HDR_LOCK_MAP_B,
  HDR_LOCK_TCACHES_B,
} from "../ctx/header.js";
import { BASE_LOCK_B } from "../extent/base.js";
import {
  heapLock,
  heapPoison,
  heapUnlock,
  POISON_OWNER_DIED,
  recoveryFailed,
  setLockRecovery,
} from "../extent/lock.js";
import { PAC_BASE_B, PAC_LOCK_B } from "../extent/pac_layout.js";
import { lockOwner, ownerTagSlot, slotsLockW } from "../sync/index.js";
import { arenasLockRepair } from "./recover_arenas.js";
import { baseLockRepair } from "./recover_base.js";
import { decayPurgingReset, extentLockRepair, extentLockVerify } from "./recover_extent.js";
import { intentRecover } from "./recover_intent.js";

export const LOCK_CLASS_UNKNOWN = 0;
export const LOCK_CLASS_BIN = 1;
export const LOCK_CLASS_EXTENT = 2;
export const LOCK_CLASS_BASE = 3;
export const LOCK_CLASS_MAP = 4;
export const LOCK_CLASS_CTL = 5;
export const LOCK_CLASS_ARENAS = 6;
export const LOCK_CLASS_TCACHES = 7;
export const LOCK_CLASS_BACKGROUND = 8;
export const LOCK_CLASS_REGISTRY = 9;
const CLASS_NAMES = [
  "unknown lock",
  "bin lock",
  "extent lock (extent caches, page allocator, decay)",
  "base lock",
  "map lock (top of the mapped space, growth)",
  "ctl lock",
  "arenas lock",
  "thread-cache list lock",
  "background thread lock",
  "thread registry lock",
];

export function lockClassName(cls: number): string {
  return CLASS_NAMES[cls] ?? `lock class ${cls}`;
}

/** One lock record of the heap and what it guards. */
export interface LockSite {
  lockB: number;
  cls: number;
  /** Arena record and index (bin, extent and base locks), else 0 / -1. */
  arena: number;
  ind: number;
  binind: number;
  shard: number;
}

function site(lockB: number, cls: number, arena = 0, ind = -1, binind = -1, shard = -1): LockSite {
  return { lockB, cls, arena, ind, binind, shard };
}

/** Every lock record in the heap (slow path: recovery only). */
export function heapLockSites(ctx: HeapCtx): LockSite[] {
  const out: LockSite[] = [
    site(HDR_LOCK_MAP_B, LOCK_CLASS_MAP),
    site(HDR_LOCK_CTL_B, LOCK_CLASS_CTL),
    site(HDR_LOCK_ARENAS_B, LOCK_CLASS_ARENAS),
    site(HDR_LOCK_TCACHES_B, LOCK_CLASS_TCACHES),
    site(slotsLockW(ctx.hdr.slotsB >>> 2) * 4, LOCK_CLASS_REGISTRY),
  ];
  const n = narenasTotal(ctx);
  const sc = ctx.sc;
  for (let ind = 0; ind < n; ind++) {
    const arena = arenaRecordByInd(ctx, ind);
    if (arena === 0) continue;
    out.push(site(arena + PAC_LOCK_B, LOCK_CLASS_EXTENT, arena, ind));
    const base = ctx.u32[(arena + PAC_BASE_B) >>> 2]!;
    if (base !== 0) out.push(site(base + BASE_LOCK_B, LOCK_CLASS_BASE, arena, ind));
    for (let i = 0; i < sc.nbins; i++) {
      for (let s = 0; s < sc.binNshards[i]!; s++)
        out.push(site(binRecord(ctx, arena, i, s) + BIN_LOCK_B, LOCK_CLASS_BIN, arena, ind, i, s));
    }
  }
  const region = Atomics.load(ctx.i32, HDR_BG_REGION_B >>> 2) >>> 0;
  if (region !== 0) {
    out.push(site(region + REGION_GLOBAL_LOCK_B, LOCK_CLASS_BACKGROUND));
    const ninfo = ctx.u32[HDR_BG_NINFO_B >>> 2]!;
    for (let t = 0; t < ninfo; t++) out.push(site(infoB(region, t) + INFO_LOCK_B, LOCK_CLASS_BACKGROUND));
  }
  return out;
}

function siteOf(ctx: HeapCtx, lockB: number): LockSite {
  for (const s of heapLockSites(ctx)) if (s.lockB === lockB) return s;
  return site(lockB, LOCK_CLASS_UNKNOWN);
}

/** The registered recovery: the caller holds `lockB`, taken over from the dead `deadTag`. */
function recoverLock(ctx: HeapCtx, lockB: number, deadTag: number): void {
  const s = siteOf(ctx, lockB);
  if (s.cls === LOCK_CLASS_BIN) {
    binRepair(ctx, s.arena, s.ind, lockB - BIN_LOCK_B, s.binind, s.shard);
    return;
  }
  // The map lock guards the top of the mapped space and the gap stack (pages.ts): one f64 store moves
  // the top, after the buffer already covers it, and a cut from a gap orders its stores so that every
  // byte is in its gap or in none, so a holder killed anywhere leaves at worst a range mapped for
  // nobody, never an inconsistency.
  if (s.cls === LOCK_CLASS_MAP) return;
  if (s.cls === LOCK_CLASS_BASE) {
    baseLockRepair(ctx, lockB - BASE_LOCK_B);
    return;
  }
  if (s.cls === LOCK_CLASS_ARENAS) {
    arenasLockRepair(ctx);
    return;
  }
  if (s.cls === LOCK_CLASS_EXTENT) {
    decayPurgingReset(ctx, s.arena);
    intentRecover(ctx, s.arena);
    if (extentLockVerify(ctx, s.arena, s.ind).length === 0) return;
    if (extentLockRepair(ctx, s.arena, s.ind) && extentLockVerify(ctx, s.arena, s.ind).length === 0) return;
  }
  heapPoison(ctx, POISON_OWNER_DIED, s.cls, ownerTagSlot(deadTag));
}

setLockRecovery(recoverLock, lockClassName);

/**
 * Takes over and recovers every lock the dead thread `deadTag` still holds (its slot is already DEAD,
 * so each acquire takes the lock over and runs recoverLock). Throws HeapPoisonedError when a repair
 * poisoned the heap.
 */
export function recoverLocksOf(ctx: HeapCtx, deadTag: number): number {
  let n = 0;
  for (const s of heapLockSites(ctx)) {
    if (lockOwner(ctx.i32, s.lockB >>> 2) !== deadTag) continue;
    heapLock(ctx, s.lockB);
    heapUnlock(ctx, s.lockB);
    n++;
  }
  return n;
}

/** Poisons for a failure of recovery itself (an exception that is not HeapPoisonedError). */
export function poisonRecoveryFailed(ctx: HeapCtx, slot: number, err: unknown): void {
  recoveryFailed(ctx, slot, err);
}
