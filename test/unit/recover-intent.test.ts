/**
 * The extent lock's write-ahead intent (src/extent/intent.ts, src/heap/recover_intent.ts), single
 * threaded: a change left half done under an intent is finished by intentRecover, so heap.check()
 * passes again; the same half-done change without the intent is what check() reports. (The split,
 * merge and neighbour steps are also killed for real in test/stress/lock-failpoints.test.ts.)
 */
import { describe, expect, it } from "vitest";
import { arenaRecordByInd } from "../../src/arena/arena.js";
import { RTREE_LEAF_BITS } from "../../src/ctx/header.js";
import { edataBase, edataSize } from "../../src/extent/edata.js";
import { emapLookupChecked, emapRead } from "../../src/extent/emap.js";
import { INTENT_NEIGHBOR, INTENT_REGISTER, intentSet, intentWord } from "../../src/extent/intent.js";
import { intentRecover } from "../../src/heap/recover_intent.js";
import { Heap } from "../../src/heap.js";

function fresh(): Heap {
  return Heap.create({ envConf: null, conf: "narenas:1,tcache:false", maxBytes: 64 << 20 });
}

/** Clears the page-map entry of the page holding `addr` (a registration stopped half-way). */
function clearEntry(heap: Heap, addr: number): void {
  const ctx = heap.ctx;
  const page = addr >>> ctx.lgPage;
  const leaf = ctx.u32[(ctx.hdr.rtreeRootB >>> 2) + (page >>> RTREE_LEAF_BITS)]!;
  ctx.u32[(leaf >>> 2) + (page & (2 ** RTREE_LEAF_BITS - 1))] = 0;
}

describe("extent intent records", () => {
  it("a registration stopped after the first page is redone from its intent", () => {
    const heap = fresh();
    const p = heap.malloc(64 << 10);
    const ctx = heap.ctx;
    const e = emapLookupChecked(ctx, p);
    const last = edataBase(ctx.u32, e) + edataSize(ctx.u32, e) - ctx.page;
    clearEntry(heap, last);
    expect(() => heap.check()).toThrow(/last-page entry of extent/);
    const arena = arenaRecordByInd(ctx, 0);
    intentSet(ctx.u32, arena, INTENT_REGISTER, e, 0, 0, 0, 0);
    expect(intentRecover(ctx, arena)).toBe("register");
    expect(emapRead(ctx, last)).toBe(e);
    expect(intentWord(ctx.u32, arena, 0)).toBe(0);
    heap.check();
    heap.free(p);
    heap.check();
  });

  it("an intent that does not fit its records is ignored and cleared", () => {
    const heap = fresh();
    const ctx = heap.ctx;
    const arena = arenaRecordByInd(ctx, 0);
    intentSet(ctx.u32, arena, INTENT_NEIGHBOR, 12345, 0, 1, 0, 0);
    expect(intentRecover(ctx, arena)).toBe("ignored");
    expect(intentWord(ctx.u32, arena, 0)).toBe(0);
    heap.check();
  });

  it("no intent between changes: every extent operation clears what it wrote", () => {
    const heap = fresh();
    const ctx = heap.ctx;
    const arena = arenaRecordByInd(ctx, 0);
    const ps: number[] = [];
    for (let i = 0; i < 200; i++) ps.push(heap.malloc(((i * 7919) % 200) * 1024 + 8));
    for (let i = 0; i < ps.length; i += 2) heap.free(ps[i]!);
    for (let i = 0; i < 50; i++) ps.push(heap.malloc(((i * 104729) % 300) * 1024 + 8));
    for (let i = 1; i < ps.length; i += 2) heap.free(ps[i]!);
    expect(intentWord(ctx.u32, arena, 0)).toBe(0);
    expect(intentRecover(ctx, arena)).toBe("none");
    heap.check();
  });
});
