import fc from "fast-check";
import { describe, expect, it } from "vitest";
import {
  ARENA_DEFERRED_PURGE_NPAGES_THRESHOLD,
  DECAY_B_BACKLOG,
  DECAY_B_CEIL_NPAGES,
  DECAY_B_DEADLINE_NS,
  DECAY_B_DECAY_MS,
  DECAY_B_EPOCH_NS,
  DECAY_B_INTERVAL_NS,
  DECAY_B_JITTER_STATE,
  DECAY_B_MODE,
  DECAY_B_NMADVISE,
  DECAY_B_NPAGES_LIMIT,
  DECAY_B_NPURGE,
  DECAY_B_NUNPURGED_PAGES,
  DECAY_B_PURGED_PAGES,
  DECAY_B_PURGING,
  DECAY_B_SEED,
  DECAY_BYTES,
  DECAY_MS_MAX,
  type DecayViews,
  decayBacklogGet,
  decayCeilNpages,
  decayDeadlineNs,
  decayDisabled,
  decayEpochNpagesDelta,
  decayEpochNs,
  decayGradually,
  decayImmediately,
  decayInit,
  decayIntervalNs,
  decayMaybeAdvanceEpoch,
  decayMsRead,
  decayMsValid,
  decayNpagesLimit,
  decayNpagesPurgeIn,
  decayNsUntilPurge,
  decayNunpurged,
  decayPurgingGet,
  decayPurgingSet,
  decayRecordPurge,
  decayReinit,
  decayStatsRead,
} from "../../src/decay/decay.js";

// ── helpers ─────────────────────────────────────────────────────────────────────────────────────────────

const HEAP_BYTES = 16 * 1024;
const REC = 8200; // an 8-aligned, not page-aligned record offset
const SENTINEL = 7.25;

function makeHeap(): DecayViews {
  const buf = new SharedArrayBuffer(HEAP_BYTES);
  const v = { i32: new Int32Array(buf), f64: new Float64Array(buf) };
  v.f64.fill(SENTINEL);
  return v;
}

function outsideUntouched(v: DecayViews): boolean {
  for (let i = 0; i < v.f64.length; i++) {
    const b = i * 8;
    if ((b < REC || b >= REC + DECAY_BYTES) && v.f64[i] !== SENTINEL) return false;
  }
  return true;
}

function backlogOf(v: DecayViews): number[] {
  return Array.from({ length: 200 }, (_, i) => decayBacklogGet(v, REC, i));
}

/** floor(2^24·y(k/200)), exact rationals: an independent copy of the curve. */
function exactH(k: number): bigint {
  const K = BigInt(k);
  return ((K ** 3n * (6n * K * K - 3000n * K + 400000n)) << 24n) / 200n ** 5n;
}
const H: bigint[] = Array.from({ length: 200 }, (_, i) => exactH(i + 1));

const next64 = (s: bigint): bigint => BigInt.asUintN(64, s * 6364136223846793005n + 1442695040888963407n);

/** The decay state of jemalloc 5.3 written plainly in BigInt: the reference the record is checked against. */
class Model {
  ms = 0;
  interval = 0n;
  epoch = 0n;
  deadline = 0n;
  jitter = 0n;
  backlog: bigint[] = new Array(200).fill(0n);
  nunpurged = 0n;
  limit = 0n;
  npurgeCache: bigint[] | null = null;

  constructor(
    now: bigint,
    ms: number,
    readonly seed: bigint,
  ) {
    this.reinit(now, ms);
  }

  reinit(now: bigint, ms: number): void {
    this.ms = ms;
    if (ms > 0) this.interval = (BigInt(ms) * 1_000_000n) / 200n;
    this.epoch = now;
    this.jitter = this.seed;
    this.newDeadline();
    this.nunpurged = 0n;
    this.backlog.fill(0n);
  }

  draw(range: bigint): bigint {
    if (range === 1n) return 0n;
    const lg = BigInt((range - 1n).toString(2).length);
    let r: bigint;
    do {
      this.jitter = next64(this.jitter);
      r = this.jitter >> (64n - lg);
    } while (r >= range);
    return r;
  }

  newDeadline(): void {
    this.deadline = this.epoch + this.interval + (this.ms > 0 ? this.draw(this.interval) : 0n);
  }

  advance(now: bigint, npages: bigint): boolean {
    if (this.ms <= 0) return false;
    this.npurgeCache = null;
    if (now < this.epoch) {
      this.epoch = now;
      this.newDeadline();
      return false;
    }
    if (now < this.deadline) return false;
    const n = (now - this.epoch) / this.interval;
    this.epoch += n * this.interval;
    this.newDeadline();
    const old = this.backlog.slice();
    for (let i = 0; i < 200; i++) this.backlog[i] = BigInt(i) + n < 200n ? old[i + Number(n)]! : 0n;
    this.backlog[199] = npages > this.nunpurged ? npages - this.nunpurged : 0n;
    this.limit = this.backlog.reduce((s, b, i) => s + b * H[i]!, 0n) >> 24n;
    this.nunpurged = this.limit > npages ? this.limit : npages;
    return true;
  }

  /** Pages purged after k more epochs with no new pages: what must remain now minus what must remain then. */
  npurgeAfter(k: number): bigint {
    let now = 0n;
    let later = 0n;
    for (let i = 0; i < 200; i++) {
      now += this.backlog[i]! * H[i]!;
      if (i >= k) later += this.backlog[i]! * H[i - k]!;
    }
    return (now - later) >> 24n;
  }

  /** npurgeAfter(k) for every k in [2, 200] (entries 0 and 1 unused), cached until the next advance. */
  npurgeTable(): bigint[] {
    if (this.npurgeCache === null) {
      this.npurgeCache = [];
      for (let k = 0; k <= 200; k++) this.npurgeCache.push(k < 2 ? 0n : this.npurgeAfter(k));
    }
    return this.npurgeCache;
  }

  /** decay_ns_until_purge by brute force: all 199 purge amounts first, then jemalloc's bracket on that table. */
  nsUntilPurge(cur: bigint, threshold: bigint): number {
    if (this.ms <= 0) return Number.POSITIVE_INFINITY;
    if (cur === 0n && this.backlog.every((b) => b === 0n)) return Number.POSITIVE_INFINITY;
    if (cur <= threshold) return Number(this.interval * 200n);
    const np = this.npurgeTable();
    for (let k = 3; k <= 200; k++) expect(np[k]! >= np[k - 1]!).toBe(true); // purge grows with time
    let lb = 2;
    let ub = 200;
    if (np[lb]! > threshold) return Number(this.interval * 2n);
    if (np[ub]! < threshold) return Number(this.interval * 200n);
    while (np[lb]! + threshold < np[ub]! && lb + 2 < ub) {
      const t = Math.floor((lb + ub) / 2);
      if (np[t]! > threshold) ub = t;
      else lb = t;
    }
    // The bracket holds the first epoch count whose purge exceeds the threshold.
    const first = np.findIndex((x, k) => k >= 2 && x > threshold);
    expect(np[lb]! <= threshold).toBe(true);
    expect(np[ub]! >= threshold).toBe(true);
    if (first !== -1) expect(lb < first && (ub >= first || np[ub] === threshold)).toBe(true);
    return Number((this.interval * BigInt(lb + ub)) / 2n);
  }
}

function expectSame(v: DecayViews, m: Model): void {
  expect(decayEpochNs(v, REC)).toBe(Number(m.epoch));
  expect(decayDeadlineNs(v, REC)).toBe(Number(m.deadline));
  expect(decayNpagesLimit(v, REC)).toBe(Number(m.limit));
  expect(decayNunpurged(v, REC)).toBe(Number(m.nunpurged));
  expect(backlogOf(v)).toEqual(m.backlog.map(Number));
}

const MS = 1000;
const INTERVAL = 5_000_000; // 1000 ms / 200
const DECAY_NS = 1_000_000_000;

// ── layout ──────────────────────────────────────────────────────────────────────────────────────────────

describe("decay record layout", () => {
  it("fields are aligned, disjoint, and fill DECAY_BYTES exactly", () => {
    const fields: [string, number, number, number][] = [
      // name, offset, size, alignment
      ["decay_ms", DECAY_B_DECAY_MS, 8, 8],
      ["interval", DECAY_B_INTERVAL_NS, 8, 8],
      ["epoch", DECAY_B_EPOCH_NS, 8, 8],
      ["deadline", DECAY_B_DEADLINE_NS, 8, 8],
      ["jitter", DECAY_B_JITTER_STATE, 8, 4],
      ["nunpurged", DECAY_B_NUNPURGED_PAGES, 8, 8],
      ["npages_limit", DECAY_B_NPAGES_LIMIT, 8, 8],
      ["ceil_npages", DECAY_B_CEIL_NPAGES, 8, 8],
      ["npurge", DECAY_B_NPURGE, 8, 8],
      ["nmadvise", DECAY_B_NMADVISE, 8, 8],
      ["purged", DECAY_B_PURGED_PAGES, 8, 8],
      ["mode", DECAY_B_MODE, 4, 4],
      ["purging", DECAY_B_PURGING, 4, 4],
      ["seed", DECAY_B_SEED, 8, 4],
      ["backlog", DECAY_B_BACKLOG, 1600, 8],
    ];
    const sorted = fields.slice().sort((a, b) => a[1] - b[1]);
    let end = 0;
    for (const [name, off, size, align] of sorted) {
      expect(off, name).toBe(end);
      expect(off % align, name).toBe(0);
      end = off + size;
    }
    expect(end).toBe(DECAY_BYTES);
    expect(DECAY_BYTES).toBe(1704);
    expect(DECAY_BYTES % 8).toBe(0);
  });
});

// ── init, settings, bad input ───────────────────────────────────────────────────────────────────────────

describe("decay init and settings", () => {
  it("initializes as jemalloc's decay_init (test_decay_init)", () => {
    const v = makeHeap();
    decayInit(v, REC, 1234, MS, REC);
    expect(decayMsRead(v, REC)).toBe(MS);
    expect(decayIntervalNs(v, REC)).toBe(INTERVAL);
    expect(decayEpochNs(v, REC)).toBe(1234);
    const jitter = decayDeadlineNs(v, REC) - 1234 - INTERVAL;
    expect(jitter).toBeGreaterThanOrEqual(0);
    expect(jitter).toBeLessThan(INTERVAL);
    expect(decayNpagesLimit(v, REC)).toBe(0);
    expect(decayNunpurged(v, REC)).toBe(0);
    expect(decayCeilNpages(v, REC)).toBe(0);
    expect(backlogOf(v).every((b) => b === 0)).toBe(true);
    expect(decayStatsRead(v, REC)).toEqual({ npurge: 0, nmadvise: 0, purged: 0 });
    expect(decayPurgingGet(v, REC)).toBe(false);
    expect(decayGradually(v, REC)).toBe(true);
    expect(decayImmediately(v, REC)).toBe(false);
    expect(decayDisabled(v, REC)).toBe(false);
    expect(outsideUntouched(v)).toBe(true);
    const m = new Model(1234n, MS, BigInt(REC));
    expectSame(v, m);
  });

  it("validates decay_ms as decay_ms_valid (test_decay_ms_valid)", () => {
    expect(decayMsValid(-7)).toBe(false);
    expect(decayMsValid(-1)).toBe(true);
    expect(decayMsValid(0)).toBe(true);
    expect(decayMsValid(8943)).toBe(true);
    expect(decayMsValid(DECAY_MS_MAX)).toBe(true);
    expect(decayMsValid(DECAY_MS_MAX + 39)).toBe(false);
    expect(decayMsValid(1.5)).toBe(false);
    expect(decayMsValid(Number.NaN)).toBe(false);
  });

  it("decay_ms 0 purges immediately: no epochs, no schedule", () => {
    const v = makeHeap();
    decayInit(v, REC, 100, 0, REC);
    expect(decayImmediately(v, REC)).toBe(true);
    expect(decayDisabled(v, REC)).toBe(false);
    expect(decayGradually(v, REC)).toBe(false);
    expect(decayIntervalNs(v, REC)).toBe(0);
    expect(decayDeadlineNs(v, REC)).toBe(100); // epoch + interval, no jitter
    for (const t of [100, 101, 10 ** 12]) expect(decayMaybeAdvanceEpoch(v, REC, t, 5000)).toBe(false);
    expect(decayEpochNs(v, REC)).toBe(100);
    expect(decayNpagesLimit(v, REC)).toBe(0);
    expect(decayNsUntilPurge(v, REC, 5000)).toBe(Number.POSITIVE_INFINITY);
    expect(() => decayNpagesPurgeIn(v, REC, 10, 10)).toThrow(RangeError);
  });

  it("decay_ms -1 never purges", () => {
    const v = makeHeap();
    decayInit(v, REC, 0, -1, REC);
    expect(decayDisabled(v, REC)).toBe(true);
    expect(decayImmediately(v, REC)).toBe(false);
    expect(decayGradually(v, REC)).toBe(false);
    expect(decayMaybeAdvanceEpoch(v, REC, 10 ** 15, 1 << 20)).toBe(false);
    expect(decayNpagesLimit(v, REC)).toBe(0);
    expect(decayNsUntilPurge(v, REC, 1 << 20)).toBe(Number.POSITIVE_INFINITY);
  });

  it("reinit re-seeds the jitter, clears backlog and nunpurged, keeps npages_limit and the old interval", () => {
    const v = makeHeap();
    decayInit(v, REC, 0, MS, REC);
    const firstDeadline = decayDeadlineNs(v, REC);
    let t = 0;
    for (let i = 0; i < 5; i++) {
      t += 2 * INTERVAL;
      expect(decayMaybeAdvanceEpoch(v, REC, t, 1000 * (i + 1))).toBe(true);
    }
    const limit = decayNpagesLimit(v, REC);
    expect(limit).toBeGreaterThan(0);

    decayReinit(v, REC, 0, MS);
    expect(decayDeadlineNs(v, REC)).toBe(firstDeadline); // same seed, same time → same draw
    expect(decayNpagesLimit(v, REC)).toBe(limit);
    expect(decayNunpurged(v, REC)).toBe(0);
    expect(backlogOf(v).every((b) => b === 0)).toBe(true);

    decayReinit(v, REC, 777, 0);
    expect(decayMsRead(v, REC)).toBe(0);
    expect(decayIntervalNs(v, REC)).toBe(INTERVAL);
    expect(decayDeadlineNs(v, REC)).toBe(777 + INTERVAL);
    expect(decayMaybeAdvanceEpoch(v, REC, 777 + 10 * INTERVAL, 10)).toBe(false);

    decayReinit(v, REC, 1000, 2000);
    expect(decayIntervalNs(v, REC)).toBe(2 * INTERVAL);
    expect(decayGradually(v, REC)).toBe(true);
    expect(outsideUntouched(v)).toBe(true);
  });

  it("keeps purging flag and purge statistics", () => {
    const v = makeHeap();
    decayInit(v, REC, 0, MS, REC);
    decayPurgingSet(v, REC, true);
    expect(decayPurgingGet(v, REC)).toBe(true);
    decayPurgingSet(v, REC, false);
    expect(decayPurgingGet(v, REC)).toBe(false);
    decayRecordPurge(v, REC, 3, 40);
    decayRecordPurge(v, REC, 0, 0);
    decayRecordPurge(v, REC, 2, 2 ** 40);
    expect(decayStatsRead(v, REC)).toEqual({ npurge: 3, nmadvise: 5, purged: 2 ** 40 + 40 });
    expect(outsideUntouched(v)).toBe(true);
  });

  it("rejects bad input with errors naming the value", () => {
    const v = makeHeap();
    expect(() => decayInit(v, 4, 0, MS, 0)).toThrow(/record offset 4/);
    expect(() => decayInit(v, -8, 0, MS, 0)).toThrow(RangeError);
    expect(() => decayInit(v, HEAP_BYTES - 8, 0, MS, 0)).toThrow(RangeError);
    expect(() => decayInit(v, Number.NaN, 0, MS, 0)).toThrow(RangeError);
    expect(() => decayInit(v, REC, -1, MS, 0)).toThrow(/time -1/);
    expect(() => decayInit(v, REC, 0.5, MS, 0)).toThrow(RangeError);
    expect(() => decayInit(v, REC, 0, -2, 0)).toThrow(/decay_ms -2/);
    expect(() => decayInit(v, REC, 0, 1.5, 0)).toThrow(RangeError);
    expect(() => decayInit(v, REC, 0, MS, -3)).toThrow(/seed -3/);
    const other = { i32: new Int32Array(new SharedArrayBuffer(HEAP_BYTES)), f64: v.f64 };
    expect(() => decayInit(other, REC, 0, MS, 0)).toThrow(TypeError);
    decayInit(v, REC, 0, MS, REC);
    expect(() => decayMaybeAdvanceEpoch(v, REC, Number.NaN, 0)).toThrow(RangeError);
    expect(() => decayMaybeAdvanceEpoch(v, REC, 0, -1)).toThrow(/page count -1/);
    expect(() => decayMaybeAdvanceEpoch(v, REC, 0, 2 ** 32)).toThrow(RangeError);
    expect(() => decayNsUntilPurge(v, REC, 0, -1)).toThrow(RangeError);
    expect(() => decayNpagesPurgeIn(v, REC, -5, 1)).toThrow(RangeError);
    expect(() => decayBacklogGet(v, REC, 200)).toThrow(RangeError);
    expect(() => decayRecordPurge(v, REC, -1, 0)).toThrow(RangeError);
    expect(() => decayReinit(v, REC, 0, -5)).toThrow(RangeError);
    expect(outsideUntouched(v)).toBe(true);
  });
});

// ── epochs (jemalloc test/unit/decay.c shapes, plus time edge cases) ───────────────────────────────────────

describe("decay epochs", () => {
  it("advances only once the jittered deadline passes (test_decay_maybe_advance_epoch)", () => {
    const v = makeHeap();
    decayInit(v, REC, 0, MS, REC);
    expect(decayDeadlineNs(v, REC)).toBeGreaterThan(INTERVAL); // this seed draws a nonzero jitter
    expect(decayMaybeAdvanceEpoch(v, REC, 0, 0)).toBe(false);
    expect(decayMaybeAdvanceEpoch(v, REC, INTERVAL, 0)).toBe(false);
    expect(decayMaybeAdvanceEpoch(v, REC, 2 * INTERVAL, 0)).toBe(true);
    expect(decayEpochNs(v, REC)).toBe(2 * INTERVAL);
  });

  it("does not advance while time stands still", () => {
    const v = makeHeap();
    decayInit(v, REC, 500, MS, REC);
    const deadline = decayDeadlineNs(v, REC);
    for (let i = 0; i < 100; i++) expect(decayMaybeAdvanceEpoch(v, REC, 500, 1000)).toBe(false);
    expect(decayDeadlineNs(v, REC)).toBe(deadline);
    expect(decayMaybeAdvanceEpoch(v, REC, deadline - 1, 1000)).toBe(false);
    expect(decayMaybeAdvanceEpoch(v, REC, deadline, 1000)).toBe(true);
    const d2 = decayDeadlineNs(v, REC);
    for (let i = 0; i < 10; i++) expect(decayMaybeAdvanceEpoch(v, REC, deadline, 1000)).toBe(false);
    expect(decayDeadlineNs(v, REC)).toBe(d2);
  });

  it("never raises npages_limit without pages (test_decay_empty)", () => {
    const v = makeHeap();
    decayInit(v, REC, 0, MS, REC);
    const step = INTERVAL / 5;
    let nepochs = 0;
    for (let i = 0; i < (DECAY_NS / step) * 10; i++) {
      if (decayMaybeAdvanceEpoch(v, REC, i * step, 0)) {
        nepochs++;
        expect(decayNpagesLimit(v, REC)).toBe(0);
      }
    }
    expect(nepochs).toBeGreaterThan(1000);
  });

  it("npages_limit decays over decay_ms and reaches 0 (test_decay)", () => {
    const v = makeHeap();
    decayInit(v, REC, 0, MS, REC);
    let t = 0;
    let dirty = 0;
    let advanced = false;
    for (let i = 0; i < 10; i++) {
      t += INTERVAL;
      dirty += 1000;
      advanced = decayMaybeAdvanceEpoch(v, REC, t, dirty) || advanced;
    }
    expect(advanced).toBe(true);
    let limit = decayNpagesLimit(v, REC);
    expect(limit).toBeGreaterThan(0);
    for (let i = 10; i * INTERVAL < DECAY_NS; i++) {
      t += INTERVAL;
      if (decayMaybeAdvanceEpoch(v, REC, t, dirty)) {
        const next = decayNpagesLimit(v, REC);
        expect(next).toBeLessThan(limit);
        limit = next;
      }
    }
    expect(limit).toBeGreaterThan(0);
    for (let i = 0; i < 10; i++) {
      t += INTERVAL;
      decayMaybeAdvanceEpoch(v, REC, t, dirty);
    }
    expect(decayNpagesLimit(v, REC)).toBe(0);
    expect(outsideUntouched(v)).toBe(true);
  });

  it("n ≥ 200 epochs at once keep only the newest pages; 199 keep the oldest entry at weight h[0]", () => {
    const v = makeHeap();
    decayInit(v, REC, 0, MS, REC);
    let t = 0;
    for (let i = 1; i <= 20; i++) {
      t = 2 * i * INTERVAL;
      expect(decayMaybeAdvanceEpoch(v, REC, t, 100 * i)).toBe(true);
    }
    const epoch = decayEpochNs(v, REC);
    const newest = decayEpochNpagesDelta(v, REC);
    expect(newest).toBe(100);
    const nunpurged = decayNunpurged(v, REC);
    expect(nunpurged).toBe(2000); // max(limit, pages) and the limit never exceeds the pages

    const w = makeHeap();
    w.f64.set(v.f64); // clone the record
    // 199 intervals later: the old newest entry slides to backlog[0].
    expect(decayMaybeAdvanceEpoch(w, REC, epoch + 199 * INTERVAL, 2000)).toBe(true);
    expect(decayBacklogGet(w, REC, 0)).toBe(newest);
    expect(
      backlogOf(w)
        .slice(1, 199)
        .every((b) => b === 0),
    ).toBe(true);

    expect(decayMaybeAdvanceEpoch(v, REC, epoch + 200 * INTERVAL + 123, 5000)).toBe(true);
    expect(decayEpochNs(v, REC)).toBe(epoch + 200 * INTERVAL);
    const b = backlogOf(v);
    expect(b.slice(0, 199).every((x) => x === 0)).toBe(true);
    expect(b[199]).toBe(5000 - nunpurged);
    expect(decayNpagesLimit(v, REC)).toBe(b[199]);
  });

  it("time jumping forward hours advances by whole intervals in one step", () => {
    const v = makeHeap();
    const ms = 10_000;
    const interval = 50_000_000;
    decayInit(v, REC, 0, ms, REC);
    expect(decayMaybeAdvanceEpoch(v, REC, 3 * interval, 4000)).toBe(true);
    const now = 3 * 3600 * 1e9 + 12345;
    expect(decayMaybeAdvanceEpoch(v, REC, now, 4100)).toBe(true);
    const epoch = decayEpochNs(v, REC);
    expect(epoch % interval).toBe(0);
    expect(epoch).toBeLessThanOrEqual(now);
    expect(now - epoch).toBeLessThan(interval);
    expect(decayNpagesLimit(v, REC)).toBe(100);
    expect(decayEpochNpagesDelta(v, REC)).toBe(100);
    expect(decayNunpurged(v, REC)).toBe(4100);
    const jitter = decayDeadlineNs(v, REC) - epoch - interval;
    expect(jitter >= 0 && jitter < interval).toBe(true);
  });

  it("time going backwards re-bases the epoch without purging or negative counters", () => {
    const v = makeHeap();
    decayInit(v, REC, 10 * INTERVAL, MS, REC);
    expect(decayMaybeAdvanceEpoch(v, REC, 13 * INTERVAL, 3000)).toBe(true);
    const limit = decayNpagesLimit(v, REC);
    const backlog = backlogOf(v);
    const nunpurged = decayNunpurged(v, REC);

    const back = 4 * INTERVAL + 17;
    expect(decayMaybeAdvanceEpoch(v, REC, back, 0)).toBe(false);
    expect(decayEpochNs(v, REC)).toBe(back);
    const d = decayDeadlineNs(v, REC) - back;
    expect(d >= INTERVAL && d < 2 * INTERVAL).toBe(true);
    expect(decayNpagesLimit(v, REC)).toBe(limit);
    expect(backlogOf(v)).toEqual(backlog);
    expect(decayNunpurged(v, REC)).toBe(nunpurged);

    // Time 0 is allowed; afterwards the clock runs forward again from there.
    expect(decayMaybeAdvanceEpoch(v, REC, 0, 0)).toBe(false);
    expect(decayMaybeAdvanceEpoch(v, REC, 2 * INTERVAL, 0)).toBe(true);
    expect(decayEpochNs(v, REC)).toBe(2 * INTERVAL);
    expect(backlogOf(v).every((x) => x >= 0)).toBe(true);
    expect(decayNpagesLimit(v, REC)).toBeGreaterThanOrEqual(0);
    expect(decayNunpurged(v, REC)).toBe(Math.max(decayNpagesLimit(v, REC), 0));
  });

  it("jitter keeps every deadline in [epoch + interval, epoch + 2·interval) and varies", () => {
    const v = makeHeap();
    decayInit(v, REC, 0, 7, 0xdeadbeef); // an odd interval: 35000 ns
    const interval = 35_000;
    const jitters = new Set<number>();
    let t = 0;
    for (let i = 0; i < 3000; i++) {
      t += 1 + ((i * 7919) % (3 * interval));
      decayMaybeAdvanceEpoch(v, REC, t, i % 50);
      const j = decayDeadlineNs(v, REC) - decayEpochNs(v, REC) - interval;
      expect(j >= 0 && j < interval && Number.isInteger(j)).toBe(true);
      jitters.add(j);
    }
    expect(jitters.size).toBeGreaterThan(500);
  });
});

function modInverse(a: bigint, m: bigint): bigint {
  let [r0, r1, s0, s1] = [a % m, m, 1n, 0n];
  while (r1 !== 0n) {
    const q = r0 / r1;
    [r0, r1, s0, s1] = [r1, r0 - q * r1, s1, s0 - q * s1];
  }
  return s0;
}

// ── the record against the BigInt model ─────────────────────────────────────────────────────────────────

const stepArb = fc.record({
  dt: fc.oneof(
    { weight: 5, arbitrary: fc.integer({ min: 0, max: 3 * INTERVAL }) },
    { weight: 2, arbitrary: fc.integer({ min: 0, max: 260 * INTERVAL }) },
    { weight: 1, arbitrary: fc.integer({ min: -3 * INTERVAL, max: 0 }) },
    { weight: 1, arbitrary: fc.constant(0) },
  ),
  npages: fc.oneof(
    { weight: 6, arbitrary: fc.integer({ min: 0, max: 5000 }) },
    { weight: 1, arbitrary: fc.integer({ min: 0, max: 2 ** 32 - 1 }) },
  ),
});

describe("decay record vs. an independent model", () => {
  it("npages_limit, backlog, epoch and deadline follow the model over random (dt, npages) runs", () => {
    fc.assert(
      fc.property(
        fc.constantFrom(1, 7, 1000, 10_000),
        fc.bigInt({ min: 0n, max: 2n ** 64n - 1n }),
        fc.array(stepArb, { minLength: 1, maxLength: 60 }),
        (ms, seed, steps) => {
          const v = makeHeap();
          decayInit(v, REC, 1000, ms, seed);
          const m = new Model(1000n, ms, seed);
          const scale = ms / MS; // steps are drawn for 1000 ms; scale them to this interval
          let now = 1000;
          for (const { dt, npages } of steps) {
            now = Math.max(0, now + Math.round(dt * scale));
            const got = decayMaybeAdvanceEpoch(v, REC, now, npages);
            expect(got).toBe(m.advance(BigInt(now), BigInt(npages)));
            expectSame(v, m);
            expect(decayCeilNpages(v, REC)).toBeGreaterThanOrEqual(decayNpagesLimit(v, REC));
          }
          expect(outsideUntouched(v)).toBe(true);
        },
      ),
      { numRuns: 150 },
    );
  });

  it("ns_until_purge equals a brute-force search over all 199 purge amounts", () => {
    fc.assert(
      fc.property(
        fc.array(fc.integer({ min: 0, max: 4000 }), { minLength: 0, maxLength: 220 }),
        fc.integer({ min: 0, max: 1 << 20 }),
        fc.oneof(fc.constant(ARENA_DEFERRED_PURGE_NPAGES_THRESHOLD), fc.integer({ min: 0, max: 50_000 })),
        (perEpoch, cur, threshold) => {
          const v = makeHeap();
          decayInit(v, REC, 0, MS, 99);
          const m = new Model(0n, MS, 99n);
          let t = 0;
          let dirty = 0;
          for (const add of perEpoch) {
            t += 2 * INTERVAL;
            dirty += add;
            decayMaybeAdvanceEpoch(v, REC, t, dirty);
            m.advance(BigInt(t), BigInt(dirty));
          }
          expect(decayNsUntilPurge(v, REC, cur, threshold)).toBe(
            m.nsUntilPurge(BigInt(cur), BigInt(threshold)),
          );
          expect(decayNsUntilPurge(v, REC, cur)).toBe(m.nsUntilPurge(BigInt(cur), 1024n));
        },
      ),
      { numRuns: 80 },
    );
  });

  it("ns_until_purge bisects when the full-decay purge equals the threshold exactly", () => {
    const v = makeHeap();
    decayInit(v, REC, 0, MS, 5);
    const m = new Model(0n, MS, 5n);
    for (let i = 1; i <= 30; i++) {
      decayMaybeAdvanceEpoch(v, REC, 2 * i * INTERVAL, 3000 * i);
      m.advance(BigInt(2 * i * INTERVAL), BigInt(3000 * i));
    }
    const limit = decayNpagesLimit(v, REC); // = the pages purged after 200 more epochs
    expect(limit).toBeGreaterThan(2000);
    expect(decayNsUntilPurge(v, REC, limit + 1, limit)).toBe(101 * INTERVAL);
    expect(m.nsUntilPurge(BigInt(limit + 1), BigInt(limit))).toBe(101 * INTERVAL);
  });

  it("ns_until_purge brackets the threshold as jemalloc's test_decay_ns_until_purge expects", () => {
    const v = makeHeap();
    decayInit(v, REC, 0, MS, REC);
    expect(decayNsUntilPurge(v, REC, 0, 0)).toBe(Number.POSITIVE_INFINITY);
    let t = 0;
    let dirty = 0;
    let advanced = false;
    for (let i = 0; i < 10; i++) {
      t += INTERVAL;
      dirty += 1000;
      advanced = decayMaybeAdvanceEpoch(v, REC, t, dirty) || advanced;
    }
    expect(advanced).toBe(true);
    expect(decayNsUntilPurge(v, REC, dirty, dirty)).toBeGreaterThanOrEqual(DECAY_NS);
    expect(decayNsUntilPurge(v, REC, dirty, 0)).toBe(2 * INTERVAL);
    expect(decayNsUntilPurge(v, REC, 1024)).toBe(200 * INTERVAL);
    const threshold = dirty / 2;
    const wait = decayNsUntilPurge(v, REC, dirty, threshold);
    decayMaybeAdvanceEpoch(v, REC, t + wait, dirty);
    const limit = decayNpagesLimit(v, REC);
    expect(limit).toBeLessThan(dirty);
    expect(Math.abs(dirty - limit - threshold)).toBeLessThan(threshold / 2);
  });

  it("npages_purge_in follows the curve (test_decay_npages_purge_in) and is exact for large counts", () => {
    const v = makeHeap();
    decayInit(v, REC, 0, MS, REC);
    expect(decayNpagesPurgeIn(v, REC, DECAY_NS, 100)).toBe(100);
    expect(decayNpagesPurgeIn(v, REC, 10 * DECAY_NS, 100)).toBe(100);
    expect(decayNpagesPurgeIn(v, REC, 0, 100)).toBe(0);
    expect(decayNpagesPurgeIn(v, REC, INTERVAL - 1, 100)).toBe(0);
    expect(decayNpagesPurgeIn(v, REC, DECAY_NS / 2, 100)).toBe(50);
    // n·w ≡ −1 (mod 2^24) with n·w ≈ 2^56: a plain double product would round up to the next multiple of 2^24.
    for (let k = 1; k < 200; k++) {
      const w = H[199]! - H[199 - k]!;
      if (w % 2n === 0n) continue;
      const n0 = ((-modInverse(w, 1n << 24n) % (1n << 24n)) + (1n << 24n)) % (1n << 24n);
      const n = n0 + ((2n ** 32n - 1n - n0) / (1n << 24n)) * (1n << 24n);
      expect((n * w) % (1n << 24n)).toBe((1n << 24n) - 1n);
      expect(decayNpagesPurgeIn(v, REC, k * INTERVAL, Number(n))).toBe(Number((n * w) >> 24n));
    }
    fc.assert(
      fc.property(
        fc.integer({ min: 0, max: 2 * DECAY_NS }),
        fc.integer({ min: 0, max: 2 ** 32 - 1 }),
        (dt, n) => {
          const k = Math.floor(dt / INTERVAL);
          const want = k >= 200 ? BigInt(n) : (BigInt(n) * (H[199]! - H[199 - k]!)) >> 24n;
          expect(decayNpagesPurgeIn(v, REC, dt, n)).toBe(Number(want));
        },
      ),
      { numRuns: 500 },
    );
  });
});
