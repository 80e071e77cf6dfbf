// malloc_stats_print: after the program of test/fixtures/stats_print/README.md, on
// our heap with conf "narenas:1", the JSON ("J") has the keys of the real library's
// at every level and the text has its section headers and line shapes (the "Profiling
// settings" section included: both builds have profiling) — except what differs by
// design: xmalloc built in.
import { readFileSync } from "node:fs";
import { afterAll, describe, expect, it } from "vitest";
import { Heap } from "../../src/heap.js";
import { statsPrint, statsPrintAtExit } from "../../src/stats/stats_print.js";

const fixture = (f: string): string =>
  readFileSync(new URL(`../fixtures/stats_print/${f}`, import.meta.url), "utf8");
const REF_TEXT = fixture("narenas1.txt");
const REF_JSON = JSON.parse(fixture("narenas1.json")) as Json;

type Json = { [k: string]: Json } | Json[] | string | number | boolean | null;

/** The README's program. */
function readmeProgram(): Heap {
  const heap = Heap.create({ ncpus: 2, conf: "narenas:1", envConf: null, writer: () => {} });
  const ps: number[] = [];
  for (let i = 0; i < 2000; i++) ps.push(heap.malloc(((i * 37) % 3000) + 1));
  for (let i = 0; i < 2000; i += 3) heap.free(ps[i]!);
  heap.free(heap.malloc(100000));
  heap.malloc(9 * 1024 * 1024);
  heap.mallctl("epoch", 1n);
  return heap;
}

// Each report on a heap of its own, as the reference's two were printed: a report allocates (and
// then frees) its 64 KiB output buffer, which a second report on the same heap would count.
const heap = readmeProgram();
const jsonHeap = readmeProgram();
afterAll(() => {
  heap.detach();
  jsonHeap.detach();
});
const TEXT = statsPrint(heap);
const JSON_TEXT = statsPrint(jsonHeap, "J");
const OURS = JSON.parse(JSON_TEXT) as Json;

function obj(v: Json | undefined): Record<string, Json> {
  expect(v !== null && typeof v === "object" && !Array.isArray(v)).toBe(true);
  return v as Record<string, Json>;
}

/** Keys at every level below `a` and `b` agree (arrays: same length, first elements compared). */
function sameShape(a: Json, b: Json, path: string, out: string[]): void {
  if (Array.isArray(a) || Array.isArray(b)) {
    if (!Array.isArray(a) || !Array.isArray(b) || a.length !== b.length) out.push(`${path}: array length`);
    else if (a.length > 0) sameShape(a[0]!, b[0]!, `${path}[0]`, out);
    return;
  }
  const ao = a !== null && typeof a === "object";
  const bo = b !== null && typeof b === "object";
  if (ao !== bo) {
    out.push(`${path}: object vs value`);
    return;
  }
  if (!ao) {
    if (typeof a !== typeof b) out.push(`${path}: ${typeof a} vs ${typeof b}`);
    return;
  }
  const ka = Object.keys(a as object);
  const kb = Object.keys(b as object);
  if (ka.join() !== kb.join()) out.push(`${path}: keys ${ka.join()} vs ${kb.join()}`);
  for (const k of ka) {
    if (k in (b as object))
      sameShape((a as Record<string, Json>)[k]!, (b as Record<string, Json>)[k]!, `${path}.${k}`, out);
  }
}

describe("statsPrint('J')", () => {
  it("is one line of JSON with jemalloc's top-level keys", () => {
    expect(JSON_TEXT.includes("\n")).toBe(false);
    expect(Object.keys(OURS as object)).toEqual(["jemalloc"]);
    const j = obj(obj(OURS).jemalloc);
    const ref = obj(obj(REF_JSON).jemalloc);
    expect(Object.keys(j)).toEqual(Object.keys(ref));
  });

  it("has the reference's keys in version, config, arenas and stats", () => {
    const j = obj(obj(OURS).jemalloc);
    const ref = obj(obj(REF_JSON).jemalloc);
    const diffs: string[] = [];
    for (const k of ["version", "config", "arenas", "stats"]) sameShape(j[k]!, ref[k]!, k, diffs);
    expect(diffs).toEqual([]);
  });

  it("has the reference's opt keys (profiling included), plus xmalloc (built in here)", () => {
    const ours = Object.keys(obj(obj(obj(OURS).jemalloc).opt));
    const ref = Object.keys(obj(obj(obj(REF_JSON).jemalloc).opt));
    const withXmalloc = [...ref];
    withXmalloc.splice(ref.indexOf("zero") + 1, 0, "xmalloc");
    expect(ours).toEqual(withXmalloc);
    // 5.3 writes opt.stats_print and opt.stats_print_opts twice; so do we.
    expect(JSON_TEXT.match(/"stats_print":/g)?.length).toBe(2);
  });

  it("has per-arena, per-bin, per-large-class and per-extent fields as the reference's arena 0", () => {
    const arenas = obj(obj(obj(OURS).jemalloc)["stats.arenas"]);
    const ref0 = obj(obj(obj(REF_JSON).jemalloc)["stats.arenas"])["0"]!;
    // The 9 MiB block initialized the huge arena here, so there are two arenas and a merged record.
    expect(Object.keys(arenas).sort()).toEqual(["0", "1", "merged"]);
    expect(JSON_TEXT).toContain('"stats.arenas":{"merged":{"nthreads":');
    for (const [k, a] of Object.entries(arenas)) {
      const diffs: string[] = [];
      sameShape(a, ref0, `stats.arenas.${k}`, diffs);
      expect(diffs).toEqual([]);
    }
    const a0 = obj(arenas["0"]);
    expect((a0.bins as Json[]).length).toBe(36);
    expect((a0.lextents as Json[]).length).toBe(196);
    expect((a0.extents as Json[]).length).toBe(199);
    expect(Object.keys(obj((a0.bins as Json[])[0]))).toEqual([
      "nmalloc",
      "ndalloc",
      "curregs",
      "nrequests",
      "nfills",
      "nflushes",
      "nreslabs",
      "curslabs",
      "nonfull_slabs",
      "mutex",
    ]);
  });

  it("reports the same figures as mallctl", () => {
    const j = obj(obj(OURS).jemalloc);
    const stats = obj(j.stats);
    expect(stats.allocated).toBe(heap.mallctl("stats.allocated"));
    const a0 = obj(obj(j["stats.arenas"])["0"]);
    expect(obj(a0.small).nmalloc).toBe(Number(heap.mallctl("stats.arenas.0.small.nmalloc")));
    expect(obj((a0.bins as Json[])[3]).curregs).toBe(heap.mallctl("stats.arenas.0.bins.3.curregs"));
    expect(obj(j.arenas).nlextents).toBe(196);
    expect(obj((obj(j.arenas).lextent as Json[])[195]).size).toBe(Number(7n << 60n));
    expect(JSON_TEXT).toContain('"size":8070450532247928832}');
  });
});

/** A line with its values replaced, to compare layouts. */
function shape(line: string): string {
  return line
    .replace(/"[^"]*"/g, '"s"')
    .replace(/\b(true|false)\b/g, "b")
    .replace(/ *-?\d+(\.\d+)?/g, " #")
    .replace(/ race/g, " #");
}

describe("statsPrint() text", () => {
  it("has every line shape of the reference except the profiling ones", () => {
    const ours = new Set(TEXT.split("\n").map(shape));
    const missing = [...new Set(REF_TEXT.split("\n").map(shape))].filter((l) => !ours.has(l));
    expect(missing).toEqual([]);
  });

  it("has the reference's sections in the reference's order", () => {
    const SECTION =
      /^(___ Begin|--- End|Version:|Build-time option settings|Run-time option settings|Profiling settings|Arenas:|Allocated:|Background threads:|Merged arenas stats:|arenas\[\d+\]:|assigned threads:|decaying:|bins:|large:|extents:|HPA shard stats:)/;
    const sections = (t: string): string[] =>
      t
        .split("\n")
        .map((l) => SECTION.exec(l)?.[1])
        .filter((l): l is string => l !== undefined);
    const ref = sections(REF_TEXT);
    const ours = sections(TEXT);
    // General part: identical up to the first arena record.
    const refArena = ref.indexOf("arenas[0]:");
    expect(ours.slice(0, refArena)).toEqual(ref.slice(0, refArena));
    // Then one record per initialized arena (merged first), each laid out as the reference's arena 0.
    const arenaLayout = ref.slice(refArena + 1, -1);
    expect(ours.slice(refArena)).toEqual([
      "Merged arenas stats:",
      ...arenaLayout,
      "arenas[0]:",
      ...arenaLayout,
      "arenas[1]:",
      ...arenaLayout,
      "--- End",
    ]);
  });

  it("starts and ends as jemalloc's", () => {
    expect(TEXT.startsWith('___ Begin jemalloc statistics ___\nVersion: "5.3.0-0-')).toBe(true);
    expect(TEXT.endsWith("--- End jemalloc statistics ---\n")).toBe(true);
  });
});

describe("option letters", () => {
  const j = (opts: string): Record<string, Json> =>
    obj(obj(JSON.parse(statsPrint(heap, `J${opts}`)) as Json).jemalloc);
  const arena0 = (opts: string): Record<string, Json> => obj(obj(j(opts)["stats.arenas"])["0"]);

  it("g omits the general section", () => {
    expect(Object.keys(j("g"))).toEqual(["stats", "stats.arenas"]);
    expect(statsPrint(heap, "g")).not.toContain("Version:");
  });

  it("m, a and d choose the arena records", () => {
    expect(Object.keys(obj(j("m")["stats.arenas"]))).toEqual(["0", "1"]);
    expect(Object.keys(obj(j("a")["stats.arenas"]))).toEqual(["merged"]);
    expect(obj(j("ma")["stats.arenas"])).toEqual({});
    expect(Object.keys(j("mad"))).not.toContain("stats.arenas");
    expect(statsPrint(heap, "d")).not.toContain("Destroyed arenas stats:");
  });

  it.each([
    ["b", "bins"],
    ["l", "lextents"],
    ["x", "mutexes"],
    ["e", "extents"],
    ["h", "hpa_shard"],
  ])("%s omits %s", (letter, key) => {
    expect(Object.keys(arena0(""))).toContain(key);
    expect(Object.keys(arena0(letter))).not.toContain(key);
  });

  it("x also omits the bins' mutex columns and the global mutex table", () => {
    expect(Object.keys(obj(j("x").stats))).not.toContain("mutexes");
    expect(Object.keys(obj((arena0("x").bins as Json[])[0]))).not.toContain("mutex");
    expect(statsPrint(heap, "x")).not.toContain("n_lock_ops");
  });

  it("rejects a non-string option argument", () => {
    expect(() => statsPrint(heap, 1 as unknown as string)).toThrow(TypeError);
  });
});

describe("opt.stats_print", () => {
  it("prints the report with opt.stats_print_opts when the process exits", () => {
    const h = Heap.create({ ncpus: 2, conf: "stats_print:true,stats_print_opts:J", envConf: null });
    const out: string[] = [];
    const before = process.listeners("exit").length;
    expect(statsPrintAtExit(h, (s) => out.push(s))).toBe(true);
    const listeners = process.listeners("exit");
    expect(listeners.length).toBe(before + 1);
    const listener = listeners.at(-1)!;
    try {
      listener.call(process, 0);
      expect(out.length).toBe(1);
      expect(Object.keys(obj(JSON.parse(out[0]!) as Json))).toEqual(["jemalloc"]);
    } finally {
      process.removeListener("exit", listener);
      h.detach();
    }
    expect(statsPrintAtExit(heap)).toBe(false); // stats_print is off there
  });

  it("prints nothing for a handle detached before exit", () => {
    const h = Heap.create({ ncpus: 2, conf: "stats_print:true", envConf: null });
    const out: string[] = [];
    statsPrintAtExit(h, (s) => out.push(s));
    const listener = process.listeners("exit").at(-1)!;
    h.detach();
    try {
      listener.call(process, 0);
      expect(out).toEqual([]);
    } finally {
      process.removeListener("exit", listener);
    }
  });
});

/**
 * Values, not only keys: every leaf of the reference JSON must hold the same value here, except the
 * ones listed below, each for a stated reason. What stays compared: every option, every arenas.*
 * constant (bins, large classes), and the counters of the program's own traffic (per-bin nmalloc,
 * ndalloc, curregs, curslabs, nslabs, nreslabs, fills, flushes; per-large-class counters; ...).
 */
const VALUE_EXCEPTIONS: [RegExp, string][] = [
  [/^version$/, "our version string names the port"],
  [
    /^config\.(prof|prof_libgcc|xmalloc|malloc_conf)$/,
    "build differences: no profiling, xmalloc built in, conf given as embedded",
  ],
  [/^opt\.thp$/, "no THP (by design)"],
  [/dss$/, "no sbrk in a buffer: dss reads disabled"],
  [
    /(^|\.)(metadata|base|mapped|resident)$/,
    "metadata and address layout of the process (the replay oracle ignores them too)",
  ],
  [/mutex|uptime/, "lock implementations and clocks differ"],
  [
    /^stats\.(allocated|active|retained)$|^stats\.arenas\.0\.(pactive|pdirty|retained|internal|tcache_bytes|extent_avail|small\.\w+)$|^stats\.arenas\.0\.extents\[\d+\]|^stats\.arenas\.0\.bins\[(0|3|5|28)\]/,
    "the C process's own blocks: the runtime's internal 64 KiB block, the stdio buffer's 4 KiB class fill, a few small libc blocks (and the huge arena left out of its totals)",
  ],
];

function leafDiffs(
  ref: Json,
  ours: Json | undefined,
  path: string,
  out: string[],
  counted: { n: number },
): void {
  if (ref !== null && typeof ref === "object") {
    const o = ours as Record<string, Json> | Json[] | undefined;
    for (const [k, v] of Object.entries(ref)) {
      const at = Array.isArray(ref) ? `${path}[${k}]` : path === "" ? k : `${path}.${k}`;
      leafDiffs(v, (o as Record<string, Json> | undefined)?.[k], at, out, counted);
    }
    return;
  }
  if (VALUE_EXCEPTIONS.some(([re]) => re.test(path))) return;
  counted.n++;
  if (ref !== ours) out.push(`${path}: reference ${JSON.stringify(ref)}, ours ${JSON.stringify(ours)}`);
}

describe("statsPrint('J') values", () => {
  it("match the reference's, leaf by leaf, outside the listed exceptions", () => {
    const out: string[] = [];
    const counted = { n: 0 };
    leafDiffs(obj(obj(REF_JSON).jemalloc), obj(obj(OURS).jemalloc), "", out, counted);
    expect(out).toEqual([]);
    expect(counted.n).toBeGreaterThan(1200); // 1299 leaves compared
  });
});

/**
 * malloc_stats_print writes through a 64 KiB buffer it allocates in arena 0 without a cache and
 * counts as internal (jemalloc.c, STATS_PRINT_BUFSIZE; not in debug builds). Figures checked against
 * Debian's libjemalloc 5.3.0: a report taken after a replay, once or twice, equals ours leaf by leaf.
 */
describe("the report's own output buffer", () => {
  type Report = { arenas: { bin: { size: number }[]; lextent: { size: number }[] } } & Record<string, Json>;
  const arena0 = (r: Report) =>
    (r["stats.arenas"] as Record<string, Json>)["0"] as unknown as {
      internal: number;
      pdirty: number;
      large: { nmalloc: number; ndalloc: number };
      lextents: { curlextents: number }[];
      bins: { curregs: number }[];
    };
  const reportOf = (h: Heap): Report =>
    obj(obj(JSON.parse(h.statsPrint("J")) as Json).jemalloc) as unknown as Report;

  it("is a live 64 KiB large block of arena 0 in the report, freed to its dirty pages after it", () => {
    const h = Heap.create({ conf: "narenas:1,tcache:false", envConf: null, maxBytes: 64 << 20 });
    h.free(h.malloc(100));
    h.mallctl("epoch", 1n);
    const before = {
      internal: Number(h.mallctl("stats.arenas.0.internal")),
      nmalloc: Number(h.mallctl("stats.arenas.0.large.nmalloc")),
      pdirty: Number(h.mallctl("stats.arenas.0.pdirty")),
    };
    const r = reportOf(h);
    const k = r.arenas.lextent.findIndex((l) => l.size === 65536);
    expect(arena0(r).lextents[k]!.curlextents).toBe(1);
    expect(arena0(r).internal).toBe(before.internal + 65536);
    expect(arena0(r).large.nmalloc).toBe(before.nmalloc + 1);
    h.mallctl("epoch", 1n);
    expect(Number(h.mallctl("stats.arenas.0.internal"))).toBe(before.internal);
    expect(Number(h.mallctl("stats.arenas.0.large.nmalloc"))).toBe(before.nmalloc + 1);
    expect(Number(h.mallctl("stats.arenas.0.large.ndalloc"))).toBe(1);
    // 64 KiB and the cache-oblivious pad page, left dirty (default decay).
    expect(Number(h.mallctl("stats.arenas.0.pdirty"))).toBe(before.pdirty + 17);
    // A second report counts the first one's allocation and free.
    expect(arena0(reportOf(h)).large.ndalloc).toBe(1);
    h.detach();
  });

  it("is a small region when 64 KiB is a small class (64 KiB pages)", () => {
    const h = Heap.create({ conf: "narenas:1", envConf: null, lgPage: 16, maxBytes: 64 << 20 });
    const r = reportOf(h);
    const j = r.arenas.bin.findIndex((b) => b.size === 65536);
    expect(j).toBeGreaterThan(0);
    expect(arena0(r).bins[j]!.curregs).toBe(1);
    h.detach();
  });

  it("is not taken in debug mode (config.debug), as a debug build prints unbuffered", () => {
    const h = Heap.create({ conf: "narenas:1", envConf: null, debug: true, maxBytes: 64 << 20 });
    expect(h.mallctl("config.debug")).toBe(true);
    h.free(h.malloc(100));
    h.mallctl("epoch", 1n);
    const nmalloc = Number(h.mallctl("stats.arenas.0.large.nmalloc")); // the thread cache's own block
    expect(arena0(reportOf(h)).large.nmalloc).toBe(nmalloc);
    h.mallctl("epoch", 1n);
    expect(Number(h.mallctl("stats.arenas.0.large.nmalloc"))).toBe(nmalloc);
    h.detach();
  });
});
