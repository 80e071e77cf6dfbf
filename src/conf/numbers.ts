import { NARENAS_RATIO_DEFAULT_FXP, type OptCType, UINT64_MAX_N } from "./opt.js";

// --- malloc_strtoumax and fxp_parse ports ------------------------------------------------

export const ERRNO_EINVAL = 22;
export const ERRNO_ERANGE = 34;

export interface StrtoumaxResult {
  /** uintmax_t result (0..2^64−1). */
  value: bigint;
  /** Index just past the digits, or `start` when nothing was converted. */
  end: number;
  errno: 0 | typeof ERRNO_EINVAL | typeof ERRNO_ERANGE;
}

function digitValue(code: number): number {
  if (code >= 48 && code <= 57) return code - 48;
  if (code >= 65 && code <= 90) return code - 55;
  if (code >= 97 && code <= 122) return code - 87;
  return 99;
}

function isOctalDigit(c: string): boolean {
  return c >= "0" && c <= "7" && c.length === 1;
}

function isHexDigit(c: string): boolean {
  return c.length === 1 && /[0-9A-Fa-f]/.test(c);
}

/**
 * jemalloc's malloc_strtoumax on `s` from `start` (the end of `s` acts as NUL).
 * Base 0 picks 8 for a leading 0 followed by an octal digit, 16 for 0x + hex digit;
 * "0" followed by anything else is 0. Negative values wrap modulo 2^64.
 */
export function mallocStrtoumax(s: string, start: number, base: number): StrtoumaxResult {
  let p = start;
  let neg = false;
  while (" \t\n\v\f\r".includes(s.charAt(p)) && s.charAt(p) !== "") p++;
  if (s.charAt(p) === "-") {
    neg = true;
    p++;
  } else if (s.charAt(p) === "+") {
    p++;
  }
  const ns = p;
  let b = base;
  if (s.charAt(p) === "0") {
    const c1 = s.charAt(p + 1);
    if (isOctalDigit(c1)) {
      if (b === 0) b = 8;
      if (b === 8) p++;
    } else if (c1 === "x" || c1 === "X") {
      if (isHexDigit(s.charAt(p + 2))) {
        if (b === 0) b = 16;
        if (b === 16) p += 2;
      }
    } else {
      return { value: 0n, end: p + 1, errno: 0 };
    }
  }
  if (b === 0) b = 10;
  const bigB = BigInt(b);
  let ret = 0n;
  for (; p < s.length; p++) {
    const digit = digitValue(s.charCodeAt(p));
    if (digit >= b) break;
    const pret = ret;
    ret = BigInt.asUintN(64, ret * bigB + BigInt(digit));
    // jemalloc's overflow check (ret < pret) — it misses some wraps, and so do we.
    if (ret < pret) return { value: UINT64_MAX_N, end: p, errno: ERRNO_ERANGE };
  }
  if (neg) ret = BigInt.asUintN(64, -ret);
  if (p === ns) return { value: UINT64_MAX_N, end: start, errno: ERRNO_EINVAL };
  return { value: ret, end: p, errno: 0 };
}

export interface FxpParseResult {
  /** false on success. */
  err: boolean;
  /** 16.16 fixed point raw bits (valid when !err). */
  value: number;
  end: number;
}

const FXP_FRACTIONAL_PART_DIGITS = 14;

function isDigit(c: string): boolean {
  return c.length === 1 && c >= "0" && c <= "9";
}

/** jemalloc's fxp_parse: digits, optionally `.digits`; integer part < 65536. */
export function fxpParse(s: string, start: number): FxpParseResult {
  let cur = start;
  if (s.charAt(cur) !== "." && !isDigit(s.charAt(cur))) return { err: true, value: 0, end: start };
  let integer = 0;
  while (isDigit(s.charAt(cur))) {
    integer = integer * 10 + (s.charCodeAt(cur) - 48);
    if (integer >= 1 << 16) return { err: true, value: 0, end: start };
    cur++;
  }
  if (s.charAt(cur) !== ".") return { err: false, value: integer * 65536, end: cur };
  cur++;
  if (!isDigit(s.charAt(cur))) return { err: true, value: 0, end: start };
  let frac = 0n;
  let div = 1n;
  for (let i = 0; i < FXP_FRACTIONAL_PART_DIGITS; i++) {
    frac *= 10n;
    div *= 10n;
    if (isDigit(s.charAt(cur))) {
      frac += BigInt(s.charCodeAt(cur) - 48);
      cur++;
    }
  }
  while (isDigit(s.charAt(cur))) cur++;
  const fracRepr = Number((frac << 16n) / div);
  return { err: false, value: integer * 65536 + fracRepr, end: cur };
}

/** fxp_mul_frac(x, frac): x × frac for frac ≤ 1.0. */
export function fxpMulFrac(x: bigint, frac: number): bigint {
  const f = BigInt(frac);
  return x < 1n << 48n ? (x * f) >> 16n : (x >> 16n) * f;
}

/** malloc_narenas_default(): round(ncpus × ratio) in 16.16 fixed point, at least 1. */
export function narenasDefault(ncpus: number, ratioFxp: number = NARENAS_RATIO_DEFAULT_FXP): number {
  if (ncpus <= 1) return 1;
  const fxpNcpus = BigInt.asUintN(32, BigInt(ncpus) << 16n);
  const goal = Number(BigInt.asUintN(32, (fxpNcpus * BigInt(ratioFxp)) >> 16n));
  const rounded = Math.floor(goal / 65536) + ((goal & 0xffff) >= 0x8000 ? 1 : 0);
  return rounded === 0 ? 1 : rounded;
}

// --- conversions of parsed integers to stored JS values ---------------------------------

const F64 = new Float64Array(1);
const U64 = new BigUint64Array(F64.buffer);

/** The double nearest to v that is not farther from zero than v (exact when |v| ≤ 2^53). */
export function bigintToNumberTowardZero(v: bigint): number {
  let n = Number(v);
  if (BigInt(n) === v || n === 0) return n;
  const tooFar = v > 0n ? BigInt(n) > v : BigInt(n) < v;
  if (tooFar) {
    F64[0] = n;
    U64[0] = (U64[0] ?? 0n) - 1n;
    n = F64[0] ?? n;
  }
  return n;
}

/** Casts a parsed uintmax/intmax to the C type and then to its JS representation. */
export function storeAs(ctype: OptCType, v: bigint): number | bigint {
  switch (ctype) {
    case "unsigned":
    case "fxp_t":
      return Number(BigInt.asUintN(32, v));
    case "size_t":
      return bigintToNumberTowardZero(BigInt.asUintN(64, v));
    case "ssize_t":
      return bigintToNumberTowardZero(BigInt.asIntN(64, v));
    case "uint64_t":
      return BigInt.asUintN(64, v);
    case "int64_t":
      return BigInt.asIntN(64, v);
    default:
      throw new TypeError(`malloc_conf: C type ${ctype} is not an integer type`);
  }
}

// --- the parser ---------------------------------------------------------------------------
