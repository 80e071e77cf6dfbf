/**
 * The main job (`npm start`): one heap in a SharedArrayBuffer, N worker threads attached to it, each
 * allocating Msg records (typed structs) and pushing them onto the next worker's inbox, each freeing
 * what it receives — cross-thread frees through the thread caches. Then the main thread checks the
 * whole heap, prints the statistics and writes the heap map (heapMapSvg) as an SVG file.
 * `--browser` serves the same demo to a browser instead (demo_browser.ts).
 */
import { writeFileSync } from "node:fs";
import { Worker } from "node:worker_threads";
import { heapMapSvg } from "../heap/map_svg.js";
import { Heap } from "../heap.js";
import { threadTcacheFlush } from "../tcache/index.js";
import { Inbox, Msg } from "./demo_layout.js";

export interface DemoOptions {
  workers: number;
  records: number;
  /** Where the heap map SVG goes at the end (null: not written). */
  mapFile?: string | null;
  /** Serve the browser demo instead, on this port (0: any). */
  browserPort?: number;
  /** How to start a worker (tests run TypeScript through a loader). */
  spawn?: (data: Record<string, unknown>) => Worker;
}

function parse(argv: string[]): DemoOptions {
  const o: DemoOptions = { workers: 4, records: 20000, mapFile: "jemalloc-ts-heap-map.svg" };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    if (a === "--browser") {
      o.browserPort ??= 0;
      continue;
    }
    if (a === "--port" || a === "--map") {
      const v = argv[i + 1];
      if (v === undefined || v === "") throw new RangeError(`demo: ${a} needs a value`);
      if (a === "--map") o.mapFile = v === "-" ? null : v;
      else {
        const port = Number(v);
        if (!Number.isInteger(port) || port < 0 || port > 65535)
          throw new RangeError(`demo: --port needs a port number in [0, 65535], got ${JSON.stringify(v)}`);
        o.browserPort = port;
      }
      i++;
      continue;
    }
    const v = Number(argv[i + 1]);
    if ((a === "--workers" || a === "--records") && (!Number.isInteger(v) || v < 1)) {
      throw new RangeError(`demo: ${a} needs a positive integer, got ${JSON.stringify(argv[i + 1] ?? "")}`);
    }
    if (a === "--workers") o.workers = v;
    else if (a === "--records") o.records = v;
    else throw new RangeError(`demo: unknown option ${a}`);
    i++;
  }
  if (o.workers < 2) throw new RangeError(`demo: --workers must be at least 2, got ${o.workers}`);
  return o;
}

const MiB = 2 ** 20;

export async function demo(
  o: DemoOptions,
  out: (s: string) => void,
): Promise<{ allocated: number; freed: number; bad: number }> {
  const heap = Heap.create({ maxBytes: 512 * MiB });
  const inboxes = heap.mallocx(Inbox.size * o.workers, 0x40 /* MALLOCX_ZERO */);
  const spawn =
    o.spawn ??
    ((data: Record<string, unknown>) =>
      new Worker(new URL("./demo_worker.js", import.meta.url), { workerData: data }));
  out(
    `jemalloc-ts demo: ${o.workers} workers, ${o.records} messages each (a ${Msg.size}-byte struct), one shared heap\n`,
  );
  const t0 = performance.now();
  const results = await Promise.all(
    Array.from({ length: o.workers }, (_, me) => {
      const w = spawn({ buffer: heap.buffer, me, nworkers: o.workers, records: o.records, inboxes });
      heap.watch(w);
      return new Promise<{ me: number; freed: number; badChecksums: number }>((resolve, reject) => {
        w.once("message", resolve);
        w.once("error", reject);
      });
    }),
  );
  const ms = performance.now() - t0;
  let freed = 0;
  let bad = 0;
  for (const r of results) {
    freed += r.freed;
    bad += r.badChecksums;
    out(`  worker ${r.me}: freed ${r.freed} messages sent by worker ${(r.me + o.workers - 1) % o.workers}\n`);
  }
  heap.free(inboxes);
  threadTcacheFlush(heap.ctx);
  const report = heap.check();
  heap.mallctl("epoch", 1);
  const g = (n: string) => heap.mallctl(n) as number;
  out(`  ${freed} messages exchanged in ${ms.toFixed(0)} ms, ${bad} bad checksums\n`);
  out(
    `  heap.check(): ok (${report.arenas} arenas, ${report.extents} extents, ${report.liveRegions} live regions)\n`,
  );
  out(
    `  stats: allocated ${g("stats.allocated")}, active ${g("stats.active")}, resident ${g("stats.resident")}, mapped ${g("stats.mapped")}, retained ${g("stats.retained")}, metadata ${g("stats.metadata")}\n`,
  );
  const narenas = g("arenas.narenas");
  for (let i = 0; i < narenas; i++) {
    let pactive: number;
    try {
      pactive = g(`stats.arenas.${i}.pactive`);
    } catch {
      continue;
    }
    out(
      `  arena ${i}: pactive ${pactive}, pdirty ${g(`stats.arenas.${i}.pdirty`)}, small allocated ${g(`stats.arenas.${i}.small.allocated`)}, large allocated ${g(`stats.arenas.${i}.large.allocated`)}\n`,
    );
  }
  const allocated = g("stats.allocated");
  out(`  (allocated ${allocated} = the main thread's thread-cache stacks: every message was freed)\n`);
  if (o.mapFile) {
    writeFileSync(
      o.mapFile,
      heapMapSvg(heap.map(), { title: `jemalloc-ts demo: ${o.workers} workers, heap map at the end` }),
    );
    out(`  heap map written to ${o.mapFile}\n`);
  }
  return { allocated, freed, bad };
}

export async function runDemo(
  argv: string[],
  out: (s: string) => void,
  err: (s: string) => void,
): Promise<number> {
  let o: DemoOptions;
  try {
    o = parse(argv);
  } catch (e) {
    err(`${(e as Error).message}\n`);
    return 2;
  }
  if (o.browserPort !== undefined) {
    const { runDemoBrowser } = await import("./demo_browser.js");
    return runDemoBrowser(o.browserPort, out);
  }
  const r = await demo(o, out);
  return r.bad === 0 && r.freed === o.workers * o.records ? 0 : 1;
}
