/**
 * div: exact division of a region offset by a bin's region size in integer operations (the role of
 * jemalloc's div_info, which multiplies by a 2^32-scaled reciprocal; JavaScript has no 64-bit product,
 * so this uses the modular inverse instead).
 *
 * A region size is 2^shift × odd. An offset `off` (0 ≤ off < 2^32) is a multiple of it exactly when its
 * low `shift` bits are clear and (off >>> shift) × inverse(odd) mod 2^32 is the quotient — then below
 * nregs; for any other offset that product exceeds (2^32 − 1) / odd ≥ nregs. So a mask test, a shift,
 * one Math.imul and one compare give both the start-of-region check and the region index, with no
 * float conversion and no rounding.
 *
 * Layout: DIV_WORDS Int32 words per bin index, at binind × DIV_WORDS.
 */
export const DIV_WORDS = 4;
/** The inverse of the region size's odd part, mod 2^32 (as an int32). */
export const DIV_W_INV = 0;
/** Regions per slab: a quotient at or above it is no region. */
export const DIV_W_NREGS = 1;
/** Trailing zero bits of the region size. */
export const DIV_W_SHIFT = 2;
/** 2^shift − 1: the bits a region start's offset has clear. */
export const DIV_W_MASK = 3;

/** The inverse of odd `d` modulo 2^32 (each Newton step doubles the correct low bits). */
export function inverseMod32(d: number): number {
  let x = d | 0; // d × d ≡ 1 (mod 8): three bits correct
  for (let i = 0; i < 4; i++) x = Math.imul(x, 2 - Math.imul(d, x));
  return x;
}

/** The division table of bins [0, nbins) from their region sizes and regions per slab. */
export function divTable(regSize: ArrayLike<number>, nregs: ArrayLike<number>, nbins: number): Int32Array {
  const t = new Int32Array(nbins * DIV_WORDS);
  for (let i = 0; i < nbins; i++) {
    const size = regSize[i]!;
    const shift = 31 - Math.clz32(size & -size);
    t[i * DIV_WORDS + DIV_W_INV] = inverseMod32(size >>> shift);
    t[i * DIV_WORDS + DIV_W_NREGS] = nregs[i]!;
    t[i * DIV_WORDS + DIV_W_SHIFT] = shift;
    t[i * DIV_WORDS + DIV_W_MASK] = 2 ** shift - 1;
  }
  return t;
}

/**
 * The region index of offset `off` in a slab of bin `binind`, or -1 when `off` is not the start of one
 * of its regions (negative, not a multiple of the size, or past the last region).
 */
export function divRegind(t: Int32Array, binind: number, off: number): number {
  const b = binind * DIV_WORDS;
  if (off < 0 || (off & t[b + DIV_W_MASK]!) !== 0) return -1;
  const q = Math.imul(off >>> t[b + DIV_W_SHIFT]!, t[b + DIV_W_INV]!) >>> 0;
  return q < t[b + DIV_W_NREGS]! ? q : -1;
}

interface BinShape {
  readonly nbins: number;
  readonly binRegSize: ArrayLike<number>;
  readonly binNregs: ArrayLike<number>;
}
const tables = new WeakMap<BinShape, Int32Array>();
let lastShape: BinShape | null = null;
let lastTable: Int32Array = new Int32Array(0);

/** The division table of a size-class set (built once per set). */
export function divTableOf(sc: BinShape): Int32Array {
  if (sc === lastShape) return lastTable;
  let t = tables.get(sc);
  if (t === undefined) {
    t = divTable(sc.binRegSize, sc.binNregs, sc.nbins);
    tables.set(sc, t);
  }
  lastShape = sc;
  lastTable = t;
  return t;
}
