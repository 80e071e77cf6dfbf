/**
 * Layering: src/ is a house of floors, each room (a top-level folder or loose file) importing only its
 * own files and rooms on lower floors, and no file importing itself back through any path. The import
 * graph is read as text (test/helpers/imports.ts); type-only imports count.
 */
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import { importCycles, layeringViolations, readImportGraph } from "../helpers/imports.js";

/** Bottom to top; rooms on one floor are independent of each other. */
const FLOORS: readonly (readonly string[])[] = [
  ["layout", "errors.ts", "flags.ts", "platform"], // platform: what the host (Node, a browser) provides
  ["sync"],
  ["sizeclass"],
  ["decay"],
  ["struct"],
  ["conf"], // malloc_conf parsing and the option table
  ["ctx"], // one thread's context: views, options, clock, hooks; the heap header
  ["cache_bin"], // one bin of a thread cache: its record, pop, push, low water and cached mark
  ["extent"],
  ["arena"],
  ["tcache", "background"],
  ["prof"], // heap profiling: sampling, stack tables, dumps
  ["mallctl", "check"],
  ["stats"], // malloc_stats_print, through the mallctl namespace
  ["heap", "heap.ts", "index.ts", "wasm"], // the public API (one room in four places; wasm: heaps inside a WebAssembly.Memory)
  ["replay"],
  ["bench"],
  ["cli"],
];

const SRC = fileURLToPath(new URL("../../src", import.meta.url));
const FIXTURE = fileURLToPath(new URL("../fixtures/layering/src", import.meta.url));

describe("layering of src/", () => {
  const g = readImportGraph(SRC);

  it("reads the whole tree", () => {
    expect(g.files.length).toBeGreaterThan(100);
    expect(g.edges.get("heap.ts")).toContain("heap/boot.ts");
  });

  it("keeps every file at 600 lines or fewer", () => {
    const long = g.files
      .map((f) => [f, readFileSync(join(SRC, f), "utf8").split("\n").length - 1] as const)
      .filter(([, n]) => n > 600);
    expect(long).toEqual([]);
  });

  it("has no import cycle between files", () => {
    expect(importCycles(g)).toEqual([]);
  });

  it("imports only downward: no room imports a room above it or beside it", () => {
    // The API room spans heap/, heap.ts, index.ts and wasm/.
    const api = new Set(["heap", "heap.ts", "index.ts", "wasm"]);
    const bad = layeringViolations(g, FLOORS).filter((v) => {
      const m = /^(\S+) -> (\S+): sideways/.exec(v);
      if (m === null) return true;
      const room = (f: string) => (f.includes("/") ? f.slice(0, f.indexOf("/")) : f);
      return !(api.has(room(m[1]!)) && api.has(room(m[2]!)));
    });
    expect(bad).toEqual([]);
  });
});

describe("the layering checks themselves (on a fixture that breaks both rules)", () => {
  const g = readImportGraph(FIXTURE);

  it("finds the cycle a.ts ↔ b.ts and nothing else", () => {
    expect(importCycles(g)).toEqual([["low/a.ts", "low/b.ts"]]);
  });

  it("finds the upward import low → high", () => {
    const v = layeringViolations(g, [["low"], ["high"]]);
    expect(v).toEqual(["low/a.ts -> high/h.ts: up from floor 0 (low) to 1 (high)"]);
  });

  it("reports a room that is on no floor", () => {
    expect(layeringViolations(g, [["low"]])).toContain('high/h.ts: room "high" is on no floor');
  });
});
