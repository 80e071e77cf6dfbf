/**
 * Before/after: the W1–W5 workloads (src/bench/workloads.ts, full scale) timed against two copies of
 * the allocator in one run — this tree's `src/` and another checkout's (`--base DIR`, the directory
 * holding that checkout's `src/heap.ts`) — plus this tree with `stats: false`. Each measurement runs in
 * its own process; the variants alternate, `--reps N` times (default 3), and the fastest repetition
 * counts (on a shared machine the slower ones mostly measure other processes).
 *
 *   node --import tsx bench/compare.ts --base /path/to/old/checkout [--reps 3] [--workload NAME ...]
 *                                      [--steps DIR ...]
 *
 * `--steps` adds intermediate checkouts as columns between "before" and "after" (what each change bought).
 *
 * Prints a Markdown table of ns per malloc/free call: the median 1024-call chunk of wall-clock time, then
 * for the churn workloads (W1, W2, W3) the CPU time of the same calls per call (fastest repetition each).
 * A child is `compare.ts --child SRC VARIANT WORKLOAD`.
 */
import { execFileSync } from "node:child_process";
import { fileURLToPath, pathToFileURL } from "node:url";
import { median } from "../src/bench/sample.js";
import { churnPlan, fragmentationPlan, type RecordsSpec, workload } from "../src/bench/workloads.js";

const argv = process.argv.slice(2);
const here = fileURLToPath(import.meta.url);
const ownSrc = fileURLToPath(new URL("../src/", import.meta.url));
const NAMES: Record<string, string> = {
  "small-churn": "W1 small churn",
  records: "W5 records",
  mixed: "W2 mixed",
  fragmentation: "W4 fragmentation",
  large: "W3 large",
};

/** Calls per timed chunk: the median chunk filters out the time slices other processes took. */
const CHUNK = 1024;

/** Runs `n` steps of `fn` in chunks of `chunk` steps; returns the median chunk's ns per step. */
function timed(n: number, fn: (i: number) => void, chunk = CHUNK): number {
  const per: number[] = [];
  for (let i = 0; i < n; i += chunk) {
    const end = Math.min(n, i + chunk);
    const t0 = performance.now();
    for (let k = i; k < end; k++) fn(k);
    per.push(((performance.now() - t0) * 1e6) / (end - i));
  }
  return median(per);
}

interface HeapLike {
  malloc(n: number): number;
  free(p: number): void;
  u32: Uint32Array;
}

async function child(src: string, variant: string, name: string): Promise<void> {
  const { Heap } = (await import(pathToFileURL(`${src}/heap.ts`).href)) as {
    Heap: { create(o: object): HeapLike };
  };
  const opts = { envConf: null, maxBytes: 1.5 * 2 ** 30, ...(variant === "nostats" ? { stats: false } : {}) };
  const spec = workload(name, 1).spec;
  const heap = Heap.create(opts);
  let nsPerCall = 0;
  // CPU time of the timed churn calls (user + system, this process): unlike the wall-clock chunks it
  // does not count time slices other processes take, so it is steadier on a loaded machine.
  let cpuNsPerCall = Number.NaN;
  if (spec.kind === "churn") {
    const plan = churnPlan(spec, 20260526);
    const h = new Float64Array(spec.live);
    for (let i = 0; i < spec.live; i++) h[i] = heap.malloc(plan.initSizes[i]!);
    const op = (k: number) => {
      const s = plan.slots[k & plan.mask]!;
      heap.free(h[s]!);
      h[s] = heap.malloc(plan.sizes[k & plan.mask]!);
    };
    const ops = name === "large" ? 50_000 : name === "mixed" ? 500_000 : 1_000_000;
    timed(ops >> 2, op);
    const cpu0 = process.cpuUsage();
    nsPerCall = timed(ops, (k) => op(k + (ops >> 2))) / 2;
    const cpu = process.cpuUsage(cpu0);
    cpuNsPerCall = ((cpu.user + cpu.system) * 1000) / (2 * ops);
  } else if (spec.kind === "records") {
    nsPerCall = records(heap, spec);
  } else if (spec.kind === "fragmentation") {
    // One heap per pass (the first warms the JIT up); each phase's median chunk times its calls.
    const plan = fragmentationPlan(spec, 20260526);
    const passes: number[] = [];
    for (let pass = 0; pass < 3; pass++) {
      const hp = pass === 0 ? heap : Heap.create(opts);
      const small = new Float64Array(plan.smallSizes.length);
      const large = new Float64Array(plan.largeSizes.length);
      const fo = plan.freeOrder;
      const a = timed(small.length, (i) => {
        small[i] = hp.malloc(plan.smallSizes[i]!);
      });
      const b = timed(fo.length, (i) => {
        hp.free(small[fo[i]!]!);
      });
      const c = timed(large.length, (i) => {
        large[i] = hp.malloc(plan.largeSizes[i]!);
      });
      const calls = small.length + fo.length + large.length;
      passes.push((a * small.length + b * fo.length + c * large.length) / calls);
    }
    nsPerCall = Math.min(passes[1]!, passes[2]!);
  }
  process.stdout.write(`${nsPerCall.toFixed(1)} ${cpuNsPerCall.toFixed(1)}\n`);
}

/** W5: batches of `group` records (48 B each, 12 u32 words written), ≤ live/group batches, FIFO. */
function records(heap: HeapLike, spec: RecordsSpec): number {
  const h = new Float64Array(spec.live);
  let seq = 0;
  let next = 0;
  const batch = () => {
    for (let j = 0; j < spec.group; j++) if (h[next + j] !== 0) heap.free(h[next + j]!);
    const u32 = heap.u32;
    for (let j = 0; j < spec.group; j++) {
      const p = heap.malloc(48);
      for (let w = 0; w < 12; w++) u32[(p >>> 2) + w] = seq + w;
      h[next + j] = p;
      seq++;
    }
    next = next + spec.group === spec.live ? 0 : next + spec.group;
  };
  // 1M records: every timed step is one batch (group frees + group mallocs).
  timed(spec.live / spec.group, batch, 1);
  return timed(1_000_000 / spec.group, batch, 1) / (2 * spec.group);
}

function flag(name: string): string | undefined {
  const i = argv.indexOf(name);
  return i >= 0 ? argv[i + 1] : undefined;
}

async function main(): Promise<void> {
  if (argv[0] === "--child") return child(argv[1]!, argv[2]!, argv[3]!);
  const base = flag("--base");
  if (base === undefined)
    throw new RangeError("compare: --base DIR (a checkout with src/heap.ts) is required");
  const reps = Number(flag("--reps") ?? 3);
  const at = argv.indexOf("--workload");
  const only: string[] = [];
  for (let i = at + 1; at >= 0 && i < argv.length && !argv[i]!.startsWith("--"); i++) only.push(argv[i]!);
  const names = Object.keys(NAMES).filter((n) => only.length === 0 || only.includes(n));
  const st = argv.indexOf("--steps");
  const steps: string[] = [];
  for (let i = st + 1; st >= 0 && i < argv.length && !argv[i]!.startsWith("--"); i++) steps.push(argv[i]!);
  const variants: [string, string, string][] = [
    ["before", `${base}/src`, "stats"],
    ...steps.map((d): [string, string, string] => [d.split("/").pop()!, `${d}/src`, "stats"]),
    ["after", ownSrc, "stats"],
    ["after, stats: false", ownSrc, "nostats"],
  ];
  const best = new Map<string, number>();
  const bestCpu = new Map<string, number>();
  let step = 0;
  for (const name of names) {
    for (let r = 0; r < reps; r++) {
      for (const [label, src, variant] of variants) {
        step++;
        process.stderr.write(
          `\rcompare [${step}/${names.length * reps * variants.length}] ${name} × ${label} …        `,
        );
        const out = execFileSync(process.execPath, ["--import", "tsx", here, "--child", src, variant, name], {
          encoding: "utf8",
        });
        const [ns, cpuNs] = out.trim().split(" ").map(Number) as [number, number];
        const k = `${name}|${label}`;
        if (!best.has(k) || ns < best.get(k)!) best.set(k, ns);
        if (!bestCpu.has(k) || cpuNs < bestCpu.get(k)!) bestCpu.set(k, cpuNs);
      }
    }
  }
  process.stderr.write("\n");
  console.log(`| workload | ${variants.map((v) => v[0]).join(" | ")} | before ÷ after |`);
  console.log(`|:--|${variants.map(() => "--:").join("|")}|--:|`);
  const after = variants.length - 2;
  const rows = (table: Map<string, number>, what: string) => {
    for (const name of names) {
      const cells = variants.map(([label]) => table.get(`${name}|${label}`)!);
      if (cells.some((c) => Number.isNaN(c))) continue;
      console.log(
        `| ${NAMES[name]}${what} | ${cells.map((c) => c.toFixed(1)).join(" | ")} | ${(cells[0]! / cells[after]!).toFixed(2)}× |`,
      );
    }
  };
  rows(best, "");
  rows(bestCpu, " (CPU time)");
}

await main();
