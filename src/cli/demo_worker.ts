/**
 * A demo worker: attaches to the shared heap, sends `records` messages to the next worker (each a
 * freshly allocated Msg record pushed onto that worker's inbox), and frees every message it receives
 * after checking its checksum — so most frees are of blocks another worker allocated.
 */
import { parentPort, workerData } from "node:worker_threads";
import { Heap } from "../heap.js";
import { checksumOf, Inbox, Msg } from "./demo_layout.js";

interface DemoWorkerData {
  buffer: SharedArrayBuffer;
  me: number;
  nworkers: number;
  records: number;
  inboxes: number;
}

const d = workerData as DemoWorkerData;
const heap = Heap.attach(d.buffer);
const inboxAt = (i: number) => d.inboxes + i * Inbox.size;
const head = Inbox.fields.head;
const myInbox = inboxAt(d.me);
const target = inboxAt((d.me + 1) % d.nworkers);
let badChecksums = 0;
let freed = 0;

function drain(): void {
  // Take the whole stack at once, then walk it.
  let p = head.exchange(heap, myInbox, 0);
  while (p !== 0) {
    const m = Msg.at(heap, p);
    const pl = m.payload;
    if (checksumOf(pl[0]!, pl[1]!, pl[2]!, pl[3]!, m.seq) !== m.checksum) badChecksums++;
    const next = m.next;
    Msg.free(heap, p);
    freed++;
    Inbox.fields.received.add(heap, myInbox, 1);
    p = next;
  }
}

for (let seq = 0; seq < d.records; seq++) {
  const p = Msg.alloc(heap);
  if (p === 0) throw new Error(`worker ${d.me}: out of memory at message ${seq}`);
  const m = Msg.at(heap, p);
  const x = d.me + seq / 7;
  m.from = d.me;
  m.seq = seq;
  m.payload.set([x, x * 2, x * 3, x * 4]);
  m.checksum = checksumOf(x, x * 2, x * 3, x * 4, seq);
  // push: compareExchange loop on the target's head
  for (;;) {
    const old = head.load(heap, target);
    m.next = old;
    if (head.compareExchange(heap, target, old, p) === old) break;
  }
  if ((seq & 63) === 0) drain();
}
Inbox.fields.done.store(heap, myInbox, 1);
Inbox.fields.done.notify(heap, myInbox);
// Keep draining until the sender to us has finished and our inbox is empty.
const sender = inboxAt((d.me + d.nworkers - 1) % d.nworkers);
while (Inbox.fields.done.load(heap, sender) === 0 || head.load(heap, myInbox) !== 0) {
  drain();
  Inbox.fields.done.wait(heap, sender, 0, 5);
}
drain();
const stats = { me: d.me, threadId: heap.threadId, freed, badChecksums };
heap.detach();
parentPort?.postMessage(stats);
