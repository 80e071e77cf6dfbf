/**
 * What the heap stress test and its workers (heap-worker.ts) share: the worker's input and reply, the
 * control words, and the block header layout. (Kept apart from the worker entry, which runs on import.)
 */

import type { ClaimMapShared } from "../helpers/ledger.js";

export interface HeapWorkerData {
  buffer: SharedArrayBuffer;
  claims: ClaimMapShared;
  transfer: SharedArrayBuffer;
  ctl: SharedArrayBuffer;
  index: number;
  seed: number;
  ops: number;
  maxLive: number;
  /** One in `hugeEvery` allocations is huge (≥ 8 MiB); 0 = none. */
  hugeEvery: number;
}

export interface HeapWorkerReply {
  index: number;
  /** Milliseconds the op loop took. */
  ms: number;
  allocs: number;
  frees: number;
  crossFrees: number;
  reallocs: number;
  exchanges: number;
  failures: number;
  violations: string[];
}

/** ctl words: GO (set by the test), READY (count of attached workers). */
export const CTL_GO = 0;
export const CTL_READY = 1;
/** Block header: u32 requested size, u32 (seed << 4 | allocating worker). */
export const HEADER_BYTES = 8;
