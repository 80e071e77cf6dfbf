/**
 * background: background purge threads (jemalloc's background_thread.c) as worker_threads attached
 * to the same heap. (Implementation in progress: these are the fixed signatures.)
 */
import type { Heap } from "../heap.js";

/** background_thread (write): start (true) or stop (false) the purge workers. */
export function backgroundThreadSet(_heap: Heap, _enable: boolean): void {}

/** background_thread (read). */
export function backgroundThreadGet(_heap: Heap): boolean {
  return false;
}

/** stats.background_thread.{num_threads, num_runs, run_interval}. */
export function backgroundThreadStats(_heap: Heap): { numThreads: number; numRuns: number; runIntervalNs: number } {
  return { numThreads: 0, numRuns: 0, runIntervalNs: 0 };
}
