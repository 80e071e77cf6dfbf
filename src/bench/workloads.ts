/**
 * workloads: what the benchmark asks of an allocator — each workload's definition and its plan, the
 * exact sequence of request sizes and free choices, generated from a seed so every strategy (and every
 * run) gets the same requests. Plans are typed arrays built before timing starts, so drawing random
 * numbers is never part of what is measured.
 *
 *   small-churn   (W1) ~10k live blocks of 8–256 B (uniform); each op frees a random live block, allocates a new one
 *   mixed         (W2) ~50k live, log-uniform 8 B–64 KiB, same churn
 *   large         (W3) ~100 live, uniform 64 KiB–4 MiB, same churn
 *   fragmentation (W4) allocate 200k of 16–512 B, free a random 75 %, then allocate 50k of 1–4 KiB (phases)
 *   records       (W5) 48-byte records in batches of 1000, ≤ 10 batches live, FIFO: free the oldest batch,
 *                      allocate a new one, writing each record's 48 bytes through a DataView
 *   workers-churn      two workers on one heap, each doing small-churn on its own live set
 *   producer-consumer  one worker allocates 8–256 B blocks and passes them through a ring; the other frees them
 *
 * `scale` shrinks the counts (quick runs, tests); sizes and shapes stay the same.
 * Errors: RangeError for an unknown workload name or a bad scale.
 */
import { Rng, shuffle } from "./rng.js";

export const WORKLOAD_NAMES = [
  "small-churn",
  "mixed",
  "large",
  "fragmentation",
  "records",
  "workers-churn",
  "producer-consumer",
] as const;
export type WorkloadName = (typeof WORKLOAD_NAMES)[number];

export const DEFAULT_SEED = 20260526;
/** Bytes of one record in the records workload. */
export const RECORD_BYTES = 48;

/** Steady-state churn: `live` blocks, then ops that each free one block and allocate one. */
export interface ChurnSpec {
  kind: "churn";
  live: number;
  minSize: number;
  maxSize: number;
  dist: "uniform" | "log";
  /** Ops per timed iteration (2 calls each: one free, one malloc). */
  batchOps: number;
  /** Length of the op plan (a power of two; iterations cycle through it). */
  planOps: number;
}

/** The records queue: `live` records of RECORD_BYTES, FIFO, freed and allocated `group` at a time. */
export interface RecordsSpec {
  kind: "records";
  live: number;
  batchOps: number;
  /** Records freed (oldest first), then allocated, in a row (divides live and batchOps). */
  group: number;
}

export interface FragmentationSpec {
  kind: "fragmentation";
  nSmall: number;
  smallMin: number;
  smallMax: number;
  freeFraction: number;
  nLarge: number;
  largeMin: number;
  largeMax: number;
}

export interface WorkersChurnSpec {
  kind: "workers-churn";
  workers: number;
  /** Each worker's churn (same shape as small-churn). */
  churn: ChurnSpec;
  /** Ops each worker does per timed round. */
  roundOps: number;
}

export interface ProducerConsumerSpec {
  kind: "producer-consumer";
  minSize: number;
  maxSize: number;
  /** Ring capacity in blocks (a power of two). */
  ringSlots: number;
  /** Blocks passed per timed round. */
  roundItems: number;
  /** Length of the producer's size plan (a power of two). */
  planOps: number;
}

export type WorkloadSpec =
  | ChurnSpec
  | RecordsSpec
  | FragmentationSpec
  | WorkersChurnSpec
  | ProducerConsumerSpec;

export interface Workload {
  name: WorkloadName;
  description: string;
  spec: WorkloadSpec;
}

const DESCRIPTIONS: Record<WorkloadName, string> = {
  "small-churn": "~10k live, 8–256 B uniform, random free order",
  mixed: "~50k live, 8 B–64 KiB log-uniform, random free order",
  large: "~100 live, 64 KiB–4 MiB uniform, random free order",
  fragmentation: "200k × 16–512 B, free random 75 %, then 50k × 1–4 KiB",
  records: "48 B records in batches of 1000 written via DataView, ≤ 10 batches live, freed FIFO",
  "workers-churn": "2 workers churning 8–256 B on one heap (~10k live each)",
  "producer-consumer": "worker A mallocs 8–256 B, worker B frees them (ring of 4096)",
};

function scaled(n: number, scale: number, min: number): number {
  return Math.max(min, Math.round(n * scale));
}

function churn(
  live: number,
  minSize: number,
  maxSize: number,
  dist: "uniform" | "log",
  batchOps: number,
): ChurnSpec {
  return { kind: "churn", live, minSize, maxSize, dist, batchOps, planOps: 1 << 16 };
}

/** The named workload at `scale` (1 = the full suite; quick runs use 0.1). */
export function workload(name: string, scale = 1): Workload {
  if (!(typeof scale === "number" && scale > 0 && scale <= 1))
    throw new RangeError(`workload: scale must be in (0, 1], got ${scale}`);
  const spec = specOf(name, scale);
  return { name: name as WorkloadName, description: DESCRIPTIONS[name as WorkloadName], spec };
}

function specOf(name: string, s: number): WorkloadSpec {
  switch (name) {
    case "small-churn":
      return churn(scaled(10_000, s, 16), 8, 256, "uniform", 1024);
    case "mixed":
      return churn(scaled(50_000, s, 16), 8, 65536, "log", 2048);
    case "large":
      return churn(scaled(100, s, 8), 65536, 4 << 20, "uniform", 128);
    case "fragmentation":
      return {
        kind: "fragmentation",
        nSmall: scaled(200_000, s, 64),
        smallMin: 16,
        smallMax: 512,
        freeFraction: 0.75,
        nLarge: scaled(50_000, s, 16),
        largeMin: 1024,
        largeMax: 4096,
      };
    case "records": {
      const group = scaled(1000, s, 8);
      return { kind: "records", live: 10 * group, batchOps: 4 * group, group };
    }
    case "workers-churn":
      return {
        kind: "workers-churn",
        workers: 2,
        churn: churn(scaled(10_000, s, 16), 8, 256, "uniform", 1024),
        roundOps: scaled(16384, s, 256),
      };
    case "producer-consumer":
      return {
        kind: "producer-consumer",
        minSize: 8,
        maxSize: 256,
        ringSlots: 4096,
        roundItems: scaled(32768, s, 512),
        planOps: 1 << 16,
      };
    default:
      throw new RangeError(
        `workload: unknown workload ${JSON.stringify(name)} (known: ${WORKLOAD_NAMES.join(", ")})`,
      );
  }
}

/** Calls (malloc + free) one timed iteration makes, per thread for the worker workloads. */
export function callsPerIteration(spec: WorkloadSpec): number {
  switch (spec.kind) {
    case "churn":
    case "records":
      return 2 * spec.batchOps;
    case "fragmentation":
      return spec.nSmall + Math.round(spec.nSmall * spec.freeFraction) + spec.nLarge;
    case "workers-churn":
      return 2 * spec.roundOps;
    case "producer-consumer":
      return spec.roundItems;
  }
}

// ---- plans ----------------------------------------------------------------------------------------

function drawSize(rng: Rng, min: number, max: number, dist: "uniform" | "log"): number {
  return dist === "uniform" ? rng.uniform(min, max) : rng.logUniform(min, max);
}

/** Initial live set, then for op k: free the block in slots[k & mask], allocate sizes[k & mask] into it. */
export interface ChurnPlan {
  initSizes: Uint32Array;
  slots: Uint32Array;
  sizes: Uint32Array;
  mask: number;
}

export function churnPlan(spec: ChurnSpec, seed: number): ChurnPlan {
  const rng = new Rng(seed >>> 0);
  const initSizes = new Uint32Array(spec.live);
  for (let i = 0; i < spec.live; i++) initSizes[i] = drawSize(rng, spec.minSize, spec.maxSize, spec.dist);
  const slots = new Uint32Array(spec.planOps);
  const sizes = new Uint32Array(spec.planOps);
  for (let k = 0; k < spec.planOps; k++) {
    slots[k] = rng.below(spec.live);
    sizes[k] = drawSize(rng, spec.minSize, spec.maxSize, spec.dist);
  }
  return { initSizes, slots, sizes, mask: spec.planOps - 1 };
}

/** True peak of the live requested bytes over the setup and the first `ops` churn ops (replays the plan). */
export function churnPeakLive(plan: ChurnPlan, ops: number): number {
  const cur = plan.initSizes.slice();
  let live = 0;
  for (let i = 0; i < cur.length; i++) live += cur[i]!;
  let peak = live;
  for (let k = 0; k < ops; k++) {
    const s = plan.slots[k & plan.mask]!;
    live += plan.sizes[k & plan.mask]! - cur[s]!;
    cur[s] = plan.sizes[k & plan.mask]!;
    if (live > peak) peak = live;
  }
  return peak;
}

/**
 * The live requested bytes of a churn plan as the op cursor moves forward: lets a runner read the live
 * bytes at the same moments it samples the allocator's footprint, without bookkeeping in the timed loop.
 */
export class LiveTracker {
  readonly #plan: ChurnPlan;
  readonly #cur: Uint32Array;
  #cursor = 0;
  #live = 0;
  constructor(plan: ChurnPlan) {
    this.#plan = plan;
    this.#cur = plan.initSizes.slice();
    for (let i = 0; i < this.#cur.length; i++) this.#live += this.#cur[i]!;
  }
  /** Live requested bytes after `cursor` ops (cursor never moves back). */
  liveAt(cursor: number): number {
    const { slots, sizes, mask } = this.#plan;
    for (; this.#cursor < cursor; this.#cursor++) {
      const k = this.#cursor & mask;
      this.#live += sizes[k]! - this.#cur[slots[k]!]!;
      this.#cur[slots[k]!] = sizes[k]!;
    }
    return this.#live;
  }
}

/** Phase 1 sizes, the indices phase 2 frees (in order), phase 3 sizes. */
export interface FragmentationPlan {
  smallSizes: Uint32Array;
  freeOrder: Uint32Array;
  largeSizes: Uint32Array;
  /** Live requested bytes after phases 1, 2, 3. */
  liveAfter: [number, number, number];
}

export function fragmentationPlan(spec: FragmentationSpec, seed: number): FragmentationPlan {
  const rng = new Rng(seed >>> 0);
  const smallSizes = new Uint32Array(spec.nSmall);
  let live1 = 0;
  for (let i = 0; i < spec.nSmall; i++) {
    smallSizes[i] = rng.uniform(spec.smallMin, spec.smallMax);
    live1 += smallSizes[i]!;
  }
  const perm = new Uint32Array(spec.nSmall);
  for (let i = 0; i < spec.nSmall; i++) perm[i] = i;
  shuffle(perm, rng);
  const freeOrder = perm.slice(0, Math.round(spec.nSmall * spec.freeFraction));
  let live2 = live1;
  for (let i = 0; i < freeOrder.length; i++) live2 -= smallSizes[freeOrder[i]!]!;
  const largeSizes = new Uint32Array(spec.nLarge);
  let live3 = live2;
  for (let i = 0; i < spec.nLarge; i++) {
    largeSizes[i] = rng.uniform(spec.largeMin, spec.largeMax);
    live3 += largeSizes[i]!;
  }
  return { smallSizes, freeOrder, largeSizes, liveAfter: [live1, live2, live3] };
}

/** Sizes a producer allocates, cycled. */
export function sizePlan(min: number, max: number, n: number, seed: number): Uint32Array {
  const rng = new Rng(seed >>> 0);
  const sizes = new Uint32Array(n);
  for (let k = 0; k < n; k++) sizes[k] = rng.uniform(min, max);
  return sizes;
}

/** Seed of worker `w`'s plan (so the two workers do different, reproducible things). */
export function workerSeed(seed: number, w: number): number {
  return (seed + 0x632be5ab * (w + 1)) >>> 0;
}
