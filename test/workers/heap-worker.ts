/**
 * Worker for the heap stress test (test/stress/heap-workers.test.ts): attaches to the heap, waits for
 * GO, then runs a mimalloc-style loop — allocate, maybe free a random block of its own, maybe swap a
 * block through the shared transfer table (Atomics.exchange), so many frees are of blocks another
 * worker allocated. Every block carries a header (requested size; seed | allocating worker) and a fill
 * pattern, verified before every free or realloc; every live block holds a claim in the shared
 * ClaimMap, so two live blocks that overlap — from any workers — collide. Replies with its tallies.
 */
import { parentPort, workerData } from "node:worker_threads";
import { Heap } from "../../src/heap.js";
import { ClaimMap, fillPattern, findPatternMismatch, prng } from "../helpers/ledger.js";
import { CTL_GO, CTL_READY, HEADER_BYTES, type HeapWorkerData, type HeapWorkerReply } from "./heap-common.js";

const d = workerData as HeapWorkerData;
const heap = Heap.attach(d.buffer);
const claims = new ClaimMap(d.claims);
const transfer = new Int32Array(d.transfer);
const ctl = new Int32Array(d.ctl);
const rnd = prng(d.seed);
const reply: HeapWorkerReply = {
  ms: 0,
  index: d.index,
  allocs: 0,
  frees: 0,
  crossFrees: 0,
  reallocs: 0,
  exchanges: 0,
  failures: 0,
  violations: [],
};

function violation(msg: string): void {
  if (reply.violations.length < 20) reply.violations.push(`worker ${d.index}: ${msg}`);
}

function drawSize(): number {
  const r = rnd();
  if (d.hugeEvery > 0 && r % d.hugeEvery === 0) return 8 * 1024 * 1024 + (rnd() % (1024 * 1024));
  if (r % 100 === 0) return 16 * 1024 + (rnd() % (1024 * 1024)); // ~1% large
  return HEADER_BYTES + (rnd() % (8 << (rnd() % 10))); // small, skewed to tiny
}

let seedNext = 1;
function stampBlock(p: number, size: number): void {
  const seed = (seedNext++ & 0x0fffffff) >>> 0;
  heap.dv.setUint32(p, size, true);
  heap.dv.setUint32(p + 4, ((seed << 4) | d.index) >>> 0, true);
  fillPattern(heap.u8, p + HEADER_BYTES, size - HEADER_BYTES, seed);
}

/** Verifies a block's header and pattern; returns its requested size (0 if broken). */
function verifyBlock(p: number, what: string): number {
  const size = heap.dv.getUint32(p, true);
  const word = heap.dv.getUint32(p + 4, true);
  const usable = heap.mallocUsableSize(p);
  if (size < HEADER_BYTES || size > usable) {
    violation(`${what}: block ${p} header says ${size} bytes, usable ${usable}`);
    return 0;
  }
  const at = findPatternMismatch(heap.u8, p + HEADER_BYTES, size - HEADER_BYTES, word >>> 4);
  if (at >= 0) {
    violation(
      `${what}: block ${p} (${size} bytes, from worker ${word & 15}) byte ${at + HEADER_BYTES} overwritten`,
    );
    return 0;
  }
  return size;
}

function allocate(): number {
  const size = drawSize();
  const p = heap.malloc(size);
  if (p === 0) {
    reply.failures++;
    return 0;
  }
  reply.allocs++;
  const usable = heap.mallocUsableSize(p);
  const clash = claims.claim(p, usable);
  if (clash >= 0) violation(`malloc(${size}) = ${p} (usable ${usable}) overlaps a live block at ${clash}`);
  stampBlock(p, size);
  return p;
}

function release(p: number): void {
  const size = verifyBlock(p, "free");
  if (size === 0) return; // leave it: the test fails on the violation, and freeing garbage helps no one
  if ((heap.dv.getUint32(p + 4, true) & 15) >>> 0 !== d.index) reply.crossFrees++;
  const bad = claims.release(p, heap.mallocUsableSize(p));
  if (bad >= 0) violation(`free(${p}): granule ${bad} was not claimed`);
  if (rnd() % 2 === 0) heap.free(p);
  else heap.sdallocx(p, size);
  reply.frees++;
}

function resize(p: number): number {
  const old = verifyBlock(p, "realloc");
  if (old === 0) return p;
  const size = drawSize();
  const oldUsable = heap.mallocUsableSize(p);
  claims.release(p, oldUsable);
  const q = heap.realloc(p, size);
  if (q === 0) {
    reply.failures++;
    claims.claim(p, oldUsable);
    return p;
  }
  reply.reallocs++;
  const usable = heap.mallocUsableSize(q);
  const clash = claims.claim(q, usable);
  if (clash >= 0) violation(`realloc(${p}, ${size}) = ${q} overlaps a live block at ${clash}`);
  const word = heap.dv.getUint32(q + 4, true);
  const keep = Math.min(old, size);
  const at = findPatternMismatch(heap.u8, q + HEADER_BYTES, keep - HEADER_BYTES, word >>> 4);
  if (at >= 0)
    violation(`realloc(${p}, ${size}) = ${q}: byte ${at + HEADER_BYTES} of ${keep} kept bytes differs`);
  stampBlock(q, size);
  return q;
}

Atomics.add(ctl, CTL_READY, 1);
Atomics.notify(ctl, CTL_READY);
while (Atomics.load(ctl, CTL_GO) === 0) Atomics.wait(ctl, CTL_GO, 0, 50);

const t0 = performance.now();
const local: number[] = [];
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
  } else if (r < 71 && local.length > 0) {
    const j = rnd() % local.length;
    local[j] = resize(local[j]!);
  }
  if (rnd() % 100 < 25 && local.length > 0) {
    const j = rnd() % local.length;
    const got = Atomics.exchange(transfer, rnd() % transfer.length, local[j]!) >>> 0;
    reply.exchanges++;
    if (got !== 0) local[j] = got;
    else {
      local[j] = local[local.length - 1]!;
      local.pop();
    }
  }
}
for (const p of local) release(p);
reply.ms = Math.round(performance.now() - t0);
heap.detach();
parentPort?.postMessage(reply);
