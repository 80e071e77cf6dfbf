import fc from "fast-check";
import { describe, expect, it } from "vitest";
import {
  bigintToNumberTowardZero,
  ERRNO_EINVAL,
  ERRNO_ERANGE,
  fxpParse,
  mallocConfSources,
  mallocStrtoumax,
  narenasDefault,
  parseMallocConf,
} from "../../src/conf/conf.js";
import type { OptValues } from "../../src/conf/opt.js";

function parse(text: string, lgPage = 12): { opt: OptValues; out: string[] } {
  const out: string[] = [];
  const r = parseMallocConf(mallocConfSources(text, null), { ncpus: 2, lgPage, writer: (m) => out.push(m) });
  return { opt: r.opt, out };
}

// [key, value below the minimum, clamped low, value above the maximum, clamped high]
// (null = no bound on that side). Clipping options never print anything.
const CLIPPING: ReadonlyArray<
  readonly [keyof OptValues, string | null, number | null, string | null, number | null]
> = [
  ["tcache_max", null, null, "8388609", 8388608],
  ["tcache_nslots_small_min", "0", 1, "2049", 2048],
  ["tcache_nslots_small_max", "0", 1, "100000", 2048],
  ["tcache_nslots_large", "0", 1, "2049", 2048],
  ["tcache_gc_incr_bytes", "1023", 1024, null, null],
  ["lg_tcache_flush_small_div", "0", 1, "17", 16],
  ["lg_tcache_flush_large_div", "0", 1, "17", 16],
  ["max_background_threads", "0", 1, "4097", 4],
  ["hpa_slab_max_alloc", "4095", 4096, "2097153", 2097152],
  ["hpa_hugification_threshold", "1", 4096, "4194304", 2097152],
  ["hpa_sec_nshards", null, null, null, null],
  ["hpa_sec_max_alloc", "1", 4096, null, null],
  ["hpa_sec_max_bytes", "0", 4096, null, null],
  ["hpa_sec_bytes_after_flush", "4095", 4096, null, null],
  ["hpa_sec_batch_fill_extra", null, null, "513", 512],
];

describe("clipping options clamp silently", () => {
  it.each(CLIPPING)("%s", (key, low, lowExpected, high, highExpected) => {
    if (low !== null) {
      const r = parse(`${key}:${low}`);
      expect(r.out).toEqual([]);
      expect(r.opt[key]).toBe(lowExpected);
    }
    if (high !== null) {
      const r = parse(`${key}:${high}`);
      expect(r.out).toEqual([]);
      expect(r.opt[key]).toBe(highExpected);
    }
    // -1 reads as 2^64−1 for these unsigned options: clamped to the maximum if there is one.
    const neg = parse(`${key}:-1`);
    expect(neg.out).toEqual([]);
    if (highExpected !== null) expect(neg.opt[key]).toBe(highExpected);
  });

  it("uses PAGE and HUGEPAGE of the build (64 KiB pages)", () => {
    const r = parse("hpa_sec_max_alloc:1,hpa_slab_max_alloc:1,hpa_sec_batch_fill_extra:1000", 16);
    expect(r.opt.hpa_sec_max_alloc).toBe(65536);
    expect(r.opt.hpa_slab_max_alloc).toBe(65536);
    expect(r.opt.hpa_sec_batch_fill_extra).toBe(32);
  });

  it("tcache_nslots_large clamps any uint32 to [1, 2048]", () => {
    fc.assert(
      fc.property(fc.nat({ max: 2 ** 32 - 1 }), (n) => {
        const r = parse(`tcache_nslots_large:${n}`);
        expect(r.out).toEqual([]);
        expect(r.opt.tcache_nslots_large).toBe(Math.min(Math.max(n, 1), 2048));
      }),
      { numRuns: 200 },
    );
  });

  it("dirty_decay_ms accepts [-1, max] and reports Out-of-range outside", () => {
    fc.assert(
      fc.property(fc.integer({ min: -1000, max: 10 ** 12 }), (n) => {
        const r = parse(`dirty_decay_ms:${n}`);
        if (n >= -1) {
          expect(r.out).toEqual([]);
          expect(r.opt.dirty_decay_ms).toBe(n);
        } else {
          expect(r.out).toEqual([`<jemalloc>: Out-of-range conf value: dirty_decay_ms:${n}\n`]);
          expect(r.opt.dirty_decay_ms).toBe(10000);
        }
      }),
      { numRuns: 200 },
    );
  });
});

describe("mallocStrtoumax", () => {
  it("parses decimal, octal and hex like base-0 strtoumax", () => {
    expect(mallocStrtoumax("123", 0, 0)).toEqual({ value: 123n, end: 3, errno: 0 });
    expect(mallocStrtoumax("0755", 0, 0)).toEqual({ value: 493n, end: 4, errno: 0 });
    expect(mallocStrtoumax("0xfF", 0, 0)).toEqual({ value: 255n, end: 4, errno: 0 });
    expect(mallocStrtoumax("08", 0, 0)).toEqual({ value: 0n, end: 1, errno: 0 });
    expect(mallocStrtoumax("0x", 0, 0)).toEqual({ value: 0n, end: 1, errno: 0 });
    expect(mallocStrtoumax("a:12,", 2, 0)).toEqual({ value: 12n, end: 4, errno: 0 });
    expect(mallocStrtoumax("-1", 0, 0)).toEqual({ value: 2n ** 64n - 1n, end: 2, errno: 0 });
    expect(mallocStrtoumax("x", 0, 0)).toEqual({ value: 2n ** 64n - 1n, end: 0, errno: ERRNO_EINVAL });
    expect(mallocStrtoumax("", 0, 0).errno).toBe(ERRNO_EINVAL);
    expect(mallocStrtoumax("18446744073709551616", 0, 0).errno).toBe(ERRNO_ERANGE);
  });

  it("base 10 does not take octal or hex prefixes", () => {
    expect(mallocStrtoumax("010", 0, 10).value).toBe(10n);
    expect(mallocStrtoumax("0x10", 0, 10)).toEqual({ value: 0n, end: 1, errno: 0 });
  });

  it("keeps jemalloc's incomplete overflow check (a wrap that does not decrease is missed)", () => {
    // 2^62 × 10 wraps to 2^63, which is larger than 2^62: not detected.
    expect(mallocStrtoumax("46116860184273879040", 0, 0)).toEqual({ value: 2n ** 63n, end: 20, errno: 0 });
  });

  it("agrees with exact parsing for every decimal uint64", () => {
    fc.assert(
      fc.property(fc.bigInt({ min: 0n, max: 2n ** 64n - 1n }), (v) => {
        const s = v.toString();
        expect(mallocStrtoumax(s, 0, 0)).toEqual({ value: v, end: s.length, errno: 0 });
        expect(mallocStrtoumax(`0x${v.toString(16)}`, 0, 0).value).toBe(v);
      }),
    );
  });
});

describe("fxpParse and narenasDefault", () => {
  it("parses 16.16 fixed point like fxp_parse", () => {
    expect(fxpParse("4", 0)).toEqual({ err: false, value: 4 * 65536, end: 1 });
    expect(fxpParse("0.25", 0)).toEqual({ err: false, value: 16384, end: 4 });
    expect(fxpParse(".5", 0).value).toBe(32768);
    expect(fxpParse("1.001953125", 0).value).toBe(65536 + 128);
    expect(fxpParse("65535.99999999999999999", 0).value).toBe(0xffffffff);
    expect(fxpParse("65536", 0).err).toBe(true);
    expect(fxpParse("1.", 0).err).toBe(true);
    expect(fxpParse("-1", 0).err).toBe(true);
    expect(fxpParse("2x", 0)).toEqual({ err: false, value: 131072, end: 1 });
  });

  it("computes narenas = round(ncpus × ratio), 1 for one CPU", () => {
    expect(narenasDefault(1)).toBe(1);
    expect(narenasDefault(2)).toBe(8);
    expect(narenasDefault(3)).toBe(12);
    expect(narenasDefault(64)).toBe(256);
    expect(narenasDefault(3, 32768 + 16384)).toBe(2); // 2.25 → 2
    expect(narenasDefault(2, 1)).toBe(1);
  });

  it("converts big values toward zero", () => {
    expect(bigintToNumberTowardZero(2n ** 64n - 1n)).toBe(2 ** 64 - 2048);
    expect(bigintToNumberTowardZero(-(2n ** 63n))).toBe(-(2 ** 63));
    expect(bigintToNumberTowardZero(123n)).toBe(123);
    fc.assert(
      fc.property(fc.bigInt({ min: -(2n ** 63n), max: 2n ** 64n - 1n }), (v) => {
        const n = bigintToNumberTowardZero(v);
        const back = BigInt(n);
        if (v >= 0n) expect(back <= v).toBe(true);
        else expect(back >= v).toBe(true);
      }),
    );
  });
});
