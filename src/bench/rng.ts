/**
 * rng: the benchmark's own seeded pseudo-random generator (xoshiro128**, Blackman & Vigna), so that every
 * workload is the same sequence of sizes and free orders for a given seed, on every run and machine.
 *
 * Invariants: the state is four u32 words, never all zero (the seed is expanded with splitmix32, which
 * cannot produce four zeros from one 32-bit seed in practice; an all-zero state is still rejected).
 * Draws are integers; `logUniform` uses Math.log/Math.exp, which V8 computes with its own (fdlibm)
 * routines, so plans are identical across Node versions on every platform.
 *
 * Synchronization: none; one generator belongs to one workload generator.
 * Errors: RangeError for seeds or bounds that are not integers in range.
 */

const TWO_32 = 4294967296;

function rotl(x: number, k: number): number {
  return ((x << k) | (x >>> (32 - k))) >>> 0;
}

/** splitmix32: spreads one 32-bit seed over the four state words. */
function splitmix32(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s + 0x9e3779b9) >>> 0;
    let z = s;
    z = Math.imul(z ^ (z >>> 16), 0x85ebca6b) >>> 0;
    z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35) >>> 0;
    return (z ^ (z >>> 16)) >>> 0;
  };
}

export class Rng {
  #s0: number;
  #s1: number;
  #s2: number;
  #s3: number;

  constructor(seed: number) {
    if (!Number.isInteger(seed) || seed < 0 || seed >= TWO_32) {
      throw new RangeError(`Rng: seed must be an integer in [0, 2^32), got ${seed}`);
    }
    const mix = splitmix32(seed);
    this.#s0 = mix();
    this.#s1 = mix();
    this.#s2 = mix();
    this.#s3 = mix();
    if ((this.#s0 | this.#s1 | this.#s2 | this.#s3) === 0)
      throw new RangeError(`Rng: seed ${seed} gives an all-zero state`);
  }

  /** Next u32. */
  next(): number {
    const result = Math.imul(rotl(Math.imul(this.#s1, 5) >>> 0, 7), 9) >>> 0;
    const t = (this.#s1 << 9) >>> 0;
    this.#s2 = (this.#s2 ^ this.#s0) >>> 0;
    this.#s3 = (this.#s3 ^ this.#s1) >>> 0;
    this.#s1 = (this.#s1 ^ this.#s2) >>> 0;
    this.#s0 = (this.#s0 ^ this.#s3) >>> 0;
    this.#s2 = (this.#s2 ^ t) >>> 0;
    this.#s3 = rotl(this.#s3, 11);
    return result;
  }

  /** Uniform in [0, 1) with 32 bits of resolution. */
  unit(): number {
    return this.next() / TWO_32;
  }

  /** Uniform integer in [0, n), n ≤ 2^32 (multiply-shift; bias below 2^-32·n, irrelevant here). */
  below(n: number): number {
    return Math.floor(this.unit() * n);
  }

  /** Uniform integer in [lo, hi] (both inclusive). */
  uniform(lo: number, hi: number): number {
    checkBounds(lo, hi, "uniform");
    return lo + this.below(hi - lo + 1);
  }

  /** Integer in [lo, hi] whose logarithm is uniform: as many 8–16 B requests as 32–64 KiB ones. */
  logUniform(lo: number, hi: number): number {
    checkBounds(lo, hi, "logUniform");
    if (lo < 1) throw new RangeError(`Rng.logUniform: lo must be ≥ 1, got ${lo}`);
    const v = Math.floor(Math.exp(Math.log(lo) + this.unit() * (Math.log(hi + 1) - Math.log(lo))));
    return Math.min(hi, Math.max(lo, v));
  }
}

function checkBounds(lo: number, hi: number, fn: string): void {
  if (!Number.isSafeInteger(lo) || !Number.isSafeInteger(hi) || lo > hi || hi - lo >= TWO_32) {
    throw new RangeError(`Rng.${fn}: bounds must be integers with lo ≤ hi < lo + 2^32, got [${lo}, ${hi}]`);
  }
}

/** Shuffles `a` in place (Fisher–Yates) with `rng`. */
export function shuffle(a: Uint32Array, rng: Rng): Uint32Array {
  for (let i = a.length - 1; i > 0; i--) {
    const j = rng.below(i + 1);
    const t = a[i]!;
    a[i] = a[j]!;
    a[j] = t;
  }
  return a;
}
