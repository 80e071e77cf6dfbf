/**
 * `jemalloc-ts replay <trace | -> [--conf STR] [--lg-quantum N --lg-page N --lg-hugepage N] [--no-ops]`
 * Prints the replay JSON (the reference's schema) on stdout.
 * `jemalloc-ts replay <trace> --compare CONF1 CONF2 …` prints a side-by-side table instead
 * (src/bench/replay_compare.ts); `--stats-print OPTS [--reports N]` prints the N-th
 * malloc_stats_print report taken after the replay (default 1), as replay.c's option of that name.
 */
import { runReplayCompare } from "../bench/replay_compare.js";
import { readTraceFile, replay, replayStatsPrint } from "../replay/replay.js";

function intFlag(name: string, v: string | undefined): number {
  if (v === undefined || !/^\d+$/.test(v))
    throw new RangeError(`replay: ${name} needs a non-negative integer, got ${JSON.stringify(v ?? "")}`);
  return Number(v);
}

export function runReplayCli(argv: string[], out: (s: string) => void, err: (s: string) => void): number {
  let trace: string | undefined;
  let conf = "";
  let perOp = true;
  const compare: string[] = [];
  let statsOpts: string | null = null;
  let reports = 1;
  const lg: { lgQuantum?: number; lgPage?: number; lgHugepage?: number } = {};
  try {
    for (let i = 0; i < argv.length; i++) {
      const a = argv[i]!;
      if (a === "--conf") conf = argv[++i] ?? "";
      else if (a === "--compare") {
        while (i + 1 < argv.length && !argv[i + 1]!.startsWith("--")) compare.push(argv[++i]!);
        if (compare.length === 0) throw new RangeError("replay: --compare needs configurations");
      } else if (a === "--no-ops") perOp = false;
      else if (a === "--stats-print") {
        statsOpts = argv[++i] ?? null;
        if (statsOpts === null)
          throw new RangeError('replay: --stats-print needs the option letters ("" for none)');
      } else if (a === "--reports") {
        reports = intFlag(a, argv[++i]);
        if (reports === 0) throw new RangeError("replay: --reports needs a positive integer, got 0");
      } else if (a === "--lg-quantum") lg.lgQuantum = intFlag(a, argv[++i]);
      else if (a === "--lg-page") lg.lgPage = intFlag(a, argv[++i]);
      else if (a === "--lg-hugepage") lg.lgHugepage = intFlag(a, argv[++i]);
      else if (a.startsWith("--")) throw new RangeError(`replay: unknown option ${a}`);
      else if (trace === undefined) trace = a;
      else throw new RangeError(`replay: more than one trace given (${trace}, ${a})`);
    }
    if (trace === undefined) throw new RangeError("replay: no trace given (a path, or - for stdin)");
  } catch (e) {
    err(`${(e as Error).message}\n`);
    return 2;
  }
  if (compare.length > 0) return runReplayCompare(trace, compare, out);
  if (statsOpts !== null) {
    out(replayStatsPrint(readTraceFile(trace), statsOpts, reports, { conf, ...lg }));
    return 0;
  }
  const result = replay(readTraceFile(trace), { conf, perOp, ...lg });
  out(`${JSON.stringify(result)}\n`);
  return 0;
}
