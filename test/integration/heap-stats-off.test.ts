/**
 * Heap.create({ stats: false }) / JEMALLOC_TS_STATS=0: the run-time counterpart of jemalloc's
 * --disable-stats. The counters are never written, config.stats reads false, the stats.* leaves answer
 * as a jemalloc built without stats (ENOENT but the few plain CTL_RO_GEN leaves), and the choice is
 * the heap's (every attached handle follows it). Also the creation flag zeroOnPurge.
 */
import { afterEach, describe, expect, it } from "vitest";
import { arenaRecordByInd } from "../../src/arena/arena.js";
import { binRecord, bstatD } from "../../src/arena/bin.js";
import { BSTATS_COUNT } from "../../src/arena/layout.js";
import { Heap } from "../../src/heap.js";

function churn(heap: Heap): void {
  const ptrs: number[] = [];
  for (let i = 0; i < 3000; i++) ptrs.push(heap.malloc(8 + (i % 300)));
  for (let i = 0; i < 20; i++) ptrs.push(heap.malloc(40000 + i * 4096));
  for (const p of ptrs) heap.free(p);
}

function enoent(heap: Heap, name: string): void {
  expect(() => heap.mallctl(name), name).toThrow(/ENOENT/);
}

const savedEnv = process.env.JEMALLOC_TS_STATS;
afterEach(() => {
  if (savedEnv === undefined) delete process.env.JEMALLOC_TS_STATS;
  else process.env.JEMALLOC_TS_STATS = savedEnv;
});

describe("stats: false", () => {
  it("keeps no counters and answers the stats leaves as jemalloc built without stats", () => {
    const heap = Heap.create({ envConf: null, stats: false, maxBytes: 64 << 20 });
    churn(heap);
    heap.mallctl("epoch", 1n);
    expect(heap.mallctl("config.stats")).toBe(false);
    for (const n of [
      "stats.allocated",
      "stats.active",
      "stats.mapped",
      "stats.retained",
      "stats.resident",
      "stats.zero_reallocs",
      "stats.mutexes.ctl.num_ops",
      "stats.mutexes.reset",
      "stats.arenas.0.mapped",
      "stats.arenas.0.dirty_npurge",
      "stats.arenas.0.small.nmalloc",
      "stats.arenas.0.large.nmalloc",
      "stats.arenas.0.bins.0.nmalloc",
      "stats.arenas.0.lextents.0.nmalloc",
      "stats.arenas.0.extents.0.ndirty",
      "thread.peak.read",
      "thread.peak.reset",
    ])
      enoent(heap, n);
    // The plain (not config_stats) leaves still answer.
    expect(heap.mallctl("stats.arenas.0.pactive")).toBeGreaterThan(0);
    expect(typeof heap.mallctl("stats.arenas.0.pdirty")).toBe("number");
    expect(heap.mallctl("stats.arenas.0.nthreads")).toBe(1);
    expect(heap.mallctl("stats.arenas.0.dirty_decay_ms")).toBe(10000);
    expect(heap.mallctl("thread.allocated")).toBeGreaterThan(0n);
    // No bin counter was ever written.
    const arena = arenaRecordByInd(heap.ctx, 0);
    for (let b = 0; b < heap.ctx.sc.nbins; b++) {
      const bin = binRecord(heap.ctx, arena, b, 0);
      for (let k = 0; k < BSTATS_COUNT; k++) expect(heap.f64[bstatD(bin, k)]).toBe(0);
    }
    // The report stops after the general section, as jemalloc's does without config_stats.
    const text = heap.statsPrint();
    expect(text).toContain("config.stats: false");
    expect(text).not.toContain("Allocated:");
    expect(text).toContain("--- End jemalloc statistics ---");
    expect(() => heap.check()).not.toThrow();
  });

  it("is the heap's choice: an attached handle sees it too; stats stay on by default", () => {
    const off = Heap.create({ envConf: null, stats: false, maxBytes: 64 << 20 });
    const other = Heap.attach(off.buffer);
    expect(other.mallctl("config.stats")).toBe(false);
    enoent(other, "stats.allocated");
    other.detach();
    const on = Heap.create({ envConf: null, maxBytes: 64 << 20 });
    churn(on);
    on.mallctl("epoch", 1n);
    expect(on.mallctl("config.stats")).toBe(true);
    expect(on.mallctl("stats.arenas.0.small.nmalloc")).toBeGreaterThan(0);
  });

  it("JEMALLOC_TS_STATS=0 turns them off unless the options say otherwise", () => {
    process.env.JEMALLOC_TS_STATS = "0";
    expect(Heap.create({ envConf: null, maxBytes: 64 << 20 }).mallctl("config.stats")).toBe(false);
    expect(Heap.create({ envConf: null, maxBytes: 64 << 20, stats: true }).mallctl("config.stats")).toBe(
      true,
    );
    process.env.JEMALLOC_TS_STATS = "1";
    expect(Heap.create({ envConf: null, maxBytes: 64 << 20 }).mallctl("config.stats")).toBe(true);
  });

  it("rejects a stats or zeroOnPurge option that is not a boolean, naming it", () => {
    expect(() => Heap.create({ stats: "no" as unknown as boolean })).toThrow(
      /stats must be a boolean, got "no"/,
    );
    expect(() => Heap.create({ zeroOnPurge: 1 as unknown as boolean })).toThrow(
      /zeroOnPurge must be a boolean, got 1/,
    );
  });
});

describe("zeroOnPurge", () => {
  it("is the heap's choice: a forced purge from an attached handle zero-fills as well", () => {
    const heap = Heap.create({
      envConf: null,
      zeroOnPurge: true,
      maxBytes: 64 << 20,
      conf: "tcache:false,dirty_decay_ms:0,muzzy_decay_ms:0",
    });
    const other = Heap.attach(heap.buffer);
    const p = other.malloc(1 << 20);
    other.u8.fill(0x33, p, p + (1 << 20));
    other.free(p);
    expect(other.u8[p + 5000]).toBe(0);
    other.detach();
    const plain = Heap.create({ envConf: null, maxBytes: 64 << 20, conf: "tcache:false,dirty_decay_ms:0" });
    const q = plain.malloc(1 << 20);
    plain.u8.fill(0x33, q, q + (1 << 20));
    plain.free(q);
    expect(plain.u8[q + 5000]).toBe(0x33);
  });
});
