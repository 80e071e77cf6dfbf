/**
 * W4 phase by phase: where the fragmentation cell's time and page faults go. Each run gives every
 * allocator a fresh instance (as the bench's W4 cell does) and times the three phases separately,
 * with the process's minor page faults in each; the allocators alternate run by run, so a change in
 * what faults cost on the machine reaches all of them alike.
 *
 *   node --import tsx bench/phases.ts [--runs 5] [--scale 1] [--conf default tcache:false as-tlsf]
 *
 * Prints, per allocator and phase, the median over runs of ns per call and of the page faults (first
 * writes to pages the OS had not backed), and for jemalloc-ts the slab pages its bins hold at the end
 * of the phase (read after the phase's faults are counted). The first run of each allocator is a
 * warm-up and is not counted. What one fault costs is measured before and after the runs.
 */
import type { BenchAllocator } from "../src/bench/allocator.js";
import { fragPhase1, fragPhase2, fragPhase3, fragState } from "../src/bench/loops.js";
import { median, minorFaultsNow } from "../src/bench/sample.js";
import { createAllocator, HeapAllocator, parseStrategy, type Strategy } from "../src/bench/strategies.js";
import { loadTlsf, type WasmModule } from "../src/bench/tlsf.js";
import { type FragmentationSpec, fragmentationPlan, workload } from "../src/bench/workloads.js";
import { arg } from "./paired.js";

/** The phases' names, from the workload's shape (so a scaled run names what it did). */
function phaseNames(spec: FragmentationSpec): string[] {
  const n = (x: number) => (x >= 1000 && x % 1000 === 0 ? `${x / 1000}k` : String(x));
  const kib = (b: number) => (b >= 1024 ? `${b / 1024} KiB` : `${b} B`);
  return [
    `1: allocate ${n(spec.nSmall)} × ${spec.smallMin}–${kib(spec.smallMax)}`,
    `2: free a random ${Math.round(spec.freeFraction * 100)} %`,
    `3: allocate ${n(spec.nLarge)} × ${kib(spec.largeMin)}–${kib(spec.largeMax)}`,
  ];
}

interface PhaseRow {
  ns: number[];
  faults: number[];
  /** jemalloc-ts: pages of slabs the heap holds at the end of the phase (untimed; NaN for a peer). */
  slabPages: number[];
}

/** Σ over the bins of curslabs × slab size, in pages, every arena merged ("stats.arenas.4096"). */
function slabPagesOf(a: BenchAllocator): number {
  if (!(a instanceof HeapAllocator)) return Number.NaN;
  const heap = a.heap;
  heap.mallctl("epoch", 1);
  const page = heap.mallctl("arenas.page") as number;
  const nbins = heap.mallctl("arenas.nbins") as number;
  let bytes = 0;
  for (let j = 0; j < nbins; j++) {
    const slabs = Number(heap.mallctl(`stats.arenas.4096.bins.${j}.curslabs`));
    bytes += slabs * (heap.mallctl(`arenas.bin.${j}.slab_size`) as number);
  }
  return bytes / page;
}

/** The configurations after `--conf` (up to the next `--` flag), or `dflt`. */
function confArgs(dflt: string[]): string[] {
  const i = process.argv.indexOf("--conf");
  if (i < 0) return dflt;
  const out: string[] = [];
  for (let k = i + 1; k < process.argv.length && !process.argv[k]!.startsWith("--"); k++)
    out.push(process.argv[k]!);
  if (out.length === 0) throw new RangeError("--conf needs at least one configuration");
  return out;
}

/** What a fault costs here now: µs per page for one word written per page of a fresh buffer. */
function faultCostUs(pages = 40_000, pageBytes = 4096): number {
  const u32 = new Uint32Array(new SharedArrayBuffer(pages * pageBytes));
  const t0 = performance.now();
  for (let i = 0; i < pages; i++) u32[(i * pageBytes) >>> 2] = 1;
  return ((performance.now() - t0) * 1e3) / pages;
}

async function main(): Promise<void> {
  const runs = Number(arg("--runs", "5"));
  if (!Number.isInteger(runs) || runs < 1)
    throw new RangeError(`--runs must be a positive integer, got ${arg("--runs", "")}`);
  const strategies: Strategy[] = confArgs(["default", "tcache:false", "as-tlsf"]).map(parseStrategy);
  const scale = Number(arg("--scale", "1"));
  if (!(scale > 0 && scale <= 1))
    throw new RangeError(`--scale must be in (0, 1], got ${arg("--scale", "")}`);
  const spec = workload("fragmentation", scale).spec as FragmentationSpec;
  const PHASES = phaseNames(spec);
  const plan = fragmentationPlan(spec, 20260526);
  const tlsf: WasmModule | null = strategies.some((s) => s.kind === "as-tlsf") ? await loadTlsf() : null;
  const sizing = { peakLiveBytes: Math.max(...plan.liveAfter), maxRequest: spec.largeMax };
  const phases = [fragPhase1, fragPhase2, fragPhase3];
  const calls = [plan.smallSizes.length, plan.freeOrder.length, plan.largeSizes.length];
  const before = faultCostUs();
  const rows = strategies.map(() => PHASES.map((): PhaseRow => ({ ns: [], faults: [], slabPages: [] })));
  for (let run = 0; run <= runs; run++) {
    for (let s = 0; s < strategies.length; s++) {
      const a: BenchAllocator = createAllocator(strategies[s]!, sizing, null, tlsf);
      const st = fragState(plan);
      for (let p = 0; p < 3; p++) {
        const f0 = minorFaultsNow();
        const t0 = performance.now();
        if (!phases[p]!(st, a)) throw new Error(`phase ${p + 1} stopped by the time budget`);
        const ms = performance.now() - t0;
        if (run === 0) continue;
        rows[s]![p]!.ns.push((ms * 1e6) / calls[p]!);
        rows[s]![p]!.faults.push(minorFaultsNow() - f0);
        rows[s]![p]!.slabPages.push(slabPagesOf(a));
      }
      a.close();
    }
    if (run > 0) process.stderr.write(`phases: run ${run}/${runs}\n`);
  }
  const out: string[] = [
    `W4 phases, scale ${scale}, ${runs} runs (median), fresh allocator per run, Node ${process.version}`,
    `a first write to a page of a fresh buffer: ${before.toFixed(1)} µs before the runs, ${faultCostUs().toFixed(1)} µs after`,
    "",
    "| allocator | phase | ns/call | faults | faults/call | slab pages held after |",
    "|:--|:--|--:|--:|--:|--:|",
  ];
  for (let s = 0; s < strategies.length; s++) {
    for (let p = 0; p < 3; p++) {
      const r = rows[s]![p]!;
      const f = median(r.faults);
      const slab = median(r.slabPages);
      const slabCell = Number.isNaN(slab) ? "—" : slab.toFixed(0);
      out.push(
        `| ${strategies[s]!.label} | ${PHASES[p]} | ${median(r.ns).toFixed(0)} | ${f} | ${(f / calls[p]!).toFixed(3)} | ${slabCell} |`,
      );
    }
  }
  process.stdout.write(`${out.join("\n")}\n`);
}

await main();
