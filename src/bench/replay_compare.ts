/**
 * replay_compare: `jemalloc-ts replay <trace> --compare CONF1 CONF2 …` — replays one allocation trace
 * under several configurations and puts the outcomes side by side: replay time, live requested bytes,
 * allocated, active and active/live (the footprint), dirty and muzzy pages left, metadata and mapped.
 *
 * Each configuration is malloc_conf text plus `lg_quantum:N` / `lg_page:N`, or "default". The clock is
 * the trace's virtual clock, so everything but the time is deterministic. Every configuration is
 * replayed twice (in order, then in reverse) and the faster time is kept, so the first one does not
 * pay alone for the JIT's warm-up; the statistics come from the first replay.
 *
 * Errors: RangeError for a configuration that is not understood or a baseline name (a trace replays
 * only on jemalloc-ts); trace errors come from readTraceFile/replay.
 */
import { readTraceFile, replay, type Trace } from "../replay/replay.js";
import { parseStrategy } from "./strategies.js";

export interface ReplayCompareRow {
  conf: string;
  ms: number;
  ops: number;
  failed: number;
  liveRequested: number;
  allocated: number;
  active: number;
  /** active ÷ live requested bytes at the end of the trace. */
  activeRatio: number;
  /** Pages, summed over arenas. */
  pdirty: number;
  pmuzzy: number;
  metadata: number;
  mapped: number;
}

interface ReplayJson {
  trace: { nops: number; failed: number; live_requested_bytes: number };
  stats: {
    allocated: number;
    active: number;
    metadata: number;
    mapped: number;
    arenas: Record<string, { pdirty: number; pmuzzy: number }>;
  };
}

function replayOnce(trace: Trace, conf: string): { ms: number; row: ReplayCompareRow } {
  const s = parseStrategy(conf);
  if (s.kind !== "jemalloc-ts")
    throw new RangeError(
      `replay --compare: ${JSON.stringify(conf)} is a baseline; a trace replays only on jemalloc-ts configurations`,
    );
  const t = performance.now();
  const r = replay(trace, {
    conf: s.conf,
    lgQuantum: s.lgQuantum,
    lgPage: s.lgPage,
    perOp: false,
  }) as unknown as ReplayJson;
  const ms = performance.now() - t;
  let pdirty = 0;
  let pmuzzy = 0;
  for (const a of Object.values(r.stats.arenas)) {
    pdirty += a.pdirty;
    pmuzzy += a.pmuzzy;
  }
  const live = r.trace.live_requested_bytes;
  return {
    ms,
    row: {
      conf: s.id,
      ms,
      ops: r.trace.nops,
      failed: r.trace.failed,
      liveRequested: live,
      allocated: r.stats.allocated,
      active: r.stats.active,
      activeRatio: live > 0 ? r.stats.active / live : Number.NaN,
      pdirty,
      pmuzzy,
      metadata: r.stats.metadata,
      mapped: r.stats.mapped,
    },
  };
}

/** Replays `trace` under each configuration; rows in the order given. */
export function replayCompare(trace: Trace, confs: readonly string[]): ReplayCompareRow[] {
  if (confs.length === 0) throw new RangeError("replay --compare: name at least one configuration");
  const rows = confs.map((c) => replayOnce(trace, c).row);
  for (let i = rows.length - 1; i >= 0; i--)
    rows[i]!.ms = Math.min(rows[i]!.ms, replayOnce(trace, confs[i]!).ms);
  return rows;
}

function bytes(n: number): string {
  if (n >= 2 ** 30) return `${(n / 2 ** 30).toFixed(2)} GiB`;
  if (n >= 2 ** 20) return `${(n / 2 ** 20).toFixed(2)} MiB`;
  if (n >= 2 ** 10) return `${(n / 2 ** 10).toFixed(1)} KiB`;
  return `${n} B`;
}

/** The comparison as a text table. */
export function formatReplayCompare(tracePath: string, rows: readonly ReplayCompareRow[]): string {
  const head = [
    "configuration",
    "time ms",
    "live req",
    "allocated",
    "active",
    "active/live",
    "pdirty",
    "pmuzzy",
    "metadata",
    "mapped",
    "failed",
  ];
  const body = rows.map((r) => [
    r.conf,
    r.ms.toFixed(1),
    bytes(r.liveRequested),
    bytes(r.allocated),
    bytes(r.active),
    Number.isFinite(r.activeRatio) ? r.activeRatio.toFixed(3) : "—",
    String(r.pdirty),
    String(r.pmuzzy),
    bytes(r.metadata),
    bytes(r.mapped),
    String(r.failed),
  ]);
  const widths = head.map((h, i) => Math.max(h.length, ...body.map((b) => b[i]!.length)));
  const line = (cells: string[]) =>
    cells.map((c, i) => (i === 0 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))).join("  ");
  const out = [
    `replay ${tracePath}: ${rows[0]?.ops ?? 0} ops under ${rows.length} configurations (virtual clock; time = faster of two replays, heap creation included)`,
    line(head),
    line(widths.map((w) => "-".repeat(w))),
    ...body.map(line),
    "active/live: stats.active ÷ live requested bytes at the end; pdirty/pmuzzy: pages left in the extent caches (all arenas).",
  ];
  return `${out.join("\n")}\n`;
}

/** `replay <trace> --compare CONF…`: prints the table; returns the exit status. */
export function runReplayCompare(
  tracePath: string,
  confs: readonly string[],
  out: (s: string) => void,
): number {
  const rows = replayCompare(readTraceFile(tracePath), confs);
  out(formatReplayCompare(tracePath, rows));
  return 0;
}
