/**
 * Worker for test/stress/kill-campaign.test.ts: a mixed load that can be terminated anywhere.
 * Allocates mixed sizes (80 % 8 B..2 KiB, 17 % 4..64 KiB, 3 % 128 KiB..1 MiB), frees its own blocks
 * or hands them to another worker through a lock-free mailbox (cross-worker frees), and frees what
 * others handed over. Each block is stamped (size, owner, serial at both ends) and verified before it
 * is freed, so a block handed out twice shows up as a stamp mismatch. Between operations it parks
 * while the supervisor pauses the run (to check the heap at quiescence).
 * Messages: {kind: "attached"}, then possibly {kind: "poisoned"} (HeapPoisonedError from any call; the
 * worker then parks) or {kind: "error"} (anything else: a silent inconsistency surfacing).
 */
import { parentPort, workerData } from "node:worker_threads";
import { Heap } from "../../src/heap.js";
import {
  KC_AT_SAFE_POINT,
  KC_MAILBOX_SLOTS,
  KC_OP_ATTACH,
  KC_OP_DETACH,
  KC_OP_FREE,
  KC_OP_MALLOC,
  KC_OP_NONE,
  KC_OPS,
  KC_PARKED,
  KC_PAUSE,
  KC_PAUSED,
  KC_RUNNING,
  KC_STOP,
  KC_WARG,
  KC_WOP,
  KC_WORDS,
  KC_WSTATE,
  type KillWorkerData,
} from "./kill-common.js";

const d = workerData as KillWorkerData;
const ctl = new Int32Array(d.ctl);
const mailbox = new Int32Array(d.mailbox);
/** Records the operation in progress (plain stores: read by the supervisor only for a hang report). */
function doing(op: number, arg: number): void {
  ctl[KC_WOP + d.index] = op;
  ctl[KC_WARG + d.index] = arg;
}
Atomics.store(ctl, KC_WSTATE + d.index, KC_RUNNING);
doing(KC_OP_ATTACH, 0);
const heap = Heap.attach(d.buffer, { lockTimeoutMs: d.lockTimeoutMs });
doing(KC_OP_NONE, 0);
const post = (m: Record<string, unknown>) => parentPort?.postMessage({ index: d.index, ...m });

let rng = d.seed >>> 0 || 1;
function rand(): number {
  rng ^= rng << 13;
  rng ^= rng >>> 17;
  rng ^= rng << 5;
  return (rng >>> 0) / 2 ** 32;
}

function pickSize(): number {
  const r = rand();
  if (r < 0.8) return 8 + Math.floor(rand() * 2041);
  if (r < 0.97) return 4096 + Math.floor(rand() * 61441);
  return (128 << 10) + Math.floor(rand() * (896 << 10));
}

let serial = 0;
function stamp(p: number, size: number): void {
  const tag = ((d.index & 0xff) << 24) | (++serial & 0xffffff);
  heap.dv.setUint32(p, size, true);
  heap.dv.setUint32(p + 4, tag, true);
  if (size >= 12) heap.dv.setUint32(p + size - 4, tag ^ 0x5a5a5a5a, true);
}

function verifyAndFree(p: number): void {
  const size = heap.dv.getUint32(p, true);
  const tag = heap.dv.getUint32(p + 4, true);
  const tail = size < 12 || heap.dv.getUint32(p + size - 4, true) === (tag ^ 0x5a5a5a5a) >>> 0;
  if (size < 8 || size > heap.mallocUsableSize(p) || !tail)
    throw new Error(`block ${p}: stamp broken (size ${size}, tag ${tag}): handed out twice?`);
  doing(KC_OP_FREE, p);
  heap.free(p);
  doing(KC_OP_NONE, 0);
}

function safePoint(): void {
  if (Atomics.load(ctl, KC_PAUSE) === 0) return;
  Atomics.store(ctl, KC_WSTATE + d.index, KC_AT_SAFE_POINT);
  Atomics.add(ctl, KC_PAUSED, 1);
  while (Atomics.load(ctl, KC_PAUSE) !== 0) Atomics.wait(ctl, KC_PAUSE, 1, 50);
  Atomics.sub(ctl, KC_PAUSED, 1);
  Atomics.store(ctl, KC_WSTATE + d.index, KC_RUNNING);
}

function parkForever(): never {
  Atomics.store(ctl, KC_WSTATE + d.index, KC_PARKED);
  Atomics.add(ctl, KC_PAUSED, 1);
  for (;;) Atomics.wait(ctl, KC_WORDS, 0, 1000);
}

const live: number[] = [];
/** Removes a random live block in O(1). */
function takeLive(): number {
  const i = Math.floor(rand() * live.length);
  const v = live[i]!;
  live[i] = live[live.length - 1]!;
  live.pop();
  return v;
}

function step(): void {
  const r = rand();
  if (r < 0.5 || live.length === 0) {
    if (live.length >= d.maxLive) {
      verifyAndFree(takeLive());
      return;
    }
    const size = pickSize();
    doing(KC_OP_MALLOC, size);
    const p = heap.malloc(size);
    doing(KC_OP_NONE, 0);
    if (p === 0) return; // out of memory: a documented result
    stamp(p, size);
    live.push(p);
  } else if (r < 0.75) {
    verifyAndFree(takeLive());
  } else if (r < 0.88) {
    const p = takeLive();
    const i = Math.floor(rand() * KC_MAILBOX_SLOTS);
    if (Atomics.compareExchange(mailbox, i, 0, p) !== 0) verifyAndFree(p);
  } else {
    const p = Atomics.exchange(mailbox, Math.floor(rand() * KC_MAILBOX_SLOTS), 0);
    if (p !== 0) verifyAndFree(p);
  }
}

post({ kind: "attached", threadId: heap.threadId });
try {
  while (Atomics.load(ctl, KC_STOP) === 0) {
    safePoint();
    step();
    Atomics.add(ctl, KC_OPS, 1);
  }
  for (const p of live) verifyAndFree(p);
  doing(KC_OP_DETACH, 0);
  heap.detach();
  process.exit(0);
} catch (e) {
  const err = e as Error;
  post({
    kind: err.name === "HeapPoisonedError" ? "poisoned" : "error",
    name: err.name,
    message: err.message,
  });
  parkForever();
}
