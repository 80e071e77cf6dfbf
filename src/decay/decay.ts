// decay.ts — jemalloc 5.3's decay state (decay.h / src/decay.c) as a record in the heap buffer.
//
// What it is: one decay record per (arena, extent state) — dirty and muzzy. The page allocator reports how
// many pages sit in its cache; the record turns that into npages_limit, the number of those pages decay still
// allows to stay unpurged. Time is cut into 200 epochs of decay_ms/200 each; backlog[i] holds the pages that
// became unused during epoch (i − 199) relative to now, and each such page keeps the weight h[i] of the
// smootherstep curve (smoothstep.ts), fading from 1 to 0 over decay_ms. Times are passed in explicitly (a
// clock is injected by the arena), so this module is a pure function of its inputs and testable alone.
//
// Invariants (after decayInit, while the caller holds the lock):
//   * decay_ms ∈ {−1} ∪ [0, DECAY_MS_MAX]; mode = sign(decay_ms).
//   * decay_ms > 0: interval = decay_ms·10^6/200 ns; epoch ≤ deadline, and right after any (re)base or
//     advance epoch + interval ≤ deadline < epoch + 2·interval (jitter uniform in [0, interval)).
//   * decay_ms ≤ 0: interval keeps its last positive value (0 if never positive) and deadline = epoch +
//     interval, as in jemalloc; decayMaybeAdvanceEpoch never advances (jemalloc never calls it then).
//   * backlog entries, nunpurged, npages_limit, ceil_npages are page counts in [0, 2^32);
//     npages_limit = floor(Σ backlog[i]·h[i] / 2^24) as of the last advance; ceil_npages ≥ npages_limit.
//   * decayReinit clears backlog and nunpurged and re-seeds the jitter PRNG, but keeps npages_limit (jemalloc
//     does the same; the next advance recomputes it).
//
// Time: nanoseconds held as f64, exact for integers below 2^53 ns (≈ 104 days of clock value), so a clock
// should start near 0 at heap creation. decay_ms above 2^53/5000 (≈ 57 years per full decay) is accepted, as
// jemalloc accepts it, but its interval is then rounded and the jitter drawn over at most 2^53 ns.
// Time going backwards (a clock that is not monotonic) re-bases the epoch to the new time with a fresh
// deadline and purges nothing — jemalloc's non-monotonic-clock rule.
//
// Synchronization: the caller holds the arena's decay lock (jemalloc decay->mtx) for every call, except
// decayImmediately / decayDisabled / decayGradually, which read the `mode` word with Atomics.load and may run
// without it (jemalloc's racy decay_ms_read). decayMsRead reads the f64 decay_ms and wants the lock for an
// exact value. The purge statistics are updated by the purging thread under the same lock.
//
// Errors: RangeError naming the value for a bad record offset, time, page count, decay_ms or seed; Error
// for a record that breaks its own invariants (corruption).

import { prngRangeU64, prngSeedU64 } from "./prng.js";
import { SMOOTHSTEP_BFP, SMOOTHSTEP_H, SMOOTHSTEP_NSTEPS, SMOOTHSTEP_SPLIT_BITS } from "./smoothstep.js";

/** The heap's views; both over the same buffer, starting at byte 0, created once by the caller. */
export interface DecayViews {
  readonly i32: Int32Array;
  readonly f64: Float64Array;
}

// ╒══════════════ Decay record: DECAY_BYTES = 1704 bytes, 8-byte aligned, in the heap buffer ══════════════╕
//  offset  size  field          type      units  meaning
//     0      8   decay_ms       f64       ms     −1 never purge, 0 purge at once, > 0 full decay time
//     8      8   interval       f64       ns     decay_ms·10^6/200, one epoch
//    16      8   epoch          f64       ns     start of the current epoch
//    24      8   deadline       f64       ns     epoch + interval + jitter; advancing needs now ≥ deadline
//    32      8   jitter state   2 × i32   —      u64 LCG state (low word first) drawing the jitter
//    40      8   nunpurged      f64       pages  pages unpurged at the start of this epoch
//    48      8   npages_limit   f64       pages  pages decay lets stay unpurged this epoch
//    56      8   ceil_npages    f64       pages  peak pages, clamped to npages_limit each advance (check)
//    64      8   npurge         f64       count  stats: purge passes
//    72      8   nmadvise       f64       count  stats: purge calls (extents purged)
//    80      8   purged         f64       pages  stats: pages purged
//    88      4   mode           i32       —      sign(decay_ms): −1, 0, 1; Atomics, readable without lock
//    92      4   purging        i32       bool   1 while a thread purges for this record
//    96      8   seed           2 × i32   —      jitter seed (jemalloc: the record address), for reinit
//   104   1600   backlog[200]   f64       pages  pages newly unused per epoch, [199] = newest
// ╘══════════════════════════════════════════════════════════════════════════════════════════════════════╛
export const DECAY_B_DECAY_MS = 0;
export const DECAY_B_INTERVAL_NS = 8;
export const DECAY_B_EPOCH_NS = 16;
export const DECAY_B_DEADLINE_NS = 24;
export const DECAY_B_JITTER_STATE = 32;
export const DECAY_B_NUNPURGED_PAGES = 40;
export const DECAY_B_NPAGES_LIMIT = 48;
export const DECAY_B_CEIL_NPAGES = 56;
export const DECAY_B_NPURGE = 64;
export const DECAY_B_NMADVISE = 72;
export const DECAY_B_PURGED_PAGES = 80;
export const DECAY_B_MODE = 88;
export const DECAY_B_PURGING = 92;
export const DECAY_B_SEED = 96;
export const DECAY_B_BACKLOG = 104;
export const DECAY_BYTES = DECAY_B_BACKLOG + SMOOTHSTEP_NSTEPS * 8;

/** jemalloc NSTIME_SEC_MAX: the largest second count an nstime_t holds. */
export const NSTIME_SEC_MAX = 18446744072;
/** Largest valid decay_ms (decay_ms_valid). */
export const DECAY_MS_MAX = NSTIME_SEC_MAX * 1000;
/** ns per ms divided by the 200 steps: interval = decay_ms · this. */
const NS_PER_MS_PER_STEP = 1_000_000 / SMOOTHSTEP_NSTEPS;
/** decay_ns_until_purge's "sleep indefinitely" (jemalloc DECAY_UNBOUNDED_TIME_TO_PURGE). */
export const DECAY_UNBOUNDED_TIME_TO_PURGE = Number.POSITIVE_INFINITY;
/** Pages worth waking a background purger for (arena_externs.h). */
export const ARENA_DEFERRED_PURGE_NPAGES_THRESHOLD = 1024;

const NPAGES_MAX = 0xffffffff;
const TWO_53 = 2 ** 53;

// ── checks ──────────────────────────────────────────────────────────────────────────────────────────────

function checkRecord(v: DecayViews, decayB: number): void {
  if (
    !Number.isInteger(decayB) ||
    decayB < 0 ||
    decayB % 8 !== 0 ||
    decayB + DECAY_BYTES > v.f64.length * 8
  ) {
    throw new RangeError(
      `decay: record offset ${decayB} is not an 8-aligned offset with ${DECAY_BYTES} bytes inside the heap`,
    );
  }
}

function checkTime(name: string, ns: number): void {
  if (!Number.isSafeInteger(ns) || ns < 0) {
    throw new RangeError(`decay: ${name} ${ns} is not an integer number of ns in [0, 2^53)`);
  }
}

function checkPages(name: string, npages: number): void {
  if (!Number.isInteger(npages) || npages < 0 || npages > NPAGES_MAX) {
    throw new RangeError(`decay: ${name} ${npages} is not an integer page count in [0, 2^32)`);
  }
}

/** decay_ms_valid: −1, or an integer in [0, DECAY_MS_MAX]. */
export function decayMsValid(decayMs: number): boolean {
  return decayMs === -1 || (Number.isInteger(decayMs) && decayMs >= 0 && decayMs <= DECAY_MS_MAX);
}

// ── field access (byte offset → view index; `>>> 3` keeps offsets ≥ 2^31 positive) ─────────────────────────

function f64Get(v: DecayViews, decayB: number, fieldB: number): number {
  return v.f64[(decayB + fieldB) >>> 3]!;
}

function f64Set(v: DecayViews, decayB: number, fieldB: number, x: number): void {
  v.f64[(decayB + fieldB) >>> 3] = x;
}

function modeGet(v: DecayViews, decayB: number): number {
  return Atomics.load(v.i32, (decayB + DECAY_B_MODE) >>> 2);
}

// ── fixed-point sums, exact in doubles ──────────────────────────────────────────────────────────────────

const SPLIT = 2 ** SMOOTHSTEP_SPLIT_BITS;
const ONE = 2 ** SMOOTHSTEP_BFP;

/** floor((hiSum·2^12 + loSum) / 2^24) without forming hiSum·2^12 (which may pass 2^53). */
function floorShrBfp(hiSum: number, loSum: number): number {
  const q = Math.floor(hiSum / SPLIT);
  const r = hiSum - q * SPLIT;
  return q + Math.floor((r * SPLIT + loSum) / ONE);
}

/**
 * floor(Σ backlog[i]·w_k(i) / 2^24), w_k(i) = h[i] − (i ≥ k ? h[i − k] : 0): the pages purged after k more
 * epochs with no new ones (jemalloc decay_npurge_after_interval). k = 200 gives Σ backlog[i]·h[i], the limit.
 * Weights (< 2^25) are split at 2^12 so each partial sum stays below 2^53 for page counts below 2^32.
 */
function backlogSumFloor(v: DecayViews, decayB: number, k: number): number {
  const base = (decayB + DECAY_B_BACKLOG) >>> 3;
  const f64 = v.f64;
  let hiSum = 0;
  let loSum = 0;
  for (let i = 0; i < SMOOTHSTEP_NSTEPS; i++) {
    const pages = f64[base + i]!;
    if (pages === 0) continue;
    const w = SMOOTHSTEP_H[i]! - (i >= k ? SMOOTHSTEP_H[i - k]! : 0);
    const wHi = Math.floor(w / SPLIT);
    hiSum += pages * wHi;
    loSum += pages * (w - wHi * SPLIT);
  }
  return floorShrBfp(hiSum, loSum);
}

/** floor(npages·w / 2^24) for npages < 2^32, w < 2^25, exactly. */
function mulShrBfp(npages: number, w: number): number {
  const wHi = Math.floor(w / SPLIT);
  return floorShrBfp(npages * wHi, npages * (w - wHi * SPLIT));
}

/** floor(dt / interval) for integers dt ≥ 0, interval > 0, corrected for a quotient rounded up to an integer. */
function epochsIn(dt: number, interval: number): number {
  let n = Math.floor(dt / interval);
  if (n * interval > dt) n -= 1;
  return n;
}

// ── init / reinit ───────────────────────────────────────────────────────────────────────────────────────

/** decay_deadline_init: deadline = epoch + interval, plus jitter in [0, interval) when decay_ms > 0. */
function deadlineInit(v: DecayViews, decayB: number): void {
  const interval = f64Get(v, decayB, DECAY_B_INTERVAL_NS);
  let deadline = f64Get(v, decayB, DECAY_B_EPOCH_NS) + interval;
  if (modeGet(v, decayB) > 0) {
    const jitterW = (decayB + DECAY_B_JITTER_STATE) >>> 2;
    deadline += prngRangeU64(v.i32, jitterW, Math.min(interval, TWO_53));
  }
  f64Set(v, decayB, DECAY_B_DEADLINE_NS, deadline);
}

/**
 * decay_init: zero the whole record, remember `seed` for the jitter PRNG (jemalloc uses the record's address;
 * pass e.g. decayB), clear `purging`, then decayReinit. `seed` is an integer in [0, 2^53) or a bigint.
 */
export function decayInit(
  v: DecayViews,
  decayB: number,
  nowNs: number,
  decayMs: number,
  seed: number | bigint,
): void {
  if (v.i32.buffer !== v.f64.buffer || v.i32.byteOffset !== v.f64.byteOffset) {
    throw new TypeError(
      "decay: the Int32Array and Float64Array views must cover the same buffer from the same byte",
    );
  }
  checkRecord(v, decayB);
  checkTime("time", nowNs);
  if (!decayMsValid(decayMs)) {
    throw new RangeError(`decay: decay_ms ${decayMs} is not -1 or an integer in [0, ${DECAY_MS_MAX}]`);
  }
  v.f64.fill(0, decayB >>> 3, (decayB + DECAY_BYTES) >>> 3);
  prngSeedU64(v.i32, (decayB + DECAY_B_SEED) >>> 2, seed);
  decayReinit(v, decayB, nowNs, decayMs);
}

/**
 * decay_reinit: set decay_ms (and the interval when it is > 0), start a fresh epoch at nowNs, re-seed the
 * jitter PRNG from the stored seed, draw a deadline, and forget the backlog and nunpurged.
 */
export function decayReinit(v: DecayViews, decayB: number, nowNs: number, decayMs: number): void {
  checkRecord(v, decayB);
  checkTime("time", nowNs);
  if (!decayMsValid(decayMs)) {
    throw new RangeError(`decay: decay_ms ${decayMs} is not -1 or an integer in [0, ${DECAY_MS_MAX}]`);
  }
  f64Set(v, decayB, DECAY_B_DECAY_MS, decayMs);
  Atomics.store(v.i32, (decayB + DECAY_B_MODE) >>> 2, Math.sign(decayMs));
  if (decayMs > 0) {
    f64Set(v, decayB, DECAY_B_INTERVAL_NS, decayMs * NS_PER_MS_PER_STEP);
  }
  f64Set(v, decayB, DECAY_B_EPOCH_NS, nowNs);
  const seedW = (decayB + DECAY_B_SEED) >>> 2;
  const jitterW = (decayB + DECAY_B_JITTER_STATE) >>> 2;
  v.i32[jitterW] = v.i32[seedW]!;
  v.i32[jitterW + 1] = v.i32[seedW + 1]!;
  deadlineInit(v, decayB);
  f64Set(v, decayB, DECAY_B_NUNPURGED_PAGES, 0);
  const base = (decayB + DECAY_B_BACKLOG) >>> 3;
  v.f64.fill(0, base, base + SMOOTHSTEP_NSTEPS);
}

// ── settings (lock-free readers) ────────────────────────────────────────────────────────────────────────

/** decay_ms_read; exact under the decay lock. */
export function decayMsRead(v: DecayViews, decayB: number): number {
  checkRecord(v, decayB);
  return f64Get(v, decayB, DECAY_B_DECAY_MS);
}

/** decay_ms == 0: every page is purged as soon as it is freed. Lock-free. */
export function decayImmediately(v: DecayViews, decayB: number): boolean {
  checkRecord(v, decayB);
  return modeGet(v, decayB) === 0;
}

/** decay_ms < 0: never purge. Lock-free. */
export function decayDisabled(v: DecayViews, decayB: number): boolean {
  checkRecord(v, decayB);
  return modeGet(v, decayB) < 0;
}

/** decay_ms > 0: gradual decay along the curve. Lock-free. */
export function decayGradually(v: DecayViews, decayB: number): boolean {
  checkRecord(v, decayB);
  return modeGet(v, decayB) > 0;
}

// ── epochs ──────────────────────────────────────────────────────────────────────────────────────────────

/**
 * decay_backlog_update: shift the backlog left by n epochs (n ≥ 200 clears it), then record the pages that
 * became unused since the last advance as the newest entry.
 */
function backlogUpdate(v: DecayViews, decayB: number, n: number, npagesCurrent: number): void {
  const base = (decayB + DECAY_B_BACKLOG) >>> 3;
  const last = base + SMOOTHSTEP_NSTEPS - 1;
  if (n >= SMOOTHSTEP_NSTEPS) {
    v.f64.fill(0, base, last);
  } else {
    v.f64.copyWithin(base, base + n, base + SMOOTHSTEP_NSTEPS);
    if (n > 1) v.f64.fill(0, base + SMOOTHSTEP_NSTEPS - n, last);
  }
  const nunpurged = f64Get(v, decayB, DECAY_B_NUNPURGED_PAGES);
  v.f64[last] = npagesCurrent > nunpurged ? npagesCurrent - nunpurged : 0;
}

/** Store the new limit, keep ceil_npages (jemalloc's debug check) and nunpurged = max(limit, current). */
function limitUpdate(v: DecayViews, decayB: number, npagesCurrent: number): void {
  const limit = backlogSumFloor(v, decayB, SMOOTHSTEP_NSTEPS);
  const ceil = Math.max(f64Get(v, decayB, DECAY_B_CEIL_NPAGES), npagesCurrent);
  if (ceil < limit) {
    throw new Error(
      `decay: record at ${decayB} is corrupted: npages_limit ${limit} exceeds peak pages ${ceil}`,
    );
  }
  f64Set(v, decayB, DECAY_B_CEIL_NPAGES, limit);
  f64Set(v, decayB, DECAY_B_NPAGES_LIMIT, limit);
  f64Set(v, decayB, DECAY_B_NUNPURGED_PAGES, Math.max(limit, npagesCurrent));
}

/**
 * decay_maybe_advance_epoch: if nowNs has reached the deadline, move the epoch forward by whole intervals,
 * draw a new deadline, shift the backlog and recompute npages_limit from npagesCurrent (the pages now in the
 * cache). Returns true iff the epoch advanced. Time before the epoch re-bases the epoch to nowNs (no
 * advance, no purge). With decay_ms ≤ 0 it returns false and changes nothing.
 */
export function decayMaybeAdvanceEpoch(
  v: DecayViews,
  decayB: number,
  nowNs: number,
  npagesCurrent: number,
): boolean {
  checkRecord(v, decayB);
  checkTime("time", nowNs);
  checkPages("current page count", npagesCurrent);
  if (modeGet(v, decayB) <= 0) return false;
  let epoch = f64Get(v, decayB, DECAY_B_EPOCH_NS);
  if (epoch > nowNs) {
    // Clock went backwards: start this epoch over at nowNs.
    f64Set(v, decayB, DECAY_B_EPOCH_NS, nowNs);
    deadlineInit(v, decayB);
    return false;
  }
  if (f64Get(v, decayB, DECAY_B_DEADLINE_NS) > nowNs) return false;
  const interval = f64Get(v, decayB, DECAY_B_INTERVAL_NS);
  const n = epochsIn(nowNs - epoch, interval);
  if (n < 1) {
    throw new Error(`decay: record at ${decayB} is corrupted: deadline reached before one interval passed`);
  }
  epoch += n * interval;
  f64Set(v, decayB, DECAY_B_EPOCH_NS, epoch);
  deadlineInit(v, decayB);
  backlogUpdate(v, decayB, n, npagesCurrent);
  limitUpdate(v, decayB, npagesCurrent);
  return true;
}

/** decay_npages_limit_get: pages decay lets stay unpurged this epoch. */
export function decayNpagesLimit(v: DecayViews, decayB: number): number {
  checkRecord(v, decayB);
  return f64Get(v, decayB, DECAY_B_NPAGES_LIMIT);
}

/** decay_epoch_npages_delta: pages that became unused during the epoch that just ended (backlog[199]). */
export function decayEpochNpagesDelta(v: DecayViews, decayB: number): number {
  checkRecord(v, decayB);
  return v.f64[((decayB + DECAY_B_BACKLOG) >>> 3) + SMOOTHSTEP_NSTEPS - 1]!;
}

// ── background-thread scheduling ────────────────────────────────────────────────────────────────────────

function backlogEmpty(v: DecayViews, decayB: number): boolean {
  const base = (decayB + DECAY_B_BACKLOG) >>> 3;
  for (let i = 0; i < SMOOTHSTEP_NSTEPS; i++) {
    if (v.f64[base + i] !== 0) return false;
  }
  return true;
}

/**
 * decay_ns_until_purge: how long a background purger may sleep before about npagesThreshold pages (between
 * 0.5× and 1.5×) become purgeable. Infinity when decay is not gradual or nothing was ever recorded;
 * 200 intervals when at most npagesThreshold pages are cached; otherwise a bisection over 2..200 epochs.
 */
export function decayNsUntilPurge(
  v: DecayViews,
  decayB: number,
  npagesCurrent: number,
  npagesThreshold: number = ARENA_DEFERRED_PURGE_NPAGES_THRESHOLD,
): number {
  checkRecord(v, decayB);
  checkPages("current page count", npagesCurrent);
  if (!Number.isSafeInteger(npagesThreshold) || npagesThreshold < 0) {
    throw new RangeError(`decay: page threshold ${npagesThreshold} is not a non-negative integer`);
  }
  if (modeGet(v, decayB) <= 0) return DECAY_UNBOUNDED_TIME_TO_PURGE;
  const interval = f64Get(v, decayB, DECAY_B_INTERVAL_NS);
  if (npagesCurrent === 0 && backlogEmpty(v, decayB)) return DECAY_UNBOUNDED_TIME_TO_PURGE;
  if (npagesCurrent <= npagesThreshold) return interval * SMOOTHSTEP_NSTEPS;
  // At least 2 epochs, so the wait covers the next deadline.
  let lb = 2;
  let ub = SMOOTHSTEP_NSTEPS;
  let npurgeLb = backlogSumFloor(v, decayB, lb);
  if (npurgeLb > npagesThreshold) return interval * lb;
  let npurgeUb = backlogSumFloor(v, decayB, ub);
  if (npurgeUb < npagesThreshold) return interval * ub;
  // Bisect while the bracket is wider than the threshold; at most ⌊lg 200⌋ + 1 = 8 steps.
  while (npurgeLb + npagesThreshold < npurgeUb && lb + 2 < ub) {
    const target = Math.floor((lb + ub) / 2);
    const npurge = backlogSumFloor(v, decayB, target);
    if (npurge > npagesThreshold) {
      ub = target;
      npurgeUb = npurge;
    } else {
      lb = target;
      npurgeLb = npurge;
    }
  }
  return Math.floor((interval * (ub + lb)) / 2);
}

/**
 * decay_npages_purge_in: of npagesNew pages freed at the epoch start, how many decay expects purged after
 * timeNs more ns (arena_should_decay_early). Requires decay_ms > 0, as jemalloc's callers ensure.
 */
export function decayNpagesPurgeIn(v: DecayViews, decayB: number, timeNs: number, npagesNew: number): number {
  checkRecord(v, decayB);
  checkTime("duration", timeNs);
  checkPages("new page count", npagesNew);
  if (modeGet(v, decayB) <= 0) {
    throw new RangeError(
      `decay: decayNpagesPurgeIn needs gradual decay, but decay_ms is ${f64Get(v, decayB, DECAY_B_DECAY_MS)}`,
    );
  }
  const nEpoch = epochsIn(timeNs, f64Get(v, decayB, DECAY_B_INTERVAL_NS));
  if (nEpoch >= SMOOTHSTEP_NSTEPS) return npagesNew;
  const last = SMOOTHSTEP_NSTEPS - 1;
  return mulShrBfp(npagesNew, SMOOTHSTEP_H[last]! - SMOOTHSTEP_H[last - nEpoch]!);
}

// ── state readers (tests, stats, background thread) ────────────────────────────────────────────────────────

/** decay_epoch_duration_ns: one epoch (0 if decay_ms was never > 0). */
export function decayIntervalNs(v: DecayViews, decayB: number): number {
  checkRecord(v, decayB);
  return f64Get(v, decayB, DECAY_B_INTERVAL_NS);
}

/** Start of the current epoch (ns); arena_should_decay_early measures the sleep left from here. */
export function decayEpochNs(v: DecayViews, decayB: number): number {
  checkRecord(v, decayB);
  return f64Get(v, decayB, DECAY_B_EPOCH_NS);
}

/** Time (ns) from which the next call may advance the epoch. */
export function decayDeadlineNs(v: DecayViews, decayB: number): number {
  checkRecord(v, decayB);
  return f64Get(v, decayB, DECAY_B_DEADLINE_NS);
}

/** Pages unpurged at the start of the current epoch. */
export function decayNunpurged(v: DecayViews, decayB: number): number {
  checkRecord(v, decayB);
  return f64Get(v, decayB, DECAY_B_NUNPURGED_PAGES);
}

/** Peak pages (clamped to npages_limit on each advance); jemalloc's debug-only ceil_npages. */
export function decayCeilNpages(v: DecayViews, decayB: number): number {
  checkRecord(v, decayB);
  return f64Get(v, decayB, DECAY_B_CEIL_NPAGES);
}

/** backlog[i], i in [0, 200): pages newly unused (199 − i) epochs before the current one. */
export function decayBacklogGet(v: DecayViews, decayB: number, i: number): number {
  checkRecord(v, decayB);
  if (!Number.isInteger(i) || i < 0 || i >= SMOOTHSTEP_NSTEPS) {
    throw new RangeError(`decay: backlog index ${i} is not an integer in [0, ${SMOOTHSTEP_NSTEPS})`);
  }
  return v.f64[((decayB + DECAY_B_BACKLOG) >>> 3) + i]!;
}

// ── purging flag and statistics ─────────────────────────────────────────────────────────────────────────

/** True while some thread purges for this record (jemalloc decay->purging); under the decay lock. */
export function decayPurgingGet(v: DecayViews, decayB: number): boolean {
  checkRecord(v, decayB);
  return v.i32[(decayB + DECAY_B_PURGING) >>> 2] !== 0;
}

export function decayPurgingSet(v: DecayViews, decayB: number, purging: boolean): void {
  checkRecord(v, decayB);
  v.i32[(decayB + DECAY_B_PURGING) >>> 2] = purging ? 1 : 0;
}

/** One purge pass finished: npurge += 1, nmadvise += nmadvise, purged += purgedPages. */
export function decayRecordPurge(v: DecayViews, decayB: number, nmadvise: number, purgedPages: number): void {
  checkRecord(v, decayB);
  if (!Number.isSafeInteger(nmadvise) || nmadvise < 0) {
    throw new RangeError(`decay: nmadvise ${nmadvise} is not a non-negative integer`);
  }
  if (!Number.isSafeInteger(purgedPages) || purgedPages < 0) {
    throw new RangeError(`decay: purged page count ${purgedPages} is not a non-negative integer`);
  }
  f64Set(v, decayB, DECAY_B_NPURGE, f64Get(v, decayB, DECAY_B_NPURGE) + 1);
  f64Set(v, decayB, DECAY_B_NMADVISE, f64Get(v, decayB, DECAY_B_NMADVISE) + nmadvise);
  f64Set(v, decayB, DECAY_B_PURGED_PAGES, f64Get(v, decayB, DECAY_B_PURGED_PAGES) + purgedPages);
}

/** Purge statistics (stats.arenas.<i>.{dirty,muzzy}_{npurge,nmadvise,purged}); exact below 2^53. */
export interface DecayStats {
  npurge: number;
  nmadvise: number;
  purged: number;
}

export function decayStatsRead(v: DecayViews, decayB: number): DecayStats {
  checkRecord(v, decayB);
  return {
    npurge: f64Get(v, decayB, DECAY_B_NPURGE),
    nmadvise: f64Get(v, decayB, DECAY_B_NMADVISE),
    purged: f64Get(v, decayB, DECAY_B_PURGED_PAGES),
  };
}
