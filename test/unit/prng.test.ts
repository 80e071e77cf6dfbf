import fc from "fast-check";
import { describe, expect, it } from "vitest";
import {
  prngLgRangeU32,
  prngLgRangeU64,
  prngRangeU32,
  prngRangeU64,
  prngReadU64,
  prngSeedU64,
  prngStepU64,
} from "../../src/decay/prng.js";

// Reference LCGs in BigInt with jemalloc's constants (prng.h).
const A64 = 6364136223846793005n;
const C64 = 1442695040888963407n;
const next64 = (s: bigint): bigint => BigInt.asUintN(64, s * A64 + C64);
const next32 = (s: bigint): bigint => BigInt.asUintN(32, s * 1103515241n + 12347n);

function stateOf(seed: bigint): Int32Array {
  const st = new Int32Array(4);
  prngSeedU64(st, 1, seed); // an odd word index: states need not be 8-aligned
  return st;
}

describe("prng (u64 LCG)", () => {
  it("steps exactly like a·x + c mod 2^64", () => {
    fc.assert(
      fc.property(fc.bigInt({ min: 0n, max: 2n ** 64n - 1n }), fc.integer({ min: 1, max: 20 }), (seed, n) => {
        const st = stateOf(seed);
        let ref = seed;
        for (let i = 0; i < n; i++) {
          prngStepU64(st, 1);
          ref = next64(ref);
          expect(prngReadU64(st, 1)).toBe(ref);
        }
        expect(st[0]).toBe(0);
        expect(st[3]).toBe(0);
      }),
      { numRuns: 300 },
    );
  });

  it("from state 0 the first state is c, then a·c + c", () => {
    const st = stateOf(0n);
    prngStepU64(st, 1);
    expect(prngReadU64(st, 1)).toBe(C64);
    prngStepU64(st, 1);
    expect(prngReadU64(st, 1)).toBe(BigInt.asUintN(64, A64 * C64 + C64));
  });

  it("prng_lg_range_u64 returns the top lgRange bits of the new state", () => {
    fc.assert(
      fc.property(
        fc.bigInt({ min: 0n, max: 2n ** 64n - 1n }),
        fc.integer({ min: 1, max: 64 }),
        (seed, lg) => {
          const st = stateOf(seed);
          const r = prngLgRangeU64(st, 1, lg);
          const want = next64(seed) >> BigInt(64 - lg);
          // Exact up to 53 bits; above that, the nearest double.
          expect(r).toBe(Number(want));
          if (lg <= 53) expect(BigInt(r)).toBe(want);
          expect(prngReadU64(st, 1)).toBe(next64(seed));
        },
      ),
      { numRuns: 500 },
    );
  });

  it("prng_range_u64 rejects draws ≥ range, as jemalloc, and never moves for range 1", () => {
    fc.assert(
      fc.property(
        fc.bigInt({ min: 0n, max: 2n ** 64n - 1n }),
        fc.integer({ min: 1, max: 2 ** 53 }),
        (seed, range) => {
          const st = stateOf(seed);
          const r = prngRangeU64(st, 1, range);
          expect(r).toBeGreaterThanOrEqual(0);
          expect(r).toBeLessThan(range);
          if (range === 1) {
            expect(prngReadU64(st, 1)).toBe(BigInt.asUintN(64, seed));
            return;
          }
          let lg = 0;
          while (2n ** BigInt(lg) < BigInt(range)) lg++;
          let s = seed;
          let want: bigint;
          do {
            s = next64(s);
            want = s >> BigInt(64 - lg);
          } while (want >= BigInt(range));
          expect(BigInt(r)).toBe(want);
          expect(prngReadU64(st, 1)).toBe(s);
        },
      ),
      { numRuns: 500 },
    );
  });

  it("draws over [0, range) are roughly uniform", () => {
    const st = stateOf(12345n);
    const counts = [0, 0, 0, 0, 0];
    for (let i = 0; i < 50_000; i++) counts[prngRangeU64(st, 1, 5)]! += 1;
    for (const c of counts) expect(Math.abs(c - 10_000)).toBeLessThan(500);
  });

  it("seeds from numbers and bigints, rejecting bad seeds and indexes", () => {
    const st = new Int32Array(2);
    prngSeedU64(st, 0, 2 ** 40 + 7);
    expect(prngReadU64(st, 0)).toBe(2n ** 40n + 7n);
    prngSeedU64(st, 0, -1n);
    expect(prngReadU64(st, 0)).toBe(2n ** 64n - 1n);
    expect(() => prngSeedU64(st, 0, -1)).toThrow(RangeError);
    expect(() => prngSeedU64(st, 0, 1.5)).toThrow(RangeError);
    expect(() => prngSeedU64(st, 0, Number.NaN)).toThrow(RangeError);
    expect(() => prngSeedU64(st, 1, 0)).toThrow(RangeError);
    expect(() => prngLgRangeU64(st, 0, 0)).toThrow(RangeError);
    expect(() => prngLgRangeU64(st, 0, 65)).toThrow(RangeError);
    expect(() => prngRangeU64(st, 0, 0)).toThrow(RangeError);
    expect(() => prngRangeU64(st, 0, 2 ** 53 + 2)).toThrow(RangeError);
  });
});

describe("prng (u32 LCG)", () => {
  it("prng_lg_range_u32 and prng_range_u32 match the BigInt reference", () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 0, max: 2 ** 32 - 1 }),
        fc.integer({ min: 1, max: 32 }),
        fc.integer({ min: 1, max: 2 ** 32 }),
        (seed, lg, range) => {
          const st = new Int32Array([seed | 0]);
          const r = prngLgRangeU32(st, 0, lg);
          const s1 = next32(BigInt(seed));
          expect(BigInt(r)).toBe(s1 >> BigInt(32 - lg));
          expect(BigInt(st[0]! >>> 0)).toBe(s1);

          const st2 = new Int32Array([seed | 0]);
          const q = prngRangeU32(st2, 0, range);
          expect(q).toBeLessThan(range);
          if (range > 1) {
            let lgr = 0;
            while (2 ** lgr < range) lgr++;
            let s = BigInt(seed);
            let want: bigint;
            do {
              s = next32(s);
              want = s >> BigInt(32 - lgr);
            } while (want >= BigInt(range));
            expect(BigInt(q)).toBe(want);
          }
        },
      ),
      { numRuns: 500 },
    );
  });
});
