/**
 * Bad input (RELIABILITY.md §6.2: B1, B3–B13): wrong types and values at the API boundary throw a
 * TypeError/RangeError naming the value; misuse the heap detects (double free, pointers it never returned,
 * interior pointers, sized frees with the wrong size, realloc of a freed block) goes to the corruption
 * handler — HeapCorruptionError by default, or a handler installed with setCorruptionHandler — and
 * changes nothing; out-of-memory sizes return 0 with lastError ENOMEM, never a block of a wrapped size.
 * After every bad call the heap passes heap.check(), its statistics are unchanged, and it still serves.
 */
import { beforeEach, describe, expect, it } from "vitest";
import { HDR_VERSION_B } from "../../src/ctx/header.js";
import {
  type CorruptionReport,
  EINVAL,
  ENOMEM,
  HeapCorruptionError,
  HeapPoisonedError,
} from "../../src/errors.js";
import { emapLookupChecked } from "../../src/extent/emap.js";
import { MALLOCX_ARENA, MALLOCX_LG_ALIGN, MALLOCX_ZERO } from "../../src/flags.js";
import { Heap } from "../../src/heap.js";
import { fillPattern, findPatternMismatch } from "../helpers/ledger.js";

const KiB = 1024;
const MiB = 1024 * KiB;

let heap: Heap;
beforeEach(() => {
  heap = Heap.create({ envConf: null, conf: "tcache:false,narenas:1", clock: () => 0 });
});

function allocated(h: Heap = heap): number {
  h.mallctl("epoch", 1);
  return h.mallctl("stats.allocated") as number;
}

/** The heap is consistent and still serves a fresh malloc/free of a small and a large block. */
function healthy(h: Heap = heap): void {
  h.check();
  const before = allocated(h);
  for (const size of [24, 40 * KiB]) {
    const p = h.malloc(size);
    expect(p).not.toBe(0);
    fillPattern(h.u8, p, size, 3);
    expect(findPatternMismatch(h.u8, p, size, 3)).toBe(-1);
    h.free(p);
  }
  // With a thread cache the freed blocks stay cached (and a fill brings more): allocated moves.
  if (h.mallctl("thread.tcache.enabled") !== true) expect(allocated(h)).toBe(before);
  h.check();
}

/** Runs `fn` and expects one HeapCorruptionError for `ptr`; then nothing may have changed. */
function expectCorruption(fn: () => unknown, ptr: number, kinds: string[]): void {
  const before = allocated();
  let err: unknown;
  try {
    fn();
  } catch (e) {
    err = e;
  }
  expect(err).toBeInstanceOf(HeapCorruptionError);
  const e = err as HeapCorruptionError;
  expect(e.ptr).toBe(ptr);
  expect(e.message).toContain(String(ptr));
  expect(
    kinds.some((k) => e.message.includes(kindWords[k]!)),
    `message ${JSON.stringify(e.message)} names one of ${kinds}`,
  ).toBe(true);
  expect(allocated()).toBe(before);
  healthy();
}
const kindWords: Record<string, string> = {
  "double-free": "not allocated",
  "invalid-pointer": "not returned by this heap",
  "interior-pointer": "interior pointer",
  "size-mismatch": "size mismatch",
};

/** Installs a recording handler; returns the reports list. */
function recordReports(h: Heap = heap): CorruptionReport[] {
  const reports: CorruptionReport[] = [];
  h.setCorruptionHandler((r) => reports.push(r));
  return reports;
}

describe("B1: free(0) and other NULL frees are no-ops", () => {
  it("free(0), dallocx(0), sdallocx(0, n) change nothing; mallocUsableSize(0) is 0", () => {
    const p = heap.malloc(100);
    const before = allocated();
    heap.free(0);
    heap.dallocx(0);
    heap.sdallocx(0, 100);
    heap.free(-0);
    expect(heap.mallocUsableSize(0)).toBe(0);
    expect(allocated()).toBe(before);
    heap.free(p);
    healthy();
  });
});

describe("B3: double free is detected (small and large), nothing changes", () => {
  it("small: second free of a region in a live slab", () => {
    const keep = heap.malloc(48); // keeps the slab alive
    const p = heap.malloc(48);
    heap.free(p);
    expectCorruption(() => heap.free(p), p, ["double-free"]);
    heap.free(keep);
    healthy();
  });

  it("small: second free after the slab went back to the extent cache", () => {
    const p = heap.malloc(3000);
    heap.free(p);
    expectCorruption(() => heap.free(p), p, ["double-free", "invalid-pointer"]);
  });

  it("large: second free of a large extent", () => {
    const keepBefore = heap.malloc(64 * KiB);
    const p = heap.malloc(100 * KiB);
    const keepAfter = heap.malloc(64 * KiB); // neighbours stay active: p's extent is not merged away
    heap.free(p);
    expectCorruption(() => heap.free(p), p, ["double-free", "invalid-pointer"]);
    heap.free(keepBefore);
    heap.free(keepAfter);
    healthy();
  });

  it("large: second free after the extent was coalesced with its free neighbours", () => {
    const p = heap.malloc(200 * KiB);
    heap.free(p);
    expectCorruption(() => heap.free(p), p, ["double-free", "invalid-pointer"]);
  });

  it("huge (≥ oversize_threshold): second free", () => {
    const p = heap.malloc(9 * MiB);
    expect(p).not.toBe(0);
    heap.free(p);
    expectCorruption(() => heap.free(p), p, ["double-free", "invalid-pointer"]);
  });

  it("double free through sdallocx and dallocx is detected too", () => {
    const keep = heap.malloc(64);
    const p = heap.malloc(64);
    heap.sdallocx(p, 64);
    expectCorruption(() => heap.sdallocx(p, 64), p, ["double-free"]);
    expectCorruption(() => heap.dallocx(p), p, ["double-free"]);
    heap.free(keep);
  });

  it("a custom handler records the report instead of throwing; two later mallocs never share a block", () => {
    const reports = recordReports();
    const keep = heap.malloc(32);
    const p = heap.malloc(32);
    heap.free(p);
    heap.free(p);
    expect(reports).toHaveLength(1);
    expect(reports[0]!.kind).toBe("double-free");
    expect(reports[0]!.ptr).toBe(p);
    expect(reports[0]!.message).toContain(String(p));
    const a = heap.malloc(32);
    const b = heap.malloc(32);
    expect(a).not.toBe(b);
    heap.free(a);
    heap.free(b);
    heap.free(keep);
    expect(reports).toHaveLength(1);
    // null restores the default (throwing) handler.
    heap.setCorruptionHandler(null);
    expect(() => heap.free(a)).toThrow(HeapCorruptionError);
    healthy();
  });
});

describe("B4: interior pointers are detected, nothing changes", () => {
  it("small: p + 8 and p + 1 inside a 64-byte region", () => {
    const p = heap.malloc(64);
    fillPattern(heap.u8, p, 64, 11);
    expectCorruption(() => heap.free(p + 8), p + 8, ["interior-pointer"]);
    expectCorruption(() => heap.free(p + 1), p + 1, ["interior-pointer"]);
    expectCorruption(() => heap.realloc(p + 16, 200), p + 16, ["interior-pointer"]);
    expect(heap.mallocUsableSize(p)).toBe(64);
    expect(findPatternMismatch(heap.u8, p, 64, 11)).toBe(-1);
    heap.free(p);
    healthy();
  });

  it("large: p + 8, p + PAGE, p + 1, and the extent's base when the block is offset in it", () => {
    const page = heap.ctx.page;
    const p = heap.malloc(64 * KiB);
    const usable = heap.mallocUsableSize(p);
    fillPattern(heap.u8, p, usable, 12);
    for (const q of [p + 8, p + page, p + 1, p + usable - page]) {
      expectCorruption(() => heap.free(q), q, ["interior-pointer", "invalid-pointer"]);
    }
    if (p % page !== 0) {
      const base = p - (p % page);
      expectCorruption(() => heap.free(base), base, ["interior-pointer", "invalid-pointer"]);
    }
    expect(heap.mallocUsableSize(p)).toBe(usable);
    expect(findPatternMismatch(heap.u8, p, usable, 12)).toBe(-1);
    heap.free(p);
    healthy();
  });

  it("a custom handler sees kind interior-pointer", () => {
    const reports = recordReports();
    const p = heap.malloc(128);
    heap.free(p + 16);
    expect(reports.map((r) => [r.kind, r.ptr])).toEqual([["interior-pointer", p + 16]]);
    expect(heap.mallocUsableSize(p)).toBe(128);
    heap.free(p);
    expect(reports).toHaveLength(1);
  });
});

describe("B5/B11: pointer and size arguments of the wrong type or value", () => {
  const bad: [unknown, RegExp, typeof TypeError | typeof RangeError][] = [
    [Number.NaN, /NaN/, RangeError],
    [1.5, /1\.5/, RangeError],
    [-1, /-1/, RangeError],
    [-8, /-8/, RangeError],
    [Number.POSITIVE_INFINITY, /Infinity/, RangeError],
    [Number.NEGATIVE_INFINITY, /-Infinity/, RangeError],
    ["16", /"16"/, TypeError],
    [undefined, /undefined/, TypeError],
    [null, /null/, TypeError],
    [10n, /10n/, TypeError],
    [5000n, /5000n/, TypeError], // in the range of the cached classes above 4 KiB
    [100000n, /100000n/, TypeError], // above tcache_max
    [{ valueOf: () => 5000 }, /object/, TypeError],
    [{}, /object/, TypeError],
  ];
  const calls: [string, (h: Heap, v: unknown, live: number) => unknown][] = [
    ["malloc(size)", (h, v) => h.malloc(v as number)],
    ["calloc(n, ·)", (h, v) => h.calloc(v as number, 8)],
    ["calloc(·, size)", (h, v) => h.calloc(8, v as number)],
    ["realloc(ptr, ·)", (h, v) => h.realloc(v as number, 8)],
    ["realloc(·, size)", (h, v, live) => h.realloc(live, v as number)],
    ["free(ptr)", (h, v) => h.free(v as number)],
    ["alignedAlloc(align, ·)", (h, v) => h.alignedAlloc(v as number, 8)],
    ["alignedAlloc(·, size)", (h, v) => h.alignedAlloc(16, v as number)],
    ["posixMemalign(align, ·)", (h, v) => h.posixMemalign(v as number, 8)],
    ["posixMemalign(·, size)", (h, v) => h.posixMemalign(16, v as number)],
    ["mallocUsableSize(ptr)", (h, v) => h.mallocUsableSize(v as number)],
    ["mallocx(size)", (h, v) => h.mallocx(v as number)],
    ["rallocx(ptr, ·)", (h, v) => h.rallocx(v as number, 8)],
    ["rallocx(·, size)", (h, v, live) => h.rallocx(live, v as number)],
    ["xallocx(ptr, ·)", (h, v) => h.xallocx(v as number, 8)],
    ["xallocx(·, size)", (h, v, live) => h.xallocx(live, v as number)],
    ["xallocx(·, ·, extra)", (h, v, live) => h.xallocx(live, 8, v as number)],
    ["sallocx(ptr)", (h, v) => h.sallocx(v as number)],
    ["dallocx(ptr)", (h, v) => h.dallocx(v as number)],
    ["sdallocx(ptr, ·)", (h, v) => h.sdallocx(v as number, 8)],
    ["sdallocx(·, size)", (h, v, live) => h.sdallocx(live, v as number)],
    ["nallocx(size)", (h, v) => h.nallocx(v as number)],
  ];

  // With the thread cache off and on (its fast paths see the arguments first).
  const cases = calls.flatMap(([name, call]) => [
    [name, "tcache:false", call] as const,
    [name, "tcache on", call] as const,
  ]);
  it.each(cases)(
    "%s (%s) throws a TypeError/RangeError naming the value, and nothing changes",
    (name, mode, call) => {
      if (mode === "tcache on") heap = Heap.create({ envConf: null, conf: "narenas:1", clock: () => 0 });
      const live = heap.malloc(8);
      fillPattern(heap.u8, live, 8, 9);
      const before = allocated();
      for (const [v, re, type] of bad) {
        // undefined is a valid "use the default" only for optional arguments (flags, extra).
        if (v === undefined && name.includes("extra")) continue;
        let err: unknown;
        try {
          call(heap, v, live);
        } catch (e) {
          err = e;
        }
        expect(err, `${name} with ${String(v)}`).toBeInstanceOf(type);
        expect((err as Error).message, `${name} with ${String(v)}`).toMatch(re);
      }
      expect(allocated()).toBe(before);
      expect(heap.mallocUsableSize(live)).toBe(8);
      expect(findPatternMismatch(heap.u8, live, 8, 9)).toBe(-1);
      heap.free(live);
      healthy();
    },
  );

  it("pointers ≥ 2^32 are refused as out of range (never wrapped to a valid offset)", () => {
    const p = heap.malloc(16);
    for (const v of [2 ** 32 + p, 2 ** 33, 2 ** 53]) {
      expect(() => heap.free(v)).toThrow(RangeError);
      expect(() => heap.free(v)).toThrow(new RegExp(String(v)));
    }
    expect(heap.mallocUsableSize(p)).toBe(16);
    heap.free(p);
    healthy();
  });

  it("bad flags words throw a TypeError naming the value", () => {
    const p = heap.malloc(16);
    for (const f of [-1, 1.5, 2 ** 32, Number.NaN, "0"]) {
      expect(() => heap.mallocx(16, f as number), String(f)).toThrow(TypeError);
      expect(() => heap.rallocx(p, 32, f as number), String(f)).toThrow(TypeError);
      expect(() => heap.xallocx(p, 32, 0, f as number), String(f)).toThrow(TypeError);
      expect(() => heap.sdallocx(p, 16, f as number), String(f)).toThrow(TypeError);
      expect(() => heap.dallocx(p, f as number), String(f)).toThrow(TypeError);
      expect(() => heap.nallocx(16, f as number), String(f)).toThrow(TypeError);
    }
    expect(heap.mallocUsableSize(p)).toBe(16);
    heap.free(p);
    healthy();
  });

  it("MALLOCX_ARENA naming no arena is a RangeError; rallocx(0, n) is a RangeError", () => {
    expect(() => heap.mallocx(16, MALLOCX_ARENA(100))).toThrow(RangeError);
    expect(() => heap.mallocx(16, MALLOCX_ARENA(100))).toThrow(/100/);
    expect(() => heap.rallocx(0, 16)).toThrow(RangeError);
    healthy();
  });

  it("-0 behaves exactly as 0", () => {
    const a = heap.malloc(-0);
    const b = heap.malloc(0);
    expect(a).not.toBe(0);
    expect(heap.mallocUsableSize(a)).toBe(heap.mallocUsableSize(b));
    const c = heap.calloc(-0, 100);
    expect(c).not.toBe(0);
    const d = heap.alignedAlloc(64, -0);
    expect(d % 64).toBe(0);
    expect(heap.nallocx(-0)).toBe(heap.nallocx(0));
    const before = allocated();
    const usableA = heap.mallocUsableSize(a);
    expect(heap.realloc(a, -0)).toBe(0); // realloc(p, 0) frees
    expect(allocated()).toBe(before - usableA);
    for (const p of [b, c, d]) heap.free(p);
    expect(allocated()).toBe(0);
    healthy();
  });
});

describe("B6: pointers the heap never returned", () => {
  it("offsets inside the header, at and beyond the buffer's end, and at the top of the address space", () => {
    const end = heap.buffer.byteLength;
    for (const q of [8, 64, 4096, 8192, end, end + 8, end + 4096, 2 ** 32 - 8, 2 ** 32 - 4096]) {
      expectCorruption(() => heap.free(q), q, ["invalid-pointer", "interior-pointer", "double-free"]);
      expectCorruption(() => heap.mallocUsableSize(q), q, [
        "invalid-pointer",
        "interior-pointer",
        "double-free",
      ]);
    }
  });

  it("metadata: the arena record and a live block's extent record (inside the base allocator)", () => {
    const arena0 = heap.arenaRecord(0);
    expect(arena0).toBeGreaterThan(0);
    expectCorruption(() => heap.free(arena0), arena0, ["invalid-pointer", "interior-pointer", "double-free"]);
    const p = heap.malloc(64 * KiB);
    const e = findRecordOf(p);
    expect(e).toBeGreaterThan(0);
    expectCorruption(() => heap.free(e), e, ["invalid-pointer", "interior-pointer", "double-free"]);
    heap.free(p);
  });

  it("inside a free (dirty) extent, and a never-allocated page after the last block", () => {
    const page = heap.ctx.page;
    const keep = heap.malloc(32 * KiB);
    const p = heap.malloc(256 * KiB);
    heap.free(p);
    const inside = p - (p % page) + 4 * page;
    expectCorruption(() => heap.free(inside), inside, ["invalid-pointer", "double-free", "interior-pointer"]);
    const last = heap.malloc(16 * KiB);
    const beyond = last - (last % page) + 64 * page;
    if (beyond < heap.buffer.byteLength) {
      expectCorruption(() => heap.free(beyond), beyond, [
        "invalid-pointer",
        "double-free",
        "interior-pointer",
      ]);
    }
    heap.free(last);
    heap.free(keep);
    healthy();
  });

  it("a second, unrelated heap's pointer is refused", () => {
    const other = Heap.create({ envConf: null, conf: "tcache:false,narenas:1", clock: () => 0 });
    // Make the other heap's block land where this heap has nothing live.
    other.malloc(1000);
    const q = other.malloc(3 * MiB + 7);
    expectCorruption(() => heap.free(q), q, ["invalid-pointer", "interior-pointer", "double-free"]);
  });
});

/** The extent record of the live block at `p` (internal: found through the page map). */
function findRecordOf(p: number): number {
  return emapLookupChecked(heap.ctx, p);
}

describe("B7: sized free with the wrong size is detected", () => {
  it("smaller class, larger class, 0, and a large size for a small block", () => {
    const p = heap.malloc(100); // class 112
    for (const s of [64, 96, 128, 0, 20 * KiB]) {
      expectCorruption(() => heap.sdallocx(p, s), p, ["size-mismatch"]);
    }
    expect(heap.mallocUsableSize(p)).toBe(112);
    heap.sdallocx(p, 100); // the request
    const q = heap.malloc(100);
    heap.sdallocx(q, 112); // the usable size is fine too
    expect(allocated()).toBe(0);
    healthy();
  });

  it("large: the size of another large class", () => {
    const p = heap.malloc(40 * KiB);
    expectCorruption(() => heap.sdallocx(p, 80 * KiB), p, ["size-mismatch"]);
    expectCorruption(() => heap.sdallocx(p, 16 * KiB), p, ["size-mismatch"]);
    heap.sdallocx(p, 40 * KiB);
    expect(allocated()).toBe(0);
  });
});

describe("B8: realloc of a freed or interior pointer is reported and copies nothing", () => {
  it("realloc of a freed small block: HeapCorruptionError, no allocation made", () => {
    const keep = heap.malloc(200);
    const p = heap.malloc(200);
    heap.free(p);
    expectCorruption(() => heap.realloc(p, 300), p, ["double-free"]);
    expectCorruption(() => heap.rallocx(p, 300), p, ["double-free"]);
    expectCorruption(() => heap.xallocx(p, 300), p, ["double-free"]);
    heap.free(keep);
  });

  it("with a recording handler realloc returns 0 and allocates nothing", () => {
    const reports = recordReports();
    const keep = heap.malloc(200);
    const p = heap.malloc(200);
    const big = heap.malloc(50 * KiB);
    heap.free(p);
    heap.free(big);
    const before = allocated();
    expect(heap.realloc(p, 5000)).toBe(0);
    expect(heap.realloc(big, 100 * KiB)).toBe(0);
    expect(heap.realloc(keep + 8, 100)).toBe(0);
    expect(heap.rallocx(p, 100)).toBe(0);
    expect(allocated()).toBe(before);
    expect(reports.map((r) => r.kind)).toEqual([
      "double-free",
      expect.stringMatching(/double-free|invalid-pointer/),
      "interior-pointer",
      "double-free",
    ]);
    expect(heap.mallocUsableSize(keep)).toBe(224);
    heap.free(keep);
    healthy();
  });
});

describe("B9: realloc edge cases", () => {
  it("realloc(p, 0) frees (zero_realloc:free), returns 0 and counts stats.zero_reallocs", () => {
    expect(heap.mallctl("opt.zero_realloc")).toBe("free");
    const p = heap.malloc(100);
    const q = heap.malloc(100 * KiB);
    expect(heap.realloc(p, 0)).toBe(0);
    expect(heap.realloc(q, 0)).toBe(0);
    expect(allocated()).toBe(0);
    expect(heap.mallctl("stats.zero_reallocs")).toBe(2);
    // Freed for real: a second free is a double free.
    expect(() => heap.free(p)).toThrow(HeapCorruptionError);
    healthy();
  });

  it("realloc(0, n) is malloc(n)", () => {
    const p = heap.realloc(0, 100);
    expect(p).not.toBe(0);
    expect(heap.mallocUsableSize(p)).toBe(112);
    heap.free(p);
    expect(heap.mallctl("stats.zero_reallocs")).toBe(0);
  });

  it("grow and shrink across the small/large boundary keep min(old, new) bytes", () => {
    let p = heap.malloc(1000);
    fillPattern(heap.u8, p, 1000, 21);
    p = heap.realloc(p, 100 * KiB); // small → large
    expect(findPatternMismatch(heap.u8, p, 1000, 21)).toBe(-1);
    fillPattern(heap.u8, p, 100 * KiB, 22);
    p = heap.realloc(p, 9 * MiB); // large → huge
    expect(p).not.toBe(0);
    expect(findPatternMismatch(heap.u8, p, 100 * KiB, 22)).toBe(-1);
    p = heap.realloc(p, 50 * KiB); // huge → large
    expect(findPatternMismatch(heap.u8, p, 50 * KiB, 22)).toBe(-1);
    p = heap.realloc(p, 10); // large → small
    expect(findPatternMismatch(heap.u8, p, 10, 22)).toBe(-1);
    expect(heap.mallocUsableSize(p)).toBe(16);
    heap.free(p);
    expect(allocated()).toBe(0);
    healthy();
  });
});

describe("B10: sizes too large for the heap return 0 with ENOMEM, never a wrapped block", () => {
  const huge = [2 ** 31, 2 ** 32, 2 ** 32 + 16, 2 ** 32 + 8, 2 ** 53, Number.MAX_SAFE_INTEGER, 2 ** 64];
  it.each(huge)("size %d", (size) => {
    const p = heap.malloc(64);
    fillPattern(heap.u8, p, 64, 5);
    const before = allocated();
    const results: [string, number][] = [
      ["malloc", heap.malloc(size)],
      ["calloc(1, s)", heap.calloc(1, size)],
      ["calloc(s, 1)", heap.calloc(size, 1)],
      ["realloc(0, s)", heap.realloc(0, size)],
      ["realloc(p, s)", heap.realloc(p, size)],
      ["mallocx", heap.mallocx(size)],
      ["mallocx zero", heap.mallocx(size, MALLOCX_ZERO)],
      ["mallocx aligned", heap.mallocx(size, MALLOCX_LG_ALIGN(12))],
      ["rallocx(p, s)", heap.rallocx(p, size)],
      ["alignedAlloc", heap.alignedAlloc(16, size)],
      ["alignedAlloc page", heap.alignedAlloc(4096, size)],
    ];
    for (const [name, r] of results) {
      expect(r, name).toBe(0);
    }
    expect(heap.lastError).toBe(ENOMEM);
    expect(heap.posixMemalign(16, size)).toEqual({ error: ENOMEM, ptr: 0 });
    // xallocx cannot resize: it reports the old usable size.
    expect(heap.xallocx(p, size)).toBe(64);
    expect(heap.xallocx(p, 64, size)).toBeGreaterThanOrEqual(64);
    // nallocx: 0 when no size class holds it (2^31 is a class of a 4 GiB heap; the heap's maxBytes is not).
    const n = heap.nallocx(size);
    expect(n === 0 || n >= size).toBe(true);
    // The block at p is untouched.
    expect(heap.mallocUsableSize(p)).toBeGreaterThanOrEqual(64);
    expect(findPatternMismatch(heap.u8, p, 64, 5)).toBe(-1);
    expect(allocated()).toBe(before - 64 + heap.mallocUsableSize(p));
    heap.free(p);
    healthy();
  });

  it("maxBytes + 1 and the whole of maxBytes, on a heap capped at 16 MiB", () => {
    const h = Heap.create({
      envConf: null,
      conf: "tcache:false,narenas:1",
      clock: () => 0,
      maxBytes: 16 * MiB,
    });
    expect(h.malloc(16 * MiB + 1)).toBe(0);
    expect(h.lastError).toBe(ENOMEM);
    expect(h.malloc(16 * MiB)).toBe(0);
    expect(h.calloc(4, 4 * MiB)).toBe(0);
    const p = h.malloc(100);
    expect(p).not.toBe(0);
    h.free(p);
    healthy(h);
  });
});

describe("B12: bad alignments", () => {
  it("alignedAlloc: 0, 3, 24, 48 → 0 with EINVAL; NaN, -1, 1.5 → RangeError", () => {
    for (const a of [0, 3, 24, 48, 2 ** 20 + 1]) {
      expect(heap.alignedAlloc(a, 64), String(a)).toBe(0);
      expect(heap.lastError, String(a)).toBe(EINVAL);
    }
    for (const a of [Number.NaN, -1, 1.5, -16]) expect(() => heap.alignedAlloc(a, 64)).toThrow(RangeError);
    expect(allocated()).toBe(0);
    healthy();
  });

  it("posixMemalign: not a power of two or below sizeof(void*) → EINVAL, ptr 0", () => {
    for (const a of [0, 1, 2, 4, 3, 24, 48]) {
      expect(heap.posixMemalign(a, 64), String(a)).toEqual({ error: EINVAL, ptr: 0 });
    }
    for (const a of [Number.NaN, -8, 8.5]) expect(() => heap.posixMemalign(a, 64)).toThrow(RangeError);
    const ok = heap.posixMemalign(8, 64);
    expect(ok.error).toBe(0);
    expect(ok.ptr % 8).toBe(0);
    heap.free(ok.ptr);
    expect(allocated()).toBe(0);
    healthy();
  });

  it("alignments beyond the heap: 2^31 and 2^32 → 0 with ENOMEM; MALLOCX_LG_ALIGN(40) → 0", () => {
    for (const a of [2 ** 31, 2 ** 32]) {
      expect(heap.alignedAlloc(a, 64)).toBe(0);
      expect(heap.lastError).toBe(ENOMEM);
      expect(heap.posixMemalign(a, 64)).toEqual({ error: ENOMEM, ptr: 0 });
    }
    expect(heap.mallocx(64, MALLOCX_LG_ALIGN(40))).toBe(0);
    expect(heap.nallocx(64, MALLOCX_LG_ALIGN(40))).toBe(0);
    expect(allocated()).toBe(0);
    healthy();
  });

  it("large alignments that fit are honoured", () => {
    for (const la of [12, 16, 20, 22]) {
      const p = heap.alignedAlloc(2 ** la, 100);
      expect(p).not.toBe(0);
      expect(p % 2 ** la).toBe(0);
      heap.free(p);
    }
    healthy();
  });
});

describe("B13: calloc overflow", () => {
  it("n * size beyond the largest class or beyond 2^53 → 0 with ENOMEM", () => {
    for (const [n, s] of [
      [2 ** 20, 2 ** 20],
      [65536, 65537], // 2^32 + 2^16: wraps to 65536 in 32-bit arithmetic
      [2 ** 16, 2 ** 16], // exactly 2^32
      [2 ** 27, 2 ** 27], // 2^54: not a safe integer
      [Number.MAX_SAFE_INTEGER, 2],
      [3, 2 ** 52],
    ] as const) {
      expect(heap.calloc(n, s), `${n} × ${s}`).toBe(0);
      expect(heap.lastError).toBe(ENOMEM);
    }
    expect(allocated()).toBe(0);
    healthy();
  });

  it("calloc(0, huge) and calloc(huge, 0) are calloc of 0 bytes: a unique minimal block", () => {
    const a = heap.calloc(0, 2 ** 53);
    const b = heap.calloc(2 ** 40, 0);
    expect(a).not.toBe(0);
    expect(b).not.toBe(0);
    expect(a).not.toBe(b);
    heap.free(a);
    heap.free(b);
    healthy();
  });
});

describe("B11: malloc(0)", () => {
  it("returns unique minimal blocks", () => {
    const ps = new Set<number>();
    for (let i = 0; i < 200; i++) {
      const p = heap.malloc(0);
      expect(p).not.toBe(0);
      expect(heap.mallocUsableSize(p)).toBe(heap.ctx.sc.index2size(0));
      ps.add(p);
    }
    expect(ps.size).toBe(200);
    const sorted = [...ps].sort((x, y) => x - y);
    for (let i = 1; i < sorted.length; i++) expect(sorted[i]! - sorted[i - 1]!).toBeGreaterThanOrEqual(8);
    for (const p of ps) heap.free(p);
    expect(allocated()).toBe(0);
    healthy();
  });
});

describe("handles: attach refuses what is not a heap; a detached handle refuses calls", () => {
  it("Heap.attach of a non-heap buffer, a small buffer, a non-buffer, another layout version", () => {
    expect(() => Heap.attach(new SharedArrayBuffer(1 << 16))).toThrow(/not a jemalloc-ts heap/);
    expect(() => Heap.attach(new SharedArrayBuffer(64))).toThrow(TypeError);
    expect(() => Heap.attach({} as SharedArrayBuffer)).toThrow(TypeError);
    const copy = new SharedArrayBuffer(heap.buffer.byteLength);
    new Uint8Array(copy).set(heap.u8.subarray(0, heap.buffer.byteLength));
    new Uint32Array(copy)[HDR_VERSION_B >>> 2]! += 1;
    expect(() => Heap.attach(copy)).toThrow(/version/);
  });

  it("after detach(), every call throws HeapPoisonedError", () => {
    const h = Heap.attach(heap.buffer);
    const p = h.malloc(10);
    h.detach();
    expect(() => h.malloc(10)).toThrow(HeapPoisonedError);
    expect(() => h.free(p)).toThrow(HeapPoisonedError);
    expect(() => h.check()).toThrow(HeapPoisonedError);
    heap.free(p); // the block is still there for other handles
    healthy();
  });
});
