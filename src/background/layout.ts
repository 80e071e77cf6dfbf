/**
 * layout: the background threads' shared state (jemalloc's background_thread_lock, n_background_threads
 * and the background_thread_info array). Everything a worker or an application thread must agree on
 * lives in the buffer; the JS Worker objects stay with the thread that spawned them.
 *
 * Header words (src/layout/header.ts):
 *   HDR_BG_THREADS_B      enabled flag (background_thread_enabled_state), Atomics
 *   HDR_MAX_BG_THREADS_B  max_background_threads (runtime value; writes under the global lock)
 *   HDR_BG_REGION_B       offset of the region below, 0 until background threads are first enabled
 *   HDR_BG_NTHREADS_B     n_background_threads, Atomics
 *   HDR_BG_NINFO_B        info records in the region (opt.max_background_threads, the most ever used)
 *
 * ╒════════════ Region (REGION_HEADER_BYTES + ninfo × INFO_BYTES), carved once from b0 ════════════╕
 *  bytes          field         meaning / sync
 *   0..63         globalLock    background_thread_lock: enabling, disabling, creating threads
 *   64..          info[ninfo]   one record per background thread index
 * ╘════════════════════════════════════════════════════════════════════════════════════════════════╛
 *
 * ╒════════════ Info record (INFO_BYTES = 128) — background_thread_info_t ════════════╕
 *  bytes    field            units  meaning / sync
 *   0..63   lock                    info->mtx: held by the worker while it works, not while it sleeps;
 *                                   application threads only try it
 *  64..67   state            i32    INFO_STOPPED / INFO_STARTED / INFO_PAUSED (Atomics; written under
 *                                   the lock)
 *  68..71   wakeSeq          i32    condition variable: bumped and notified to wake the worker; the
 *                                   worker waits on the value it read under the lock (Atomics)
 *  72..75   indefiniteSleep  i32    1 while the worker sleeps with no timeout (Atomics)
 *  76..79   alive            i32    ALIVE_REQUESTED from spawn, ALIVE_RUNNING once the worker took
 *                                   it (CAS), 0 when it has left the heap; joiners wait for 0 and may
 *                                   cancel a worker not started yet (CAS requested → 0) (Atomics)
 *  80..87   nextWakeupNs     f64    ns  scheduled wakeup on the heap clock; +∞ = indefinite (lock)
 *  88..95   npagesPurgeNew   f64    pages expected purgeable by the next wakeup since the last run (lock)
 *  96..103  totNRuns         f64    count  stats: wakeups (lock)
 * 104..111  totSleepNs       f64    ns  stats: time slept (lock)
 * 112..115  workerSlot       i32    thread slot of the worker + 1, 0 when none (diagnostics)
 * 116..127  (reserved)
 * ╘═════════════════════════════════════════════════════════════════════════════════════╛
 */
import { LOCK_BYTES } from "../ctx/header.js";

export const REGION_GLOBAL_LOCK_B = 0;
export const REGION_HEADER_BYTES = LOCK_BYTES;

export const INFO_LOCK_B = 0;
export const INFO_STATE_B = LOCK_BYTES;
export const INFO_WAKE_SEQ_B = LOCK_BYTES + 4;
export const INFO_INDEFINITE_B = LOCK_BYTES + 8;
export const INFO_ALIVE_B = LOCK_BYTES + 12;
export const INFO_NEXT_WAKEUP_NS_B = LOCK_BYTES + 16;
export const INFO_NPAGES_PURGE_NEW_B = LOCK_BYTES + 24;
export const INFO_TOT_N_RUNS_B = LOCK_BYTES + 32;
export const INFO_TOT_SLEEP_NS_B = LOCK_BYTES + 40;
export const INFO_WORKER_SLOT_B = LOCK_BYTES + 48;
export const INFO_BYTES = 128;

/** background_thread_state_t. PAUSED: an arena this thread serves is being reset or destroyed. */
/** alive: spawn requested, the worker has not started (a joiner may cancel it). */
export const ALIVE_REQUESTED = 1;
/** alive: the worker took its record and runs. */
export const ALIVE_RUNNING = 2;

export const INFO_STOPPED = 0;
export const INFO_STARTED = 1;
export const INFO_PAUSED = 2;

/** BACKGROUND_THREAD_MIN_INTERVAL_NS: a worker never sleeps less than 100 ms between runs. */
export const BG_MIN_INTERVAL_NS = 100_000_000;
/** BACKGROUND_THREAD_INDEFINITE_SLEEP / BACKGROUND_THREAD_DEFERRED_MAX. */
export const BG_INDEFINITE = Number.POSITIVE_INFINITY;

export function regionBytes(ninfo: number): number {
  return REGION_HEADER_BYTES + ninfo * INFO_BYTES;
}

/** Byte offset of info record `t` in the region at `regionB`. */
export function infoB(regionB: number, t: number): number {
  return regionB + REGION_HEADER_BYTES + t * INFO_BYTES;
}
