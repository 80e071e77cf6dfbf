/**
 * Growth and exhaustion (RELIABILITY.md F6, F7; issue 3 "Done when"): a heap created at 1 MiB grows its
 * buffer as allocations need, and every view (and every attached handle) sees the new end; a heap at
 * its maxBytes returns 0 (ENOMEM) for what does not fit, changes nothing when it does, keeps serving
 * smaller requests, and serves again after frees. For a growable SharedArrayBuffer and, with
 * shared:false, a resizable ArrayBuffer.
 */
import { describe, expect, it } from "vitest";
import { ENOMEM } from "../../src/errors.js";
import { Heap } from "../../src/heap.js";
import { fillPattern, findPatternMismatch, prng } from "../helpers/ledger.js";

const KiB = 1024;
const MiB = 1024 * KiB;

interface Live {
  p: number;
  size: number;
  seed: number;
}

function allocated(h: Heap): number {
  h.mallctl("epoch", 1);
  return h.mallctl("stats.allocated") as number;
}

function intact(h: Heap, live: Live[]): void {
  for (const b of live) {
    const at = findPatternMismatch(h.u8, b.p, b.size, b.seed);
    expect(at, `block ${b.p} (${b.size} bytes) byte ${at}`).toBe(-1);
  }
}

function noOverlap(h: Heap, live: Live[]): void {
  const s = live.map((b) => [b.p, h.mallocUsableSize(b.p)] as const).sort((x, y) => x[0] - y[0]);
  for (let i = 1; i < s.length; i++)
    expect(s[i - 1]![0] + s[i - 1]![1], `blocks at ${s[i - 1]![0]} and ${s[i]![0]}`).toBeLessThanOrEqual(
      s[i]![0],
    );
}

describe.each([
  { kind: "SharedArrayBuffer", shared: true },
  { kind: "resizable ArrayBuffer (shared:false)", shared: false },
])("growth and exhaustion on a $kind", ({ shared }) => {
  const create = (maxBytes: number) =>
    Heap.create({
      envConf: null,
      conf: "tcache:false,narenas:1",
      clock: () => 0,
      initialBytes: 1 * MiB,
      maxBytes,
      shared,
    });

  it("F7: a heap created at 1 MiB grows as allocations need; views and attached handles follow", () => {
    const h = create(256 * MiB);
    expect(h.buffer instanceof SharedArrayBuffer).toBe(shared);
    const start = h.buffer.byteLength;
    expect(start).toBeLessThanOrEqual(4 * MiB);
    const other = shared ? Heap.attach(h.buffer) : undefined;
    const live: Live[] = [];
    let seed = 1;
    let lastLen = start;
    let grew = 0;
    const rnd = prng(42);
    while (live.reduce((s, b) => s + b.size, 0) < 48 * MiB) {
      const size = rnd() % 8 === 0 ? 64 * KiB + (rnd() % (2 * MiB)) : 16 + (rnd() % 4000);
      const p = h.malloc(size);
      expect(p, `malloc(${size}) with ${h.buffer.byteLength} bytes mapped`).not.toBe(0);
      expect(p + size).toBeLessThanOrEqual(h.buffer.byteLength);
      // The views track the grown buffer: writing at the new top works through heap.u8/dv.
      expect(h.u8.length).toBe(h.buffer.byteLength);
      fillPattern(h.u8, p, size, seed);
      live.push({ p, size, seed: seed++ });
      if (h.buffer.byteLength > lastLen) {
        grew++;
        lastLen = h.buffer.byteLength;
      }
    }
    expect(grew).toBeGreaterThan(0);
    expect(h.buffer.byteLength).toBeGreaterThan(start);
    expect(h.buffer.byteLength).toBeLessThanOrEqual(256 * MiB);
    intact(h, live);
    noOverlap(h, live);
    // The top block is readable through a handle attached before the growth.
    if (other !== undefined) {
      const top = live.reduce((a, b) => (b.p > a.p ? b : a));
      expect(other.u8.length).toBe(h.buffer.byteLength);
      expect(findPatternMismatch(other.u8, top.p, top.size, top.seed)).toBe(-1);
      expect(other.mallocUsableSize(top.p)).toBe(h.mallocUsableSize(top.p));
      expect(other.dv.getUint8(top.p + top.size - 1)).toBe(h.u8[top.p + top.size - 1]);
      // Frees from the other handle are fine too.
      const b = live.pop()!;
      other.free(b.p);
    }
    h.check();
    expect(allocated(h)).toBe(live.reduce((s, b) => s + h.mallocUsableSize(b.p), 0));
    for (const b of live) h.free(b.p);
    expect(allocated(h)).toBe(0);
    h.check();
  });

  it("F6: at maxBytes (16 MiB) malloc returns 0 without changing anything, keeps serving smaller requests, and serves again after frees", () => {
    const h = create(16 * MiB);
    const live: Live[] = [];
    let seed = 1;
    // Fill with mixed sizes until requests keep failing.
    const fill = (): { failures: number; bytes: number; largest: number } => {
      const rnd = prng(7);
      let failures = 0;
      let bytes = 0;
      let largest = 0;
      for (let i = 0; i < 100_000 && failures < 20; i++) {
        const size = rnd() % 4 === 0 ? 32 * KiB + (rnd() % (512 * KiB)) : 8 + (rnd() % 3000);
        const p = h.malloc(size);
        if (p === 0) {
          expect(h.lastError).toBe(ENOMEM);
          failures++;
          continue;
        }
        fillPattern(h.u8, p, size, seed);
        live.push({ p, size, seed: seed++ });
        bytes += size;
        largest = Math.max(largest, size);
      }
      return { failures, bytes, largest };
    };
    const first = fill();
    const failures = first.failures;
    expect(failures).toBeGreaterThan(0);
    expect(h.buffer.byteLength).toBeLessThanOrEqual(16 * MiB);
    const inUse = live.reduce((s, b) => s + b.size, 0);
    expect(inUse).toBeGreaterThan(4 * MiB);

    // A request that cannot fit: 0 and ENOMEM, and nothing changes (statistics, checker, contents).
    const before = allocated(h);
    h.check();
    for (const size of [8 * MiB, 4 * MiB, 17 * MiB, 16 * MiB]) {
      expect(h.malloc(size), `malloc(${size})`).toBe(0);
      expect(h.lastError).toBe(ENOMEM);
      expect(h.calloc(1, size)).toBe(0);
      expect(h.alignedAlloc(4096, size)).toBe(0);
    }
    const victim = live[0]!;
    expect(h.realloc(victim.p, 12 * MiB)).toBe(0);
    expect(h.mallocUsableSize(victim.p)).toBeGreaterThanOrEqual(victim.size);
    expect(allocated(h)).toBe(before);
    h.check();
    intact(h, live);

    // Smaller requests are still served until the heap is truly full.
    let small = 0;
    for (;;) {
      const p = h.malloc(64);
      if (p === 0) break;
      fillPattern(h.u8, p, 64, seed);
      live.push({ p, size: 64, seed: seed++ });
      small++;
      if (small > 400_000) throw new Error("a 16 MiB heap served more than 400k 64-byte blocks");
    }
    expect(small).toBeGreaterThan(0);
    expect(h.lastError).toBe(ENOMEM);
    h.check();
    intact(h, live);
    noOverlap(h, live);

    // Free half: allocations succeed again (including large ones).
    const keep: Live[] = [];
    for (let i = 0; i < live.length; i++) {
      if (i % 2 === 0) h.free(live[i]!.p);
      else keep.push(live[i]!);
    }
    const again = h.malloc(64);
    expect(again).not.toBe(0);
    h.free(again);
    h.check();
    intact(h, keep);

    // Free everything: the largest block served before is served again, and filling the heap again
    // gets most of what the first fill got (nothing leaked; only fragmentation may differ).
    for (const b of keep) h.free(b.p);
    expect(allocated(h)).toBe(0);
    h.check();
    const big = h.malloc(first.largest);
    expect(big, `${first.largest} bytes after freeing everything`).not.toBe(0);
    fillPattern(h.u8, big, first.largest, 99);
    expect(findPatternMismatch(h.u8, big, first.largest, 99)).toBe(-1);
    h.free(big);
    live.length = 0;
    const second = fill();
    expect(second.bytes, `second fill ${second.bytes} bytes vs first ${first.bytes}`).toBeGreaterThan(
      first.bytes * 0.75,
    );
    intact(h, live);
    noOverlap(h, live);
    for (const b of live) h.free(b.p);
    h.check();
    expect(allocated(h)).toBe(0);
  });

  it("F7: a request needing growth beyond maxBytes fails while earlier blocks stay usable", () => {
    const h = create(8 * MiB);
    const a = h.malloc(1 * MiB);
    const b = h.malloc(100);
    expect(a).not.toBe(0);
    expect(b).not.toBe(0);
    fillPattern(h.u8, a, 1 * MiB, 1);
    fillPattern(h.u8, b, 100, 2);
    expect(h.malloc(7 * MiB)).toBe(0);
    expect(h.lastError).toBe(ENOMEM);
    expect(findPatternMismatch(h.u8, a, 1 * MiB, 1)).toBe(-1);
    expect(findPatternMismatch(h.u8, b, 100, 2)).toBe(-1);
    const c = h.malloc(200);
    expect(c).not.toBe(0);
    h.free(a);
    h.free(b);
    h.free(c);
    h.check();
    expect(allocated(h)).toBe(0);
  });
});
