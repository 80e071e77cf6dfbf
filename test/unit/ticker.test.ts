import { describe, expect, it } from "vitest";
import { prngLgRangeU64, prngSeedU64 } from "../../src/decay/prng.js";
import {
  ARENA_DECAY_NTICKS_PER_UPDATE,
  TICKER_GEOM_MUL,
  TICKER_GEOM_NBITS,
  TICKER_GEOM_TABLE,
  TickerGeom,
} from "../../src/decay/ticker.js";

function threadPrng(seed: number): Int32Array {
  const st = new Int32Array(2);
  prngSeedU64(st, 0, seed);
  return st;
}

describe("ticker_geom", () => {
  it("table is jemalloc's: round(−61·ln((r+1)/64)), 61 = floor(255/ln 64)", () => {
    expect(TICKER_GEOM_NBITS).toBe(6);
    expect(TICKER_GEOM_MUL).toBe(Math.floor(255 / Math.log(64)));
    expect(TICKER_GEOM_TABLE.length).toBe(64);
    for (let r = 0; r < 64; r++) {
      expect(TICKER_GEOM_TABLE[r], `table[${r}]`).toBe(Math.round(-61 * Math.log((r + 1) / 64)) + 0); // + 0: no −0
    }
    expect(TICKER_GEOM_TABLE[0]).toBe(254);
    expect(TICKER_GEOM_TABLE[63]).toBe(0);
  });

  it("a fresh ticker fires on tick nticks + 1, then reloads from the thread PRNG", () => {
    const prng = threadPrng(7);
    const shadow = threadPrng(7);
    const t = new TickerGeom(ARENA_DECAY_NTICKS_PER_UPDATE, prng, 0);
    for (let i = 0; i < 1000; i++) expect(t.tick()).toBe(false);
    expect(t.countdown).toBe(0);
    expect(t.tick()).toBe(true);
    const r = prngLgRangeU64(shadow, 0, 6);
    expect(t.countdown).toBe(Math.floor((1000 * TICKER_GEOM_TABLE[r]!) / 61));
    expect(Array.from(prng)).toEqual(Array.from(shadow));
  });

  it("ticks(n) subtracts n and fires once when the count goes below zero", () => {
    const t = new TickerGeom(1000, threadPrng(1), 0);
    expect(t.ticks(0)).toBe(false);
    expect(t.ticks(600)).toBe(false);
    expect(t.ticks(400)).toBe(false);
    expect(t.ticks(5000)).toBe(true);
    expect(t.countdown).toBeGreaterThanOrEqual(0);
    expect(t.countdown).toBeLessThanOrEqual(Math.floor((1000 * 254) / 61));
  });

  it("fires on average every ~1000 ticks", () => {
    const t = new TickerGeom(1000, threadPrng(0x9e3779b9), 0);
    let fires = 0;
    const n = 10_000_000;
    for (let i = 0; i < n; i++) if (t.tick()) fires++;
    // Mean gap = 1 + mean_r floor(1000·table[r]/61) = 953.375: the 64-point table slightly undershoots
    // E[−ln U]·1000, so jemalloc's ticker fires a little more often than every 1000 ticks.
    let sum = 0;
    for (let r = 0; r < 64; r++) sum += Math.floor((1000 * TICKER_GEOM_TABLE[r]!) / 61);
    const expectedGap = 1 + sum / 64;
    expect(expectedGap).toBe(953.375);
    expect(Math.abs(n / fires - expectedGap) / expectedGap).toBeLessThan(0.02);
  });

  it("rejects bad arguments", () => {
    const prng = threadPrng(0);
    expect(() => new TickerGeom(0, prng, 0)).toThrow(RangeError);
    expect(() => new TickerGeom(1.5, prng, 0)).toThrow(RangeError);
    expect(() => new TickerGeom(2 ** 31, prng, 0)).toThrow(RangeError);
    expect(() => new TickerGeom(1000, prng, 1)).toThrow(RangeError);
    const t = new TickerGeom(1000, prng, 0);
    expect(() => t.ticks(-1)).toThrow(RangeError);
    expect(() => t.ticks(Number.NaN)).toThrow(RangeError);
    expect(() => t.ticks(0.5)).toThrow(RangeError);
  });
});
