/**
 * table: the comparison table printed after a run — one row per (workload, configuration), a header
 * naming the date, machine, Node version and the baselines measured in the same run, and footnotes for
 * what each footprint column means and for every skipped, partial or failed cell.
 */
import type { CellResult, SuiteReport } from "./result.js";

const COLUMNS = [
  { title: "workload", align: "left" },
  { title: "configuration", align: "left" },
  { title: "ns/call", align: "right" },
  { title: "±MAD", align: "right" },
  { title: "vs best", align: "right" },
  { title: "samples", align: "right" },
  { title: "faults/call", align: "right" },
  { title: "in-use/live", align: "right" },
  { title: "mapped/live", align: "right" },
  { title: "note", align: "left" },
] as const;

function fmtNs(v: number): string {
  if (!Number.isFinite(v)) return "—";
  return v >= 1000 ? v.toFixed(0) : v >= 100 ? v.toFixed(1) : v.toFixed(2);
}

/** Page faults per call: "0" when none, else two significant digits. */
function fmtFaults(v: number | null | undefined): string {
  if (v === null || v === undefined || !Number.isFinite(v)) return "—";
  return v === 0 ? "0" : v >= 10 ? v.toFixed(0) : v.toPrecision(2);
}

function fmtRatio(v: number | null | undefined): string {
  if (v === null || v === undefined || !Number.isFinite(v)) return "—";
  return v >= 100 ? v.toFixed(0) : v.toFixed(2);
}

/** Fastest median among the measured (ok) cells of each workload. */
export function bestByWorkload(results: readonly CellResult[]): Map<string, number> {
  const best = new Map<string, number>();
  for (const r of results) {
    if (r.status !== "ok" || r.nsPerCall === null || !Number.isFinite(r.nsPerCall.median)) continue;
    const b = best.get(r.workload);
    if (b === undefined || r.nsPerCall.median < b) best.set(r.workload, r.nsPerCall.median);
  }
  return best;
}

function row(r: CellResult, best: Map<string, number>, noteNo: number | null, first: boolean): string[] {
  const ns = r.nsPerCall;
  const b = best.get(r.workload);
  const vs = ns !== null && b !== undefined && r.status === "ok" ? `${(ns.median / b).toFixed(2)}×` : "—";
  const mad =
    ns !== null && ns.samples > 1 && ns.median > 0 ? `${((100 * ns.mad) / ns.median).toFixed(1)}%` : "—";
  const tag = r.status === "ok" ? "" : r.status;
  return [
    first ? r.workload : "",
    r.label,
    ns === null ? "—" : fmtNs(ns.median),
    mad,
    vs,
    ns === null ? "—" : String(ns.samples),
    fmtFaults(ns?.faultsPerCall),
    fmtRatio(r.footprint?.ratio),
    fmtRatio(r.footprint?.mappedRatio),
    noteNo === null ? tag : `${tag}${tag === "" ? "" : " "}[${noteNo}]`,
  ];
}

function layout(rows: string[][]): string[] {
  const widths = COLUMNS.map((c, i) => Math.max(c.title.length, ...rows.map((r) => r[i]!.length)));
  const line = (cells: string[]) =>
    cells
      .map((s, i) => (COLUMNS[i]!.align === "right" ? s.padStart(widths[i]!) : s.padEnd(widths[i]!)))
      .join("  ")
      .trimEnd();
  const out = [line(COLUMNS.map((c) => c.title)), line(widths.map((w) => "-".repeat(w)))];
  for (const r of rows) out.push(line(r));
  return out;
}

/** The header lines: when, where, what was compared. */
export function headerLines(rep: SuiteReport): string[] {
  const m = rep.machine as SuiteReport["machine"] & { loadAvg1?: number };
  const gib = (m.totalMemBytes / 2 ** 30).toFixed(0);
  const load = m.loadAvg1 === undefined ? "" : `, load average ${m.loadAvg1} at start`;
  const baselines = rep.strategies.filter((s) => s.kind !== "jemalloc-ts").map((s) => s.label);
  return [
    `jemalloc-ts bench, ${rep.date}`,
    `machine: ${m.cpu} × ${m.cpus} CPUs, ${gib} GiB, ${m.platform} ${m.release} ${m.arch}${load}`,
    `node ${rep.node}; ${rep.quick ? "quick" : "full"} run (scale ${rep.scale}, seed ${rep.seed}); ${rep.isolated ? "each configuration in its own process" : "all configurations in one process"}; ${(rep.totalMs / 1000).toFixed(0)} s`,
    `baselines measured in this run: ${baselines.length === 0 ? "none" : baselines.join(", ")}`,
  ];
}

/** Rows (cells as strings) and the distinct notes they point to. */
function rowsOf(rep: SuiteReport): { rows: string[][]; notes: string[] } {
  const best = bestByWorkload(rep.results);
  const notes: string[] = [];
  const rows: string[][] = [];
  let prev = "";
  for (const r of rep.results) {
    let no: number | null = null;
    if (r.note !== undefined && r.note !== "") {
      const k = notes.indexOf(r.note);
      no = (k >= 0 ? k : notes.push(r.note) - 1) + 1;
    }
    rows.push(row(r, best, no, r.workload !== prev));
    prev = r.workload;
  }
  return { rows, notes };
}

/** What the columns mean (shared by the text and Markdown forms). */
function legendLines(rep: SuiteReport): string[] {
  const out = [
    "ns/call: median over tinybench samples of (iteration time ÷ malloc+free calls in it); ±MAD relative to it;",
    "worker workloads: the slower worker's time ÷ the calls one worker made. vs best: ÷ the fastest ok cell.",
    "faults/call: the process's minor page faults while timed ÷ the calls (first touches of pages the OS had",
    "not backed yet; where each costs microseconds, as in a VM, they dominate a cell that touches fresh memory).",
    "in-use/live and mapped/live: bytes at the high-water mark ÷ peak live requested bytes (both sampled",
    "in an untimed pass of iterations, never between timed samples, and after each phase), where",
  ];
  for (const s of rep.strategies.filter((x, i, a) => a.findIndex((y) => y.kind === x.kind) === i)) {
    const m = rep.footprintMeaning[s.kind];
    out.push(`  ${s.kind.padEnd(12)} in use = ${m.inUse}; mapped = ${m.mapped}`);
  }
  return out;
}

export function formatTable(rep: SuiteReport): string {
  const { rows, notes } = rowsOf(rep);
  const out = [...headerLines(rep), "", ...layout(rows), "", ...legendLines(rep)];
  if (notes.length > 0) out.push("", ...notes.map((n, i) => `[${i + 1}] ${n}`));
  return `${out.join("\n")}\n`;
}

function mdCell(s: string): string {
  return s.replace(/\|/g, "\\|");
}

/** The same table as Markdown (for a README): header lines, the table, the legend and the notes. */
export function formatMarkdown(rep: SuiteReport): string {
  const { rows, notes } = rowsOf(rep);
  const head = headerLines(rep);
  const out = [`**${head[0]}**`, "", ...head.slice(1).map((l) => `- ${l}`), ""];
  out.push(`| ${COLUMNS.map((c) => c.title).join(" | ")} |`);
  out.push(`|${COLUMNS.map((c) => (c.align === "right" ? "--:" : ":--")).join("|")}|`);
  for (const r of rows)
    out.push(`| ${r.map((c, i) => (i === 0 && c !== "" ? `**${mdCell(c)}**` : mdCell(c))).join(" | ")} |`);
  out.push("", "```text", ...legendLines(rep), "```");
  if (notes.length > 0) out.push("", ...notes.map((n, i) => `${i + 1}. ${mdCell(n)}`));
  return `${out.join("\n")}\n`;
}
