/**
 * The AssemblyScript TLSF peer: the bench's build step compiles it from source, and it serves
 * distinct, writable blocks (also after its memory grew). Compiling takes seconds to tens of seconds on
 * a loaded machine, so this file runs with JEMALLOC_TS_LONG=1 (CI's longer command).
 */
import { describe, expect, it } from "vitest";
import { loadTlsf, TlsfAllocator } from "../../src/bench/tlsf.js";

describe.runIf(process.env.JEMALLOC_TS_LONG === "1")("AS TLSF peer", () => {
  it("compiles, allocates disjoint blocks, survives memory growth and frees", async () => {
    const mod = await loadTlsf();
    expect(mod).not.toBeNull();
    const a = new TlsfAllocator(mod!);
    const blocks: [number, number][] = [];
    for (let i = 0; i < 200; i++) {
      const size = 48 + (i % 7) * 1000;
      const p = a.malloc(size);
      expect(p).toBeGreaterThan(0);
      blocks.push([p, size]);
    }
    const big = a.malloc(8 << 20); // grows the wasm memory: the record view must follow
    expect(big).toBeGreaterThan(0);
    const sorted = [...blocks].sort((x, y) => x[0] - y[0]);
    for (let i = 1; i < sorted.length; i++)
      expect(sorted[i]![0]).toBeGreaterThanOrEqual(sorted[i - 1]![0] + sorted[i - 1]![1]);
    a.writeRecord(blocks[0]![0], 7);
    a.writeRecord(big, 8);
    expect(a.bufferBytes()).toBeGreaterThanOrEqual(8 << 20);
    for (const [p] of blocks) a.free(p);
    a.free(big);
    // Freed space is reused.
    expect(a.malloc(48)).toBeLessThan(big);
  }, 120_000);
});
