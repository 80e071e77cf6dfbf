/**
 * Worker of the struct integration test: attaches the heap, pushes `count` nodes onto the shared stack,
 * waits for every worker at a barrier on an atomic field, then walks the whole stack, checks each node and
 * counts its visit atomically.
 */
import { parentPort, workerData } from "node:worker_threads";
import { attachHeap, detachHeap } from "./struct-heap.js";
import {
  ListHead,
  type ListWorkerData,
  type ListWorkerReply,
  Node,
  nodeLabel,
  nodeValue,
} from "./struct-list.js";

const { buffer, head, worker, workers, count } = workerData as ListWorkerData;
const heap = attachHeap(buffer);
const top = ListHead.fields.top;
const arrived = ListHead.fields.arrived;
const errors: string[] = [];
const node = Node.bind(heap);

for (let seq = 0; seq < count; seq++) {
  const n = Node.alloc(heap, {
    worker,
    seq,
    value: nodeValue(worker, seq),
    id: BigInt(worker) * 2n ** 40n + BigInt(seq),
    label: nodeLabel(worker, seq),
    checksum: [worker, seq & 0xff, (worker + seq) & 0xff],
  });
  if (n === 0) throw new Error(`worker ${worker}: out of memory at node ${seq}`);
  for (;;) {
    const old = top.load(heap, head);
    node.next.set(n, old);
    if (top.compareExchange(heap, head, old, n) === old) break;
  }
}

// Barrier: the last worker to arrive wakes the rest.
if (arrived.add(heap, head, 1) + 1 === workers) arrived.notify(heap, head);
for (let a = arrived.load(heap, head); a < workers; a = arrived.load(heap, head)) {
  arrived.wait(heap, head, a, 1000);
}

// Walk with a cursor (and a bound on the steps, so a broken link cannot hang the test).
let walked = 0;
const limit = workers * count;
const c = Node.cursor(heap, top.load(heap, head));
for (let p = top.load(heap, head); p !== 0; p = c.next) {
  if (walked++ > limit) {
    errors.push(`walk of worker ${worker} did not end after ${limit} nodes`);
    break;
  }
  c.$ptr = p;
  const w = c.worker;
  const s = c.seq;
  if (
    c.value !== nodeValue(w, s) ||
    c.label !== nodeLabel(w, s) ||
    c.id !== BigInt(w) * 2n ** 40n + BigInt(s)
  ) {
    errors.push(
      `node ${p}: ${JSON.stringify(Node.read(heap, p), (_, v) => (typeof v === "bigint" ? `${v}` : v))}`,
    );
  }
  if (c.checksum[0] !== w || c.checksum[1] !== (s & 0xff)) errors.push(`node ${p}: bad checksum`);
  Node.fields.visits.add(heap, p, 1);
}

detachHeap(heap);
const reply: ListWorkerReply = { worker, walked, errors: errors.slice(0, 10) };
parentPort!.postMessage(reply);
