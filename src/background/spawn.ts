/**
 * spawn: starting background threads as workers (platform/worker.ts: worker_threads under Node, module
 * Web Workers in browsers). The worker script is heap/background_worker.js (dist/ in production): it
 * attaches a heap as an application does, so it belongs to the API layer, which names it here
 * (backgroundWorkerScriptDefaultSet); in browsers it is resolved against the package's URL, so any
 * static server works. Running from the TypeScript sources (tests, tsx) needs a script that registers
 * a TypeScript loader in the worker first — workers do not inherit tsx's hooks — named with
 * backgroundWorkerScriptSet (e.g. test/helpers/ts-worker.mjs with data { __entry: <src/heap/background_worker.ts URL> }).
 * The choice travels to worker 0 in its start data, so the threads it starts use the same script.
 *
 * Node: every Worker is unref()'d (background threads never keep the process alive); worker 0 starts
 * the others itself. Browsers: a worker blocked in Atomics.wait cannot start a nested worker, so
 * worker 0 asks the thread that started it (normally the page) to start them (parentSpawner), and
 * that thread serves the request from its event loop.
 */

import { HDR_BG_REGION_B } from "../ctx/header.js";
import { hostFileExists, hostPathToUrl, hostUrlDisplay, hostWriteError, IS_NODE } from "../platform/index.js";
import { type HostWorker, startWorker, workerPostToParent } from "../platform/worker.js";
import { ALIVE_REQUESTED, INFO_ALIVE_B, infoB } from "./layout.js";
import type { BgSpawner } from "./work.js";

/** Which module a background Worker runs, and extra workerData for it. */
export interface BackgroundWorkerScript {
  url: URL | string;
  data?: Record<string, unknown>;
}

/** A script in the form that crosses to a worker (structured-cloneable). */
export interface ResolvedScript {
  href: string;
  data: Record<string, unknown>;
}

/** What a background worker receives as workerData (plus the script's own data). */
export interface BgWorkerData {
  buffer: SharedArrayBuffer;
  threadInd: number;
  script: ResolvedScript;
}

let override: ResolvedScript | null = null;
let defaultScript: URL | null = null;

/** The API layer names its worker entry module here when it loads (this layer cannot import it). */
export function backgroundWorkerScriptDefaultSet(url: URL): void {
  defaultScript = url;
}

function toHref(url: URL | string): string {
  if (url instanceof URL) return url.href;
  if (typeof url !== "string" || url.length === 0) {
    throw new TypeError(
      `backgroundWorkerScriptSet: url must be a URL or a non-empty string, got ${String(url)}`,
    );
  }
  return /^[a-z][a-z0-9+.-]*:/i.test(url) && !/^[a-z]:[\\/]/i.test(url)
    ? new URL(url).href
    : hostPathToUrl(url).href;
}

/** Names the module background Workers run (null: back to the default next to this file). */
export function backgroundWorkerScriptSet(script: BackgroundWorkerScript | null): void {
  if (script === null) {
    override = null;
    return;
  }
  if (typeof script !== "object")
    throw new TypeError(`backgroundWorkerScriptSet: expected an object or null, got ${typeof script}`);
  const data = script.data ?? {};
  if (data === null || typeof data !== "object")
    throw new TypeError("backgroundWorkerScriptSet: data must be an object");
  override = { href: toHref(script.url), data: { ...data } };
}

/** The script to use: the override, else the API layer's heap/background_worker.js. */
export function backgroundWorkerScript(): ResolvedScript {
  if (override !== null) return override;
  const js = defaultScript;
  if (js === null) throw new Error("background threads: no worker script was named (load the package entry)");
  if (hostFileExists(js)) return { href: js.href, data: {} };
  throw new Error(
    `background threads: no worker script at ${hostUrlDisplay(js)}; build the package (npm run build), or, ` +
      "running from the TypeScript sources, name a bootstrap with backgroundWorkerScriptSet()",
  );
}

function report(t: number, what: string, err: unknown): void {
  const msg = err instanceof Error ? (err.stack ?? err.message) : String(err);
  hostWriteError(`<jemalloc>: background thread ${t} ${what}: ${msg}\n`);
}

/** Workers this thread started, per heap buffer, by thread index. */
const spawned = new WeakMap<SharedArrayBuffer | ArrayBuffer, Map<number, HostWorker>>();

/** What a browser background worker posts to the thread that started it. */
interface BgRequest {
  jemallocBg: "spawn" | "terminate";
  t: number;
}

function isBgRequest(m: unknown): m is BgRequest {
  return typeof m === "object" && m !== null && typeof (m as BgRequest).jemallocBg === "string";
}

/** A spawner whose spawn() failure reason is kept for the caller's error message. */
export interface WorkerSpawner extends BgSpawner {
  readonly lastError: string | null;
}

/**
 * Sets thread t's alive word to `to` (when it holds `from`; -1: whatever it holds) and wakes its
 * joiners. False when the word did not hold `from` (or there is no region yet).
 */
function aliveExchange(i32: Int32Array, t: number, from: number, to: number): boolean {
  const region = Atomics.load(i32, HDR_BG_REGION_B >>> 2) >>> 0;
  if (region === 0) return false;
  const aliveW = (infoB(region, t) + INFO_ALIVE_B) >>> 2;
  if (from < 0) Atomics.store(i32, aliveW, to);
  else if (Atomics.compareExchange(i32, aliveW, from, to) !== from) return false;
  Atomics.notify(i32, aliveW);
  return true;
}

/**
 * A BgSpawner that starts workers running `script` on `buffer` from this thread. `onStartFailed` hears
 * of a worker that failed before it ran (its script did not load: an asynchronous error), so the
 * caller can roll back what it marked started.
 */
export function workerSpawner(
  buffer: SharedArrayBuffer,
  script: ResolvedScript,
  onStartFailed?: (t: number, reason: string) => void,
): WorkerSpawner {
  let registry = spawned.get(buffer);
  if (registry === undefined) {
    registry = new Map();
    spawned.set(buffer, registry);
  }
  const workers = registry;
  const i32 = new Int32Array(buffer);
  let lastError: string | null = null;
  const aliveClear = (t: number): void => void aliveExchange(i32, t, -1, 0);
  // A worker that dies without leaving the heap (an error at load) must still release its joiner.
  const gone = (t: number, w: HostWorker): void => {
    if (workers.get(t) !== w) return;
    workers.delete(t);
    aliveClear(t);
  };
  const spawner: WorkerSpawner = {
    get lastError() {
      return lastError;
    },
    spawn(t: number): boolean {
      const data: BgWorkerData & Record<string, unknown> = { ...script.data, buffer, threadInd: t, script };
      let w: HostWorker;
      try {
        w = startWorker(script.href, data, `jemalloc_bg_thd ${t}`);
      } catch (err) {
        lastError = err instanceof Error ? err.message : String(err);
        report(t, "creation failed", err);
        return false;
      }
      lastError = null;
      workers.set(t, w);
      w.onError((err) => {
        report(t, "failed", err);
        // Failed before it ran: withdraw its start request (requested → 0) and tell the caller.
        if (workers.get(t) === w && aliveExchange(i32, t, ALIVE_REQUESTED, 0)) {
          workers.delete(t);
          onStartFailed?.(t, err instanceof Error ? err.message : String(err));
        }
        // Browsers: no exit event; a worker that failed is gone.
        if (!IS_NODE) gone(t, w);
      });
      w.onExit(() => gone(t, w));
      // Browsers: worker 0 asks this thread to start and kill the others (see the module comment).
      if (!IS_NODE) {
        w.onMessage((m) => {
          if (!isBgRequest(m)) return;
          if (m.jemallocBg === "terminate") spawner.terminate(m.t);
          else if (!spawner.spawn(m.t)) aliveClear(m.t);
        });
      }
      return true;
    },
    terminate(t: number): void {
      const w = workers.get(t);
      if (w === undefined) return;
      report(t, "did not stop in time", "terminated");
      w.terminate();
      if (!IS_NODE) gone(t, w);
    },
  };
  return spawner;
}

/** Browsers: the spawner of worker 0, which forwards to the thread that started it. */
export function parentSpawner(): BgSpawner {
  return {
    spawn(t: number): boolean {
      workerPostToParent({ jemallocBg: "spawn", t } satisfies BgRequest);
      return true;
    },
    terminate(t: number): void {
      workerPostToParent({ jemallocBg: "terminate", t } satisfies BgRequest);
    },
  };
}
