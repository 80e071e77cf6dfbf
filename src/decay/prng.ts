// prng.ts — jemalloc 5.3's linear congruential generators (prng.h), without BigInt.
//
// What it is: x' = a·x + c mod 2^32 (u32 variant) or mod 2^64 (u64 variant), with jemalloc's constants, and the
// "take the top lg_range bits" / "reject until below range" draws built on them. Low LCG bits have short
// periods, so every draw uses the high bits, exactly as jemalloc does.
//
// State storage: a u32 state is one Int32Array word; a u64 state is two consecutive Int32Array words,
// low half first (little-endian, as a uint64_t in the buffer would be). The array may be a view over the heap
// buffer (decay jitter state) or a worker-private Int32Array(2) (the thread's prng_state). Words are read
// with `>>> 0`, so signed storage is harmless.
//
// Arithmetic: 64-bit products are built from 16/32-bit pieces so every intermediate value stays an exact
// double; nothing allocates, so these may run on the slow path of malloc.
//
// Invariants: results of the u64 draws are returned as numbers; they are exact while lgRange ≤ 53
// (i.e. range ≤ 2^53), which covers every caller (decay intervals, 6-bit ticker draws).
//
// Synchronization: none; the owner of the state word(s) serializes access (decay lock / owning worker).
//
// Errors: RangeError for a bad lgRange / range / word index / seed.

export const PRNG_A_32 = 1103515241;
export const PRNG_C_32 = 12347;
// 6364136223846793005 = 0x5851f42d_4c957f2d, 1442695040888963407 = 0x14057b7e_f767814f.
export const PRNG_A_64_HI = 0x5851f42d;
export const PRNG_A_64_LO = 0x4c957f2d;
export const PRNG_C_64_HI = 0x14057b7e;
export const PRNG_C_64_LO = 0xf767814f;

const TWO_32 = 4294967296;

function checkWord(state: Int32Array, w: number, nwords: number): void {
  if (!Number.isInteger(w) || w < 0 || w + nwords > state.length) {
    throw new RangeError(`prng: state word index ${w} is outside the state array (length ${state.length})`);
  }
}

/** Store a 64-bit seed (number in [0, 2^53) or bigint, taken mod 2^64) into state[w] (low), state[w+1] (high). */
export function prngSeedU64(state: Int32Array, w: number, seed: number | bigint): void {
  checkWord(state, w, 2);
  if (typeof seed === "bigint") {
    const s = BigInt.asUintN(64, seed);
    state[w] = Number(s & 0xffffffffn) | 0;
    state[w + 1] = Number(s >> 32n) | 0;
    return;
  }
  if (!Number.isSafeInteger(seed) || seed < 0) {
    throw new RangeError(
      `prng: seed ${seed} is not an integer in [0, 2^53) (pass a bigint for 64-bit seeds)`,
    );
  }
  state[w] = (seed % TWO_32) | 0;
  state[w + 1] = Math.floor(seed / TWO_32) | 0;
}

/** The u64 state as a bigint (tests, debugging; not for hot paths). */
export function prngReadU64(state: Int32Array, w: number): bigint {
  checkWord(state, w, 2);
  return (BigInt(state[w + 1]! >>> 0) << 32n) | BigInt(state[w]! >>> 0);
}

/** One LCG step on the u64 state at state[w..w+1]: x = x·A + C mod 2^64. */
export function prngStepU64(state: Int32Array, w: number): void {
  const lo = state[w]! >>> 0;
  const hi = state[w + 1]! >>> 0;
  // Full 64-bit product lo·A_LO from 16-bit limbs; each partial product < 2^32.
  const a0 = PRNG_A_64_LO & 0xffff;
  const a1 = PRNG_A_64_LO >>> 16;
  const b0 = lo & 0xffff;
  const b1 = lo >>> 16;
  const p00 = a0 * b0;
  const p01 = a0 * b1;
  const p10 = a1 * b0;
  const p11 = a1 * b1;
  const mid = (p00 >>> 16) + (p01 & 0xffff) + (p10 & 0xffff);
  const prodLo = (((mid & 0xffff) << 16) | (p00 & 0xffff)) >>> 0;
  const prodHi = p11 + (p01 >>> 16) + (p10 >>> 16) + (mid >>> 16);
  // Cross terms only reach the high word; imul gives them mod 2^32.
  const hiMul = prodHi + Math.imul(hi, PRNG_A_64_LO) + Math.imul(lo, PRNG_A_64_HI);
  const sumLo = prodLo + PRNG_C_64_LO;
  const carry = sumLo >= TWO_32 ? 1 : 0;
  state[w] = sumLo | 0;
  state[w + 1] = (hiMul + PRNG_C_64_HI + carry) | 0;
}

/** prng_lg_range_u64: step, then return the top lgRange bits, uniform in [0, 2^lgRange). */
export function prngLgRangeU64(state: Int32Array, w: number, lgRange: number): number {
  if (!Number.isInteger(lgRange) || lgRange < 1 || lgRange > 64) {
    throw new RangeError(`prng: lgRange ${lgRange} is not an integer in [1, 64]`);
  }
  checkWord(state, w, 2);
  prngStepU64(state, w);
  const hi = state[w + 1]! >>> 0;
  if (lgRange <= 32) {
    return hi >>> (32 - lgRange);
  }
  const lo = state[w]! >>> 0;
  // lgRange in (32, 64]: all of hi, then the top (lgRange - 32) bits of lo.
  const loBits = lgRange === 64 ? lo : lo >>> (64 - lgRange);
  return hi * 2 ** (lgRange - 32) + loBits;
}

/** ceil(log2(range)) for an integer range in [2, 2^53]. */
function lgCeil(range: number): number {
  const m = range - 1;
  if (m < TWO_32) {
    return 32 - Math.clz32(m);
  }
  return 64 - Math.clz32(Math.floor(m / TWO_32));
}

/** prng_range_u64: uniform in [0, range) by rejection on prng_lg_range_u64; range is an integer in [1, 2^53]. */
export function prngRangeU64(state: Int32Array, w: number, range: number): number {
  if (!Number.isInteger(range) || range < 1 || range > 2 ** 53) {
    throw new RangeError(`prng: range ${range} is not an integer in [1, 2^53]`);
  }
  if (range === 1) {
    return 0; // jemalloc's one-off: no draw, the state does not move.
  }
  const lg = lgCeil(range);
  // Each draw is accepted with probability > 1/2; the LCG has full period, so this ends.
  let ret = prngLgRangeU64(state, w, lg);
  while (ret >= range) {
    ret = prngLgRangeU64(state, w, lg);
  }
  return ret;
}

/** prng_lg_range_u32: one u32 LCG step on state[w], then the top lgRange bits. */
export function prngLgRangeU32(state: Int32Array, w: number, lgRange: number): number {
  if (!Number.isInteger(lgRange) || lgRange < 1 || lgRange > 32) {
    throw new RangeError(`prng: lgRange ${lgRange} is not an integer in [1, 32]`);
  }
  checkWord(state, w, 1);
  const next = (Math.imul(state[w]!, PRNG_A_32) + PRNG_C_32) | 0;
  state[w] = next;
  return (next >>> 0) >>> (32 - lgRange);
}

/** prng_range_u32: uniform in [0, range) for an integer range in [1, 2^32]. */
export function prngRangeU32(state: Int32Array, w: number, range: number): number {
  if (!Number.isInteger(range) || range < 1 || range > TWO_32) {
    throw new RangeError(`prng: range ${range} is not an integer in [1, 2^32]`);
  }
  if (range === 1) {
    return 0;
  }
  const lg = 32 - Math.clz32(range - 1);
  let ret = prngLgRangeU32(state, w, lg);
  while (ret >= range) {
    ret = prngLgRangeU32(state, w, lg);
  }
  return ret;
}
