/**
 * What test/stress/workers-tcache.test.ts and its worker (tc-stress.ts) share: the worker's input and
 * reply, the control words, and the owned table layout. (Kept apart from the worker entry, which runs
 * on import.)
 */
import type { ClaimMapShared } from "../helpers/ledger.js";

/** How a stress worker ends: free its blocks and detach(), or publish its blocks and park until killed. */
export type EndMode = "detach" | "park";

export interface StressWorkerData {
  buffer: SharedArrayBuffer;
  claims: ClaimMapShared;
  /** Int32Array of offsets swapped with Atomics.exchange (0 = empty). */
  transfer: SharedArrayBuffer;
  ctl: SharedArrayBuffer;
  /** Int32Array: [count, offsets...] — the blocks the worker leaves behind for the supervisor. */
  owned: SharedArrayBuffer;
  /** 0..255, unique within a run: the low 8 bits of every seed the worker stamps. */
  uid: number;
  seed: number;
  ops: number;
  maxLive: number;
  /** One in `hugeEvery` allocations is huge (≥ 8 MiB, the huge arena); 0 = none. */
  hugeEvery: number;
  end: EndMode;
}

export interface StressWorkerReply {
  uid: number;
  threadId: number;
  ms: number;
  allocs: number;
  frees: number;
  crossFrees: number;
  exchanges: number;
  reallocs: number;
  failures: number;
  /** Blocks left in the owned table. */
  published: number;
  violations: string[];
}

/**
 * ctl words: ATTACH (set by the supervisor once the previous workers are gone: workers are spawned
 * ahead of time, so their slow module loading overlaps the previous iteration, but they claim a slot
 * only then), READY (attached workers), GO (set by the supervisor), PARK (never changes; parked workers
 * wait on it).
 */
export const CTL_ATTACH = 0;
export const CTL_READY = 1;
export const CTL_GO = 2;
export const CTL_PARK = 3;
export const CTL_WORDS = 4;

export const OWNED_COUNT = 0;
export const OWNED_FIRST = 1;

/** The blocks in an owned table. */
export function readOwned(owned: SharedArrayBuffer): number[] {
  const t = new Int32Array(owned);
  const n = Atomics.load(t, OWNED_COUNT);
  const out: number[] = [];
  for (let i = 0; i < n; i++) out.push(t[OWNED_FIRST + i]! >>> 0);
  return out;
}

// ---- the failpoint test (tcache-failpoint.test.ts, worker tc-failpoint.ts) ----------------------

export interface FailpointWorkerData {
  buffer: SharedArrayBuffer;
  ctl: SharedArrayBuffer;
  index: number;
  role: "parker" | "allocator";
  /** The failpoint the parker parks at: "bin.locked" or "extent.locked". */
  point: string;
  /** Allocate through the thread cache, or straight from the arena (MALLOCX_TCACHE_NONE). */
  via: "tcache" | "arena";
  size: number;
  count: number;
  lockTimeoutMs: number;
  /** Allocator: after a LockTimeoutError, report it, wait for RETRY and try again. */
  retryAfterTimeout: boolean;
}

/** ctl words of the failpoint test. */
export const FP_START = 0;
export const FP_PARKED = 1;
export const FP_GO = 2;
export const FP_STARTED = 3;
export const FP_RETRY = 4;
export const FP_PARK = 5;
export const FP_WORDS = 8;

/** Input of tc-park.ts (test/integration/tcache-internal.test.ts). */
export interface TcParkData {
  buffer: SharedArrayBuffer;
  ctl: SharedArrayBuffer;
  /** tcache.create.block / .counted, tcache.destroy.flushed / .unregistered. */
  point: string;
  /** How the cache is created or destroyed: "recreate" (thread.tcache.enabled off, on, malloc),
   * "disable" (thread.tcache.enabled off), "detach", or "explicit" (tcache.destroy); or
   * "statsprint": heap.statsPrint(), which holds an internal block (its buffer) while it prints. */
  action: "recreate" | "disable" | "detach" | "explicit" | "statsprint";
}
/** ctl words of tc-park.ts: set to 1 once parked; never set (it waits on it). */
export const TC_PARKED = 0;
export const TC_NEVER = 1;
