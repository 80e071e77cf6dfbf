import { describe, expect, it } from "vitest";
import {
  type ChurnSpec,
  callsPerIteration,
  churnPeakLive,
  churnPlan,
  type FragmentationSpec,
  fragmentationPlan,
  sizePlan,
  WORKLOAD_NAMES,
  workerSeed,
  workload,
} from "../../src/bench/workloads.js";

describe("bench workloads", () => {
  it("every named workload builds at full and quick scale, with the issue's counts at scale 1", () => {
    for (const n of WORKLOAD_NAMES) {
      expect(workload(n).name).toBe(n);
      expect(workload(n, 0.1).description.length).toBeGreaterThan(10);
      expect(callsPerIteration(workload(n, 0.1).spec)).toBeGreaterThan(0);
    }
    const small = workload("small-churn").spec as ChurnSpec;
    expect([small.live, small.minSize, small.maxSize, small.dist]).toEqual([10_000, 8, 256, "uniform"]);
    const mixed = workload("mixed").spec as ChurnSpec;
    expect([mixed.live, mixed.minSize, mixed.maxSize, mixed.dist]).toEqual([50_000, 8, 65536, "log"]);
    const large = workload("large").spec as ChurnSpec;
    expect([large.live, large.minSize, large.maxSize, large.dist]).toEqual([100, 65536, 4 << 20, "uniform"]);
    const frag = workload("fragmentation").spec as FragmentationSpec;
    expect([
      frag.nSmall,
      frag.smallMin,
      frag.smallMax,
      frag.freeFraction,
      frag.nLarge,
      frag.largeMin,
      frag.largeMax,
    ]).toEqual([200_000, 16, 512, 0.75, 50_000, 1024, 4096]);
    // W5: batches of 1000, at most 10 batches live.
    expect(workload("records").spec).toMatchObject({ kind: "records", live: 10_000, group: 1000 });
    expect(workload("workers-churn").spec).toMatchObject({ kind: "workers-churn", workers: 2 });
  });

  it("rejects unknown names and bad scales", () => {
    expect(() => workload("nope")).toThrow(/unknown workload "nope"/);
    expect(() => workload("mixed", 0)).toThrow(RangeError);
    expect(() => workload("mixed", 2)).toThrow(RangeError);
  });

  it("churn plans are deterministic for a seed, differ between seeds, and respect the size range", () => {
    const spec = workload("mixed", 0.02).spec as ChurnSpec;
    const a = churnPlan(spec, 99);
    const b = churnPlan(spec, 99);
    const c = churnPlan(spec, 100);
    const same = (x: Uint32Array, y: Uint32Array) => x.length === y.length && x.every((v, i) => v === y[i]);
    expect(same(a.initSizes, b.initSizes)).toBe(true);
    expect(same(a.slots, b.slots)).toBe(true);
    expect(same(a.sizes, b.sizes)).toBe(true);
    expect(same(a.sizes, c.sizes)).toBe(false);
    expect(a.initSizes.length).toBe(spec.live);
    expect(a.mask + 1).toBe(spec.planOps);
    expect([...a.initSizes, ...a.sizes].every((s) => s >= 8 && s <= 65536)).toBe(true);
    expect(a.slots.every((s) => s < spec.live)).toBe(true);
  });

  it("churnPeakLive equals a direct simulation of the live bytes", () => {
    const spec = workload("small-churn", 0.01).spec as ChurnSpec;
    const plan = churnPlan(spec, 3);
    const cur = [...plan.initSizes];
    let live = cur.reduce((x, y) => x + y, 0);
    let peak = live;
    const ops = 3 * spec.planOps + 17;
    for (let k = 0; k < ops; k++) {
      const s = plan.slots[k & plan.mask]!;
      live += plan.sizes[k & plan.mask]! - cur[s]!;
      cur[s] = plan.sizes[k & plan.mask]!;
      peak = Math.max(peak, live);
    }
    expect(churnPeakLive(plan, ops)).toBe(peak);
    expect(churnPeakLive(plan, 0)).toBe(plan.initSizes.reduce((x, y) => x + y, 0));
  });

  it("the fragmentation plan frees exactly 75 % distinct blocks and accounts live bytes per phase", () => {
    const spec = workload("fragmentation", 0.01).spec as FragmentationSpec;
    const p = fragmentationPlan(spec, 11);
    expect(fragmentationPlan(spec, 11).freeOrder).toEqual(p.freeOrder);
    expect(p.freeOrder.length).toBe(Math.round(spec.nSmall * 0.75));
    expect(new Set(p.freeOrder).size).toBe(p.freeOrder.length);
    const sum = (a: Iterable<number>) => [...a].reduce((x, y) => x + y, 0);
    const live1 = sum(p.smallSizes);
    const freed = sum([...p.freeOrder].map((i) => p.smallSizes[i]!));
    expect(p.liveAfter).toEqual([live1, live1 - freed, live1 - freed + sum(p.largeSizes)]);
    expect(p.largeSizes.every((s) => s >= 1024 && s <= 4096)).toBe(true);
  });

  it("size plans and worker seeds are reproducible and distinct per worker", () => {
    expect(sizePlan(8, 256, 128, 5)).toEqual(sizePlan(8, 256, 128, 5));
    expect(workerSeed(1, 0)).not.toBe(workerSeed(1, 1));
    expect(workerSeed(1, 0)).toBe(workerSeed(1, 0));
  });
});
