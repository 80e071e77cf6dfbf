/** cell: one benchmark cell's inputs (an allocator strategy × a workload, and the run's options). */
import type { loadMemPool, Strategy } from "./strategies.js";
import type { WasmModule } from "./tlsf.js";
import type { Workload } from "./workloads.js";

export interface CellOptions {
  seed: number;
  scale: number;
  /** tinybench time budget per cell (ms) for the steady-state workloads. */
  timeMs: number;
  /** At least this many timed iterations (steady-state workloads). */
  minIterations: number;
  /** Timed iterations of a phase workload (each on a fresh allocator). */
  phaseIterations: number;
  warmupMs: number;
  /** Wall-time budget of one cell; past it the cell stops and reports what it measured as "partial". */
  budgetMs: number;
}

export interface CellContext {
  strategy: Strategy;
  workload: Workload;
  opts: CellOptions;
  /** @thi.ng/malloc's MemPool, loaded by runCell for the thi.ng strategy. */
  memPool?: Awaited<ReturnType<typeof loadMemPool>>;
  /** AssemblyScript's TLSF module, compiled by runCell for the as-tlsf strategy. */
  tlsf?: WasmModule | null;
}
