/**
 * Worker for test/stress/workers-tcache.test.ts (RELIABILITY.md §6.4 shape, thread cache on): attaches,
 * waits for GO, then runs a mimalloc-style loop — allocate (powers of two, ~1% large, a few huge; a few
 * through MALLOCX_TCACHE_NONE), free a random block of its own 66% of the time (free / sdallocx /
 * dallocx with MALLOCX_TCACHE_NONE), sometimes realloc, and swap a block through the shared transfer
 * table with Atomics.exchange 25% of the time, so many frees are of blocks other workers — possibly
 * long gone — allocated. Every block is stamped (header + pattern) and verified before it is freed or
 * resized; every live block holds a claim in the shared ClaimMap, so overlapping live blocks collide.
 *
 * End "detach": frees half of its blocks, publishes the rest in its owned table, detach(), replies, exits.
 * End "park": publishes all its blocks (its cache stays full), replies, and waits to be terminated.
 */
import { parentPort, workerData } from "node:worker_threads";
import { MALLOCX_TCACHE_NONE } from "../../src/flags.js";
import { Heap } from "../../src/heap.js";
import { ClaimMap, findPatternMismatch, prng } from "../helpers/ledger.js";
import { blockUid, HEADER_BYTES, stampBlock, verifyBlock } from "../helpers/ledger-tc.js";
import {
  CTL_ATTACH,
  CTL_GO,
  CTL_PARK,
  CTL_READY,
  OWNED_COUNT,
  OWNED_FIRST,
  type StressWorkerData,
  type StressWorkerReply,
} from "./tc-common.js";

const d = workerData as StressWorkerData;
const ctl = new Int32Array(d.ctl);
while (Atomics.load(ctl, CTL_ATTACH) === 0) Atomics.wait(ctl, CTL_ATTACH, 0, 50);
const heap = Heap.attach(d.buffer);
const claims = new ClaimMap(d.claims);
const transfer = new Int32Array(d.transfer);
const rnd = prng(d.seed);
const reply: StressWorkerReply = {
  uid: d.uid,
  threadId: heap.threadId,
  ms: 0,
  allocs: 0,
  frees: 0,
  crossFrees: 0,
  exchanges: 0,
  reallocs: 0,
  failures: 0,
  published: 0,
  violations: [],
};

/** The last few operations, for the report when something goes wrong. */
const recent: string[] = [];
function note(op: string): void {
  if (recent.length === 16) recent.shift();
  recent.push(op);
}

function violation(msg: string): void {
  if (reply.violations.length < 20) {
    reply.violations.push(
      `worker uid ${d.uid} (thread ${reply.threadId}): ${msg}; last ops: ${recent.join(", ")}`,
    );
  }
}

function drawSize(): number {
  const r = rnd();
  if (d.hugeEvery > 0 && r % d.hugeEvery === 0) return 8 << 20;
  if (r % 100 === 0) return 16384 << (rnd() % 7); // ~1% large: 16 KiB .. 1 MiB
  return HEADER_BYTES << (rnd() % 10); // small: 8 .. 4096
}

let counter = 1;
function nextSeed(): number {
  counter = (counter + 1) & 0xffffff;
  return ((counter << 8) | d.uid) >>> 0;
}

function allocate(): number {
  const size = drawSize();
  const none = rnd() % 50 === 0;
  const p = none ? heap.mallocx(size, MALLOCX_TCACHE_NONE) : heap.malloc(size);
  note(`${none ? "mallocx-none" : "malloc"}(${size})=${p}`);
  if (!Number.isInteger(p)) {
    violation(`malloc(${size}) returned ${p}`);
    return 0;
  }
  if (p === 0) {
    reply.failures++;
    return 0;
  }
  reply.allocs++;
  const usable = heap.mallocUsableSize(p);
  const clash = claims.claim(p, usable);
  if (clash >= 0) violation(`malloc(${size}) = ${p} (usable ${usable}) overlaps a live block at ${clash}`);
  stampBlock(heap, p, size, nextSeed());
  return p;
}

function release(p: number): void {
  const size = verifyBlock(heap, p);
  if (typeof size === "string") {
    violation(`free: ${size}`);
    return; // leave it: the test fails on the violation
  }
  if (blockUid(heap, p) !== d.uid) reply.crossFrees++;
  const bad = claims.release(p, heap.mallocUsableSize(p));
  if (bad >= 0) violation(`free(${p}): granule ${bad} was not claimed`);
  const r = rnd() % 100;
  note(
    `${r < 2 ? "dallocx-none" : r < 50 ? "free" : "sdallocx"}(${p}, ${size}) from uid ${blockUid(heap, p)}`,
  );
  if (r < 2) heap.dallocx(p, MALLOCX_TCACHE_NONE);
  else if (r < 50) heap.free(p);
  else heap.sdallocx(p, size);
  reply.frees++;
}

function resize(p: number): number {
  const old = verifyBlock(heap, p);
  if (typeof old === "string") {
    violation(`realloc: ${old}`);
    return p;
  }
  const seed = heap.dv.getUint32(p + 4, true);
  const size = drawSize();
  const oldUsable = heap.mallocUsableSize(p);
  claims.release(p, oldUsable);
  const q = heap.realloc(p, size);
  note(`realloc(${p}, ${size})=${q}`);
  if (!Number.isInteger(q)) {
    violation(`realloc(${p}, ${size}) returned ${q}`);
    return p;
  }
  if (q === 0) {
    reply.failures++;
    claims.claim(p, oldUsable);
    return p;
  }
  reply.reallocs++;
  const usable = heap.mallocUsableSize(q);
  const clash = claims.claim(q, usable);
  if (clash >= 0) violation(`realloc(${p}, ${size}) = ${q} overlaps a live block at ${clash}`);
  const keep = Math.min(old, size);
  const at = findPatternMismatch(heap.u8, q + HEADER_BYTES, keep - HEADER_BYTES, seed);
  if (at >= 0)
    violation(`realloc(${p}, ${size}) = ${q}: byte ${at + HEADER_BYTES} of ${keep} kept bytes differs`);
  stampBlock(heap, q, size, nextSeed());
  return q;
}

function publish(blocks: number[]): void {
  const owned = new Int32Array(d.owned);
  if (blocks.length > owned.length - OWNED_FIRST) throw new RangeError("owned table too small");
  for (let i = 0; i < blocks.length; i++) owned[OWNED_FIRST + i] = blocks[i]!;
  Atomics.store(owned, OWNED_COUNT, blocks.length);
  reply.published = blocks.length;
}

Atomics.add(ctl, CTL_READY, 1);
Atomics.notify(ctl, CTL_READY);
while (Atomics.load(ctl, CTL_GO) === 0) Atomics.wait(ctl, CTL_GO, 0, 50);

const t0 = performance.now();
const local: number[] = [];
try {
  opLoop();
} catch (e) {
  // Report rather than crash, with the recent operations; the blocks are left as they are.
  violation(`threw ${(e as Error).stack ?? String(e)}`);
  local.length = 0;
}
reply.ms = Math.round(performance.now() - t0);

function opLoop(): void {
  for (let i = 0; i < d.ops; i++) {
    if (local.length < d.maxLive) {
      const p = allocate();
      if (p !== 0) local.push(p);
    }
    const r = rnd() % 100;
    if (r < 66 && local.length > 0) {
      const j = rnd() % local.length;
      release(local[j]!);
      local[j] = local[local.length - 1]!;
      local.pop();
    } else if (r < 69 && local.length > 0) {
      const j = rnd() % local.length;
      local[j] = resize(local[j]!);
    }
    if (rnd() % 100 < 25 && local.length > 0) {
      const j = rnd() % local.length;
      const slot = rnd() % transfer.length;
      const got = Atomics.exchange(transfer, slot, local[j]!) >>> 0;
      note(`exchange[${slot}] ${local[j]} -> ${got}`);
      reply.exchanges++;
      if (got !== 0) local[j] = got;
      else {
        local[j] = local[local.length - 1]!;
        local.pop();
      }
    }
    if (rnd() % 4000 === 0) heap.mallctl("thread.tcache.flush");
  }
}

if (d.end === "detach") {
  const rest: number[] = [];
  for (const p of local) {
    if (rnd() % 2 === 0) release(p);
    else rest.push(p);
  }
  publish(rest);
  heap.detach();
  parentPort?.postMessage(reply);
} else {
  publish(local);
  parentPort?.postMessage(reply);
  for (;;) Atomics.wait(ctl, CTL_PARK, 0, 1000);
}
