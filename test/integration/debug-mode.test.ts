/**
 * Debug mode (issue 13), the analog of jemalloc's --enable-debug: chosen at creation (option or
 * JEMALLOC_TS_DEBUG=1), recorded in the header so attached handles agree; config.debug and opt.junk
 * follow it; a write into a freed block is reported as "use-after-free" when the block is handed out
 * again, or by heap.check(), naming block, size class and first changed offset; the witness throws on
 * a lock-order reversal, naming both locks.
 */
import { describe, expect, it } from "vitest";
import { binRecord } from "../../src/arena/bin.js";
import { HDR_LOCK_ARENAS_B } from "../../src/ctx/header.js";
import { type CorruptionReport, HeapCorruptionError } from "../../src/errors.js";
import { heapLock, heapUnlock } from "../../src/extent/lock.js";
import { Heap } from "../../src/heap.js";
import { LockOrderError } from "../../src/sync/witness.js";

describe("config.debug and opt.junk", () => {
  it("off by default; on with debug: true, for attached handles too; an explicit junk setting wins", () => {
    const plain = Heap.create({ envConf: null, debug: false });
    expect(plain.mallctl("config.debug")).toBe(false);
    expect(plain.mallctl("opt.junk")).toBe("false");
    const dbg = Heap.create({ envConf: null, debug: true });
    expect(dbg.mallctl("config.debug")).toBe(true);
    expect(dbg.mallctl("opt.junk")).toBe("true");
    const other = Heap.attach(dbg.buffer);
    expect(other.mallctl("config.debug")).toBe(true);
    expect(other.mallctl("opt.junk")).toBe("true");
    other.detach();
    expect(Heap.create({ envConf: null, debug: true, conf: "junk:free" }).mallctl("opt.junk")).toBe("free");
    expect(() => Heap.create({ debug: "yes" as unknown as boolean })).toThrow(TypeError);
  });

  it("JEMALLOC_TS_DEBUG=1 turns it on when the option is not given", () => {
    const saved = process.env.JEMALLOC_TS_DEBUG;
    try {
      process.env.JEMALLOC_TS_DEBUG = "1";
      expect(Heap.create({ envConf: null }).mallctl("config.debug")).toBe(true);
      expect(Heap.create({ envConf: null, debug: false }).mallctl("config.debug")).toBe(false);
      process.env.JEMALLOC_TS_DEBUG = "0";
      expect(Heap.create({ envConf: null }).mallctl("config.debug")).toBe(false);
    } finally {
      if (saved === undefined) delete process.env.JEMALLOC_TS_DEBUG;
      else process.env.JEMALLOC_TS_DEBUG = saved;
    }
  });

  it("alloc junk 0xa5 on malloc, free junk 0x5a on free", () => {
    const h = Heap.create({ envConf: null, debug: true });
    const p = h.malloc(100);
    expect([...h.u8.subarray(p, p + 100)].every((b) => b === 0xa5)).toBe(true);
    const q = h.malloc(100);
    h.free(q);
    expect([...h.u8.subarray(q + 4, q + 112)].every((b) => b === 0x5a)).toBe(true);
  });
});

describe("use after free (debug)", () => {
  const cases: [string, string, number][] = [
    ["small, thread cache", "", 64],
    ["cached large", "", 20000],
    ["small, tcache:false", "tcache:false", 64],
    ["small, flushed to its slab", "", 48],
  ];
  for (const [name, conf, size] of cases) {
    it(`${name}: reported at reuse and by check(), naming block, class and offset`, () => {
      const h = Heap.create({ envConf: null, debug: true, conf });
      const reports: CorruptionReport[] = [];
      h.setCorruptionHandler((r) => reports.push(r));
      const keep = h.malloc(size);
      const p = h.malloc(size);
      h.free(p);
      if (name.includes("flushed")) h.mallctl("thread.tcache.flush");
      h.u8[p + 24] = 1; // the write after free
      const ind = h.ctx.sc.size2index(size);
      expect(() => h.check()).toThrow(
        new RegExp(`use after free: block ${p} \\(size class ${ind},.*offset 24`),
      );
      const got: number[] = [];
      for (let i = 0; i < 3 && reports.length === 0; i++) got.push(h.malloc(size));
      expect(reports.length).toBe(1);
      expect(reports[0]!.kind).toBe("use-after-free");
      expect(reports[0]!.ptr).toBe(p);
      expect(reports[0]!.message).toMatch(`size class ${ind}`);
      expect(reports[0]!.message).toMatch("first changed byte at offset 24");
      void keep;
    });
  }

  it("the default handler throws HeapCorruptionError; an untouched freed block is handed out silently", () => {
    const h = Heap.create({ envConf: null, debug: true });
    const a = h.malloc(32);
    h.free(a);
    expect(h.malloc(32)).toBe(a);
    h.free(a);
    h.u8[a + 31] = 0;
    expect(() => h.malloc(32)).toThrow(HeapCorruptionError);
  });
});

describe("lock order (debug witness)", () => {
  it("taking the arenas lock while holding a bin lock throws, naming both locks", () => {
    const h = Heap.create({ envConf: null, debug: true });
    const bin = binRecord(h.ctx, h.arenaRecord(0), 3, 0);
    heapLock(h.ctx, bin);
    let err: unknown;
    try {
      heapLock(h.ctx, HDR_LOCK_ARENAS_B);
    } catch (e) {
      err = e;
    } finally {
      heapUnlock(h.ctx, bin);
    }
    expect(err).toBeInstanceOf(LockOrderError);
    expect((err as Error).message).toMatch(
      /acquiring arenas lock .* while holding arena 0 bin record 3 lock/,
    );
    // The right order is fine, and the heap keeps working.
    heapLock(h.ctx, HDR_LOCK_ARENAS_B);
    heapLock(h.ctx, bin);
    heapUnlock(h.ctx, bin);
    heapUnlock(h.ctx, HDR_LOCK_ARENAS_B);
    h.free(h.malloc(100));
    h.check();
  });

  it("without debug mode there is no witness", () => {
    const h = Heap.create({ envConf: null, debug: false });
    expect(h.ctx.lockCtx.witness).toBeNull();
    const bin = binRecord(h.ctx, h.arenaRecord(0), 3, 0);
    heapLock(h.ctx, bin);
    heapLock(h.ctx, HDR_LOCK_ARENAS_B);
    heapUnlock(h.ctx, HDR_LOCK_ARENAS_B);
    heapUnlock(h.ctx, bin);
  });
});
