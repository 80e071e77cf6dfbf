/**
 * paired: what the paired benchmarks (bench/prof.ts, bench/safety.ts) share — their command-line
 * arguments, the seeded generator, and the small-churn plan, built the same on every heap so the
 * heaps of a pair do the same operations.
 */

/** The value after `--name` on the command line, or `dflt`. */
export function arg(name: string, dflt: string): string {
  const i = process.argv.indexOf(name);
  return i >= 0 && i + 1 < process.argv.length ? process.argv[i + 1]! : dflt;
}

/** Marsaglia's xorshift32 from `seed`: a fixed sequence per seed. */
export function xorshift(seed: number): () => number {
  let x = seed >>> 0;
  return () => {
    x ^= x << 13;
    x >>>= 0;
    x ^= x >>> 17;
    x ^= x << 5;
    x >>>= 0;
    return x;
  };
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
  const rnd = xorshift(12345);
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
