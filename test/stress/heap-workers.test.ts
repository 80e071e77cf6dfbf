/**
 * Workers sharing one heap (issue 3 "Done when"; RELIABILITY.md §6.4 load shape): 2 and 4 workers
 * attached to one heap (thread cache off) allocate, free, realloc and swap blocks through a shared
 * transfer table, so many frees are cross-worker. A claim map (one byte per 8-byte granule) proves no
 * two live blocks ever overlap, patterns are checked on every free; at the end everything is freed,
 * heap.check() passes, stats.allocated is 0 and Σ nmalloc = Σ ndalloc over every arena.
 *
 * Quick by default (20k ops per worker); JEMALLOC_TS_LONG=1 runs 400k ops per worker and 8 workers too.
 * Prints its seed; SEED=<n> replays one.
 */
import type { Worker } from "node:worker_threads";
import { afterEach, describe, expect, it } from "vitest";
import { Heap } from "../../src/heap.js";
import { ClaimMap, findPatternMismatch, seedFromEnv } from "../helpers/ledger.js";
import { firstMessage, spawnTsWorker } from "../helpers/spawn.js";
import {
  CTL_GO,
  CTL_READY,
  HEADER_BYTES,
  type HeapWorkerData,
  type HeapWorkerReply,
} from "../workers/heap-common.js";

const LONG = process.env.JEMALLOC_TS_LONG === "1";
const OPS = LONG ? 400_000 : 20_000;
const ENTRY = new URL("../workers/heap-worker.ts", import.meta.url);
const MAX_BYTES = 512 * 1024 * 1024;
const TRANSFER_SLOTS = 1000;

const live: Worker[] = [];
afterEach(async () => {
  await Promise.all(live.splice(0).map((w) => w.terminate()));
});

function statSum(heap: Heap, leaf: string): number {
  const n = heap.mallctl("arenas.narenas") as number;
  let s = 0;
  for (let i = 0; i < n; i++) {
    try {
      s += Number(heap.mallctl(`stats.arenas.${i}.${leaf}`));
    } catch {
      // an arena that was never initialised has no statistics
    }
  }
  return s;
}

async function run(nworkers: number, conf: string, seed: number): Promise<void> {
  console.log(`heap-workers: ${nworkers} workers, conf "${conf}", ${OPS} ops each, SEED=${seed}`);
  const heap = Heap.create({ envConf: null, conf, maxBytes: MAX_BYTES, initialBytes: 1 << 20 });
  const claims = new ClaimMap({
    heapBytes: MAX_BYTES,
    lgPage: heap.ctx.lgPage,
    largeMin: heap.ctx.sc.largeMinclass,
  });
  const transfer = new SharedArrayBuffer(TRANSFER_SLOTS * 4);
  const ctl = new SharedArrayBuffer(64);
  const ctlI32 = new Int32Array(ctl);
  const replies: Promise<HeapWorkerReply>[] = [];
  for (let i = 0; i < nworkers; i++) {
    const data: HeapWorkerData = {
      buffer: heap.buffer as SharedArrayBuffer,
      claims: claims.shared,
      transfer,
      ctl,
      index: i,
      seed: (seed + Math.imul(i + 1, 0x9e3779b9)) >>> 0,
      ops: OPS,
      maxLive: 400,
      hugeEvery: LONG ? 20_000 : 10_000,
    };
    const w = spawnTsWorker(ENTRY, data as unknown as Record<string, unknown>);
    live.push(w);
    replies.push(firstMessage<HeapWorkerReply>(w));
  }
  // Start together, so the workers really run concurrently.
  const t0 = Date.now();
  while (Atomics.load(ctlI32, CTL_READY) < nworkers) {
    if (Date.now() - t0 > 60_000) throw new Error("workers did not attach within 60 s");
    await new Promise((r) => setTimeout(r, 5));
  }
  Atomics.store(ctlI32, CTL_GO, 1);
  Atomics.notify(ctlI32, CTL_GO);
  const results = await Promise.all(replies);
  console.log(
    `heap-workers: ${Date.now() - t0} ms in all; op loops ${results.map((r) => r.ms).join(", ")} ms; ${results.map((r) => `${r.allocs} allocs / ${r.crossFrees} cross frees`).join("; ")}`,
  );

  const violations = results.flatMap((r) => r.violations);
  expect(violations, `SEED=${seed}`).toEqual([]);
  const total = (k: keyof HeapWorkerReply) => results.reduce((s, r) => s + (r[k] as number), 0);
  expect(total("failures"), "allocation failures").toBe(0);
  expect(total("allocs")).toBeGreaterThan(nworkers * OPS * 0.5);
  expect(total("crossFrees"), "frees of blocks another worker allocated").toBeGreaterThan(0);

  // Drain the transfer table from the main thread: these blocks came from every worker.
  const t = new Int32Array(transfer);
  let drained = 0;
  for (let i = 0; i < t.length; i++) {
    const p = t[i]! >>> 0;
    if (p === 0) continue;
    const size = heap.dv.getUint32(p, true);
    const word = heap.dv.getUint32(p + 4, true);
    expect(size).toBeLessThanOrEqual(heap.mallocUsableSize(p));
    expect(
      findPatternMismatch(heap.u8, p + HEADER_BYTES, size - HEADER_BYTES, word >>> 4),
      `transfer block ${p}`,
    ).toBe(-1);
    expect(claims.release(p, heap.mallocUsableSize(p))).toBe(-1);
    heap.free(p);
    drained++;
  }
  expect(drained).toBeGreaterThan(0);
  expect(claims.claimed(), "granules still claimed after every block was freed").toBe(0);

  const report = heap.check();
  expect(report.liveRegions).toBe(0);
  heap.mallctl("epoch", 1);
  expect(heap.mallctl("stats.allocated")).toBe(0);
  const nmalloc = statSum(heap, "small.nmalloc") + statSum(heap, "large.nmalloc");
  const ndalloc = statSum(heap, "small.ndalloc") + statSum(heap, "large.ndalloc");
  expect(nmalloc).toBeGreaterThanOrEqual(total("allocs"));
  expect(ndalloc).toBe(nmalloc);
  // The heap still serves.
  const p = heap.malloc(1000);
  expect(p).not.toBe(0);
  heap.free(p);
  heap.check();
}

describe("the claim map (harness sanity)", () => {
  it("detects small/small, small/large and large/large overlaps, and releases cleanly", () => {
    const c = new ClaimMap({ heapBytes: 1 << 20, lgPage: 12, largeMin: 16384 });
    expect(c.claim(8192, 64)).toBe(-1);
    expect(c.claim(8192 + 56, 16)).toBe(8192 + 56); // small over small
    expect(c.claim(8192 + 64, 64)).toBe(-1); // adjacent is fine
    expect(c.claim(4096 + 64, 20000)).toBe(8192); // large over a page holding small blocks
    expect(c.claim(65536 + 128, 32768)).toBe(-1);
    expect(c.claim(65536 + 32768, 8)).toBe(65536 + 32768); // small inside a large block's pages
    expect(c.claim(65536 + 16384 + 64, 16384)).toBe(65536 + 16384); // large over large
    expect(c.release(8192, 64)).toBe(-1);
    expect(c.release(8192, 64)).toBe(8192); // not claimed any more
    expect(c.release(8192 + 64, 64)).toBe(-1);
    expect(c.release(65536 + 128, 32768)).toBe(-1);
    expect(c.claimed()).toBe(0);
  });
});

describe("workers sharing one heap (thread cache off)", () => {
  const seed = seedFromEnv();
  const timeout = LONG ? 1_800_000 : 120_000;
  it("2 workers, one arena (every bin contended)", () => run(2, "tcache:false,narenas:1", seed), timeout);
  it("4 workers, default arenas (cross-arena frees)", () => run(4, "tcache:false", seed + 1), timeout);
  it.runIf(LONG)("8 workers, 2 arenas", () => run(8, "tcache:false,narenas:2", seed + 2), timeout);
});
