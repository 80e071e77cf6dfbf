/**
 * A heap on a resizable ArrayBuffer (shared: false) gives memory back: once purged extents reach the
 * top of the address space, the buffer shrinks; it grows again on demand, with zeroed memory.
 */
import { describe, expect, it } from "vitest";
import { Heap } from "../../src/index.js";

const MiB = 1 << 20;

describe("resizable ArrayBuffer heap", () => {
  it("shrinks after a purge and grows again", () => {
    const heap = Heap.create({
      shared: false,
      maxBytes: 256 * MiB,
      conf: "tcache:false,dirty_decay_ms:0,muzzy_decay_ms:0",
      envConf: null,
    });
    const start = heap.buffer.byteLength;
    const ps: number[] = [];
    for (let i = 0; i < 40; i++) {
      const p = heap.malloc(MiB);
      expect(p).not.toBe(0);
      heap.u8.fill(0xee, p, p + MiB);
      ps.push(p);
    }
    const grown = heap.buffer.byteLength;
    expect(grown).toBeGreaterThan(start + 39 * MiB);
    for (const p of ps) heap.free(p);
    heap.mallctl("arena.4096.purge");
    expect(heap.buffer.byteLength).toBeLessThan(grown / 4);
    heap.check();
    // Regrowth hands out memory that reads as zero.
    const q = heap.calloc(1, 3 * MiB);
    expect(q).not.toBe(0);
    expect(heap.u8.subarray(q, q + 3 * MiB).every((b) => b === 0)).toBe(true);
    heap.free(q);
    heap.check();
  });

  it("a SharedArrayBuffer never shrinks", () => {
    const heap = Heap.create({
      maxBytes: 64 * MiB,
      initialBytes: MiB,
      conf: "tcache:false,dirty_decay_ms:0",
      envConf: null,
    });
    const p = heap.malloc(8 * MiB);
    const grown = heap.buffer.byteLength;
    heap.free(p);
    heap.mallctl("arena.4096.purge");
    expect(heap.buffer.byteLength).toBe(grown);
    heap.check();
  });
});
