/**
 * replay: run an allocation trace (the reference format: m/c/a/r/f/s/P/D/t/E, one op per line) on a
 * fresh heap with a virtual clock, and report what jemalloc's replayer reports: op counts, live
 * bytes, per-op usable sizes, realloc outcomes, and the statistics after an epoch refresh.
 */
import { readFileSync } from "node:fs";
import { gunzipSync } from "node:zlib";
import type { ArenaStats } from "../arena/stats.js";
import { threadTcache } from "../heap/ops.js";
import { Heap } from "../heap.js";
import { type StatsSnapshot, statsRefresh } from "../mallctl/index.js";

export const OP_M = 1;
export const OP_C = 2;
export const OP_A = 3;
export const OP_R = 4;
export const OP_F = 5;
export const OP_S = 6;
export const OP_P = 7;
export const OP_D = 8;
export const OP_T = 9;
export const OP_E = 10;
const OP_LETTERS = ["", "m", "c", "a", "r", "f", "s", "P", "D", "t", "E"] as const;

/** A parsed trace: op codes and up to three numeric fields per op. */
export interface Trace {
  n: number;
  op: Uint8Array;
  a: Float64Array;
  b: Float64Array;
  c: Float64Array;
}

function field(parts: string[], i: number, line: number): number {
  const s = parts[i];
  if (s === undefined || !/^\d+$/.test(s))
    throw new SyntaxError(
      `trace line ${line}: field ${i} must be a decimal integer, got ${JSON.stringify(s ?? "")}`,
    );
  return Number(s);
}

export function parseTrace(text: string): Trace {
  const lines = text.split("\n");
  const op = new Uint8Array(lines.length);
  const a = new Float64Array(lines.length);
  const b = new Float64Array(lines.length);
  const c = new Float64Array(lines.length);
  let n = 0;
  for (let ln = 0; ln < lines.length; ln++) {
    const line = lines[ln]!.trim();
    if (line === "" || line.startsWith("#")) continue;
    const parts = line.split(/\s+/);
    const k = OP_LETTERS.indexOf(parts[0] as (typeof OP_LETTERS)[number]);
    if (k <= 0) throw new SyntaxError(`trace line ${ln + 1}: unknown op ${JSON.stringify(parts[0])}`);
    op[n] = k;
    const nfields =
      k === OP_C || k === OP_A
        ? 3
        : k === OP_M || k === OP_R || k === OP_S
          ? 2
          : k === OP_F || k === OP_T
            ? 1
            : 0;
    if (parts.length !== nfields + 1)
      throw new SyntaxError(
        `trace line ${ln + 1}: op ${parts[0]} takes ${nfields} fields, got ${parts.length - 1}`,
      );
    if (nfields > 0) a[n] = field(parts, 1, ln + 1);
    if (nfields > 1) b[n] = field(parts, 2, ln + 1);
    if (nfields > 2) c[n] = field(parts, 3, ln + 1);
    n++;
  }
  return { n, op, a, b, c };
}

export function readTraceFile(path: string): Trace {
  let buf = path === "-" ? readFileSync(0) : readFileSync(path);
  if (buf.length >= 2 && buf[0] === 0x1f && buf[1] === 0x8b) buf = gunzipSync(buf);
  return parseTrace(buf.toString("utf8"));
}

export interface ReplayOptions {
  conf?: string;
  lgQuantum?: number;
  lgPage?: number;
  lgHugepage?: number;
  /** Record per-op usable sizes and realloc outcomes (default true). */
  perOp?: boolean;
  /** Largest heap (default 4 GiB). */
  maxBytes?: number;
  /** Debug mode (default: JEMALLOC_TS_DEBUG); it must not change any figure the replay reports. */
  debug?: boolean;
  /** Where malloc_conf messages and opt.stats_interval's reports go (default: stderr, as jemalloc's). */
  writer?: (msg: string) => void;
}

function arenaJson(heap: Heap, s: ArenaStats): Record<string, unknown> {
  const sc = heap.ctx.sc;
  const bins = s.bins.map((b, j) => ({
    j,
    size: sc.binRegSize[j]!,
    nmalloc: b.nmalloc,
    ndalloc: b.ndalloc,
    nrequests: b.nrequests,
    curregs: b.curregs,
    curslabs: b.curslabs,
    nslabs: b.nslabs,
    nreslabs: b.nreslabs,
    nonfull_slabs: b.nonfull_slabs,
    nfills: b.nfills,
    nflushes: b.nflushes,
  }));
  const lextents = [];
  for (let j = 0; j < s.lextents.length; j++) {
    const l = s.lextents[j]!;
    if (l.nmalloc === 0 && l.curlextents === 0) continue;
    lextents.push({
      j,
      size: sc.index2size(sc.nbins + j),
      nmalloc: l.nmalloc,
      ndalloc: l.ndalloc,
      nrequests: l.nrequests,
      curlextents: l.curlextents,
    });
  }
  const extents = [];
  for (let j = 0; j < s.extents.length; j++) {
    const x = s.extents[j]!;
    if (x.ndirty + x.nmuzzy + x.nretained === 0) continue;
    extents.push({ j, ...x });
  }
  return {
    dirty_decay_ms: s.dirty_decay_ms,
    muzzy_decay_ms: s.muzzy_decay_ms,
    pactive: s.pactive,
    pdirty: s.pdirty,
    pmuzzy: s.pmuzzy,
    mapped: s.mapped,
    retained: s.retained,
    base: s.base,
    internal: s.internal,
    metadata_thp: s.metadata_thp,
    resident: s.resident,
    extent_avail: s.extent_avail,
    dirty_npurge: s.dirty_npurge,
    dirty_nmadvise: s.dirty_nmadvise,
    dirty_purged: s.dirty_purged,
    muzzy_npurge: s.muzzy_npurge,
    muzzy_nmadvise: s.muzzy_nmadvise,
    muzzy_purged: s.muzzy_purged,
    small: s.small,
    large: s.large,
    bins,
    lextents,
    extents,
  };
}

export function statsJson(heap: Heap, snap: StatsSnapshot): Record<string, unknown> {
  const arenas: Record<string, unknown> = {};
  for (const [i, s] of snap.arenas) arenas[String(i)] = arenaJson(heap, s);
  return {
    allocated: snap.allocated,
    active: snap.active,
    metadata: snap.metadata,
    metadata_thp: snap.metadata_thp,
    resident: snap.resident,
    mapped: snap.mapped,
    retained: snap.retained,
    zero_reallocs: snap.zero_reallocs,
    arenas,
  };
}

/**
 * What a checked replay observes (test/helpers/replay.ts: stamps, heap.check()); the reference replay
 * observes only `E`. Hooks must not change the heap's state the report reads.
 */
export interface ReplayHooks {
  /** id's block is now `p` (`req` bytes asked, `u` usable); `oldReq`: its request before a realloc, else -1. */
  live?(k: number, code: number, id: number, p: number, req: number, u: number, oldReq: number): void;
  /** id's block `p` (`req` bytes asked) is about to be freed or reallocated. */
  leaving?(k: number, id: number, p: number, req: number): void;
  /** An `E` op. */
  snapshot?(k: number): void;
}

/** A replay in progress: a fresh virtual-clock heap (as the reference replayer runs it) and what the report counts. */
export class ReplayRun {
  /** The virtual clock the heap reads (advanced by `t` ops). */
  nowMs = 0;
  /** Live blocks: trace id → pointer, and → requested bytes. */
  readonly ptrOf = new Map<number, number>();
  readonly reqOf = new Map<number, number>();
  /** Per-op usable sizes (0 where nothing became live), when recorded. */
  readonly usable: number[] = [];
  /** Per-realloc outcome: n (new id), z (size 0), x (failed), 1 (moved), 0 (in place). */
  moved = "";
  readonly counts: Record<string, number> = { m: 0, c: 0, a: 0, r: 0, f: 0, s: 0, P: 0, D: 0, E: 0, t: 0 };
  failed = 0;
  movedCount = 0;
  readonly heap: Heap;

  constructor(options: ReplayOptions = {}) {
    this.heap = Heap.createVirtual(
      {
        conf: options.conf ?? "",
        envConf: null,
        lgQuantum: options.lgQuantum,
        lgPage: options.lgPage,
        lgHugepage: options.lgHugepage,
        maxBytes: options.maxBytes ?? 2 ** 32,
        initialBytes: 1 << 20,
        ...(options.debug === undefined ? {} : { debug: options.debug }),
        ...(options.writer === undefined ? {} : { writer: options.writer }),
      },
      () => this.nowMs,
    );
  }
}

function opAlloc(run: ReplayRun, t: Trace, k: number, hooks: ReplayHooks): number {
  const { heap, ptrOf } = run;
  const code = t.op[k]!;
  const id = t.a[k]!;
  const b = t.b[k]!;
  const c = t.c[k]!;
  if (ptrOf.has(id)) throw new Error(`trace op ${k}: id ${id} is already live`);
  const p = code === OP_M ? heap.malloc(b) : code === OP_C ? heap.calloc(b, c) : heap.alignedAlloc(b, c);
  if (p === 0) {
    run.failed++;
    return 0;
  }
  const req = code === OP_M ? b : code === OP_C ? b * c : c;
  ptrOf.set(id, p);
  run.reqOf.set(id, req);
  const u = heap.mallocUsableSize(p);
  hooks.live?.(k, code, id, p, req, u, -1);
  return u;
}

function opRealloc(run: ReplayRun, k: number, id: number, size: number, hooks: ReplayHooks): number {
  const { heap, ptrOf, reqOf } = run;
  const old = ptrOf.get(id);
  if (old !== undefined) hooks.leaving?.(k, id, old, reqOf.get(id)!);
  let p: number;
  if (old === undefined) {
    p = heap.malloc(size);
    run.moved += "n";
  } else if (size === 0) {
    heap.realloc(old, 0);
    ptrOf.delete(id);
    reqOf.delete(id);
    run.moved += "z";
    return 0;
  } else {
    p = heap.realloc(old, size);
    if (p !== 0) {
      const mv = heap.lastReallocMoved;
      run.moved += mv ? "1" : "0";
      if (mv) run.movedCount++;
    } else run.moved += "x";
  }
  if (p === 0) {
    run.failed++;
    return 0;
  }
  const oldReq = old === undefined ? -1 : reqOf.get(id)!;
  ptrOf.set(id, p);
  reqOf.set(id, size);
  const u = heap.mallocUsableSize(p);
  hooks.live?.(k, OP_R, id, p, size, u, oldReq);
  return u;
}

function opFree(run: ReplayRun, k: number, code: number, id: number, size: number, hooks: ReplayHooks): void {
  const p = run.ptrOf.get(id);
  if (p === undefined) throw new Error(`trace op ${k}: id ${id} is not live`);
  hooks.leaving?.(k, id, p, run.reqOf.get(id)!);
  if (code === OP_F) run.heap.free(p);
  else run.heap.sdallocx(p, size, 0);
  run.ptrOf.delete(id);
  run.reqOf.delete(id);
}

/** Runs every op of `trace` on the run's heap; `perOp` records usable sizes. */
export function replayOps(run: ReplayRun, trace: Trace, perOp: boolean, hooks: ReplayHooks = {}): void {
  const { heap } = run;
  const { op, a, b } = trace;
  for (let k = 0; k < trace.n; k++) {
    const code = op[k]!;
    run.counts[OP_LETTERS[code]!]!++;
    let u = 0;
    switch (code) {
      case OP_M:
      case OP_C:
      case OP_A:
        u = opAlloc(run, trace, k, hooks);
        break;
      case OP_R:
        u = opRealloc(run, k, a[k]!, b[k]!, hooks);
        break;
      case OP_F:
      case OP_S:
        opFree(run, k, code, a[k]!, b[k]!, hooks);
        break;
      case OP_P:
        heap.mallctl("arena.4096.purge");
        break;
      case OP_D:
        heap.mallctl("arena.4096.decay");
        break;
      case OP_T:
        run.nowMs += a[k]!;
        heap.mallctl("arena.4096.decay");
        break;
      case OP_E:
        hooks.snapshot?.(k);
        break;
    }
    if (perOp) run.usable.push(u);
  }
}

/** Replays `trace` and returns the report (the reference's replay JSON schema). */
/**
 * Replays `trace`, then takes `reports` malloc_stats_print reports (`heap.statsPrint(opts)`) and
 * returns the last, as replay.c's --stats-print does with the real library: each report takes and
 * gives back its output buffer, so the second report sees the first. `E` ops create the thread's
 * cache as the native replayer's mallctl reads do (see replay below).
 */
export function replayStatsPrint(
  trace: Trace,
  opts: string,
  reports: number,
  options: ReplayOptions = {},
): string {
  if (!Number.isInteger(reports) || reports < 1)
    throw new RangeError(`replay: --reports needs a positive integer, got ${reports}`);
  const run = new ReplayRun(options);
  replayOps(run, trace, false, { snapshot: () => threadTcache(run.heap.ctx) });
  threadTcache(run.heap.ctx);
  let out = "";
  for (let k = 0; k < reports; k++) out = run.heap.statsPrint(opts);
  run.heap.detach();
  return out;
}

export function replay(trace: Trace, options: ReplayOptions = {}): Record<string, unknown> {
  const run = new ReplayRun(options);
  const { heap, ptrOf, reqOf } = run;
  const perOp = options.perOp ?? true;
  const snapshots: unknown[] = [];
  // jemalloc's replayer reads each report through mallctl, and a thread's first mallctl creates
  // its cache (the stacks show in the stats) even before any allocation; Heap.mallctl creates it
  // lazily, on the first allocation or free, so the report creates it here.
  const report = (): Record<string, unknown> => {
    threadTcache(heap.ctx);
    return statsJson(heap, statsRefresh(heap));
  };
  replayOps(run, trace, perOp, { snapshot: (k) => snapshots.push({ op: k, stats: report() }) });
  let liveReq = 0;
  let liveUsable = 0;
  for (const [id, p] of ptrOf) {
    liveReq += reqOf.get(id)!;
    liveUsable += heap.mallocUsableSize(p);
  }
  const opt = heap.derived.conf.opt;
  const out: Record<string, unknown> = {
    format: "jemalloc-replay-1",
    version: heap.mallctl("version") ?? "jemalloc-ts",
    clock: "virtual",
    malloc_conf_env: options.conf ?? "",
    snapshots,
    trace: {
      nops: trace.n,
      ops: run.counts,
      elapsed_ms: run.nowMs,
      failed: run.failed,
      realloc_moved: run.movedCount,
      live: ptrOf.size,
      live_requested_bytes: liveReq,
      live_usable_bytes: liveUsable,
    },
    conf: {
      page: heap.ctx.page,
      quantum: heap.ctx.sc.quantum,
      tcache: opt.tcache,
      retain: opt.retain,
      narenas: heap.derived.conf.narenasAuto,
      dirty_decay_ms: opt.dirty_decay_ms,
      muzzy_decay_ms: opt.muzzy_decay_ms,
      oversize_threshold: opt.oversize_threshold,
      thread_arena: heap.mallctl("thread.arena"),
    },
    stats: report(),
  };
  if (perOp) {
    out.realloc_moved = run.moved;
    out.usable = run.usable;
  }
  return out;
}
