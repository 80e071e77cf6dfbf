/**
 * suite: runs a set of workloads under a set of configurations and gathers one SuiteReport.
 *
 * Isolation: by default each configuration runs in its own child process (`node --expose-gc`, plus tsx
 * when this module is TypeScript), one after another. That keeps the JIT's type feedback of one
 * allocator from slowing the next, gives each its own garbage collector state, and returns every
 * buffer to the system between configurations. `isolate: false` runs everything in this process
 * (tests; quicker to start, less faithful timings).
 *
 * Errors: RangeError for unknown workload names; a child that dies turns its remaining cells into
 * "error" cells carrying the end of its stderr.
 */
import { fork } from "node:child_process";
import { createRequire } from "node:module";
import { arch, cpus, loadavg, platform, release, totalmem } from "node:os";
import { fileURLToPath, pathToFileURL } from "node:url";
import { type CellResult, type MachineInfo, REPORT_FORMAT, type SuiteReport } from "./result.js";
import { type CellOptions, cellOptions, runCell } from "./runner.js";
import { FOOTPRINT_MEANING, parseStrategy, type Strategy } from "./strategies.js";
import { callsPerIteration, WORKLOAD_NAMES, workload } from "./workloads.js";

export interface SuiteOptions {
  workloads: readonly string[];
  strategies: readonly Strategy[];
  quick: boolean;
  seed: number;
  /** Overrides the quick/full scale (tests use tiny ones). */
  scale?: number;
  /** Overrides the cell options derived from quick/seed/scale. */
  cell?: Partial<CellOptions>;
  isolate: boolean;
  /** One line per event (start/end of a cell), without a newline. */
  progress?: (line: string) => void;
}

export function machineInfo(): MachineInfo & { loadAvg1: number } {
  const c = cpus();
  return {
    cpu: c[0]?.model.trim() ?? "unknown",
    cpus: c.length,
    arch: arch(),
    platform: platform(),
    release: release(),
    totalMemBytes: totalmem(),
    loadAvg1: Math.round(loadavg()[0]! * 100) / 100,
  };
}

function checkWorkloads(names: readonly string[]): void {
  for (const n of names) {
    if (!(WORKLOAD_NAMES as readonly string[]).includes(n)) {
      throw new RangeError(
        `bench: unknown workload ${JSON.stringify(n)} (known: ${WORKLOAD_NAMES.join(", ")})`,
      );
    }
  }
}

function describeCell(r: CellResult): string {
  if (r.status === "skipped" || r.status === "error") return `${r.status}: ${r.note ?? ""}`;
  const ns =
    r.nsPerCall === null || typeof r.nsPerCall.median !== "number"
      ? "—"
      : `${r.nsPerCall.median.toFixed(1)} ns/call`;
  const fp = r.footprint === null ? "" : `, in-use/live ${r.footprint.ratio.toFixed(2)}`;
  return `${ns}${fp}${r.status === "partial" ? " (partial)" : ""}`;
}

export async function runSuite(o: SuiteOptions): Promise<SuiteReport> {
  checkWorkloads(o.workloads);
  const t0 = performance.now();
  const opts: CellOptions = { ...cellOptions(o.quick, o.seed, o.scale), ...o.cell };
  const total = o.workloads.length * o.strategies.length;
  let done = 0;
  const say = o.progress ?? (() => {});
  const onResult = (r: CellResult) => {
    done++;
    say(`bench [${done}/${total}] ${r.workload} × ${r.label}: ${describeCell(r)}`);
  };
  const results: CellResult[] = [];
  for (const s of o.strategies) {
    say(`bench: ${s.label} (${o.isolate ? "own process" : "in process"}) …`);
    const got = o.isolate
      ? await runInChild(s, o.workloads, opts, onResult)
      : await runHere(s, o.workloads, opts, onResult);
    results.push(...got);
  }
  return assemble(o, opts, results, performance.now() - t0);
}

async function runHere(
  s: Strategy,
  names: readonly string[],
  opts: CellOptions,
  onResult: (r: CellResult) => void,
): Promise<CellResult[]> {
  const out: CellResult[] = [];
  for (const n of names) {
    const r = await runCell({ strategy: s, workload: workload(n, opts.scale), opts });
    onResult(r);
    out.push(r);
  }
  return out;
}

/** The child entry and the node flags that run it (tsx when we are TypeScript). */
function childCommand(): { entry: string; execArgv: string[] } {
  const here = import.meta.url;
  const ts = here.endsWith(".ts");
  const entry = fileURLToPath(new URL(ts ? "./child.ts" : "./child.js", here));
  const execArgv = ["--expose-gc", "--max-old-space-size=6144"];
  if (ts) execArgv.push("--import", pathToFileURL(createRequire(here).resolve("tsx")).href);
  return { entry, execArgv };
}

/** How long past its cell budget a child may stay silent before it is taken for hung and killed. */
export const CHILD_GRACE_MS = 120_000;

export interface ChildRequest {
  strategy: string;
  workloads: string[];
  opts: CellOptions;
}

function runInChild(
  s: Strategy,
  names: readonly string[],
  opts: CellOptions,
  onResult: (r: CellResult) => void,
): Promise<CellResult[]> {
  const { entry, execArgv } = childCommand();
  const child = fork(entry, [], { execArgv, stdio: ["ignore", "ignore", "pipe", "ipc"] });
  let stderr = "";
  child.stderr?.on("data", (d: Buffer) => {
    stderr = (stderr + d.toString("utf8")).slice(-2000);
  });
  const out: CellResult[] = [];
  // A cell stops itself at its budget; a child silent for much longer than that is hung: end it.
  const silenceMs = opts.budgetMs + CHILD_GRACE_MS;
  let watchdog = setTimeout(() => child.kill("SIGKILL"), silenceMs);
  return new Promise<CellResult[]>((resolve) => {
    child.on("message", (m: { ev: string; result?: CellResult }) => {
      if (m.ev === "result" && m.result !== undefined) {
        clearTimeout(watchdog);
        watchdog = setTimeout(() => child.kill("SIGKILL"), silenceMs);
        out.push(m.result);
        onResult(m.result);
      }
    });
    child.on("exit", (code, signal) => {
      clearTimeout(watchdog);
      for (const n of names.slice(out.length)) {
        const why = `the child process ended (${signal ?? `code ${code}`}) before this cell: ${stderr.trim().split("\n").slice(-3).join(" | ")}`;
        const r = errorCell(s, n, opts.scale, why);
        out.push(r);
        onResult(r);
      }
      resolve(out);
    });
    child.send({ strategy: s.id, workloads: [...names], opts } satisfies ChildRequest);
  });
}

function errorCell(s: Strategy, name: string, scale: number, why: string): CellResult {
  return {
    workload: name,
    strategy: s.id,
    label: s.label,
    kind: s.kind,
    status: "error",
    note: why,
    callsPerIteration: callsPerIteration(workload(name, scale).spec),
    nsPerCall: null,
    footprint: null,
    wallMs: 0,
  };
}

function assemble(o: SuiteOptions, opts: CellOptions, results: CellResult[], totalMs: number): SuiteReport {
  const order = (r: CellResult) =>
    o.workloads.indexOf(r.workload) * 1000 + o.strategies.findIndex((s) => s.id === r.strategy);
  return {
    format: REPORT_FORMAT,
    date: new Date().toISOString(),
    machine: machineInfo(),
    node: process.version,
    quick: o.quick,
    scale: opts.scale,
    seed: opts.seed,
    isolated: o.isolate,
    strategies: o.strategies.map(({ id, label, kind, conf, lgQuantum, lgPage }) => ({
      id,
      label,
      kind,
      conf,
      lgQuantum,
      lgPage,
    })),
    workloads: o.workloads.map((n) => {
      const w = workload(n, opts.scale);
      return { name: w.name, description: w.description, callsPerIteration: callsPerIteration(w.spec) };
    }),
    footprintMeaning: FOOTPRINT_MEANING,
    results: results.sort((a, b) => order(a) - order(b)),
    totalMs,
  };
}

/** Runs the cells a parent asked for (the child side of runInChild). */
export async function serveChildRequest(
  req: ChildRequest,
  send: (m: object) => Promise<void>,
): Promise<void> {
  const s = parseStrategy(req.strategy);
  for (const n of req.workloads) {
    const r = await runCell({ strategy: s, workload: workload(n, req.opts.scale), opts: req.opts });
    await send({ ev: "result", result: r });
  }
}
