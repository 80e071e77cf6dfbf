/**
 * Worker for test/integration/wasm-killed.test.ts: attaches to the heap inside the shared memory it is
 * given, grows the memory with `growBytes` of blocks it frees again, allocates blocks it keeps (each
 * stamped with its own word) and reports them, then arms the test-only failpoint `point` and runs an
 * allocation that reaches it inside the heap's call (its view end published, see src/wasm/space.ts).
 * There it parks for good, until it is terminated.
 */
import { parentPort, workerData } from "node:worker_threads";
import { Heap } from "../../src/index.js";

export interface WasmParkData {
  memory: WebAssembly.Memory;
  ctl: SharedArrayBuffer;
  /** "bin.locked", "map.locked" or "wasm.grow.locked" (the handle growing the memory). */
  point: string;
  growBytes: number;
}
export interface WasmParkReply {
  threadId: number;
  slot: number;
  /** [module address, size, stamp] of every block it keeps. */
  kept: [number, number, number][];
}
/** ctl word set to 1 once the worker sits at the failpoint (the test reads word 0). */
const PARK_PARKED = 0;
const PARK_NEVER = 1;
const KEPT_SIZES = [48, 48, 48, 64, 1024, 20 << 10, 300 << 10];

const d = workerData as WasmParkData;
const ctl = new Int32Array(d.ctl);
const heap = Heap.attach(d.memory, { lockTimeoutMs: 8000 });

const grown: number[] = [];
for (let n = 0; n < d.growBytes; n += 1 << 20) grown.push(heap.malloc(1 << 20));
const kept: [number, number, number][] = [];
for (let i = 0; i < 40; i++) {
  const size = KEPT_SIZES[i % KEPT_SIZES.length]!;
  const p = heap.malloc(size);
  const stamp = (0x5a000000 + heap.threadId * 4096 + i) >>> 0;
  heap.u32.fill(stamp, p >>> 2, (p + size) >>> 2);
  kept.push([p, size, stamp]);
}
for (const p of grown) heap.free(p);
// Freed small blocks of the parking size class sit in this thread's cache when it is killed.
for (const p of Array.from({ length: 8 }, () => heap.malloc(48))) heap.free(p);
const reply: WasmParkReply = { threadId: heap.threadId, slot: heap.ctx.slot, kept };
parentPort!.postMessage(reply);

heap.ctx.failpoint = (name: string) => {
  if (name !== d.point) return;
  heap.ctx.failpoint = null;
  Atomics.store(ctl, PARK_PARKED, 1);
  Atomics.notify(ctl, PARK_PARKED);
  for (;;) Atomics.wait(ctl, PARK_NEVER, 0, 1000);
};
// bin.locked: a class this thread never used (its cache fills); map.locked: more than any free extent
// (the arena maps); wasm.grow.locked: 1 MiB blocks until a call grows the memory.
if (d.point === "bin.locked") heap.malloc(3072);
else if (d.point === "map.locked") heap.malloc(16 << 20);
else for (let i = 0; i < 4096; i++) heap.malloc(1 << 20);
parentPort!.postMessage({ error: `failpoint ${d.point} was never reached` });
