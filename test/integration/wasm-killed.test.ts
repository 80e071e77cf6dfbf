/**
 * A worker terminated inside a call of a heap inside a WebAssembly.Memory (README "WebAssembly"): while
 * inside a call a thread publishes how far its views reach, and no thread maps beyond the smallest
 * reach (src/wasm/space.ts). A worker is parked with the test-only failpoints inside an allocation —
 * holding its bin lock, or the map lock that guards growth — and terminated. Until its slot is
 * reclaimed, this thread cannot map past the dead worker's reach (malloc returns NULL with ENOMEM after
 * the bounded wait), or cannot map at all while the map lock names the dead worker (LockTimeoutError).
 * After `heap.reclaim` / `heap.terminate`: allocations grow the heap past that reach again, the dead
 * worker's blocks are intact and overlap no block handed out since, and `check()` passes.
 */
import type { Worker } from "node:worker_threads";
import { afterEach, describe, expect, it } from "vitest";
import { ENOMEM } from "../../src/errors.js";
import { Heap } from "../../src/index.js";
import { LockTimeoutError } from "../../src/sync/context.js";
import { spawnTsWorker } from "../helpers/spawn.js";
import type { WasmParkData, WasmParkReply } from "../workers/wasm-park.js";

const WORKER = new URL("../workers/wasm-park.ts", import.meta.url);
/** This thread's lock timeout, which also bounds its wait for other threads' views (space.ts). */
const LOCK_TIMEOUT_MS = 600;
/** First word of the per-slot view ends in the page at base (space.ts SPACE_W_VIEWS). */
const SPACE_W_VIEWS = 16;
const MIB = 1 << 20;
/** The worker's ctl word that it sets once parked (wasm-park.ts). */
const PARK_PARKED = 0;

const live: Worker[] = [];
afterEach(async () => {
  await Promise.all(live.splice(0).map((w) => w.terminate()));
});

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

type Heaps = Heap & { base: number; memory: WebAssembly.Memory };

function setup(maxPages: number): { heap: Heaps; memory: WebAssembly.Memory; origin: number } {
  const memory = new WebAssembly.Memory({ initial: 1, maximum: maxPages, shared: true });
  const heap = Heap.create({ memory, lockTimeoutMs: LOCK_TIMEOUT_MS }) as Heaps;
  return { heap, memory, origin: heap.base + 65536 };
}

/** Starts the worker and resolves once it is parked at `point`, with what it kept. */
async function parked(memory: WebAssembly.Memory, point: string, growBytes: number) {
  const ctl = new SharedArrayBuffer(16);
  const data: WasmParkData = { memory, ctl, point, growBytes };
  const w = spawnTsWorker(WORKER, data as unknown as Record<string, unknown>);
  live.push(w);
  const msgs: (WasmParkReply & { error?: string })[] = [];
  const errors: Error[] = [];
  w.on("message", (m) => msgs.push(m));
  w.on("error", (e: Error) => errors.push(e));
  const flag = new Int32Array(ctl);
  for (let t = 0; Atomics.load(flag, PARK_PARKED) === 0; t++) {
    if (errors.length > 0) throw errors[0];
    const bad = msgs.find((m) => m.error !== undefined);
    if (bad !== undefined) throw new Error(bad.error);
    if (t > 6000) throw new Error(`the worker did not reach ${point} within 60 s`);
    await sleep(10);
  }
  return { w, reply: msgs[0]! };
}

function allocated(heap: Heap): number {
  heap.mallctl("thread.tcache.flush");
  heap.mallctl("epoch", 1n);
  return heap.mallctl("stats.allocated") as number;
}

/** The dead slot's published view end: heap bytes its views covered when its call began. */
function reachOf(memory: WebAssembly.Memory, base: number, slot: number): number {
  return new Int32Array(memory.buffer, base, 16384)[SPACE_W_VIEWS + slot]! >>> 0;
}

/** 1 MiB blocks until one fails or `count` are taken; the blocks, and the failure's lastError. */
function takeMiB(heap: Heap, count: number): { ps: number[]; failed: boolean; err: number } {
  const ps: number[] = [];
  for (let i = 0; i < count; i++) {
    const p = heap.malloc(MIB);
    if (p === 0) return { ps, failed: true, err: heap.lastError };
    ps.push(p);
  }
  return { ps, failed: false, err: 0 };
}

/** Every block [p, p + size) apart from every other; the worker's blocks still carry their stamps. */
function expectOneOwnerEach(heap: Heap, blocks: [number, number][], kept: WasmParkReply["kept"]): void {
  const all = [...blocks, ...kept.map(([p, s]) => [p, s] as [number, number])].sort((a, b) => a[0] - b[0]);
  for (let i = 1; i < all.length; i++) {
    const [p, s] = all[i - 1]!;
    expect(p + s, `block at ${p} (${s} bytes) overlaps the block at ${all[i]![0]}`).toBeLessThanOrEqual(
      all[i]![0],
    );
  }
  for (const [p, size, stamp] of kept) {
    const words = heap.u32.subarray(p >>> 2, (p + size) >>> 2);
    expect(
      words.every((v) => v === stamp),
      `the dead worker's block at ${p} changed`,
    ).toBe(true);
  }
}

/**
 * After the reclaim: 1 MiB blocks take the heap past the dead worker's `reach`, 400 small ones reuse
 * what its cache held; with `held` (this thread's blocks from before) no block has two owners, the
 * worker's blocks are intact, check() passes; everything this thread took is freed again.
 */
function growsPastReach(
  heap: Heap,
  reach: number,
  origin: number,
  kept: WasmParkReply["kept"],
  held: [number, number][],
): void {
  const after = takeMiB(heap, Math.ceil(reach / MIB) + 8);
  expect(after.failed).toBe(false);
  expect(Math.max(...after.ps) + MIB - origin).toBeGreaterThan(reach);
  const small = Array.from({ length: 400 }, () => heap.malloc(48));
  expect(small.every((p) => p !== 0)).toBe(true);
  const mine = [...held, ...after.ps.map((p) => [p, MIB] as [number, number])];
  for (const p of small) mine.push([p, 48]);
  expectOneOwnerEach(heap, mine, kept);
  heap.check();
  for (const [p] of mine) heap.free(p);
  heap.check();
  expectOneOwnerEach(heap, [], kept);
}

describe("a worker terminated inside a call of a heap inside a WebAssembly.Memory", () => {
  it("holds the heap's growth at its reach until its slot is reclaimed (parked holding its bin lock)", async () => {
    const { heap, memory, origin } = setup(2048);
    heap.free(heap.malloc(8));
    const { w, reply } = await parked(memory, "bin.locked", 0);
    const reach = reachOf(memory, heap.base, reply.slot);
    expect(reach).toBeGreaterThan(0);
    expect(reach + 8 * MIB).toBeLessThan(2048 * 65536 - origin);
    await w.terminate();

    // Not reclaimed: this thread maps up to the dead worker's reach and no further (ENOMEM, no throw).
    const before = takeMiB(heap, 2048);
    expect(before.failed).toBe(true);
    expect(before.err).toBe(ENOMEM);
    for (const p of before.ps) expect(p + MIB - origin).toBeLessThanOrEqual(reach);
    // Small blocks from space already mapped are still served.
    const small = Array.from({ length: 200 }, () => heap.malloc(48));
    expect(small.every((p) => p !== 0)).toBe(true);

    const report = heap.reclaim(reply.threadId);
    expect(report).not.toBeNull();
    expect(report!.badCacheEntries).toBe(0);
    // Reclaimed: growth goes past the reach; the worker's freed cache entries serve new blocks.
    const held = before.ps.map((p) => [p, MIB] as [number, number]);
    for (const p of small) held.push([p, 48]);
    growsPastReach(heap, reach, origin, reply.kept, held);
  }, 60_000);

  it("holds the map lock until heap.reclaim takes it over (parked mapping, the memory grown meanwhile)", async () => {
    const { heap, memory, origin } = setup(4096);
    heap.free(heap.malloc(8));
    const viewsBefore = memory.buffer.byteLength;
    const { w, reply } = await parked(memory, "map.locked", 24 * MIB);
    // The worker grew the memory after this thread last looked: reclaiming must see the new pages.
    expect(memory.buffer.byteLength).toBeGreaterThan(viewsBefore + 16 * MIB);
    const reach = reachOf(memory, heap.base, reply.slot);
    expect(reach).toBeGreaterThan(0);
    await w.terminate();

    // The map lock names the dead worker until it is reclaimed: mapping waits out the bound.
    expect(() => heap.malloc(32 * MIB)).toThrow(LockTimeoutError);

    // The reclaim itself takes the map lock over (it must not wait for it first).
    const report = heap.reclaim(reply.threadId);
    expect(report?.threadId).toBe(reply.threadId);
    expect(report!.badCacheEntries).toBe(0);
    growsPastReach(heap, reach, origin, reply.kept, []);
  }, 60_000);

  it("holds the map lock while the handle grows the memory, until heap.reclaim takes it over", async () => {
    const { heap, memory, origin } = setup(4096);
    heap.free(heap.malloc(8));
    const { w, reply } = await parked(memory, "wasm.grow.locked", 0);
    // Outside the allocator (growing between calls), so it published no reach.
    expect(reachOf(memory, heap.base, reply.slot)).toBe(0);
    await w.terminate();
    // Mapping (a block no free extent holds) waits out the bound on the dead worker's map lock.
    expect(() => heap.malloc(64 * MIB)).toThrow(LockTimeoutError);
    const report = heap.reclaim(reply.threadId);
    expect(report?.threadId).toBe(reply.threadId);
    expect(report!.badCacheEntries).toBe(0);
    growsPastReach(heap, memory.buffer.byteLength - origin, origin, reply.kept, []);
  }, 60_000);

  it("is reclaimed by heap.watch on exit, with this thread's views older than the memory the worker grew", async () => {
    const { heap, memory, origin } = setup(4096);
    heap.free(heap.malloc(8));
    const baseline = allocated(heap);
    const viewsBefore = memory.buffer.byteLength;
    const { w, reply } = await parked(memory, "bin.locked", 24 * MIB);
    expect(memory.buffer.byteLength).toBeGreaterThan(viewsBefore + 16 * MIB);
    const reach = reachOf(memory, heap.base, reply.slot);
    // No call on this thread since the worker grew the memory: the exit handler reclaims first.
    heap.watch(w);
    await new Promise((r) => w.once("exit", r).terminate());
    await sleep(0);
    expect(heap.reclaim(reply.threadId)).toBeNull();
    // Its cache (entries in slabs beyond this thread's old views) was flushed, not dropped as invalid:
    // what stays allocated is exactly the blocks it kept.
    const keptBytes = reply.kept.reduce((sum, [p]) => sum + heap.mallocUsableSize(p), 0);
    expect(allocated(heap)).toBe(baseline + keptBytes);
    growsPastReach(heap, reach, origin, reply.kept, []);
  }, 60_000);
});
