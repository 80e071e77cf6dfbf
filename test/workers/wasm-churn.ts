/**
 * Worker for the WebAssembly growth stress: attaches to the heap in the shared memory, instantiates the
 * list module, and for `rounds` rounds builds a list (larger each round, so the memory keeps growing while
 * other threads run), checks it from wasm and through the heap's views, frees half, checks, frees the rest.
 * Replies with the number of inconsistencies seen (0 expected).
 */
import { parentPort, workerData } from "node:worker_threads";
import { Heap } from "../../src/index.js";
import { instantiateList } from "../helpers/wasm.js";

const { memory, bytes, rounds, seed } = workerData as {
  memory: WebAssembly.Memory;
  bytes: Uint8Array;
  rounds: number;
  seed: number;
};
const heap = Heap.attach(memory);
const m = instantiateList(bytes, memory, heap.wasmImports());
let bad = 0;
let why = "";
let maxMemory = 0;
for (let r = 0; r < rounds; r++) {
  const n = 200 + ((r * 97 + seed * 31) % 400) + (r % 40) * 20; // sizes cycle: the memory has a maximum
  const payload = 64 + ((r + seed) % 5) * 700;
  const head = m.build(n, payload);
  if (head === 0) {
    bad++;
    why = `round ${r}: malloc failed (lastError ${heap.lastError}, memory ${memory.buffer.byteLength} bytes)`;
    break;
  }
  let i = 0;
  // Bounded: a corrupted list (a block handed out twice) may loop; it counts as bad instead of hanging.
  for (let node = head; node !== 0 && i <= n; node = heap.u32[node >>> 2]!, i++) {
    const v = heap.u32[(node + 4) >>> 2]!;
    const p = heap.u32[(node + 8) >>> 2]!;
    if (v !== i || heap.u32[p >>> 2] !== v * 3) bad++;
  }
  if (i !== n) {
    bad++;
    why = `round ${r}: the list has ${i} nodes, not ${n}`;
    break;
  }
  if (m.sum(head) !== (n * (n - 1)) / 2) bad++;
  if (m.free_odd(head) !== Math.floor(n / 2)) bad++;
  m.free_all(head);
  maxMemory = Math.max(maxMemory, memory.buffer.byteLength);
}
heap.detach();
parentPort!.postMessage({ bad, why, maxMemory });
