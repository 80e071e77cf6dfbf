// Integer log2 helpers for sizes held in plain JS numbers.
//
// What: floor/ceil of log2 and power-of-two tests that stay exact for every
// integer up to 2^53 (and every size class, which are all exact doubles).
// Invariants: inputs are positive integers; no 32-bit bitwise operator is ever
// applied to a value that may reach 2^31 (Math.clz32 only sees values < 2^32).
// Errors: none thrown; callers range-check first.

export const TWO_POW_32 = 4294967296;

/** floor(log2(x)) for an integer x >= 1 (exact up to 2^53, correct for any power of two). */
export function lgFloor(x: number): number {
  if (x < TWO_POW_32) return 31 - Math.clz32(x);
  return 32 + lgFloor(Math.floor(x / TWO_POW_32));
}

/** ceil(log2(x)) for an integer x >= 1; lgCeil(1) = 0. Exact for every double (no x - 1 rounding). */
export function lgCeil(x: number): number {
  if (x <= 1) return 0;
  const lg = lgFloor(x);
  return 2 ** lg === x ? lg : lg + 1;
}

/** True for 1, 2, 4, ... (any integral power of two a double can hold). */
export function isPowerOfTwo(x: number): boolean {
  return Number.isInteger(x) && x > 0 && 2 ** lgFloor(x) === x;
}

/** The smallest multiple of `alignment` (a power of two) that is >= x. */
export function alignUp(x: number, alignment: number): number {
  return Math.ceil(x / alignment) * alignment;
}
