/**
 * snapshot_types: the shape of a statistics snapshot (what `epoch` refreshes and stats.* reads), and
 * the names of the mutexes it reports, in jemalloc's order. Taking a snapshot is snapshot.ts's.
 */
import type { ArenaStats, BinStats } from "../arena/stats.js";
import type { LockStats } from "../sync/index.js";

/** MALLCTL_ARENAS_ALL and MALLCTL_ARENAS_DESTROYED. */
export const MALLCTL_ARENAS_ALL = 4096;
export const MALLCTL_ARENAS_DESTROYED = 4097;

/** jemalloc's global profiled mutexes (MUTEX_PROF_GLOBAL_MUTEXES), in order. */
export const GLOBAL_MUTEX_NAMES = [
  "background_thread",
  "max_per_bg_thd",
  "ctl",
  "prof",
  "prof_thds_data",
  "prof_dump",
  "prof_recent_alloc",
  "prof_recent_dump",
  "prof_stats",
] as const;
export type GlobalMutexName = (typeof GLOBAL_MUTEX_NAMES)[number];

/** jemalloc's per-arena profiled mutexes (MUTEX_PROF_ARENA_MUTEXES), in order. */
export const ARENA_MUTEX_NAMES = [
  "large",
  "extent_avail",
  "extents_dirty",
  "extents_muzzy",
  "extents_retained",
  "decay_dirty",
  "decay_muzzy",
  "base",
  "tcache_list",
  "hpa_shard",
  "hpa_shard_grow",
  "hpa_sec",
] as const;
export type ArenaMutexName = (typeof ARENA_MUTEX_NAMES)[number];

export interface BinSnapshot extends BinStats {
  mutex: LockStats;
}

/** One arena's figures as stats.arenas.<i>.* reads them. */
export interface ArenaSnapshot extends ArenaStats {
  dss: string;
  tcache_stashed_bytes: number;
  abandoned_vm: number;
  hpa_sec_bytes: number;
  bins: BinSnapshot[];
  mutexes: Record<ArenaMutexName, LockStats>;
}

export interface StatsSnapshot {
  /** The shared epoch this copy was taken at. */
  epoch: number;
  /** arenas.narenas when taken. */
  narenas: number;
  allocated: number;
  active: number;
  metadata: number;
  metadata_thp: number;
  resident: number;
  mapped: number;
  retained: number;
  /** realloc(ptr, 0) calls when taken (stats.zero_reallocs itself reads the live counter). */
  zero_reallocs: number;
  background_thread: { num_threads: number; num_runs: number; run_interval: number };
  mutexes: Record<GlobalMutexName, LockStats>;
  /** Initialized arenas by index (jemalloc's ctl_arena_t.initialized = true). */
  arenas: Map<number, ArenaSnapshot>;
  merged: ArenaSnapshot;
  destroyed: ArenaSnapshot;
  destroyedInitialized: boolean;
}
