/**
 * Out of memory is clean (issue 11): a heap of 8 MiB is driven to exhaustion with each size mix, thread
 * cache on and off, and kept running with frees, reallocs, aligned and zeroed allocations, an explicit
 * cache, a manual arena, a second thread and arenas.create / tcache.create mixed in. The client ledger
 * (test/helpers/exhaustion.ts) asserts that no live block is ever handed out again, that every block's
 * contents stay intact, that each failure is 0 with ENOMEM, that check() and the cache audit (C5) pass,
 * and that everything freed is usable again. A quick subset here; JEMALLOC_TS_LONG=1 runs 1,000 seeds
 * in each mode.
 */
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { ENOMEM, Heap } from "../../src/index.js";
import { runExhaustion, SIZE_MIXES, type SizeMix } from "../helpers/exhaustion.js";
import { auditCaches } from "../helpers/ledger-tc.js";

const LONG = process.env.JEMALLOC_TS_LONG === "1";

describe("out of memory", () => {
  it("a partial cache fill at OOM never caches a region twice (the 1536-byte class)", () => {
    const heap = Heap.create({ maxBytes: 8 << 20, envConf: null });
    const live = new Set<number>();
    // Fill with 64 KiB blocks until the heap is nearly full, then take 1536-byte blocks one by one: the
    // fills that get only part of what they asked for are the ones that used to duplicate slots.
    for (;;) {
      const p = heap.malloc(64 << 10);
      if (p === 0) break;
      live.add(p);
    }
    expect(heap.lastError).toBe(ENOMEM);
    let fails = 0;
    for (let i = 0; i < 4000 && fails < 50; i++) {
      const p = heap.malloc(1536);
      if (p === 0) {
        fails++;
        expect(heap.lastError).toBe(ENOMEM);
        // Free one large block so a later fill finds a few pages: a partial fill.
        const q = live.values().next().value!;
        if ((i & 3) === 0 && q !== undefined && heap.mallocUsableSize(q) > 1536) {
          heap.free(q);
          live.delete(q);
        }
        continue;
      }
      expect(live.has(p), `malloc(1536) returned the live block ${p}`).toBe(false);
      live.add(p);
    }
    expect(auditCaches(heap, live).problems).toEqual([]);
    heap.check();
  });

  const runs = LONG ? 1000 : 20;
  for (const tcache of [true, false]) {
    // Async with a yield per run: a long synchronous test starves vitest's worker RPC.
    it(`${runs} seeds to exhaustion and beyond, every size mix, tcache ${tcache ? "on" : "off"}`, async () => {
      await fc.assert(
        fc.asyncProperty(
          fc.integer({ min: 1, max: 2 ** 30 }),
          fc.constantFrom<SizeMix>(...SIZE_MIXES),
          async (seed, mix) => {
            await new Promise((r) => setImmediate(r));
            const r = runExhaustion({ seed, mix, tcache });
            expect(r.failures).toBeGreaterThan(0);
          },
        ),
        { numRuns: runs, seed: tcache ? 1101 : 1102, endOnFailure: true },
      );
    }, 1_800_000);
  }
});
