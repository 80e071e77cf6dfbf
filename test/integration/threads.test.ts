/**
 * Threads that come and go (issue 4; RELIABILITY.md §6.3 F4, F5): slot reuse within maxThreads with
 * fresh thread ids and generations, reclaim of unknown / departed / own threads, reclaim treating a
 * departed thread's cache as untrusted (corrupted entries dropped and counted, never freed; a corrupted
 * record leaked, never trusted), and heap.watch / heap.reclaim for terminated workers.
 */
import type { Worker } from "node:worker_threads";
import { afterEach, describe, expect, it } from "vitest";
import { THREAD_BYTES, THREAD_TCACHE_B } from "../../src/ctx/header.js";
import { HeapPoisonedError } from "../../src/errors.js";
import { Heap } from "../../src/heap.js";
import { TBIN_W_CAP, TBIN_W_HEAD, TBIN_W_SLOTS, tbinW } from "../../src/tcache/layout.js";
import { auditCaches, expectedAllocated, statNum, verifyBlock } from "../helpers/ledger-tc.js";
import { firstMessage, spawnTsWorker } from "../helpers/spawn.js";
import type { HolderReply } from "../workers/tc-holder.js";

const HOLDER = new URL("../workers/tc-holder.ts", import.meta.url);

const workers: Worker[] = [];
afterEach(async () => {
  await Promise.all(workers.splice(0).map((w) => w.terminate()));
});

function newHeap(maxThreads = 8, conf = "narenas:2"): Heap {
  return Heap.create({ envConf: null, conf, maxBytes: 64 << 20, maxThreads, lockTimeoutMs: 3000 });
}

function allocated(heap: Heap): number {
  heap.mallctl("epoch", 1);
  return statNum(heap, "stats.allocated");
}

/** heap.check(), C5 and the allocated identity with `live` the blocks the test still holds. */
function checkAll(heap: Heap, live: number[] = []): void {
  heap.check();
  const audit = auditCaches(heap, new Set(live));
  expect(audit.problems).toEqual([]);
  let bytes = 0;
  for (const p of live) bytes += heap.mallocUsableSize(p);
  expect(allocated(heap)).toBe(expectedAllocated(heap, audit, bytes));
}

/** Allocates and frees a mix of classes so `h`'s cache holds regions. */
function warm(h: Heap, sizes = [8, 64, 512, 4096, 20000]): void {
  for (const s of sizes) {
    const ps = Array.from({ length: 12 }, () => h.malloc(s));
    for (const p of ps) h.free(p);
  }
}

/** Word index (u32 view) of bin `ind` of the cache of the thread in `slot`. */
function cacheBinW(heap: Heap, slot: number, ind: number): number {
  const threadB = heap.ctx.hdr.threadsB + slot * THREAD_BYTES;
  const tc = heap.u32[(threadB + THREAD_TCACHE_B) >>> 2]!;
  expect(tc).not.toBe(0);
  return tbinW(tc, ind);
}

describe("thread slots", () => {
  it("attach/detach many times within maxThreads: slots reused, ids and owner tags fresh", () => {
    const heap = newHeap(4);
    const handles = [1, 2, 3].map(() => Heap.attach(heap.buffer, { lockTimeoutMs: 3000 }));
    expect(handles.map((h) => h.threadSlot).sort()).toEqual([1, 2, 3]);
    expect(() => Heap.attach(heap.buffer)).toThrow(/registry full/);
    const ids = new Set([heap.threadId, ...handles.map((h) => h.threadId)]);
    let lastId = Math.max(...ids);
    for (let i = 0; i < 60; i++) {
      const k = i % 3;
      const old = handles[k]!;
      warm(old, [16, 128, 1024 * (1 + (i % 20))]);
      const { threadSlot: slot, threadId: id } = old;
      const tag = old.ctx.ownerTag;
      old.detach();
      old.detach(); // twice is harmless
      expect(() => old.malloc(8)).toThrow(HeapPoisonedError);
      expect(heap.reclaim(id)).toBeNull(); // detached cleanly: nothing to reclaim
      checkAll(heap);
      const fresh = Heap.attach(heap.buffer, { lockTimeoutMs: 3000 });
      expect(fresh.threadSlot).toBe(slot);
      expect(fresh.threadId).toBeGreaterThan(lastId);
      expect(fresh.ctx.ownerTag).not.toBe(tag); // F5: the slot's generation moved on
      lastId = fresh.threadId;
      expect(ids.has(fresh.threadId)).toBe(false);
      ids.add(fresh.threadId);
      handles[k] = fresh;
    }
    for (const h of handles) h.detach();
    checkAll(heap);
    expect(allocated(heap)).toBe(0);
  });

  it("reclaim: unknown ids give null, bad ids and the caller's own id are refused", () => {
    const heap = newHeap();
    expect(heap.reclaim(999_999)).toBeNull();
    expect(heap.reclaim(0)).toBeNull();
    expect(() => heap.reclaim(-1)).toThrow(RangeError);
    expect(() => heap.reclaim(1.5)).toThrow(RangeError);
    expect(() => heap.reclaim(heap.threadId)).toThrow(RangeError);
    const other = Heap.attach(heap.buffer);
    const id = other.threadId;
    other.detach();
    expect(heap.reclaim(id)).toBeNull();
    heap.check();
  });

  it("reclaim of a departed thread flushes its cache, frees its slot, and the slot is reused (F4, F5)", () => {
    const heap = newHeap(3);
    const gone = Heap.attach(heap.buffer);
    const keep = gone.malloc(700); // a block the departed thread leaves live: ownership moves to us
    warm(gone);
    const audit = auditCaches(heap, new Set([keep]));
    expect(audit.entries).toBeGreaterThan(0);
    const slot = gone.threadSlot;
    const report = heap.reclaim(gone.threadId);
    expect(report).toEqual({ slot, threadId: gone.threadId, badCacheEntries: 0, cacheRecordBad: false });
    expect(heap.reclaim(gone.threadId)).toBeNull();
    checkAll(heap, [keep]);
    expect(auditCaches(heap).caches).toBe(0);
    const next = Heap.attach(heap.buffer);
    expect(next.threadSlot).toBe(slot);
    next.free(keep);
    next.detach();
    checkAll(heap);
    expect(allocated(heap)).toBe(0);
  });

  it("reclaim validates every cached offset: corrupted entries are counted and dropped, never freed", () => {
    const heap = newHeap();
    const gone = Heap.attach(heap.buffer);
    const victim = heap.malloc(128); // live, of another class: must survive the reclaim
    const ps = Array.from({ length: 8 }, () => gone.malloc(64));
    for (const p of ps) gone.free(p);
    const ind = heap.ctx.sc.size2index(64);
    const w = cacheBinW(heap, gone.threadSlot, ind);
    const u32 = heap.u32;
    const head = u32[w + TBIN_W_HEAD]!;
    const slots = u32[w + TBIN_W_SLOTS]!;
    expect(u32[w + TBIN_W_CAP]! - head).toBeGreaterThanOrEqual(5);
    // Overwrite four entries; their original regions stay allocated (we free them ourselves below).
    const originals = [0, 1, 2, 4].map((k) => u32[slots + head + k]!);
    u32[slots + head] = 12345; // garbage: inside the heap header
    u32[slots + head + 1] = u32[slots + head + 1]! + 8; // interior pointer
    u32[slots + head + 2] = u32[slots + head + 3]!; // the same region twice
    u32[slots + head + 4] = victim; // a live region of another class
    const report = heap.reclaim(gone.threadId);
    expect(report).not.toBeNull();
    expect(report!.cacheRecordBad).toBe(false);
    expect(report!.badCacheEntries).toBe(4);
    heap.check();
    expect(heap.mallocUsableSize(victim)).toBe(128);
    checkAll(heap, [victim, ...originals]);
    for (const p of originals) heap.free(p);
    heap.free(victim);
    heap.mallctl("thread.tcache.enabled", false);
    checkAll(heap);
    expect(allocated(heap)).toBe(0);
  });

  it("reclaim refuses a cache record with corrupted geometry: leaked, reported, the heap intact", () => {
    const heap = newHeap();
    const gone = Heap.attach(heap.buffer);
    warm(gone, [64, 256]);
    const audit = auditCaches(heap);
    expect(audit.caches).toBe(1);
    const w = cacheBinW(heap, gone.threadSlot, heap.ctx.sc.size2index(256));
    heap.u32[w + TBIN_W_CAP] = heap.u32[w + TBIN_W_CAP]! + 1000;
    const report = heap.reclaim(gone.threadId);
    expect(report!.cacheRecordBad).toBe(true);
    expect(heap.reclaim(gone.threadId)).toBeNull(); // the slot is free all the same
    heap.check();
    // Exactly the untrusted cache (its regions and its stack block) is leaked, nothing more.
    expect(allocated(heap)).toBe(expectedAllocated(heap, audit, 0));
    const p = heap.malloc(256);
    heap.free(p);
    heap.check();
  });
});

describe("workers that are terminated", () => {
  it("heap.watch reclaims on exit; heap.reclaim does it on demand; kept blocks stay intact", async () => {
    const heap = newHeap();
    const park = new SharedArrayBuffer(4);
    const a = spawnTsWorker(HOLDER, { buffer: heap.buffer, park });
    const b = spawnTsWorker(HOLDER, { buffer: heap.buffer, park });
    workers.push(a, b);
    heap.watch(a);
    const [ra, rb] = await Promise.all([firstMessage<HolderReply>(a), firstMessage<HolderReply>(b)]);
    const kept = [...ra.kept, ...rb.kept];
    const before = auditCaches(heap, new Set(kept));
    expect(before.problems).toEqual([]);
    expect(before.caches).toBe(2);

    const exitA = new Promise((r) => a.once("exit", r));
    await a.terminate();
    await exitA;
    expect(heap.reclaim(ra.threadId)).toBeNull(); // watch got there first
    const exitB = new Promise((r) => b.once("exit", r));
    await b.terminate();
    await exitB;
    const report = heap.reclaim(rb.threadId);
    expect(report).toEqual({
      slot: rb.slot,
      threadId: rb.threadId,
      badCacheEntries: 0,
      cacheRecordBad: false,
    });

    for (const p of kept) expect(verifyBlock(heap, p)).toBeTypeOf("number");
    checkAll(heap, kept);
    expect(auditCaches(heap).caches).toBe(0);
    for (const p of kept) heap.free(p);
    heap.mallctl("thread.tcache.enabled", false);
    checkAll(heap);
    expect(allocated(heap)).toBe(0);
    // Both slots are free again.
    const h1 = Heap.attach(heap.buffer);
    const h2 = Heap.attach(heap.buffer);
    expect([h1.threadSlot, h2.threadSlot].sort()).toEqual([ra.slot, rb.slot].sort());
  });
});
