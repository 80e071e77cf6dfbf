/** Which allocator a cell measures. */
export type StrategyKind = "jemalloc-ts" | "thi.ng" | "uint8array" | "as-tlsf";

/** tinybench's latency statistics, in ms per iteration. */
export interface Latency {
  p50: number;
  mad: number;
  mean: number;
  min: number;
  max: number;
  p75: number;
  p99: number;
  samplesCount: number;
  /**
   * Minor page faults per iteration over the timed run (the warm-up and any per-iteration setup, such
   * as a fragmentation cell's fresh allocator, included; the whole process, workers too). Added by
   * sampleIterations: tinybench's own result has no such field.
   */
  faultsPerIteration?: number;
}

/**
 * result: the shapes a benchmark run produces — one CellResult per (workload, configuration), and the
 * SuiteReport around them that the table, the JSON output and the SVG chart are made from — plus the
 * small statistics and budget helpers the cell drivers share.
 *
 * ns/call is one timed iteration's latency divided by the malloc + free calls it made (for the worker
 * workloads: the slower worker's time divided by the calls one worker made). Median and MAD come from
 * tinybench's samples. The footprint ratio is bytes in use at the high-water mark (sampled between
 * iterations and after each phase) ÷ the peak of the live requested bytes (computed from the plan).
 */

export const REPORT_FORMAT = "jemalloc-ts-bench-1";

export type CellStatus = "ok" | "partial" | "skipped" | "error";

export interface NsPerCall {
  median: number;
  /** Median absolute deviation of the samples (not scaled). */
  mad: number;
  mean: number;
  min: number;
  max: number;
  p75: number;
  p99: number;
  samples: number;
  /**
   * Minor page faults per call while timed: first touches of pages the OS had not backed yet (null:
   * a partial cell, timed by one measurement). Where a fault is slow (in a VM each can cost microseconds), a workload that touches
   * fresh memory is timed mostly in them.
   */
  faultsPerCall: number | null;
}

export interface Footprint {
  /** High-water of the bytes in blocks handed out (allocator overhead included; see footprintMeaning). */
  inUseHighWater: number;
  /** High-water of the bytes the allocator has claimed from its buffer (null: no buffer). */
  mappedHighWater: number | null;
  peakLiveRequested: number;
  /** inUseHighWater / peakLiveRequested. */
  ratio: number;
  /** mappedHighWater / peakLiveRequested. */
  mappedRatio: number | null;
  /** Length of the buffer at the end (null: no buffer). The OS backs only the pages that were touched. */
  bufferBytes: number | null;
}

export interface CellResult {
  workload: string;
  strategy: string;
  label: string;
  kind: StrategyKind;
  status: CellStatus;
  /** Why it was skipped, where it stopped, what failed. */
  note?: string;
  /** workers-churn: throughput of both workers ÷ throughput of one worker alone (same run). */
  scaling?: number;
  /** workers-churn: the same figure for a heap-free integer loop in the same workers (the machine's). */
  scalingMachine?: number;
  callsPerIteration: number;
  nsPerCall: NsPerCall | null;
  footprint: Footprint | null;
  /** Wall time of the whole cell, setup included. */
  wallMs: number;
}

export interface MachineInfo {
  cpu: string;
  cpus: number;
  arch: string;
  platform: string;
  release: string;
  totalMemBytes: number;
}

export interface SuiteReport {
  format: typeof REPORT_FORMAT;
  date: string;
  machine: MachineInfo;
  node: string;
  quick: boolean;
  scale: number;
  seed: number;
  isolated: boolean;
  strategies: {
    id: string;
    label: string;
    kind: StrategyKind;
    conf: string;
    lgQuantum?: number;
    lgPage?: number;
  }[];
  workloads: { name: string; description: string; callsPerIteration: number }[];
  footprintMeaning: Record<StrategyKind, { inUse: string; mapped: string; buffer: string }>;
  results: CellResult[];
  totalMs: number;
}

/** tinybench latency statistics (ms per iteration) → ns per call. */
export function nsPerCallOf(lat: Latency, calls: number): NsPerCall {
  const k = 1e6 / calls;
  return {
    median: lat.p50 * k,
    mad: lat.mad * k,
    mean: lat.mean * k,
    min: lat.min * k,
    max: lat.max * k,
    p75: lat.p75 * k,
    p99: lat.p99 * k,
    samples: lat.samplesCount,
    faultsPerCall: lat.faultsPerIteration === undefined ? null : lat.faultsPerIteration / calls,
  };
}

/** ns/call from a single measurement (partial cells: no spread). */
export function nsPerCallSingle(ms: number, calls: number): NsPerCall {
  const v = calls > 0 ? (ms * 1e6) / calls : Number.NaN;
  return { median: v, mad: 0, mean: v, min: v, max: v, p75: v, p99: v, samples: 1, faultsPerCall: null };
}

/** One footprint reading: bytes in use and bytes mapped (NaN when the allocator has no buffer). */
export interface FootprintSample {
  inUse: number;
  mapped: number;
}

/** High-water marks of a cell's footprint readings and of the live bytes read at the same moments. */
export class FootprintHighWater {
  inUse = 0;
  mapped = 0;
  live = 0;
  add(s: FootprintSample, live: number): void {
    this.inUse = Math.max(this.inUse, s.inUse);
    this.mapped = Math.max(this.mapped, s.mapped);
    if (Number.isNaN(s.mapped)) this.mapped = Number.NaN;
    this.live = Math.max(this.live, live);
  }
  result(bufferBytes: number): Footprint {
    const finite = (v: number) => (Number.isFinite(v) ? v : null);
    const mapped = finite(this.mapped);
    return {
      inUseHighWater: this.inUse,
      mappedHighWater: mapped,
      peakLiveRequested: this.live,
      ratio: this.inUse / this.live,
      mappedRatio: mapped === null ? null : mapped / this.live,
      bufferBytes: finite(bufferBytes),
    };
  }
}

/**
 * A time budget the workload loops poll every 64 calls: an allocator whose calls are O(live) (thi.ng's
 * free walks its used list) would otherwise hold the suite for hours. Module state so the hot loops
 * read one field; one cell runs at a time per thread.
 */
export const budget = { deadline: Number.POSITIVE_INFINITY, hit: false };

export function budgetStart(ms: number): void {
  budget.deadline = performance.now() + ms;
  budget.hit = false;
}

/** True (and remembered) once the deadline has passed. */
export function budgetOver(): boolean {
  if (performance.now() > budget.deadline) budget.hit = true;
  return budget.hit;
}
