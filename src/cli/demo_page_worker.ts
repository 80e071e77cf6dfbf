/**
 * The browser demo's module Web Worker (see demo_browser.ts): attaches to the page's heap and, until the
 * page stops it, sends Msg records to the next worker's inbox and keeps what it receives in a live set
 * whose target size rises and falls over time (0 … 40 000 records; at most BACKLOG_MAX in flight), freeing the oldest (most frees are cross-thread), with
 * an occasional large block so the map shows large extents too. Works in slices and yields to its
 * event loop between them, so the page's "stop" message gets through. Counters go in its Inbox record.
 */
import { Heap } from "../heap.js";
import { checksumOf, Inbox, Msg } from "./demo_layout.js";

interface Start {
  buffer: SharedArrayBuffer;
  me: number;
  nworkers: number;
  inboxes: number;
}

interface Scope {
  onmessage: ((ev: { data: unknown }) => void) | null;
  postMessage(m: unknown): void;
}
const scope = globalThis as unknown as Scope;
const head = Inbox.fields.head;
const SLICE_MS = 8;
/** Messages in flight to the next worker at most (sent, not yet taken): memory stays bounded. */
const BACKLOG_MAX = 2048;

function run(d: Start): void {
  const heap = Heap.attach(d.buffer);
  const inboxAt = (i: number) => d.inboxes + i * Inbox.size;
  const mine = inboxAt(d.me);
  const target = inboxAt((d.me + 1) % d.nworkers);
  const live: number[] = [];
  const large: number[] = [];
  let seq = 0;
  let sent = 0;
  let stopped = false;
  scope.onmessage = (ev) => {
    if ((ev.data as { stop?: boolean }).stop) stopped = true;
  };
  const t0 = performance.now();
  const send = (): void => {
    const p = Msg.alloc(heap);
    const x = d.me + seq / 7;
    Msg.fields.from.set(heap, p, d.me);
    Msg.fields.seq.set(heap, p, seq);
    Msg.fields.checksum.set(heap, p, checksumOf(x, x * 2, x * 3, x * 4, seq));
    for (let k = 0; k < 4; k++) Msg.fields.payload.setAt(heap, p, k, x * (k + 1));
    for (;;) {
      const old = head.load(heap, target);
      Msg.fields.next.set(heap, p, old);
      if (head.compareExchange(heap, target, old, p) === old) break;
    }
    seq++;
    sent++;
  };
  const receive = (): void => {
    let p = head.exchange(heap, mine, 0);
    while (p !== 0) {
      live.push(p);
      Inbox.fields.received.add(heap, mine, 1);
      p = Msg.fields.next.get(heap, p);
    }
  };
  const slice = (): void => {
    if (stopped) {
      for (const p of live) Msg.free(heap, p);
      for (const p of large) heap.free(p);
      Inbox.fields.done.store(heap, mine, 1);
      heap.detach();
      scope.postMessage({ stopped: true });
      return;
    }
    const end = performance.now() + SLICE_MS;
    // Target live set: a slow wave per worker, 0 … 60 000 records.
    const phase = (performance.now() - t0) / 4000 + d.me;
    const want = Math.floor(20_000 * (1 + Math.sin(phase)));
    while (performance.now() < end) {
      const backlog = sent - Inbox.fields.received.load(heap, target);
      for (let i = 0; i < 64 && i + backlog < BACKLOG_MAX; i++) send();
      receive();
      while (live.length > want) Msg.free(heap, live.shift()!);
      if ((seq & 1023) === 0) {
        if (large.length > 6 || (large.length > 0 && Math.sin(phase * 3) < 0)) heap.free(large.shift()!);
        else large.push(heap.malloc(64 * 1024 * (1 + (seq % 7))));
      }
    }
    setTimeout(slice, 0);
  };
  slice();
}

scope.onmessage = (ev) => run(ev.data as Start);
