/**
 * replay helpers (tests only): the reference fixtures, the leaf-by-leaf comparison of
 * ../shared/reference/compare.mjs ported to a function, and a checked replay driver that runs a trace
 * on a heap the test owns (so it can call heap.check() and verify block contents along the way).
 */
import { readdirSync, readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { gunzipSync } from "node:zlib";
import type { Heap } from "../../src/heap.js";
import {
  OP_A,
  OP_C,
  OP_R,
  ReplayRun,
  readTraceFile,
  replayOps,
  type Trace,
} from "../../src/replay/replay.js";

export const FIXTURES = fileURLToPath(new URL("../fixtures/", import.meta.url));
export const TRACES_DIR = `${FIXTURES}traces/`;
export const EXPECTED_DIR = `${FIXTURES}expected/`;

/** The replay settings of the reference (README.md: base, decay0, nodecay, tcache). */
export const SETTINGS = {
  base: "tcache:false,narenas:1",
  decay0: "tcache:false,narenas:1,dirty_decay_ms:0,muzzy_decay_ms:0",
  nodecay: "tcache:false,narenas:1,dirty_decay_ms:-1,muzzy_decay_ms:-1",
  tcache: "narenas:1",
} as const;
export type Setting = keyof typeof SETTINGS;

/** Trace names (without .txt.gz), sorted. */
export const TRACES: string[] = readdirSync(TRACES_DIR)
  .filter((f) => f.endsWith(".txt.gz"))
  .map((f) => f.slice(0, -".txt.gz".length))
  .sort();

export interface Variant {
  dir: string;
  lgQuantum: number;
  lgPage: number;
  lgHugepage: number;
}

/** Size-class variants: expected/variants/q<Q>-p<P>-h<H>/. */
export const VARIANTS: Variant[] = readdirSync(`${EXPECTED_DIR}variants`)
  .sort()
  .map((dir) => {
    const m = /^q(\d+)-p(\d+)-h(\d+)$/.exec(dir);
    if (m === null) throw new Error(`unexpected variant directory ${dir}`);
    return { dir, lgQuantum: Number(m[1]), lgPage: Number(m[2]), lgHugepage: Number(m[3]) };
  });

const traceCache = new Map<string, Trace>();
export function loadTrace(name: string): Trace {
  let t = traceCache.get(name);
  if (t === undefined) {
    t = readTraceFile(`${TRACES_DIR}${name}.txt.gz`);
    traceCache.set(name, t);
  }
  return t;
}

export function readJson(path: string): Record<string, unknown> {
  let b = readFileSync(path);
  if (path.endsWith(".gz")) b = gunzipSync(b);
  return JSON.parse(b.toString("utf8")) as Record<string, unknown>;
}

export function expectedPath(trace: string, setting: Setting, variant?: string): string {
  return variant === undefined
    ? `${EXPECTED_DIR}${trace}.${setting}.json.gz`
    : `${EXPECTED_DIR}variants/${variant}/${trace}.${setting}.json.gz`;
}

// ---- compare.mjs, as functions ------------------------------------------------------------------

/** Address-layout-dependent fields compare.mjs always skips. */
export const IGNORE = [
  "stats.metadata",
  "stats.resident",
  "stats.mapped",
  "stats.arenas.*.base",
  "stats.arenas.*.resident",
  "stats.arenas.*.mapped",
  "snapshots.*.stats.metadata",
  "snapshots.*.stats.resident",
  "snapshots.*.stats.mapped",
  "snapshots.*.stats.arenas.*.base",
  "snapshots.*.stats.arenas.*.resident",
  "snapshots.*.stats.arenas.*.mapped",
  "malloc_conf_env",
  "oracle",
  "version",
];

/** Flattens to path → leaf; arrays of `{j: ...}` objects are keyed by j (as compare.mjs does). */
export function flatten(x: unknown, p = "", out = new Map<string, unknown>()): Map<string, unknown> {
  if (typeof x !== "object" || x === null) {
    out.set(p, x);
    return out;
  }
  if (Array.isArray(x)) {
    const first: unknown = x[0];
    if (x.length > 0 && typeof first === "object" && first !== null && "j" in first) {
      for (const e of x as { j: unknown }[]) flatten(e, `${p}[${String(e.j)}]`, out);
    } else if (x.length > 0 && typeof first !== "object") {
      for (let i = 0; i < x.length; i++) out.set(`${p}[${i}]`, x[i]);
    } else {
      for (let i = 0; i < x.length; i++) flatten(x[i], `${p}.${i}`, out);
    }
    if (x.length === 0) out.set(p, "[]");
    return out;
  }
  const keys = Object.keys(x);
  if (keys.length === 0) out.set(p, "{}");
  for (const k of keys) flatten((x as Record<string, unknown>)[k], p ? `${p}.${k}` : k, out);
  return out;
}

export function normalise(p: string): string {
  return p
    .replace(/\[\d+\]/g, "[*]")
    .replace(/^snapshots\.\d+/, "snapshots.*")
    .replace(/stats\.arenas\.\d+/, "stats.arenas.*");
}

function matches(pattern: string, p: string): boolean {
  const n = normalise(p);
  return n === pattern || n.startsWith(`${pattern}.`) || n.startsWith(`${pattern}[`);
}

export interface Diff {
  count: number;
  /** The first differences, formatted as compare.mjs prints them. */
  first: string[];
  /** Leaves compared (not skipped). */
  compared: number;
}

/**
 * compare.mjs on two parsed replay outputs: skips expected.oracle.unstable and IGNORE (unless `all`).
 * `actual` goes through a JSON round trip first, exactly as compare.mjs would see our printed output.
 */
export function diffReplay(
  expected: Record<string, unknown>,
  actual: unknown,
  all = false,
  limit = 50,
): Diff {
  const a = JSON.parse(JSON.stringify(actual)) as unknown;
  const oracle = expected.oracle as { unstable?: string[] } | undefined;
  const skip = all ? [] : [...IGNORE, ...(oracle?.unstable ?? [])];
  const fe = flatten(expected);
  const fa = flatten(a);
  const diff: Diff = { count: 0, first: [], compared: 0 };
  for (const k of new Set([...fe.keys(), ...fa.keys()])) {
    if (skip.some((s) => matches(s, k))) continue;
    diff.compared++;
    if (fe.get(k) !== fa.get(k)) {
      if (diff.count < limit)
        diff.first.push(`${k}: expected ${JSON.stringify(fe.get(k))}, got ${JSON.stringify(fa.get(k))}`);
      diff.count++;
    }
  }
  return diff;
}

// ---- a checked replay on a heap the test owns --------------------------------------------------

export interface CheckedReplayOptions {
  conf: string;
  lgQuantum?: number;
  lgPage?: number;
  lgHugepage?: number;
  /** Run heap.check() at every `E` op as well as at the end (default true). */
  checkAtSnapshots?: boolean;
}

export interface CheckedReplayResult {
  heap: Heap;
  /** Live blocks at the end: pointer → usable size. */
  live: Map<number, number>;
  /** Per-op usable sizes (as the replayer reports them). */
  usable: number[];
  checks: number;
}

/** Stamps written at the start and end of every block: an overlap or a bad copy breaks one. */
function stamp(heap: Heap, p: number, len: number, id: number): void {
  const dv = heap.dv;
  if (len >= 8) dv.setUint32(p + len - 4, id ^ 0x1b873593, true);
  if (len >= 4) dv.setUint32(p, id ^ 0x5bd1e995, true);
  else if (len > 0) heap.u8[p] = id & 0xff;
}

function stampOk(heap: Heap, p: number, len: number, id: number): boolean {
  const dv = heap.dv;
  if (len >= 8 && dv.getUint32(p + len - 4, true) !== (id ^ 0x1b873593) >>> 0) return false;
  if (len >= 4) return dv.getUint32(p, true) === (id ^ 0x5bd1e995) >>> 0;
  return len === 0 || heap.u8[p] === (id & 0xff);
}

/**
 * Replays `trace` with the reference replay's driver (src/replay/replay.ts) on a run the test owns,
 * stamping every block's first and last 4 requested bytes with its id and verifying them on free and
 * realloc; runs heap.check() at each `E` op and at the end, and checks stats.allocated = Σ usable of
 * live blocks there. Throws with the op index on the first violation.
 */
export function replayChecked(trace: Trace, options: CheckedReplayOptions): CheckedReplayResult {
  const run = new ReplayRun({ ...options, maxBytes: 2 ** 32 });
  const { heap, ptrOf, reqOf } = run;
  let checks = 0;
  const fail = (k: number, msg: string): never => {
    throw new Error(`trace op ${k}: ${msg}`);
  };
  const verifyTotals = (k: number): void => {
    heap.check();
    checks++;
    heap.mallctl("epoch", 1);
    let sum = 0;
    for (const p of ptrOf.values()) sum += heap.mallocUsableSize(p);
    const allocated = heap.mallctl("stats.allocated");
    if (allocated !== sum)
      fail(k, `stats.allocated ${String(allocated)} but live blocks hold ${sum} usable bytes`);
  };
  replayOps(run, trace, true, {
    live(k, code, id, p, req, u, oldReq) {
      if (u < req) fail(k, `${code === OP_R ? "realloc usable" : "usable"} ${u} < request ${req}`);
      if (code === OP_A && p % trace.b[k]! !== 0) fail(k, `aligned_alloc(${trace.b[k]}) returned ${p}`);
      if (code === OP_C) callocZeroed(heap, k, p, req, fail);
      if (oldReq >= 4 && req >= 4 && heap.dv.getUint32(p, true) !== (id ^ 0x5bd1e995) >>> 0)
        fail(k, `realloc of id ${id} did not preserve its first bytes`);
      stamp(heap, p, req, id);
    },
    leaving(k, id, p, req) {
      if (!stampOk(heap, p, req, id)) fail(k, `block of id ${id} at ${p} lost its stamps (overlap?)`);
    },
    snapshot(k) {
      if (options.checkAtSnapshots ?? true) verifyTotals(k);
    },
  });
  for (const [id, p] of ptrOf)
    if (!stampOk(heap, p, reqOf.get(id)!, id)) fail(trace.n, `block of id ${id} at ${p} lost its stamps`);
  verifyTotals(trace.n);
  const live = new Map<number, number>();
  for (const p of ptrOf.values()) live.set(p, heap.mallocUsableSize(p));
  return { heap, live, usable: run.usable, checks };
}

/** A calloc block reads zero (every 509th byte and the last). */
function callocZeroed(
  heap: Heap,
  k: number,
  p: number,
  req: number,
  fail: (k: number, m: string) => never,
): void {
  const u8 = heap.u8;
  for (let i = 0; i < req; i += 509) if (u8[p + i] !== 0) fail(k, `calloc block ${p} byte ${i} is not zero`);
  if (req > 0 && u8[p + req - 1] !== 0) fail(k, `calloc block ${p} last byte is not zero`);
}
