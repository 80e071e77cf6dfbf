/**
 * Trace replay against builds of jemalloc 5.3.0 with other size-class settings
 * (expected/variants/q<lg_quantum>-p<lg_page>-h<lg_hugepage>/<trace>.base.json.gz), base setting.
 */
import { describe, expect, it } from "vitest";
import { replay } from "../../src/replay/replay.js";
import {
  diffReplay,
  expectedPath,
  loadTrace,
  readJson,
  SETTINGS,
  TRACES,
  VARIANTS,
} from "../helpers/replay.js";

describe.each(VARIANTS)("replay: variant $dir (base setting)", (v) => {
  it.each(TRACES)("%s is identical to the real jemalloc", (name) => {
    const expected = readJson(expectedPath(name, "base", v.dir));
    expect((expected.oracle as { malloc_conf: string }).malloc_conf).toBe(SETTINGS.base);
    const ours = replay(loadTrace(name), {
      conf: SETTINGS.base,
      lgQuantum: v.lgQuantum,
      lgPage: v.lgPage,
      lgHugepage: v.lgHugepage,
      perOp: expected.usable !== undefined,
    });
    const conf = ours.conf as { page: number; quantum: number };
    expect(conf.page).toBe(2 ** v.lgPage);
    expect(conf.quantum).toBe(2 ** v.lgQuantum);
    const d = diffReplay(expected, ours);
    expect(d.compared).toBeGreaterThan(100);
    expect(d.first, `${d.count} differences`).toEqual([]);
  });
});
