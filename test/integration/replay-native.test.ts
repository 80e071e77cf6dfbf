/**
 * Replays of generated traces (scripts/native-replay/gen.mjs: huge blocks, large alignments,
 * realloc to 0, sized frees, decay ticks) against what the system's real jemalloc 5.3.0 reported
 * for them (scripts/native-replay/replay.c; `diff.mjs fixture` writes <name>.txt and <name>.json.gz). Only traces whose
 * compared figures were the same in 12 native runs are kept, so each file is one exact answer.
 * `oracle.layout` says where those runs' mappings were placed: replay.c's emulated top-down layout, or
 * the kernel's own (the align2m-* traces, aligned_alloc up to 2 MiB: their answer depends on Linux
 * placing a hugepage-multiple mapping hugepage-aligned, which the emulated layout does not do).
 * `oracle.lg`, when present, gives the size-class settings of the jemalloc build the trace was
 * recorded on (tag 5.3.0 configured with other --with-lg-quantum/page/hugepage; `diff.mjs --jemalloc`,
 * the lg-* fixtures).
 */
import { readdirSync, readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { parseTrace, replay } from "../../src/replay/replay.js";
import { diffReplay, FIXTURES, readJson } from "../helpers/replay.js";

const DIR = `${FIXTURES}native/`;
const NAMES = readdirSync(DIR)
  .filter((f) => f.endsWith(".txt"))
  .map((f) => f.slice(0, -".txt".length))
  .sort();

describe("replay: generated traces against the real jemalloc 5.3.0", () => {
  it("has fixtures", () => {
    expect(NAMES.length).toBeGreaterThan(0);
  });

  it.each(NAMES)("%s is identical to the native replay", (name) => {
    const expected = readJson(`${DIR}${name}.json.gz`);
    const oracle = expected.oracle as {
      malloc_conf: string;
      lg?: { lgQuantum: number; lgPage: number; lgHugepage: number };
    };
    const conf = oracle.malloc_conf;
    const trace = parseTrace(readFileSync(`${DIR}${name}.txt`, "utf8"));
    const perOp = "usable" in expected;
    // opt.stats_interval's reports (the stats-interval-* fixtures) are not wanted in the test's output.
    const ours = replay(trace, { conf, perOp, ...oracle.lg, writer: () => {} });
    if (perOp) expect((ours.usable as number[]).length).toBe(trace.n);
    const d = diffReplay(expected, ours);
    expect(d.compared).toBeGreaterThan(100);
    expect(d.first, `${d.count} differences`).toEqual([]);
  });
});
