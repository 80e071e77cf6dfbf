/**
 * Trace replay against the real jemalloc 5.3 (issue 3, "Done when"): every reference trace under the
 * base setting, per-op `usable` and `realloc_moved` included, must compare identical to the expected
 * file, leaf by leaf, exactly as ../shared/reference/compare.mjs does (nodecay: replay-nodecay.test.ts).
 */
import { describe, expect, it } from "vitest";
import { replay } from "../../src/replay/replay.js";
import { diffReplay, expectedPath, loadTrace, readJson, SETTINGS, TRACES } from "../helpers/replay.js";

describe("replay: base (tcache:false,narenas:1, per-op usable and realloc_moved)", () => {
  it.each(TRACES)("%s is identical to the real jemalloc, op by op", (name) => {
    const expected = readJson(expectedPath(name, "base"));
    expect((expected.oracle as { malloc_conf: string }).malloc_conf).toBe(SETTINGS.base);
    const trace = loadTrace(name);
    const ours = replay(trace, { conf: SETTINGS.base, perOp: true });
    // The per-op arrays are there and full length, so the leaf comparison covers every op.
    expect((ours.usable as number[]).length).toBe(trace.n);
    expect((expected.usable as number[]).length).toBe(trace.n);
    expect(ours.realloc_moved).toBe(expected.realloc_moved);
    const d = diffReplay(expected, ours);
    expect(d.compared).toBeGreaterThan(trace.n);
    expect(d.first, `${d.count} differences`).toEqual([]);
  });
});
