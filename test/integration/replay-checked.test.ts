/**
 * The reference traces replayed on a heap the test owns: every block is stamped and verified on free
 * and realloc (no overlap, contents kept), heap.check() passes at every stats snapshot and at the end,
 * stats.allocated equals the live blocks' usable bytes, and the per-op usable sizes equal the real
 * jemalloc's (base files).
 */
import { describe, expect, it } from "vitest";
import {
  expectedPath,
  loadTrace,
  readJson,
  replayChecked,
  SETTINGS,
  TRACES,
  VARIANTS,
} from "../helpers/replay.js";

describe("replay on an owned heap: contents, heap.check(), stats.allocated", () => {
  it.each(TRACES)("%s (base setting)", (name) => {
    const trace = loadTrace(name);
    const r = replayChecked(trace, { conf: SETTINGS.base });
    expect(r.checks).toBeGreaterThanOrEqual(1);
    const expected = readJson(expectedPath(name, "base"));
    expect(r.usable).toEqual(expected.usable);
    expect(r.live.size).toBe((expected.trace as { live: number }).live);
    // Free everything that is left: the heap must come back to zero allocated bytes, still consistent.
    for (const p of r.live.keys()) r.heap.free(p);
    r.heap.check();
    r.heap.mallctl("epoch", 1);
    expect(r.heap.mallctl("stats.allocated")).toBe(0);
  });

  const v = VARIANTS[VARIANTS.length - 1]!;
  it(`mixed-s1 on variant ${v.dir}`, () => {
    const r = replayChecked(loadTrace("mixed-s1"), {
      conf: SETTINGS.base,
      lgQuantum: v.lgQuantum,
      lgPage: v.lgPage,
      lgHugepage: v.lgHugepage,
    });
    expect(r.heap.ctx.page).toBe(2 ** v.lgPage);
    for (const p of r.live.keys()) r.heap.free(p);
    r.heap.check();
  });
});
