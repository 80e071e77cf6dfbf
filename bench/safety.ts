/**
 * The cost of the double-free mark on the fast paths, measured paired in one process: the small-churn
 * workload (~10k live blocks of 8–256 B; each op frees a random live block and allocates one) on this
 * tree's Heap and on the Heap of a baseline revision (extracted with `git archive` into a temp dir),
 * alternating rounds of tinybench so both see the same machine load. `--tree-rev` measures a revision
 * in place of this tree (e.g. the tree before a change, paired with the same baseline in its own run).
 * Two heaps only: with a third heap in the process every heap after the first ran ~25 % slower (even
 * two instances of one revision), so a three-way run measures that, not the revisions.
 *
 * `--workload records` runs issue 15's W5 instead: 48-byte records in batches of 1000, ten batches
 * live, freed oldest batch first (every batch overflows the cache bin: fill and flush).
 *
 *   node --import tsx bench/safety.ts [--baseline-rev REV] [--tree-rev REV] [--workload churn|records]
 *     [--rounds N] [--time MS]
 */
import { execSync } from "node:child_process";
import { existsSync, mkdirSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { Bench } from "tinybench";
import { median } from "../src/bench/sample.js";
import { arg, churnPlan } from "./paired.js";

interface HeapLike {
  malloc(size: number): number;
  free(ptr: number): void;
}
interface HeapClass {
  create(opts?: object): HeapLike;
}

/** The commit before the mark (issue 13): the baseline the README figures compare against. */
const rev = arg("--baseline-rev", "975563e");
const rounds = Number(arg("--rounds", "6"));
const timeMs = Number(arg("--time", "400"));
const workload = arg("--workload", "churn");
const repo = fileURLToPath(new URL("..", import.meta.url));

/** `git archive` of `r`'s src/ into a temp dir (named by commit, so a moving name like HEAD re-extracts). */
function revDir(r: string): string {
  const commit = execSync(`git -C ${JSON.stringify(repo)} rev-parse ${r}`)
    .toString()
    .trim();
  const dir = join(tmpdir(), `jemalloc-ts-baseline-${commit}`);
  if (!existsSync(join(dir, "package.json"))) {
    mkdirSync(dir, { recursive: true });
    execSync(`git -C ${JSON.stringify(repo)} archive ${commit} src | tar -x -C ${JSON.stringify(dir)}`);
    symlinkSync(join(repo, "node_modules"), join(dir, "node_modules"));
    writeFileSync(join(dir, "package.json"), '{ "type": "module" }\n');
  }
  return dir;
}

const LIVE = 10_000;
const OPS = 4096;

/** One churn state per heap: a fixed random plan so both heaps do the same ops. */
function churn(H: HeapClass): () => void {
  const heap = H.create({ maxBytes: 64 << 20 });
  const { sizes, slots, live } = churnPlan(heap, LIVE, OPS);
  // A loop compiled per heap (new Function): one shared closure would mix both heaps' call sites in
  // one feedback vector (polymorphic calls, one inlining budget), measuring the bench, not the heaps.
  const loop = new Function(
    "heap",
    "slots",
    "sizes",
    "live",
    `return () => {
      for (let k = 0; k < ${OPS}; k++) {
        const s = slots[k];
        heap.free(live[s]);
        live[s] = heap.malloc(sizes[k]);
      }
    };`,
  ) as (h: HeapLike, slots: Uint16Array, sizes: Uint16Array, live: Float64Array) => () => void;
  return loop(heap, slots, sizes, live);
}

const RECORD_BYTES = 48;
const BATCH = 1000;
const BATCHES_LIVE = 10;

/** W5: a FIFO of record batches; each run frees the oldest batch and allocates (and writes) a new one. */
function records(H: HeapClass): () => void {
  const heap = H.create({ maxBytes: 64 << 20 });
  const u32 = (heap as unknown as { u32: Uint32Array }).u32;
  const live = new Float64Array(BATCH * BATCHES_LIVE);
  for (let i = 0; i < live.length; i++) live[i] = heap.malloc(RECORD_BYTES);
  const loop = new Function(
    "heap",
    "live",
    "u32",
    `let oldest = 0;
    return () => {
      for (let r = 0; r < 4; r++) {
        const base = oldest * ${BATCH};
        for (let k = 0; k < ${BATCH}; k++) heap.free(live[base + k]);
        for (let k = 0; k < ${BATCH}; k++) {
          const p = heap.malloc(${RECORD_BYTES});
          u32[(p >>> 2) + 1] = k;
          u32[(p >>> 2) + 11] = k;
          live[base + k] = p;
        }
        oldest = oldest + 1 === ${BATCHES_LIVE} ? 0 : oldest + 1;
      }
    };`,
  ) as (h: HeapLike, live: Float64Array, u32: Uint32Array) => () => void;
  return loop(heap, live, u32);
}

const heaps: [string, HeapClass][] = [
  [`baseline ${rev}`, ((await import(join(revDir(rev), "src", "heap.ts"))) as { Heap: HeapClass }).Heap],
];
const treeRev = arg("--tree-rev", "");
heaps.push(
  treeRev === ""
    ? ["this tree", ((await import("../src/heap.js")) as { Heap: HeapClass }).Heap]
    : [
        `tree ${treeRev}`,
        ((await import(join(revDir(treeRev), "src", "heap.ts"))) as { Heap: HeapClass }).Heap,
      ],
);
const runs = heaps.map(
  ([name, H]) => [name, workload === "records" ? records(H) : churn(H)] as [string, () => void],
);
const opsPerRun = workload === "records" ? 8 * BATCH : 2 * OPS;
const med = new Map<string, number[]>(heaps.map(([name]) => [name, []]));
for (let r = 0; r < rounds; r++) {
  // Rotate the order each round, so no heap always runs first.
  const order = runs.map((_, k) => runs[(k + r) % runs.length]!);
  const bench = new Bench({ time: timeMs, warmupTime: 100 });
  for (const [name, fn] of order) bench.add(name, fn);
  await bench.run();
  for (const t of bench.tasks) {
    const lat = (t.result as { latency?: { p50: number } } | undefined)?.latency;
    if (lat !== undefined) med.get(t.name)!.push((lat.p50 * 1e6) / opsPerRun);
  }
}
const b = median(med.get(heaps[0]![0])!);
console.log(
  `${workload === "records" ? "records (W5)" : "small-churn"}, ns per call (malloc or free), median of ${rounds} paired rounds`,
);
for (const [name, xs] of med) {
  const m = median(xs);
  const change = name === heaps[0]![0] ? "" : `  ${m >= b ? "+" : ""}${(((m - b) / b) * 100).toFixed(1)} %`;
  console.log(`  ${name.padEnd(20)} ${m.toFixed(2)}${change}  (${xs.map((x) => x.toFixed(1)).join(" ")})`);
}
