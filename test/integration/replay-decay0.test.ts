/**
 * Trace replay against the real jemalloc 5.3 under the decay0 setting (dirty and muzzy decay 0:
 * every freed page is purged at once), no per-op data.
 */
import { describe, expect, it } from "vitest";
import { replay } from "../../src/replay/replay.js";
import { diffReplay, expectedPath, loadTrace, readJson, SETTINGS, TRACES } from "../helpers/replay.js";

describe("replay: decay0 (tcache:false,narenas:1,dirty/muzzy 0)", () => {
  it.each(TRACES)("%s is identical to the real jemalloc", (name) => {
    const expected = readJson(expectedPath(name, "decay0"));
    expect((expected.oracle as { malloc_conf: string }).malloc_conf).toBe(SETTINGS.decay0);
    const ours = replay(loadTrace(name), { conf: SETTINGS.decay0, perOp: expected.usable !== undefined });
    const d = diffReplay(expected, ours);
    expect(d.compared).toBeGreaterThan(100);
    expect(d.first, `${d.count} differences`).toEqual([]);
  });
});
