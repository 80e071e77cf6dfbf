/**
 * `jemalloc-ts bench`: runs benchmark workloads under allocator configurations, shows progress on
 * stderr, prints a comparison table, and writes the results as JSON and as an SVG chart.
 *
 *   jemalloc-ts bench [--workload NAME ...] [--conf STR ...] [--no-baselines] [--quick]
 *                     [--json [FILE]] [--svg FILE] [--md FILE] [--seed N] [--no-isolate]
 *
 * A configuration is malloc_conf syntax plus `lg_quantum:N` / `lg_page:N` (e.g. "tcache:false,lg_page:16"),
 * "default", or a baseline name: "thi.ng" (@thi.ng/malloc) or "uint8array" (new Uint8Array). Without
 * --conf the full list runs; with --conf the named ones run, plus both baselines unless --no-baselines.
 * `--json` alone writes the JSON to stdout (the table then goes to stderr).
 * Exit status: 0 done, 1 some cell failed, 2 bad arguments.
 */
import { writeFileSync } from "node:fs";
import type { SuiteReport } from "../bench/result.js";
import { BASELINE_IDS, DEFAULT_STRATEGY_IDS, parseStrategy, type Strategy } from "../bench/strategies.js";
import { runSuite } from "../bench/suite.js";
import { renderSvg } from "../bench/svg.js";
import { formatMarkdown, formatTable } from "../bench/table.js";
import { DEFAULT_SEED, WORKLOAD_NAMES } from "../bench/workloads.js";

export const BENCH_USAGE = `usage: jemalloc-ts bench [--workload NAME ...] [--conf STR ...] [--no-baselines] [--quick]
                         [--json [FILE]] [--svg FILE] [--md FILE] [--seed N] [--no-isolate]
workloads: ${WORKLOAD_NAMES.join(", ")} (default: all)
configurations (default: ${DEFAULT_STRATEGY_IDS.join(" | ")}):
  malloc_conf text plus lg_quantum:N / lg_page:N, "default", or a baseline: thi.ng, uint8array
`;

export interface BenchArgs {
  workloads: string[];
  confs: string[];
  baselines: boolean;
  quick: boolean;
  json: string | null;
  svg: string | null;
  md: string | null;
  seed: number;
  isolate: boolean;
  help: boolean;
}

export function parseBenchArgs(argv: string[]): BenchArgs {
  const a: BenchArgs = {
    workloads: [],
    confs: [],
    baselines: true,
    quick: false,
    json: null,
    svg: null,
    md: null,
    seed: DEFAULT_SEED,
    isolate: true,
    help: false,
  };
  let i = 0;
  const isValue = (k: number) => k < argv.length && !argv[k]!.startsWith("--");
  /** Every value after the flag up to the next flag (`--conf a b --json` → a, b); at least one. */
  const values = (flag: string): string[] => {
    const vals: string[] = [];
    while (isValue(i + 1)) vals.push(argv[++i]!);
    if (vals.length === 0) throw new RangeError(`bench: ${flag} needs a value`);
    return vals;
  };
  const optionalValue = (): string | null => (isValue(i + 1) ? argv[++i]! : null);
  const oneValue = (flag: string): string => {
    if (!isValue(i + 1)) throw new RangeError(`bench: ${flag} needs a value`);
    return argv[++i]!;
  };
  for (; i < argv.length; i++) {
    const f = argv[i]!;
    if (f === "--workload" || f === "--workloads")
      a.workloads.push(
        ...values(f)
          .flatMap((v) => v.split(","))
          .filter((v) => v !== ""),
      );
    else if (f === "--conf") a.confs.push(...values(f));
    else if (f === "--json") a.json = optionalValue() ?? "-";
    else if (f === "--svg") a.svg = oneValue(f);
    else if (f === "--md") a.md = oneValue(f);
    else if (f === "--seed") a.seed = seedOf(oneValue(f));
    else if (f === "--quick") a.quick = true;
    else if (f === "--no-baselines") a.baselines = false;
    else if (f === "--no-isolate") a.isolate = false;
    else if (f === "-h" || f === "--help") a.help = true;
    else throw new RangeError(`bench: unknown argument ${JSON.stringify(f)}`);
  }
  if (a.workloads.length === 0 || a.workloads.includes("all")) a.workloads = [...WORKLOAD_NAMES];
  for (const w of a.workloads) {
    if (!(WORKLOAD_NAMES as readonly string[]).includes(w))
      throw new RangeError(`bench: unknown workload ${JSON.stringify(w)}`);
  }
  return a;
}

function seedOf(v: string | undefined): number {
  if (v === undefined || !/^\d+$/.test(v) || Number(v) >= 2 ** 32)
    throw new RangeError(`bench: --seed needs an integer in [0, 2^32), got ${JSON.stringify(v ?? "")}`);
  return Number(v);
}

/** The configurations to run, in order, without duplicates. */
export function strategiesOf(a: BenchArgs): Strategy[] {
  const ids: string[] =
    a.confs.length === 0 ? [...DEFAULT_STRATEGY_IDS] : [...a.confs, ...(a.baselines ? BASELINE_IDS : [])];
  const out: Strategy[] = [];
  for (const id of ids) {
    const s = parseStrategy(id);
    if (!a.baselines && s.kind !== "jemalloc-ts" && a.confs.length === 0) continue;
    if (!out.some((o) => o.id === s.id)) out.push(s);
  }
  return out;
}

export async function runBenchCli(
  argv: string[],
  out: (s: string) => void,
  err: (s: string) => void,
): Promise<number> {
  let args: BenchArgs;
  let strategies: Strategy[];
  try {
    args = parseBenchArgs(argv);
    strategies = strategiesOf(args);
  } catch (e) {
    err(`${(e as Error).message}\n${BENCH_USAGE}`);
    return 2;
  }
  if (args.help) {
    out(BENCH_USAGE);
    return 0;
  }
  const rep = await runSuite({
    workloads: args.workloads,
    strategies,
    quick: args.quick,
    seed: args.seed,
    isolate: args.isolate,
    progress: (line) => err(`${line}\n`),
  });
  writeOutputs(rep, args, out, err);
  return rep.results.some((r) => r.status === "error") ? 1 : 0;
}

function writeOutputs(
  rep: SuiteReport,
  args: BenchArgs,
  out: (s: string) => void,
  err: (s: string) => void,
): void {
  const json = `${JSON.stringify(rep, null, 2)}\n`;
  const table = formatTable(rep);
  if (args.json === "-") {
    out(json);
    err(table);
  } else {
    out(table);
    if (args.json !== null) {
      writeFileSync(args.json, json);
      err(`bench: JSON written to ${args.json}\n`);
    }
  }
  if (args.svg !== null) {
    writeFileSync(args.svg, renderSvg(rep));
    err(`bench: SVG chart written to ${args.svg}\n`);
  }
  if (args.md !== null) {
    writeFileSync(args.md, formatMarkdown(rep));
    err(`bench: Markdown table written to ${args.md}\n`);
  }
}
