// Per-thread mallctl state: the ctl lock, and what one thread's handle remembers
// between calls.
//
// What it is: jemalloc keeps ctl state (the statistics snapshot, the epoch) in
// process memory guarded by ctl_mtx. Here the heap is shared by workers, so:
// - the ctl lock is the heap's HDR_LOCK_CTL_B lock word (shared);
// - the epoch counter is in the header (shared): writing `epoch` bumps it;
// - each thread keeps its own copy of the snapshot and the epoch it was taken
//   at, and re-reads the heap when the shared epoch has moved on. So a stats.*
//   read never changes between two `epoch` writes of any thread, as in jemalloc
//   (the copy a thread takes reflects the heap at the moment it first looks
//   after the write, not at the instant of the write).
// Everything else here is thread-private by nature (the value written to a
// "write, then read" leaf during one call).
//
// Synchronization: withCtlLock takes the ctl lock; it is re-entrant per handle
// (nested calls from statsPrint or a leaf run inside the outer hold).
// Error convention: none thrown here except what the lock layer throws.

import type { HeapCtx, HeapHandle } from "../ctx/ctx.js";
import { HDR_LOCK_CTL_B } from "../ctx/header.js";
import { heapLock, heapUnlock } from "../extent/lock.js";
import type { StatsSnapshot } from "./snapshot_types.js";

export interface CtlState {
  /** This thread's copy of the statistics, or null before the first look. */
  snap: StatsSnapshot | null;
  /** Depth of this handle's hold on the ctl lock. */
  ctlDepth: number;
  /** arenas.create / experimental.arenas_create_ext: the configuration written in this call. */
  pendingArenaConfig: unknown;
  /** arenas.lookup, experimental.utilization.*: the input written in this call. */
  pendingInput: unknown;
  hasPendingInput: boolean;
}

const STATES = new WeakMap<HeapHandle, CtlState>();

export function ctlState(heap: HeapHandle): CtlState {
  let s = STATES.get(heap);
  if (s === undefined) {
    s = {
      snap: null,
      ctlDepth: 0,
      pendingArenaConfig: undefined,
      pendingInput: undefined,
      hasPendingInput: false,
    };
    STATES.set(heap, s);
  }
  return s;
}

/** Runs `fn` holding the heap's ctl lock (re-entrant for this handle). */
export function withCtlLock<T>(heap: HeapHandle, fn: (ctx: HeapCtx) => T): T {
  const s = ctlState(heap);
  const ctx = heap.ctx;
  if (s.ctlDepth > 0) return fn(ctx);
  heapLock(ctx, HDR_LOCK_CTL_B);
  if (ctx.failpoint !== null) ctx.failpoint("ctl.locked");
  s.ctlDepth = 1;
  try {
    return fn(ctx);
  } finally {
    s.ctlDepth = 0;
    heapUnlock(ctx, HDR_LOCK_CTL_B);
  }
}

/** Takes (and clears) the input a "write, then read" leaf stored earlier in this call. */
export function takePendingInput(heap: HeapHandle): { has: boolean; value: unknown } {
  const s = ctlState(heap);
  const out = { has: s.hasPendingInput, value: s.pendingInput };
  s.hasPendingInput = false;
  s.pendingInput = undefined;
  return out;
}

export function setPendingInput(heap: HeapHandle, value: unknown): void {
  const s = ctlState(heap);
  s.hasPendingInput = true;
  s.pendingInput = value;
}
