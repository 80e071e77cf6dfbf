// The statistics snapshot behind stats.*: what jemalloc's ctl_refresh() gathers
// when `epoch` is written.
//
// What it is: statsRefresh(heap) reads every initialized arena (src/arena/stats.ts),
// the lock counters of the buffer's locks, the background-thread counters, and
// merges the arenas into the "merged" record (index 4096, MALLCTL_ARENAS_ALL) with
// jemalloc's rules (ctl_arena_stats_sdmerge): sums, except that the decay times
// and dss are not merged and the merged uptime is arena 0's.
//
// Lock statistics (real counts from the buffer's lock words):
//   arena `large`, `extent_avail`, `extents_dirty|muzzy|retained`, `decay_dirty|muzzy`:
//       the arena's extent lock (arenaRecord + PAC_LOCK_B): this port guards all of
//       them with that one lock, so the same counts appear under each name;
//   arena `base`: the lock of the arena's base (arena 0: the global base b0);
//   bins: each bin's lock (arena bin record + BIN_LOCK_B), summed over shards;
//   global `ctl`: HDR_LOCK_CTL_B; `background_thread`: the background threads'
//   global lock; `max_per_bg_thd`: each counter's maximum over the background
//   threads' own locks (src/background/layout.ts). Locks this port does not have
//   (tcache_list, hpa_*, prof_*) read zero, as in a jemalloc where they are never taken.
//
// Destroyed arenas (4097): a destroyed arena keeps its record (src/arena/reset.ts)
// until arenas.create revives its index, so its statistics are merged into the
// destroyed record (with jemalloc's destroyed=true rules) while it stays destroyed;
// once its index is reused they are gone (jemalloc keeps them for ever). The
// destroyed record counts as initialized from the first destroy this thread sees.
//
// Synchronization: the caller holds the ctl lock (state.ts); arena figures are read
// under the arenas' own locks by arenaStatsRead. Error convention: none.

import { arenaFieldsB, arenaRecordByInd, narenasTotal } from "../arena/arena.js";
import { binRecord } from "../arena/bin.js";
import { ARENA_STATE_B, ARENA_STATE_DESTROYED, BIN_LOCK_B } from "../arena/layout.js";
import {
  arenaStatsRead,
  type ExtentClassStats,
  type LextentStats,
  type SizeGroupStats,
} from "../arena/stats.js";
import { backgroundThreadStats } from "../background/index.js";
import { INFO_LOCK_B, infoB, REGION_GLOBAL_LOCK_B } from "../background/layout.js";
import { bgRegion } from "../background/wake.js";
import type { HeapCtx, HeapHandle } from "../ctx/ctx.js";
import {
  HDR_BG_NINFO_B,
  HDR_EPOCH_B,
  HDR_LAST_DESTROYED_B,
  HDR_LOCK_CTL_B,
  HDR_ZERO_REALLOCS_B,
} from "../ctx/header.js";
import { BASE_LOCK_B } from "../extent/base.js";
import { PAC_ABANDONED_VM_B, PAC_BASE_B, PAC_LOCK_B } from "../extent/pac_layout.js";
import { PROF_LOCK_B } from "../prof/layout.js";
import { profRegion } from "../prof/region.js";
import { type LockStats, lockStatsMerge, lockStatsRead, lockStatsZero } from "../sync/index.js";
import { tcacheBytesOfArena, tcacheStashedBytesOfArena } from "../tcache/index.js";
import {
  ARENA_MUTEX_NAMES,
  type ArenaMutexName,
  type ArenaSnapshot,
  type BinSnapshot,
  GLOBAL_MUTEX_NAMES,
  type GlobalMutexName,
  MALLCTL_ARENAS_ALL,
  MALLCTL_ARENAS_DESTROYED,
  type StatsSnapshot,
} from "./snapshot_types.js";
import { ctlState, withCtlLock } from "./state.js";

export {
  ARENA_MUTEX_NAMES,
  type ArenaMutexName,
  type ArenaSnapshot,
  type BinSnapshot,
  GLOBAL_MUTEX_NAMES,
  type GlobalMutexName,
  MALLCTL_ARENAS_ALL,
  MALLCTL_ARENAS_DESTROYED,
  type StatsSnapshot,
} from "./snapshot_types.js";

/** Arena mutexes this port guards with the arena's extent lock. */
const EXTENT_LOCK_MUTEXES: ReadonlySet<ArenaMutexName> = new Set([
  "large",
  "extent_avail",
  "extents_dirty",
  "extents_muzzy",
  "extents_retained",
  "decay_dirty",
  "decay_muzzy",
]);

function groupZero(): SizeGroupStats {
  return { allocated: 0, nmalloc: 0, ndalloc: 0, nrequests: 0, nfills: 0, nflushes: 0 };
}

function extentZero(): ExtentClassStats {
  return { ndirty: 0, nmuzzy: 0, nretained: 0, dirty_bytes: 0, muzzy_bytes: 0, retained_bytes: 0 };
}

function mutexesZero(): Record<ArenaMutexName, LockStats> {
  const out = {} as Record<ArenaMutexName, LockStats>;
  for (const n of ARENA_MUTEX_NAMES) out[n] = lockStatsZero();
  return out;
}

/** ctl_arena_clear(): an empty record (decay times -1, dss "N/A"), with jemalloc's full array lengths. */
export function arenaSnapshotZero(ctx: HeapCtx): ArenaSnapshot {
  const sc = ctx.sc;
  const bins: BinSnapshot[] = [];
  for (let i = 0; i < sc.nbins; i++) {
    bins.push({
      nmalloc: 0,
      ndalloc: 0,
      nrequests: 0,
      curregs: 0,
      curslabs: 0,
      nslabs: 0,
      nreslabs: 0,
      nonfull_slabs: 0,
      nfills: 0,
      nflushes: 0,
      mutex: lockStatsZero(),
    });
  }
  const lextents: LextentStats[] = [];
  for (let j = 0; j < sc.nlextents; j++) {
    lextents.push({ nmalloc: 0, ndalloc: 0, nrequests: 0, nflushes: 0, curlextents: 0 });
  }
  const extents: ExtentClassStats[] = [];
  for (let j = 0; j < sc.npsizes; j++) extents.push(extentZero());
  return {
    nthreads: 0,
    uptimeNs: 0,
    dss: "N/A",
    dirty_decay_ms: -1,
    muzzy_decay_ms: -1,
    pactive: 0,
    pdirty: 0,
    pmuzzy: 0,
    mapped: 0,
    retained: 0,
    base: 0,
    internal: 0,
    metadata_thp: 0,
    resident: 0,
    extent_avail: 0,
    dirty_npurge: 0,
    dirty_nmadvise: 0,
    dirty_purged: 0,
    muzzy_npurge: 0,
    muzzy_nmadvise: 0,
    muzzy_purged: 0,
    tcache_bytes: 0,
    tcache_stashed_bytes: 0,
    abandoned_vm: 0,
    hpa_sec_bytes: 0,
    small: groupZero(),
    large: groupZero(),
    bins,
    lextents,
    extents,
    mutexes: mutexesZero(),
  };
}

function lockW(b: number): number {
  return b >>> 2;
}

/** The lock counters of arena `arena` under jemalloc's names. */
function arenaMutexes(ctx: HeapCtx, arena: number): Record<ArenaMutexName, LockStats> {
  const out = mutexesZero();
  const pac = lockStatsRead(ctx.i32, lockW(arena + PAC_LOCK_B));
  for (const n of EXTENT_LOCK_MUTEXES) out[n] = { ...pac };
  const base = ctx.u32[(arena + PAC_BASE_B) >>> 2]!;
  if (base !== 0) out.base = lockStatsRead(ctx.i32, lockW(base + BASE_LOCK_B));
  return out;
}

function binMutex(ctx: HeapCtx, arena: number, binind: number): LockStats {
  const sum = lockStatsZero();
  const n = ctx.sc.binNshards[binind]!;
  for (let s = 0; s < n; s++) {
    lockStatsMerge(sum, lockStatsRead(ctx.i32, lockW(binRecord(ctx, arena, binind, s) + BIN_LOCK_B)));
  }
  return sum;
}

/** Reads one initialized arena (arena_stats_merge), padding the arrays to jemalloc's lengths. */
export function arenaSnapshotRead(ctx: HeapCtx, arena: number, ind: number, dss: string): ArenaSnapshot {
  const s = arenaStatsRead(ctx, arena, ind, tcacheBytesOfArena(ctx, ind));
  const sc = ctx.sc;
  for (let j = s.lextents.length; j < sc.nlextents; j++) {
    s.lextents.push({ nmalloc: 0, ndalloc: 0, nrequests: 0, nflushes: 0, curlextents: 0 });
  }
  for (let j = s.extents.length; j < sc.npsizes; j++) s.extents.push(extentZero());
  const bins: BinSnapshot[] = s.bins.map((b, i) => ({ ...b, mutex: binMutex(ctx, arena, i) }));
  return {
    ...s,
    dss,
    tcache_stashed_bytes: tcacheStashedBytesOfArena(ctx, ind),
    abandoned_vm: ctx.f64[(arena + PAC_ABANDONED_VM_B) >>> 3]!,
    hpa_sec_bytes: 0,
    bins,
    mutexes: arenaMutexes(ctx, arena),
  };
}

function addGroup(dst: SizeGroupStats, src: SizeGroupStats, destroyed: boolean): void {
  if (!destroyed) dst.allocated += src.allocated;
  dst.nmalloc += src.nmalloc;
  dst.ndalloc += src.ndalloc;
  dst.nrequests += src.nrequests;
  dst.nfills += src.nfills;
  dst.nflushes += src.nflushes;
}

function addBins(dst: BinSnapshot[], src: readonly BinSnapshot[], destroyed: boolean): void {
  for (let i = 0; i < src.length; i++) {
    const m = dst[i]!;
    const b = src[i]!;
    m.nmalloc += b.nmalloc;
    m.ndalloc += b.ndalloc;
    m.nrequests += b.nrequests;
    m.nfills += b.nfills;
    m.nflushes += b.nflushes;
    m.nslabs += b.nslabs;
    m.nreslabs += b.nreslabs;
    if (!destroyed) {
      m.curregs += b.curregs;
      m.curslabs += b.curslabs;
      m.nonfull_slabs += b.nonfull_slabs;
    }
    lockStatsMerge(m.mutex, b.mutex);
  }
}

function addClasses(dst: ArenaSnapshot, src: ArenaSnapshot, destroyed: boolean): void {
  for (let j = 0; j < src.lextents.length; j++) {
    const m = dst.lextents[j]!;
    const l = src.lextents[j]!;
    m.nmalloc += l.nmalloc;
    m.ndalloc += l.ndalloc;
    m.nrequests += l.nrequests;
    m.nflushes += l.nflushes;
    if (!destroyed) m.curlextents += l.curlextents;
  }
  for (let j = 0; j < src.extents.length; j++) {
    const m = dst.extents[j]!;
    const x = src.extents[j]!;
    m.ndirty += x.ndirty;
    m.nmuzzy += x.nmuzzy;
    m.nretained += x.nretained;
    m.dirty_bytes += x.dirty_bytes;
    m.muzzy_bytes += x.muzzy_bytes;
    m.retained_bytes += x.retained_bytes;
  }
}

/** ctl_arena_stats_sdmerge(): adds arena `src` (index `ind`) into the merged or destroyed record. */
export function arenaSnapshotMerge(
  dst: ArenaSnapshot,
  src: ArenaSnapshot,
  ind: number,
  destroyed: boolean,
): void {
  if (!destroyed) {
    dst.nthreads += src.nthreads;
    dst.pactive += src.pactive;
    dst.pdirty += src.pdirty;
    dst.pmuzzy += src.pmuzzy;
    dst.mapped += src.mapped;
    dst.retained += src.retained;
    dst.extent_avail += src.extent_avail;
    dst.base += src.base;
    dst.resident += src.resident;
    dst.metadata_thp += src.metadata_thp;
    dst.internal += src.internal;
  }
  dst.dirty_npurge += src.dirty_npurge;
  dst.dirty_nmadvise += src.dirty_nmadvise;
  dst.dirty_purged += src.dirty_purged;
  dst.muzzy_npurge += src.muzzy_npurge;
  dst.muzzy_nmadvise += src.muzzy_nmadvise;
  dst.muzzy_purged += src.muzzy_purged;
  for (const n of ARENA_MUTEX_NAMES) lockStatsMerge(dst.mutexes[n], src.mutexes[n]);
  addGroup(dst.small, src.small, destroyed);
  addGroup(dst.large, src.large, destroyed);
  dst.abandoned_vm += src.abandoned_vm;
  dst.tcache_bytes += src.tcache_bytes;
  dst.tcache_stashed_bytes += src.tcache_stashed_bytes;
  dst.hpa_sec_bytes += src.hpa_sec_bytes;
  if (ind === 0) dst.uptimeNs = src.uptimeNs;
  addBins(dst.bins, src.bins, destroyed);
  addClasses(dst, src, destroyed);
}

/** malloc_mutex_prof_max_update(): each counter's maximum (not a sum) into `max`. */
function lockStatsMax(max: LockStats, s: LockStats): void {
  max.numOps = Math.max(max.numOps, s.numOps);
  max.numWait = Math.max(max.numWait, s.numWait);
  max.numSpinAcq = Math.max(max.numSpinAcq, s.numSpinAcq);
  max.numOwnerSwitch = Math.max(max.numOwnerSwitch, s.numOwnerSwitch);
  max.totalWaitTimeNs = Math.max(max.totalWaitTimeNs, s.totalWaitTimeNs);
  max.maxWaitTimeNs = Math.max(max.maxWaitTimeNs, s.maxWaitTimeNs);
  max.maxNumThds = Math.max(max.maxNumThds, s.maxNumThds);
}

/** The background threads' global lock (background_thread_lock), 0 before they were first enabled. */
export function backgroundLockB(ctx: HeapCtx): number {
  const region = bgRegion(ctx);
  return region === 0 ? 0 : region + REGION_GLOBAL_LOCK_B;
}

function globalMutexes(ctx: HeapCtx): Record<GlobalMutexName, LockStats> {
  const out = {} as Record<GlobalMutexName, LockStats>;
  for (const n of GLOBAL_MUTEX_NAMES) out[n] = lockStatsZero();
  out.ctl = lockStatsRead(ctx.i32, lockW(HDR_LOCK_CTL_B));
  const region = bgRegion(ctx);
  if (region !== 0) {
    out.background_thread = lockStatsRead(ctx.i32, lockW(region + REGION_GLOBAL_LOCK_B));
    const ninfo = ctx.u32[HDR_BG_NINFO_B >>> 2]!;
    for (let t = 0; t < ninfo; t++) {
      lockStatsMax(out.max_per_bg_thd, lockStatsRead(ctx.i32, lockW(infoB(region, t) + INFO_LOCK_B)));
    }
  }
  // Heap profiling has one lock for jemalloc's prof (bt2gctx) and tdata mutexes: reported as "prof".
  const prof = profRegion(ctx);
  if (prof !== 0) out.prof = lockStatsRead(ctx.i32, lockW(prof + PROF_LOCK_B));
  return out;
}

/** The dss precedence an arena reports: without sbrk every arena reads "disabled" (jemalloc without dss). */
export const ARENA_DSS_WITHOUT_SBRK = "disabled";

/** Whether arena record `a` was destroyed (arena.<i>.destroy) and not revived. */
export function arenaIsDestroyed(ctx: HeapCtx, a: number): boolean {
  return ctx.u32[(arenaFieldsB(ctx, a) + ARENA_STATE_B) >>> 2] === ARENA_STATE_DESTROYED;
}

/** The record of arena `i` if it exists and is not destroyed (jemalloc's arena_get(i, false)), else 0. */
export function arenaLiveByInd(ctx: HeapCtx, i: number): number {
  if (!Number.isInteger(i) || i < 0 || i >= narenasTotal(ctx)) return 0;
  const a = arenaRecordByInd(ctx, i);
  return a !== 0 && !arenaIsDestroyed(ctx, a) ? a : 0;
}

/** ctl_refresh() into a new snapshot taken at `epoch`. Caller holds the ctl lock. */
function snapshotTake(heap: HeapHandle, epoch: number, destroyedSeen: boolean): StatsSnapshot {
  const ctx = heap.ctx;
  const merged = arenaSnapshotZero(ctx);
  const destroyed = arenaSnapshotZero(ctx);
  let destroyedInitialized = destroyedSeen || ctx.i32[HDR_LAST_DESTROYED_B >>> 2]! >= 0;
  const arenas = new Map<number, ArenaSnapshot>();
  const n = narenasTotal(ctx);
  for (let i = 0; i < n; i++) {
    const a = arenaRecordByInd(ctx, i);
    if (a === 0) continue;
    const s = arenaSnapshotRead(ctx, a, i, ARENA_DSS_WITHOUT_SBRK);
    if (arenaIsDestroyed(ctx, a)) {
      destroyedInitialized = true;
      arenaSnapshotMerge(destroyed, s, i, true);
      continue;
    }
    arenas.set(i, s);
    arenaSnapshotMerge(merged, s, i, false);
  }
  const bg = backgroundThreadStats(heap);
  return {
    epoch,
    narenas: n,
    allocated: merged.small.allocated + merged.large.allocated,
    active: merged.pactive * ctx.page,
    metadata: merged.base + merged.internal,
    metadata_thp: merged.metadata_thp,
    resident: merged.resident,
    mapped: merged.mapped,
    retained: merged.retained,
    zero_reallocs: ctx.f64[HDR_ZERO_REALLOCS_B >>> 3]!,
    background_thread: { num_threads: bg.numThreads, num_runs: bg.numRuns, run_interval: bg.runIntervalNs },
    mutexes: globalMutexes(ctx),
    arenas,
    merged,
    destroyed,
    destroyedInitialized,
  };
}

function epochRead(ctx: HeapCtx): number {
  return ctx.f64[HDR_EPOCH_B >>> 3]!;
}

function epochWrite(ctx: HeapCtx, v: number): void {
  ctx.f64[HDR_EPOCH_B >>> 3] = v;
}

/**
 * This thread's current snapshot: taken now if it has none or another thread wrote
 * `epoch` since (the first look at a heap is jemalloc's ctl_init refresh: epoch 1).
 */
export function snapshotGet(heap: HeapHandle): StatsSnapshot {
  return withCtlLock(heap, (ctx) => {
    const st = ctlState(heap);
    let epoch = epochRead(ctx);
    if (epoch === 0) {
      epoch = 1;
      epochWrite(ctx, epoch);
    }
    if (st.snap === null || st.snap.epoch !== epoch) {
      st.snap = snapshotTake(heap, epoch, st.snap?.destroyedInitialized ?? false);
    }
    return st.snap;
  });
}

/** Writing `epoch`: advances the shared epoch and refreshes this thread's snapshot. */
export function statsRefresh(heap: HeapHandle): StatsSnapshot {
  return withCtlLock(heap, (ctx) => {
    const epoch = Math.max(epochRead(ctx), 1) + 1;
    epochWrite(ctx, epoch);
    const st = ctlState(heap);
    const snap = snapshotTake(heap, epoch, st.snap?.destroyedInitialized ?? false);
    st.snap = snap;
    return snap;
  });
}

/** The shared epoch (jemalloc's ctl_arenas->epoch), initializing ctl on first use. */
export function epochGet(heap: HeapHandle): number {
  return snapshotGet(heap).epoch;
}

/**
 * The record stats.arenas.<i> reads: the merged one for 4096 (and the deprecated
 * alias i == arenas.narenas), the destroyed one for 4097, else arena i if it was
 * initialized when the snapshot was taken; null otherwise (ENOENT).
 */
export function arenaSnapshotOf(heap: HeapHandle, snap: StatsSnapshot, i: number): ArenaSnapshot | null {
  if (i === MALLCTL_ARENAS_ALL) return snap.merged;
  if (i === MALLCTL_ARENAS_DESTROYED) return snap.destroyedInitialized ? snap.destroyed : null;
  if (i === narenasTotal(heap.ctx)) return snap.merged;
  return snap.arenas.get(i) ?? null;
}
