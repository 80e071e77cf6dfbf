// opt.* read through mallctl on a heap with 2 CPUs equals the `opt` of the real
// jemalloc (Debian's libjemalloc 5.3.0 on 2 CPUs), except DOCUMENTED_OPT_DIFFERENCES.
import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { DOCUMENTED_OPT_DIFFERENCES, OPT_TABLE } from "../../src/conf/opt.js";
import { Heap } from "../../src/heap.js";
import { MallctlError } from "../../src/mallctl/index.js";

const REF = JSON.parse(
  readFileSync(new URL("../fixtures/tables/debian-q4-p12-h21.json", import.meta.url), "utf8"),
) as { opt: Record<string, unknown>; arenas: Record<string, unknown>; config: Record<string, unknown> };

function read(heap: Heap, name: string): unknown {
  try {
    return heap.mallctl(name);
  } catch (e) {
    if (e instanceof MallctlError && e.code === "ENOENT") return "ENOENT";
    throw e;
  }
}

function same(a: unknown, b: unknown): boolean {
  if (typeof a === "bigint" || typeof b === "bigint") {
    return typeof a !== "string" && typeof b !== "string"
      ? BigInt(a as number) === BigInt(b as number)
      : false;
  }
  return a === b;
}

describe("opt.* defaults with ncpus 2", () => {
  const heap = Heap.create({ ncpus: 2, envConf: null });

  it("equal the reference build's, except the documented list", () => {
    const differ: string[] = [];
    for (const spec of OPT_TABLE) {
      const ours = read(heap, `opt.${spec.name}`);
      const ref = Object.hasOwn(REF.opt, spec.name) ? REF.opt[spec.name] : "ENOENT";
      if (!same(ours, ref)) differ.push(spec.name);
    }
    expect(differ.sort()).toEqual(Object.keys(DOCUMENTED_OPT_DIFFERENCES).sort());
  });

  it("arenas.* constants equal the reference build's", () => {
    for (const k of [
      "narenas",
      "dirty_decay_ms",
      "muzzy_decay_ms",
      "quantum",
      "page",
      "tcache_max",
      "nbins",
      "nhbins",
      "nlextents",
    ]) {
      expect(heap.mallctl(`arenas.${k}`), k).toBe(REF.arenas[k]);
    }
  });

  it("config.* equals the reference build's except prof_libgcc (JS stacks, no unwinder) and xmalloc (built here)", () => {
    const differ = Object.keys(REF.config).filter((k) => !same(heap.mallctl(`config.${k}`), REF.config[k]));
    expect(differ.sort()).toEqual(["prof_libgcc", "xmalloc"]);
  });
});
