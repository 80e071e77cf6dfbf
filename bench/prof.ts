/**
 * The cost of heap profiling at a given sample rate, measured paired in one process: the small-churn
 * workload (10k live blocks of 8–256 B; each op frees a random live block and allocates one) on a heap
 * with `prof:false` and one with `prof:true`, alternating in every round so both see the same machine
 * load. Reports CPU time per call (malloc or free): best of N rounds each, the median of the
 * per-round ratios (robust when the machine is loaded), the ratio of all timed rounds' CPU time, and the
 * extra CPU time per sample (estimated from the bytes allocated).
 * The timed rounds start once the sampled path is compiled (see the warm-up below).
 *
 * `--sample-cost` instead reports the CPU time of a malloc+free when every allocation is sampled
 * (`lg_prof_sample:0`, a hot loop two functions below the timing loop).
 *
 *   node --import tsx bench/prof.ts [--conf "lg_prof_sample:19"] [--rounds N] [--ops N] [--sample-cost]
 */
import { Heap } from "../src/heap.js";
import { captureSites, siteNodeNew, siteTrieFind } from "../src/prof/stack.js";
import { arg, churnPlan } from "./paired.js";

const extra = arg("--conf", "");
const rounds = Number(arg("--rounds", "7"));
const opsPerRound = Number(arg("--ops", "400000"));
const LIVE = 10_000;
const PLAN = 1 << 16;

/** One churn state per heap: the same random plan on both heaps. */
function churn(heap: Heap): (ops: number) => void {
  const { sizes, slots, live } = churnPlan(heap, LIVE, PLAN);
  let k = 0;
  return (ops) => {
    for (let n = 0; n < ops; n++) {
      const s = slots[k]!;
      heap.free(live[s]!);
      live[s] = heap.malloc(sizes[k]!);
      k = (k + 1) & (PLAN - 1);
    }
  };
}

function cpuNs(run: (ops: number) => void, ops: number): number {
  const t0 = process.cpuUsage();
  run(ops);
  const d = process.cpuUsage(t0);
  return ((d.user + d.system) * 1000) / (2 * ops);
}

function sampledPairs(heap: Heap, n: number): number {
  let sum = 0;
  for (let i = 0; i < n; i++) {
    const p = heap.malloc(64 + (i & 63));
    sum += p;
    heap.free(p);
  }
  return sum;
}

function callerOfSampled(heap: Heap, n: number): number {
  return sampledPairs(heap, n);
}

/** The stack capture alone, made as a sampled malloc makes it (same depth, cut at the API call). */
const trie = siteNodeNew("");
function captureAlone(withLookup: boolean): number {
  const sites = captureSites(captureAlone);
  return withLookup ? siteTrieFind(trie, sites).next.size : sites.length;
}

function capturePairs(withLookup: boolean, n: number): number {
  let sum = 0;
  for (let i = 0; i < n; i++) sum += captureAlone(withLookup);
  return sum;
}

function callerOfCapture(withLookup: boolean, n: number): number {
  return capturePairs(withLookup, n);
}

function perCallUs(run: (n: number) => unknown, n: number): number {
  run(n >> 2);
  const t0 = process.cpuUsage();
  run(n);
  const d = process.cpuUsage(t0);
  return (d.user + d.system) / n;
}

if (process.argv.includes("--sample-cost")) {
  for (const conf of ["prof:false", "prof:true,lg_prof_sample:0"]) {
    const heap = Heap.create({ conf });
    const n = conf === "prof:false" ? 400_000 : 100_000;
    const us = perCallUs((k) => callerOfSampled(heap, k), n);
    console.log(`${conf.padEnd(26)} ${us.toFixed(2)} µs per malloc+free (CPU)`);
  }
  // What V8 costs of that: the capture and its structured call sites, then also the lookup of the
  // stack in the thread's call-site trie (a known stack is named by its node, src/prof/stack.ts).
  const cap = perCallUs((k) => callerOfCapture(false, k), 100_000);
  const txt = perCallUs((k) => callerOfCapture(true, k), 100_000);
  console.log(`${"stack capture alone".padEnd(26)} ${cap.toFixed(2)} µs (V8: walk, call sites)`);
  console.log(`${"  + call-site trie lookup".padEnd(26)} ${txt.toFixed(2)} µs (script and offset per frame)`);
  process.exit(0);
}

const profConf = extra === "" ? "prof:true" : `prof:true,${extra}`;
const base = Heap.create();
const prof = Heap.create({ conf: profConf });
const runBase = churn(base);
const runProf = churn(prof);
// Warm-up rounds, made by the same calls as the timed ones (so the same stacks are interned), until
// the thread has allocated 3 GiB: the sampled path runs once per ~4000 allocations, so V8 optimizes
// its functions only after a few thousand samples (its background compiles count as the process's
// CPU time), and re-optimizes the byte counters' arithmetic once as doubles when they pass 2^31.
const allocatedOf = (h: Heap): number => Number(h.mallctl("thread.allocated"));
const nsBase: number[] = [];
const nsProf: number[] = [];
let warm = false;
let allocatedTimed0 = 0;
for (let r = 0; nsBase.length < rounds; r++) {
  if (warm && nsBase.length === 0) allocatedTimed0 = allocatedOf(prof);
  const baseFirst = r % 2 === 0;
  const x = baseFirst ? cpuNs(runBase, opsPerRound) : cpuNs(runProf, opsPerRound);
  const y = baseFirst ? cpuNs(runProf, opsPerRound) : cpuNs(runBase, opsPerRound);
  if (warm) {
    nsBase.push(baseFirst ? x : y);
    nsProf.push(baseFirst ? y : x);
  } else warm = r >= 8 && allocatedOf(prof) >= 3 * 2 ** 30;
}
const best = (xs: number[]): number => Math.min(...xs);
const b = best(nsBase);
const p = best(nsProf);
console.log(`small-churn, CPU ns per call (malloc or free), best of ${rounds} paired rounds`);
console.log(`  prof:false      ${b.toFixed(2)}  (${nsBase.map((x) => x.toFixed(1)).join(" ")})`);
console.log(`  ${profConf.padEnd(15)} ${p.toFixed(2)}  (${nsProf.map((x) => x.toFixed(1)).join(" ")})`);
// Rounds alternate which heap runs first, and the second runner of a round measurably pays for the
// first (caches, collector): a median over single rounds lands on one order's ratios when the count is
// odd. Each two consecutive rounds (one of each order) give one order-balanced ratio, the geometric
// mean of theirs (a crossover design); the median is taken over those.
const roundRatios = nsProf.map((x, i) => x / nsBase[i]!);
const ratios: number[] = [];
for (let i = 0; i + 1 < roundRatios.length; i += 2)
  ratios.push(Math.sqrt(roundRatios[i]! * roundRatios[i + 1]!));
ratios.sort((x, y) => x - y);
const medRatio =
  ratios.length % 2 === 1
    ? ratios[ratios.length >> 1]!
    : (ratios[ratios.length / 2 - 1]! + ratios[ratios.length / 2]!) / 2;
const firstSecond = (xs: number[], parity: number): number => {
  const ys = xs.filter((_, i) => i % 2 === parity).sort((x, y) => x - y);
  return ys[ys.length >> 1]!;
};
const sum = (xs: number[]): number => xs.reduce((a, x) => a + x, 0);
const totalRatio = sum(nsProf) / sum(nsBase);
console.log(
  `  change: ${(((p - b) / b) * 100).toFixed(1)} % (best of each); ${((medRatio - 1) * 100).toFixed(1)} % (median of order-balanced paired ratios); ${((totalRatio - 1) * 100).toFixed(1)} % (all rounds' CPU)`,
);
console.log(
  `  by order (median ns): prof:false first ${firstSecond(nsBase, 0).toFixed(2)}, second ${firstSecond(nsBase, 1).toFixed(2)}; ${profConf} first ${firstSecond(nsProf, 1).toFixed(2)}, second ${firstSecond(nsProf, 0).toFixed(2)}`,
);
// Per sample: the extra CPU time over the samples expected in the timed rounds (one per 2^lg_prof_sample
// bytes allocated on average; the count itself is not recorded, so this is an estimate).
const samples = (allocatedOf(prof) - allocatedTimed0) / 2 ** Number(prof.mallctl("prof.lg_sample"));
const extraNs = (sum(nsProf) - sum(nsBase)) * 2 * opsPerRound;
console.log(
  `  per sample (estimate): ${(extraNs / samples / 1000).toFixed(1)} µs over ~${Math.round(samples)} samples`,
);
