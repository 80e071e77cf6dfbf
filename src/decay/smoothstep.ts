// smoothstep.ts — the decay curve of jemalloc 5.3 (smoothstep.h, variant "smoother", 200 steps, 24 fraction bits).
//
// What it is: h[i] = floor(2^24 · y((i + 1) / 200)) for i = 0..199, with the smootherstep
// y(x) = 6x^5 − 15x^4 + 10x^3. h[i] is the fixed-point fraction of the pages freed (200 − 1 − i) epochs ago
// that decay still allows to stay unpurged: the newest epoch (i = 199) keeps weight 1 (2^24).
//
// Invariants: computed once in IEEE doubles; this reproduces jemalloc's shipped table exactly (all 200
// entries; test/unit/smoothstep.test.ts checks it against exact rational arithmetic). Strictly increasing,
// h[0] = 20, h[99] = 2^23, h[199] = 2^24.
//
// Synchronization: immutable module data.

export const SMOOTHSTEP_NSTEPS = 200;
/** Binary fixed-point fraction bits of h. */
export const SMOOTHSTEP_BFP = 24;
/** 2^SMOOTHSTEP_BFP: the weight of a page that has not decayed at all. */
export const SMOOTHSTEP_ONE = 2 ** SMOOTHSTEP_BFP;
/** decay.ts splits weights (< 2^25) as hi·2^12 + lo so Σ pages·weight stays exact in doubles for pages < 2^32. */
export const SMOOTHSTEP_SPLIT_BITS = 12;

function smootherstep(x: number): number {
  return 6 * x ** 5 - 15 * x ** 4 + 10 * x ** 3;
}

function buildTable(): Float64Array {
  const h = new Float64Array(SMOOTHSTEP_NSTEPS);
  for (let i = 0; i < SMOOTHSTEP_NSTEPS; i++) {
    h[i] = Math.floor(SMOOTHSTEP_ONE * smootherstep((i + 1) / SMOOTHSTEP_NSTEPS));
  }
  return h;
}

/** The table, read-only to the decay modules; other callers get a copy from smoothstepTable(). */
export const SMOOTHSTEP_H: Readonly<Float64Array> = buildTable();

/** A fresh copy of the 200-entry fixed-point table h[i] = floor(2^24 · y((i+1)/200)). */
export function smoothstepTable(): Float64Array {
  return SMOOTHSTEP_H.slice();
}
