import { describe, expect, it } from "vitest";
import {
  SMOOTHSTEP_BFP,
  SMOOTHSTEP_H,
  SMOOTHSTEP_NSTEPS,
  smoothstepTable,
} from "../../src/decay/smoothstep.js";

/** floor(2^24 · y(k/200)) with y = 6x^5 − 15x^4 + 10x^3, in exact rational arithmetic. */
function exactH(k: number): bigint {
  const K = BigInt(k);
  const num = K ** 3n * (6n * K * K - 3000n * K + 400000n); // y(k/200) = num / 200^5
  return (num << 24n) / 200n ** 5n;
}

describe("smoothstep table", () => {
  const h = smoothstepTable();

  it("has 200 steps of 24-bit fixed point", () => {
    expect(SMOOTHSTEP_NSTEPS).toBe(200);
    expect(SMOOTHSTEP_BFP).toBe(24);
    expect(h.length).toBe(200);
  });

  it("matches jemalloc's shipped values at known points", () => {
    expect(h[0]).toBe(20);
    expect(h[1]).toBe(165);
    expect(h[2]).toBe(0x229);
    expect(h[3]).toBe(0x516);
    expect(h[4]).toBe(0x9dc);
    expect(h[99]).toBe(2 ** 23);
    expect(h[199]).toBe(2 ** 24);
  });

  it("equals floor(2^24·y((i+1)/200)) computed exactly, for every entry", () => {
    for (let i = 0; i < SMOOTHSTEP_NSTEPS; i++) {
      expect(BigInt(h[i]!), `h[${i}]`).toBe(exactH(i + 1));
    }
  });

  it("is strictly increasing and symmetric around the midpoint", () => {
    for (let i = 1; i < SMOOTHSTEP_NSTEPS; i++) {
      expect(h[i]!).toBeGreaterThan(h[i - 1]!);
    }
    // y(1 − x) = 1 − y(x); with flooring, h[i] + h[198 − i] is 2^24 or 2^24 − 1.
    for (let i = 0; i < 199; i++) {
      const s = h[i]! + h[198 - i]!;
      expect(s === 2 ** 24 || s === 2 ** 24 - 1, `h[${i}] + h[${198 - i}] = ${s}`).toBe(true);
    }
  });

  it("hands out copies", () => {
    const copy = smoothstepTable();
    copy[0] = 12345;
    expect(smoothstepTable()[0]).toBe(20);
    expect(SMOOTHSTEP_H[0]).toBe(20);
    expect(Array.from(SMOOTHSTEP_H)).toEqual(Array.from(h));
  });
});
