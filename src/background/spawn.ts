/**
 * spawn: starting background threads as node:worker_threads Workers. The worker script is
 * heap/background_worker.js (dist/ in production): it attaches a heap as an application does, so it
 * belongs to the API layer, which names it here (backgroundWorkerScriptDefaultSet). Running from the TypeScript
 * sources (tests, tsx) needs a script that registers a TypeScript loader in the worker first — workers
 * do not inherit tsx's hooks — named with backgroundWorkerScriptSet (e.g. test/helpers/ts-worker.mjs
 * with data { __entry: <src/heap/background_worker.ts URL> }). The choice travels to worker 0
 * in its workerData, so the threads it starts use the same script.
 *
 * Every Worker is unref()'d: background threads never keep the process alive on their own. A Worker
 * belongs to the thread that spawned it (Node stops a worker's workers when it exits), so enable
 * background threads from a long-lived thread, normally the main thread.
 */
import { existsSync } from "node:fs";
import { fileURLToPath, pathToFileURL } from "node:url";
import { Worker } from "node:worker_threads";
import { HDR_BG_REGION_B } from "../ctx/header.js";
import { INFO_ALIVE_B, infoB } from "./layout.js";
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
    : pathToFileURL(url).href;
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
  if (existsSync(fileURLToPath(js))) return { href: js.href, data: {} };
  throw new Error(
    `background threads: no worker script at ${fileURLToPath(js)}; build the package (npm run build), or, ` +
      "running from the TypeScript sources, name a bootstrap with backgroundWorkerScriptSet()",
  );
}

/** Options that take the next argument and make no sense for a worker script. */
const EVAL_FLAGS = new Set(["-e", "--eval", "-p", "--print", "--input-type"]);

/**
 * The parent's execArgv (loaders, conditions, memory limits) without the options that describe the
 * parent's own entry (`-e code`, `--input-type`): a worker inheriting those refuses to load a file.
 */
function workerExecArgv(): string[] {
  const out: string[] = [];
  const argv = process.execArgv;
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    if (EVAL_FLAGS.has(a)) {
      i++;
      continue;
    }
    if (a.startsWith("--input-type=") || a.startsWith("--eval=") || a.startsWith("--print=")) continue;
    out.push(a);
  }
  return out;
}

function report(t: number, what: string, err: unknown): void {
  const msg = err instanceof Error ? (err.stack ?? err.message) : String(err);
  process.stderr.write(`<jemalloc>: background thread ${t} ${what}: ${msg}\n`);
}

/** Workers this thread started, per heap buffer, by thread index. */
const spawned = new WeakMap<SharedArrayBuffer | ArrayBuffer, Map<number, Worker>>();

/** A BgSpawner that starts unref()'d Workers running `script` on `buffer`. */
export function workerSpawner(buffer: SharedArrayBuffer, script: ResolvedScript): BgSpawner {
  let workers = spawned.get(buffer);
  if (workers === undefined) {
    workers = new Map();
    spawned.set(buffer, workers);
  }
  const registry = workers;
  const i32 = new Int32Array(buffer);
  // A worker that dies without leaving the heap (an error at load) must still release its joiner.
  const gone = (t: number, w: Worker): void => {
    if (registry.get(t) !== w) return;
    registry.delete(t);
    const region = Atomics.load(i32, HDR_BG_REGION_B >>> 2) >>> 0;
    if (region === 0) return;
    const aliveW = (infoB(region, t) + INFO_ALIVE_B) >>> 2;
    Atomics.store(i32, aliveW, 0);
    Atomics.notify(i32, aliveW);
  };
  return {
    spawn(t: number): boolean {
      const workerData: BgWorkerData & Record<string, unknown> = {
        ...script.data,
        buffer,
        threadInd: t,
        script,
      };
      let w: Worker;
      try {
        w = new Worker(new URL(script.href), {
          workerData,
          execArgv: workerExecArgv(),
          name: `jemalloc_bg_thd ${t}`,
        });
      } catch (err) {
        report(t, "creation failed", err);
        return false;
      }
      w.unref();
      registry.set(t, w);
      w.on("error", (err) => report(t, "failed", err));
      w.on("exit", () => gone(t, w));
      return true;
    },
    terminate(t: number): void {
      const w = registry.get(t);
      if (w === undefined) return;
      report(t, "did not stop in time", "terminated");
      void w.terminate();
    },
  };
}
