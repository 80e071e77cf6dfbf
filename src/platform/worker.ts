/**
 * worker: starting a thread that runs a module, on any host. Node: a worker_threads Worker (unref()'d,
 * its start data in workerData, the parent's execArgv minus eval flags). Browsers: a module Web Worker
 * (`{ type: "module" }`) whose start data arrives as its first message. The started module reads its
 * data with workerStartData() either way.
 *
 * Browsers give no exit event: a HostWorker reports load errors (onError) but exit only under Node.
 */
import { hostExecArgv, nodeModules } from "./index.js";

/** A thread started by startWorker. */
export interface HostWorker {
  terminate(): void;
  /** An error in the worker (under Node also an uncaught one; in browsers a failed load). */
  onError(fn: (err: unknown) => void): void;
  /** The worker's thread ended (Node only; never called in browsers). */
  onExit(fn: () => void): void;
  /** A message the worker posted to its parent (workerPostToParent). */
  onMessage(fn: (msg: unknown) => void): void;
}

/** Options that take the next argument and make no sense for a worker script. */
const EVAL_FLAGS = new Set(["-e", "--eval", "-p", "--print", "--input-type"]);

/**
 * The parent's execArgv (loaders, conditions, memory limits) without the options that describe the
 * parent's own entry (`-e code`, `--input-type`): a worker inheriting those refuses to load a file.
 */
function workerExecArgv(): string[] {
  const out: string[] = [];
  const argv = hostExecArgv();
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

interface WebWorkerLike {
  postMessage(msg: unknown): void;
  terminate(): void;
  addEventListener(type: string, fn: (ev: { message?: string; data?: unknown }) => void): void;
}
type WebWorkerCtor = new (url: string | URL, opts: { type: "module"; name: string }) => WebWorkerLike;

/** Starts `href` as a module worker with `data` as its start data. Throws when the host cannot. */
export function startWorker(href: string, data: unknown, name: string): HostWorker {
  if (nodeModules !== null) {
    const w = new nodeModules.wt.Worker(new URL(href), {
      workerData: data,
      execArgv: workerExecArgv(),
      name,
    });
    w.unref();
    return {
      terminate: () => void w.terminate(),
      onError: (fn) => void w.on("error", fn),
      onExit: (fn) => void w.once("exit", fn),
      onMessage: (fn) => void w.on("message", fn),
    };
  }
  const Ctor = (globalThis as { Worker?: WebWorkerCtor }).Worker;
  if (typeof Ctor !== "function")
    throw new Error(
      "this host has no Worker constructor (module Web Workers or Node's worker_threads needed)",
    );
  const w = new Ctor(href, { type: "module", name });
  w.postMessage(data);
  return {
    terminate: () => w.terminate(),
    onError: (fn) =>
      w.addEventListener("error", (ev) =>
        fn(new Error(ev.message ?? `worker ${name} failed to load ${href}`)),
      ),
    onExit: () => {},
    onMessage: (fn) => w.addEventListener("message", (ev) => fn(ev.data)),
  };
}

interface WorkerScopeLike {
  addEventListener(type: "message", fn: (ev: { data: unknown }) => void, opts: { once: true }): void;
  postMessage(msg: unknown): void;
}

/** The start data of this worker (workerData under Node, the first message in a Web Worker). */
export function workerStartData(): Promise<unknown> {
  if (nodeModules !== null) return Promise.resolve(nodeModules.wt.workerData);
  const scope = globalThis as unknown as WorkerScopeLike;
  return new Promise((resolve) =>
    scope.addEventListener("message", (ev) => resolve(ev.data), { once: true }),
  );
}

/** Posts a message to the thread that started this worker (parentPort / the worker's global scope). */
export function workerPostToParent(msg: unknown): void {
  if (nodeModules !== null) {
    nodeModules.wt.parentPort?.postMessage(msg);
    return;
  }
  (globalThis as unknown as WorkerScopeLike).postMessage(msg);
}
