/**
 * Heap.attach on a damaged buffer (issue 11): a truncated copy, and every word of the header's fixed
 * part replaced by garbage (0, -1, huge, random). Each case either attaches to a heap that works
 * (allocates, frees, passes check()) or throws a TypeError from Heap.attach naming the field — never
 * a raw RangeError/TypeError later. Quick: the fixed part's words with four garbage values each;
 * JEMALLOC_TS_LONG=1 also covers the arena table and page-map root with random values.
 */
import { describe, expect, it } from "vitest";
import {
  HDR_FIXED_BYTES,
  HDR_HEADER_BYTES_B,
  HDR_LOCKS_B,
  HDR_TOP_B,
  LOCK_BYTES,
} from "../../src/ctx/header.js";
import { Heap, HeapCheckError, HeapCorruptionError, HeapPoisonedError } from "../../src/index.js";
import { prng } from "../helpers/ledger.js";

const LONG = process.env.JEMALLOC_TS_LONG === "1";
const MAX = 8 << 20;

/** A heap with some live, freed and cached blocks, its bytes up to top copied out. */
function sourceHeap(): { bytes: Uint8Array; top: number } {
  const h = Heap.create({ maxBytes: MAX, envConf: null, maxThreads: 4, conf: "narenas:2" });
  const keep: number[] = [];
  for (const size of [16, 100, 1000, 5000, 40000, 300000, 2 << 20]) {
    for (let i = 0; i < 4; i++) keep.push(h.malloc(size));
  }
  for (let i = 0; i < keep.length; i += 3) h.free(keep[i]!);
  const top = h.ctx.f64[HDR_TOP_B >>> 3]!;
  return { bytes: h.u8.slice(0, top), top };
}

const SRC = sourceHeap();

function copyOf(len = SRC.top, growable = true): SharedArrayBuffer {
  const sab = growable ? new SharedArrayBuffer(len, { maxByteLength: MAX }) : new SharedArrayBuffer(len);
  new Uint8Array(sab).set(SRC.bytes.subarray(0, len));
  return sab;
}

/** The allocator's own error classes: clear, named answers. */
function isClear(e: unknown): boolean {
  return (
    e instanceof HeapCheckError ||
    e instanceof HeapCorruptionError ||
    e instanceof HeapPoisonedError ||
    (e instanceof Error && e.name === "LockTimeoutError")
  );
}

/** Attaches and exercises the heap. Returns "attached", "refused: …", or throws on a raw error. */
function tryAttach(buf: SharedArrayBuffer, what: string): string {
  let h: Heap;
  try {
    h = Heap.attach(buf, { lockTimeoutMs: 200 });
  } catch (e) {
    expect(e, `${what}: attach threw ${String(e)}`).toBeInstanceOf(TypeError);
    expect((e as Error).message, what).toMatch(/^Heap\.attach: /);
    return `refused: ${(e as Error).message}`;
  }
  try {
    const ptrs: number[] = [];
    for (const size of [8, 100, 3000, 20000, 1 << 20]) {
      const p = h.malloc(size);
      if (p !== 0) {
        h.u8.fill(0xab, p, p + size);
        ptrs.push(p);
      }
    }
    for (const p of ptrs) h.free(p);
    h.check();
    h.detach();
  } catch (e) {
    if (!isClear(e)) throw new Error(`${what}: attached, then a raw ${String(e)}\n${(e as Error).stack}`);
    return `attached, then ${(e as Error).name}`;
  }
  return "attached";
}

describe("Heap.attach validates the header", () => {
  it("an intact copy attaches and works", () => {
    expect(tryAttach(copyOf(), "intact copy")).toBe("attached");
    expect(tryAttach(copyOf(SRC.top, false), "intact fixed-length copy")).toBe("attached");
  });

  it("truncated copies are refused with a TypeError naming what is missing", () => {
    for (const len of [0, 1024, 4096, HDR_FIXED_BYTES, SRC.top / 2, SRC.top - 4096]) {
      const n = Math.floor(len / 8) * 8;
      const r = tryAttach(copyOf(n, false), `truncated to ${n}`);
      expect(r, `truncated to ${n}`).toMatch(/^refused: /);
      if (n >= HDR_FIXED_BYTES) expect(r).toMatch(/top|truncated|buffer/);
    }
  });

  const garbage = [0, 0xffffffff, 0x7fffffff, 0x80000001];
  // Lock words belong to the lock protocol (owner, generation): a garbage lock is recovered or
  // times out with a LockTimeoutError, checked by isClear.
  const words: number[] = [];
  for (let w = 0; w < HDR_LOCKS_B / 4; w++) words.push(w);
  for (let w = HDR_LOCKS_B / 4; w < (HDR_LOCKS_B + 3 * LOCK_BYTES) / 4; w += LOCK_BYTES / 4) words.push(w);
  for (let w = 384 / 4; w < 400 / 4; w++) words.push(w);
  it(`each of ${words.length} header words × ${garbage.length} garbage values: a working heap or a clear TypeError`, () => {
    const outcomes = new Map<string, number>();
    for (const w of words) {
      for (const g of garbage) {
        const buf = copyOf();
        new Uint32Array(buf)[w] = g;
        const r = tryAttach(buf, `word ${w} (byte ${w * 4}) = ${g}`);
        const kind = r.startsWith("refused") ? "refused" : r;
        outcomes.set(kind, (outcomes.get(kind) ?? 0) + 1);
      }
    }
    // Most garbage in the fixed part must be caught at attach.
    expect(outcomes.get("refused") ?? 0).toBeGreaterThan(words.length);
  }, 120_000);

  it("f64 header fields set to NaN, Infinity, -1 and 2^60 are refused or harmless", () => {
    for (const byte of [24, 32, 72, 80, 88, 104, 120, 128]) {
      for (const v of [Number.NaN, Number.POSITIVE_INFINITY, -1, 2 ** 60]) {
        const buf = copyOf();
        new Float64Array(buf)[byte / 8] = v;
        tryAttach(buf, `f64 at byte ${byte} = ${v}`);
      }
    }
  });

  it.runIf(LONG)(
    "3,000 random words in the rest of the header (arena table, page-map root, slots, threads)",
    async () => {
      const r = prng(11);
      const headerWords = new Uint32Array(SRC.bytes.buffer)[HDR_HEADER_BYTES_B >>> 2]! / 4;
      for (let i = 0; i < 3000; i++) {
        // Yield now and then: a long synchronous test starves vitest's worker RPC.
        if (i % 50 === 0) await new Promise((res) => setImmediate(res));
        const buf = copyOf();
        const u32 = new Uint32Array(buf);
        const w = HDR_FIXED_BYTES / 4 + (r() % (headerWords - HDR_FIXED_BYTES / 4));
        u32[w] = r();
        tryAttach(buf, `word ${w} = ${u32[w]}`);
      }
    },
    600_000,
  );
});
