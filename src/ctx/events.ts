/**
 * events: jemalloc's thread events other than the thread cache's GC (thread_event.c): the peak of the
 * thread's net allocation (peak_event.c: an update every 64 KiB allocated and every 64 KiB freed, and on
 * thread.peak.read), experimental.thread.activity_callback (called from those peak events with the
 * thread's counters), and opt.stats_interval (malloc_stats_print each time the allocation activity of
 * all threads crosses the interval, accumulated in batches of interval / 64 bytes per thread).
 *
 * The state is the calling thread's (one per handle, like jemalloc's tsd); the stats accumulator is the
 * heap's, in the header. The fast paths see only the earliest threshold of all events (the thread
 * record's next-event fields), so no event costs the fast path anything until it is due.
 */
import type { HeapCtx } from "./ctx.js";
import { HDR_STATS_INTERVAL_ACCUM_B, THREAD_ALLOCATED_B, THREAD_DEALLOCATED_B } from "./header.js";

/** PEAK_EVENT_WAIT: bytes between two peak events. */
export const PEAK_EVENT_WAIT_BYTES = 64 * 1024;
/** stats_interval_accum_batch = interval >> 6, clamped to [1, 4 MiB]. */
const STATS_INTERVAL_LG_BATCH = 6;
const STATS_INTERVAL_BATCH_MAX_BYTES = 4 << 20;

/** experimental.thread.activity_callback: jemalloc's activity_callback_thunk_t. */
export interface ActivityCallbackThunk {
  callback: ((uctx: unknown, allocated: number, deallocated: number) => void) | null;
  uctx: unknown;
}

export interface ThreadEvents {
  /** Next thresholds of the thread's allocated / deallocated byte counters, per event. */
  gcAllocNext: number;
  gcDallocNext: number;
  peakAllocNext: number;
  peakDallocNext: number;
  statsNext: number;
  /** thread.allocated at the last stats_interval event (its elapsed bytes start there). */
  statsLast: number;
  /** peak_t: the highest net allocation since the last reset, and the net at that reset. */
  peakMax: number;
  peakAdjustment: number;
  activity: ActivityCallbackThunk;
  /** Prints the statistics report with the given options through the heap's writer. */
  printer: ((opts: string) => void) | null;
}

/** The thread's state lives on its context (a field read: a WeakMap get is a hash lookup V8 does not inline). */
function eventsOf(ctx: HeapCtx): ThreadEvents | undefined {
  return ctx.events as ThreadEvents | undefined;
}

function counters(ctx: HeapCtx): [number, number] {
  return [allocatedBytes(ctx), deallocatedBytes(ctx)];
}

// The peak event fires on every large call: read the counters one by one, building nothing.
function allocatedBytes(ctx: HeapCtx): number {
  return ctx.f64[(ctx.threadB + THREAD_ALLOCATED_B) >>> 3]!;
}

function deallocatedBytes(ctx: HeapCtx): number {
  return ctx.f64[(ctx.threadB + THREAD_DEALLOCATED_B) >>> 3]!;
}

function statsBatch(ctx: HeapCtx): number {
  const interval = Number(ctx.optRaw.stats_interval);
  if (interval < 0) return Number.POSITIVE_INFINITY;
  const b = Math.floor(Math.max(interval, 1) / 2 ** STATS_INTERVAL_LG_BATCH);
  return b > STATS_INTERVAL_BATCH_MAX_BYTES ? STATS_INTERVAL_BATCH_MAX_BYTES : b === 0 ? 1 : b;
}

/** te_init for this thread: every event one wait from the current counters. */
export function threadEventsInit(ctx: HeapCtx, gcIncrBytes: number): ThreadEvents {
  const [alloc, dalloc] = counters(ctx);
  const old = eventsOf(ctx);
  const ev: ThreadEvents = {
    gcAllocNext: alloc + gcIncrBytes,
    gcDallocNext: dalloc + gcIncrBytes,
    peakAllocNext: alloc + PEAK_EVENT_WAIT_BYTES,
    peakDallocNext: dalloc + PEAK_EVENT_WAIT_BYTES,
    statsNext: alloc + statsBatch(ctx),
    statsLast: alloc,
    peakMax: old?.peakMax ?? 0,
    peakAdjustment: old?.peakAdjustment ?? 0,
    activity: old?.activity ?? { callback: null, uctx: null },
    printer: old?.printer ?? null,
  };
  ctx.events = ev;
  return ev;
}

export function threadEvents(ctx: HeapCtx): ThreadEvents {
  return eventsOf(ctx) ?? threadEventsInit(ctx, Number.POSITIVE_INFINITY);
}

/** Earliest threshold of the allocation / deallocation events (what the fast paths compare with). */
export function nextAllocEvent(ev: ThreadEvents): number {
  const a = ev.gcAllocNext < ev.peakAllocNext ? ev.gcAllocNext : ev.peakAllocNext;
  return a < ev.statsNext ? a : ev.statsNext;
}
export function nextDallocEvent(ev: ThreadEvents): number {
  return ev.gcDallocNext < ev.peakDallocNext ? ev.gcDallocNext : ev.peakDallocNext;
}

/** peak_event_update: fold the current net allocation into the maximum. */
export function peakUpdate(ctx: HeapCtx, ev: ThreadEvents = threadEvents(ctx)): number {
  const net = allocatedBytes(ctx) - deallocatedBytes(ctx) - ev.peakAdjustment;
  if (net > ev.peakMax) ev.peakMax = net;
  return ev.peakMax;
}

/** peak_event_zero (thread.peak.reset). */
export function peakReset(ctx: HeapCtx): void {
  const ev = threadEvents(ctx);
  const [alloc, dalloc] = counters(ctx);
  ev.peakMax = 0;
  ev.peakAdjustment = alloc - dalloc;
}

/** peak_{alloc,dalloc}_event_handler: update the peak, then call the activity callback. */
function peakEvent(ctx: HeapCtx, ev: ThreadEvents): void {
  peakUpdate(ctx, ev);
  const cb = ev.activity.callback;
  if (cb !== null) {
    const [alloc, dalloc] = counters(ctx);
    cb(ev.activity.uctx, alloc, dalloc);
  }
}

/** The peak and stats_interval events due at `allocated` (the GC event is the caller's). */
export function allocEventsDue(ctx: HeapCtx, ev: ThreadEvents, allocated: number): void {
  if (allocated >= ev.peakAllocNext) {
    ev.peakAllocNext = allocated + PEAK_EVENT_WAIT_BYTES;
    peakEvent(ctx, ev);
  }
  if (allocated >= ev.statsNext) {
    const elapsed = allocated - ev.statsLast;
    ev.statsLast = allocated;
    ev.statsNext = allocated + statsBatch(ctx);
    if (statsIntervalAccum(ctx, elapsed) && ev.printer !== null) ev.printer(ctx.optRaw.stats_interval_opts);
  }
}

export function dallocEventsDue(ctx: HeapCtx, ev: ThreadEvents, deallocated: number): void {
  if (deallocated >= ev.peakDallocNext) {
    ev.peakDallocNext = deallocated + PEAK_EVENT_WAIT_BYTES;
    peakEvent(ctx, ev);
  }
}

/**
 * counter_accum on the heap's stats_interval accumulator: true when adding `bytes` crossed a multiple
 * of the interval (several crossings at once print once, as jemalloc's coalescing does).
 */
function statsIntervalAccum(ctx: HeapCtx, bytes: number): boolean {
  const interval = BigInt(Math.max(Number(ctx.optRaw.stats_interval), 1));
  const cell = new BigInt64Array(ctx.buffer, ctx.u8.byteOffset + HDR_STATS_INTERVAL_ACCUM_B, 1);
  const before = Atomics.add(cell, 0, BigInt(Math.floor(bytes)));
  return (before + BigInt(Math.floor(bytes))) / interval > before / interval;
}
