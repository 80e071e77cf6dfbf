/**
 * Trace replay against the real jemalloc 5.3 (issue 3, "Done when"): every reference trace under the
 * nodecay setting, replayed without per-op output, must compare identical to the expected file, leaf by
 * leaf, exactly as ../shared/reference/compare.mjs does.
 */
import { describe, expect, it } from "vitest";
import { replay } from "../../src/replay/replay.js";
import { diffReplay, expectedPath, loadTrace, readJson, SETTINGS, TRACES } from "../helpers/replay.js";

describe("replay: nodecay (tcache:false,narenas:1,dirty/muzzy -1, --no-ops)", () => {
  it.each(TRACES)("%s is identical to the real jemalloc", (name) => {
    const expected = readJson(expectedPath(name, "nodecay"));
    expect((expected.oracle as { malloc_conf: string }).malloc_conf).toBe(SETTINGS.nodecay);
    const ours = replay(loadTrace(name), { conf: SETTINGS.nodecay, perOp: false });
    expect(ours.usable).toBeUndefined();
    const d = diffReplay(expected, ours);
    expect(d.compared).toBeGreaterThan(100);
    expect(d.first, `${d.count} differences`).toEqual([]);
  });
});
