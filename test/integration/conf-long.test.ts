/**
 * malloc_conf strings of any length (issue 11): jemalloc reads the whole string, so a `conf` option or
 * JEMALLOC_TS_MALLOC_CONF longer than a header slot (2048 bytes) is kept in an extension area after the
 * header and parsed whole — by the creator and by every thread that attaches.
 */
import { afterEach, describe, expect, it } from "vitest";
import { Heap } from "../../src/index.js";

const ENV = "JEMALLOC_TS_MALLOC_CONF";
const saved = process.env[ENV];

afterEach(() => {
  if (saved === undefined) delete process.env[ENV];
  else process.env[ENV] = saved;
});

/** A long string whose last option is the one that counts (later options win, as in jemalloc). */
function longConf(filler: string, n: number, last: string): string {
  return `${filler},`.repeat(n) + last;
}

describe("long malloc_conf strings", () => {
  it("a JEMALLOC_TS_MALLOC_CONF of 10 KB is parsed whole, here and in an attached thread", () => {
    process.env[ENV] = longConf("dirty_decay_ms:5000", 500, "narenas:3");
    expect(process.env[ENV]!.length).toBeGreaterThan(10_000);
    const h = Heap.create({ maxBytes: 32 << 20 });
    expect(h.mallctl("opt.narenas")).toBe(3);
    expect(h.mallctl("opt.dirty_decay_ms")).toBe(5000);
    delete process.env[ENV];
    const other = Heap.attach(h.buffer);
    expect(other.mallctl("opt.narenas")).toBe(3);
    const p = other.malloc(1000);
    expect(p).not.toBe(0);
    other.free(p);
    h.check();
    other.detach();
  });

  it("a 6 KB conf option and a 3 KB environment string together, each whole", () => {
    const conf = longConf("muzzy_decay_ms:7000", 300, "lg_tcache_max:12");
    const env = longConf("dirty_decay_ms:3000", 150, "narenas:2");
    const h = Heap.create({ maxBytes: 32 << 20, conf, envConf: env });
    expect(h.mallctl("opt.tcache_max")).toBe(4096);
    expect(h.mallctl("opt.muzzy_decay_ms")).toBe(7000);
    expect(h.mallctl("opt.narenas")).toBe(2);
    expect(h.mallctl("config.malloc_conf")).toBe(conf);
    const big = h.malloc(1 << 20);
    expect(big).not.toBe(0);
    h.free(big);
    h.check();
    expect(Heap.attach(h.buffer).mallctl("opt.dirty_decay_ms")).toBe(3000);
  });

  it("exactly 2048 and 2049 bytes both work (slot and extension)", () => {
    for (const len of [2048, 2049]) {
      const head = longConf("abort:false", 150, "narenas:");
      // Leading zeros pad the last value to the exact length (strtoul reads them).
      const padded = `${head}${"0".repeat(len - head.length - 1)}2`;
      expect(padded.length).toBe(len);
      const h = Heap.create({ maxBytes: 16 << 20, conf: padded, envConf: null });
      expect(h.mallctl("opt.narenas")).toBe(2);
      expect(Heap.attach(h.buffer).mallctl("config.malloc_conf")).toBe(padded);
    }
  });
});
