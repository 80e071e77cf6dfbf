/**
 * Two threads on one heap must not write into the same 128-byte range on their fast paths (x86 fetches
 * cache lines in 128-byte pairs; a shared range makes two cores take turns owning it — issue 15 measured
 * two workers in adjacent thread slots at twice the time per call of one alone).
 *
 * Method: two handles attached to one heap (two thread slots, two arenas, two caches, as two workers
 * get), each warmed up; then each in turn runs a burst of malloc/free calls that stay on the fast paths
 * (the cache bins neither empty nor overflow and no thread event falls due), and the buffer is compared
 * word by word before and after each burst. Every 128-byte range written by the first handle's burst
 * must be untouched by the second's. The frees go in a shuffled order so every written word changes
 * value (a store of the same value would not show in the comparison).
 */
import { describe, expect, it } from "vitest";
import { HDR_TOP_B, THREAD_ALLOCATED_B, THREAD_GC_ALLOC_NEXT_B } from "../../src/ctx/header.js";
import { Heap } from "../../src/heap.js";

const SIZES = [8, 16, 32, 48, 64, 96, 128, 256, 512, 1024];
const PER_SIZE = 4;

/** One burst: PER_SIZE blocks of every size, freed in a shuffled order (deterministic). */
function burst(h: Heap, round: number): void {
  const ps: number[] = [];
  for (const s of SIZES) for (let k = 0; k < PER_SIZE; k++) ps.push(h.malloc(s));
  for (let i = ps.length - 1; i > 0; i--) {
    const j = (i * 7919 + round * 104729) % (i + 1);
    [ps[i], ps[j]] = [ps[j]!, ps[i]!];
  }
  for (const p of ps) {
    expect(p).not.toBe(0);
    h.free(p);
  }
}

const burstBytes = SIZES.reduce((a, s) => a + s, 0) * PER_SIZE;

/** Warms `h` up until the next burst cannot reach a thread event (so it stays on the fast paths). */
function warm(h: Heap, round: number): void {
  const f64 = h.ctx.f64;
  const tb = h.ctx.threadB;
  for (let i = 0; i < 64; i++) burst(h, round + i);
  while (f64[(tb + THREAD_ALLOCATED_B) >>> 3]! + 2 * burstBytes >= f64[(tb + THREAD_GC_ALLOC_NEXT_B) >>> 3]!)
    burst(h, round);
}

/** 128-byte ranges whose contents differ between `before` and the buffer now. */
function changedRanges(h: Heap, before: Uint32Array): Set<number> {
  const now = h.ctx.u32;
  const out = new Set<number>();
  for (let w = 0; w < before.length; w++) if (now[w] !== before[w]) out.add(w >>> 5);
  return out;
}

function snapshot(h: Heap): Uint32Array {
  const top = h.ctx.f64[HDR_TOP_B >>> 3]!;
  return h.ctx.u32.slice(0, Math.ceil(top / 4));
}

describe("fast paths of two threads on one heap", () => {
  it("write no 128-byte range in common", () => {
    const owner = Heap.create({ envConf: null, maxBytes: 256 * 2 ** 20 });
    // Three more threads in adjacent slots (1, 2, 3): with records narrower than 128 bytes one of the
    // two adjacent pairs would share a range, whichever the array's alignment.
    const hs = [Heap.attach(owner.buffer), Heap.attach(owner.buffer), Heap.attach(owner.buffer)];
    try {
      expect(hs.map((h) => h.threadSlot - hs[0]!.threadSlot)).toEqual([0, 1, 2]);
      for (const [i, h] of hs.entries()) warm(h, i + 1);
      for (const [i, h] of hs.entries()) warm(h, i + 4);
      const writtenBy = (h: Heap, round: number) => {
        const tb = h.ctx.threadB;
        const events = h.ctx.f64[(tb + THREAD_GC_ALLOC_NEXT_B) >>> 3];
        const before = snapshot(h);
        burst(h, round);
        // No thread event ran (it would have moved the next event's threshold).
        expect(h.ctx.f64[(tb + THREAD_GC_ALLOC_NEXT_B) >>> 3]).toBe(events);
        return changedRanges(h, before);
      };
      const written = hs.map((h, i) => writtenBy(h, 10 + i));
      for (let i = 0; i < hs.length; i++) {
        // Each burst wrote its thread record, its cache bins and its blocks' first words.
        expect(written[i]!.has(hs[i]!.ctx.threadB >>> 7)).toBe(true);
        expect(written[i]!.size).toBeGreaterThan(SIZES.length);
      }
      for (const [i, j] of [
        [0, 1],
        [1, 2],
      ] as const) {
        expect(hs[i]!.mallctl("thread.arena")).not.toBe(hs[j]!.mallctl("thread.arena"));
        const shared = [...written[i]!].filter((r) => written[j]!.has(r));
        expect(shared.map((r) => `slots ${i + 1} and ${j + 1}: bytes ${r * 128}..${r * 128 + 127}`)).toEqual(
          [],
        );
      }
    } finally {
      for (const h of hs.reverse()) h.detach();
      owner.detach();
    }
  });

  it("start the buffer's views on a 128-byte boundary", () => {
    const h = Heap.create({ envConf: null, maxBytes: 64 * 2 ** 20 });
    try {
      expect(h.ctx.u8.byteOffset % 128).toBe(0);
      expect(h.ctx.threadB % 128).toBe(0);
    } finally {
      h.detach();
    }
  });
});
