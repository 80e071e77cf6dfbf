/**
 * The browser demo's page script (served by `jemalloc-ts demo --browser`): one heap on the page,
 * N module Web Workers exchanging Msg records through it (demo_page_worker.ts), background purge threads
 * if the page may start them, and the live heap map (heap.map() → heapMapSvg) redrawn with the
 * statistics next to it. The page never blocks: its locks spin, map() takes each arena's lock briefly.
 */

import { heapMapSvg } from "../heap/map_svg.js";
import { Heap } from "../heap.js";
import { Inbox } from "./demo_layout.js";

interface El {
  innerHTML: string;
  textContent: string | null;
  onclick: (() => void) | null;
}
interface WebWorker {
  postMessage(m: unknown): void;
  terminate(): void;
  onmessage: ((ev: { data: unknown }) => void) | null;
}
const doc = (globalThis as unknown as { document: { getElementById(id: string): El } }).document;
const WorkerCtor = (globalThis as unknown as { Worker: new (u: URL, o: object) => WebWorker }).Worker;

const NWORKERS = 4;
const REDRAW_MS = 300;

function statsText(heap: Heap, started: number, sent: number[]): string {
  heap.mallctl("epoch", 1);
  const g = (n: string) => Number(heap.mallctl(n));
  const mib = (n: number) => `${(n / 2 ** 20).toFixed(2)} MiB`;
  const lines = [
    `running ${((performance.now() - started) / 1000).toFixed(1)} s, ${NWORKERS} workers`,
    `allocated ${mib(g("stats.allocated"))}`,
    `active    ${mib(g("stats.active"))}`,
    `resident  ${mib(g("stats.resident"))}`,
    `mapped    ${mib(g("stats.mapped"))}`,
    `retained  ${mib(g("stats.retained"))}`,
    `metadata  ${mib(g("stats.metadata"))}`,
    `background threads: ${heap.mallctl("background_thread") ? g("stats.background_thread.num_threads") : "off"}`,
    "",
    ...sent.map((n, i) => `worker ${i}: received ${n}`),
  ];
  return lines.join("\n");
}

function main(): void {
  const heap = Heap.create({ maxBytes: 512 * 2 ** 20, conf: `narenas:${NWORKERS},dirty_decay_ms:3000` });
  const inboxes = heap.mallocx(Inbox.size * NWORKERS, 0x40 /* MALLOCX_ZERO */);
  try {
    heap.mallctl("background_thread", true);
  } catch (e) {
    doc.getElementById("note").textContent = `background threads not started: ${(e as Error).message}`;
  }
  const workers: WebWorker[] = [];
  for (let me = 0; me < NWORKERS; me++) {
    const w = new WorkerCtor(new URL("./demo_page_worker.js", import.meta.url), {
      type: "module",
      name: `demo ${me}`,
    });
    w.postMessage({ buffer: heap.buffer, me, nworkers: NWORKERS, inboxes });
    workers.push(w);
  }
  const started = performance.now();
  let running = true;
  const received = () =>
    Array.from({ length: NWORKERS }, (_, i) => Inbox.fields.received.load(heap, inboxes + i * Inbox.size));
  const redraw = (): void => {
    doc.getElementById("map").innerHTML = heapMapSvg(heap.map(), { title: "live heap map", widthPx: 900 });
    doc.getElementById("stats").textContent = statsText(heap, started, received());
    if (running) setTimeout(redraw, REDRAW_MS);
  };
  doc.getElementById("stop").onclick = () => {
    if (!running) return;
    running = false;
    for (const w of workers) w.postMessage({ stop: true });
    setTimeout(redraw, 1000);
  };
  redraw();
  (globalThis as unknown as { demo: unknown }).demo = { heap, workers };
}

main();
