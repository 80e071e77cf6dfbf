/**
 * paired: what the paired benchmarks (bench/prof.ts, bench/safety.ts) share — their command-line
 * arguments and the small-churn plan, drawn from the bench's seeded generator (src/bench/rng.ts) and
 * built the same on every heap so the heaps of a pair do the same operations.
 */
import { Rng } from "../src/bench/rng.js";

/** The value after `--name` on the command line, or `dflt`. */
export function arg(name: string, dflt: string): string {
  const i = process.argv.indexOf(name);
  return i >= 0 && i + 1 < process.argv.length ? process.argv[i + 1]! : dflt;
}

/** The small-churn plan: op k frees `live[slots[k]]` and allocates `sizes[k]` bytes (8–256) there. */
export interface ChurnPlan {
  sizes: Uint16Array;
  slots: Uint16Array;
  /** The live blocks, allocated from `heap` (8–256 B each). */
  live: Float64Array;
}

/** The plan of `ops` operations over `liveCount` blocks (seed 12345: the same on every heap). */
export function churnPlan(heap: { malloc(size: number): number }, liveCount: number, ops: number): ChurnPlan {
  const rng = new Rng(12345);
  const rnd = (): number => rng.next();
  const sizes = new Uint16Array(ops);
  const slots = new Uint16Array(ops);
  for (let i = 0; i < ops; i++) {
    sizes[i] = 8 + (rnd() % 249);
    slots[i] = rnd() % liveCount;
  }
  const live = new Float64Array(liveCount);
  for (let i = 0; i < liveCount; i++) live[i] = heap.malloc(8 + (rnd() % 249));
  return { sizes, slots, live };
}
