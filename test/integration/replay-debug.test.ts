/**
 * Debug mode changes no usable size, placement decision or statistic (issue 13): every reference trace
 * replayed with debug on (junk, use-after-free verification, the lock-order witness) compares identical
 * to the real jemalloc, under the base setting and with the thread cache on. Debug mode is slow (junk
 * fills, the witness): two cases by default, every trace under both settings with JEMALLOC_TS_LONG=1.
 */
import { describe, expect, it } from "vitest";
import { replay } from "../../src/replay/replay.js";
import { diffReplay, expectedPath, loadTrace, readJson, SETTINGS, TRACES } from "../helpers/replay.js";

const LONG = process.env.JEMALLOC_TS_LONG === "1";
const CASES: [string, "base" | "tcache"][] = LONG
  ? TRACES.flatMap((t) => [[t, "base"] as [string, "base"], [t, "tcache"] as [string, "tcache"]])
  : [
      ["small-churn-s1", "base"],
      ["small-churn-s1", "tcache"],
    ];

describe("replay with debug: true", () => {
  it.each(CASES)(
    "%s (%s) is identical to the real jemalloc",
    (name, setting) => {
      const expected = readJson(expectedPath(name, setting));
      const trace = loadTrace(name);
      const ours = replay(trace, { conf: SETTINGS[setting], perOp: true, debug: true });
      const d = diffReplay(expected, ours);
      expect(d.compared).toBeGreaterThan(trace.n);
      expect(d.first, `${d.count} differences`).toEqual([]);
    },
    120_000,
  );
});
