/**
 * A thread terminated half-way through cutting a mapping from a placement gap (src/extent/pages.ts
 * gapTake, failpoint "map.gap": after the gap's end is cut back, before the link to the rest above and
 * before the zero-fill). Whoever takes its locks over finds a consistent heap: each byte of the gap is
 * either still in a gap or owned by nobody (never in a gap and handed out), the checker passes —
 * it proves that no byte has two owners among gaps, base blocks and extents — and the heap serves.
 */
import type { Worker } from "node:worker_threads";
import { afterEach, describe, expect, it } from "vitest";
import { pagesGapBytes, pagesGaps } from "../../src/extent/pages.js";
import { carvedBytes, fillAndFree, fullHeap, heapTop, MiB, stat } from "../helpers/full-heap.js";
import { spawnTsWorker } from "../helpers/spawn.js";
import type { GapKillData } from "../workers/gap-kill.js";

const ENTRY = new URL("../workers/gap-kill.ts", import.meta.url);
const live: Worker[] = [];
afterEach(async () => {
  await Promise.all(live.splice(0).map((w) => w.terminate()));
});

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

async function killAtGap(action: GapKillData["action"]): Promise<void> {
  const heap = fullHeap({ lockTimeoutMs: 8000 });
  fillAndFree(heap);
  expect(heapTop(heap)).toBe(6 * MiB);
  const before = pagesGaps(heap.ctx);
  const gapBytes = pagesGapBytes(heap.ctx);
  const carved = carvedBytes(heap);
  const ctlBuf = new SharedArrayBuffer(8);
  const ctl = new Int32Array(ctlBuf);
  const data: GapKillData = { buffer: heap.buffer as SharedArrayBuffer, ctl: ctlBuf, action };
  const w = spawnTsWorker(ENTRY, data as unknown as Record<string, unknown>);
  live.push(w);
  const errors: string[] = [];
  w.on("message", (m: { kind: string; message?: string }) => {
    if (m.kind === "error") errors.push(m.message ?? "");
  });
  w.on("error", (e: Error) => errors.push(e.message));
  heap.watch(w);
  const exited = new Promise<number>((r) => w.once("exit", r));
  const t0 = Date.now();
  while (Atomics.load(ctl, 0) === 0) {
    if (errors.length > 0) throw new Error(errors.join("; "));
    if (Date.now() - t0 > 60_000) throw new Error(`${action}: the worker never reached map.gap`);
    await sleep(5);
  }
  // Parked between the stores: the gap was cut, so fewer gap bytes, and none beyond the old gaps.
  await w.terminate();
  await exited; // heap.watch has reclaimed the worker: its locks taken over and recovered
  const after = pagesGaps(heap.ctx);
  expect(pagesGapBytes(heap.ctx)).toBeLessThan(gapBytes);
  for (const [s, e] of after) expect(before.some(([bs, be]) => bs <= s && e <= be)).toBe(true);
  heap.check(); // not poisoned, and no byte with two owners
  // The range cut but never handed out is owned by nobody: carved, neither mapped nor retained (the
  // statistics did not move, as the dead thread never got the address).
  const leaked = gapBytes - pagesGapBytes(heap.ctx);
  const mappedRetained = stat(heap, "stats.mapped") + stat(heap, "stats.retained");
  expect(mappedRetained).toBe(carved);
  expect(carvedBytes(heap) - mappedRetained).toBe(leaked);
  const ps: number[] = [];
  for (let i = 0; i < 50; i++) {
    const p = heap.malloc(100 + i * 700);
    expect(p, `malloc after the kill (${action})`).not.toBe(0);
    ps.push(p);
  }
  heap.check();
  for (const p of ps) heap.free(p);
  heap.check();
  expect(stat(heap, "stats.allocated")).toBe(0);
}

describe("a thread killed while cutting a mapping from a gap", () => {
  for (const action of ["slab", "base", "split"] as const) {
    it(`${action}: the heap stays consistent and serves`, async () => {
      await killAtGap(action);
    }, 120_000);
  }
});
