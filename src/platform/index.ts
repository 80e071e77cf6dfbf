/**
 * platform: the few host facilities the allocator needs beyond ECMAScript — CPU count, the Node thread
 * id, environment variables, stderr, file existence — reached without a static `node:` import, so the
 * package loads unchanged in browsers (pages and Web Workers) and in Node. The host is detected once at
 * load: under Node the built-in modules come from process.getBuiltinModule (Node ≥ 20.16; synchronous,
 * so the package stays a plain synchronous ES module); elsewhere the browser equivalents or neutral
 * defaults are used.
 *
 * Invariants: nothing here runs a `node:` import outside Node; every function works on every host.
 */

interface NodeProcessLike {
  versions?: { node?: string };
  env?: Record<string, string | undefined>;
  stderr?: { write(s: string): unknown };
  execArgv?: string[];
  getBuiltinModule?: (id: string) => unknown;
}

type NodeModules = {
  os: typeof import("node:os");
  wt: typeof import("node:worker_threads");
  fs: typeof import("node:fs");
  url: typeof import("node:url");
};

const proc = (globalThis as { process?: NodeProcessLike }).process;

/** True under Node (worker_threads, process, files); false in browsers and other hosts. */
export const IS_NODE = typeof proc?.versions?.node === "string";

function loadNode(): NodeModules | null {
  const get = proc?.getBuiltinModule;
  if (typeof get !== "function") return null;
  return {
    os: get("node:os") as NodeModules["os"],
    wt: get("node:worker_threads") as NodeModules["wt"],
    fs: get("node:fs") as NodeModules["fs"],
    url: get("node:url") as NodeModules["url"],
  };
}

/** The Node modules, or null on other hosts (and on Node older than 20.16). */
export const nodeModules: NodeModules | null = IS_NODE ? loadNode() : null;

/** CPUs for the narenas default: os.availableParallelism(), navigator.hardwareConcurrency, else 1. */
export function hostCpuCount(): number {
  if (nodeModules !== null) return nodeModules.os.availableParallelism();
  const n = (globalThis as { navigator?: { hardwareConcurrency?: number } }).navigator?.hardwareConcurrency;
  return typeof n === "number" && Number.isInteger(n) && n > 0 ? n : 1;
}

/** worker_threads.threadId of this agent under Node (what heap.watch matches); 0 elsewhere. */
export function hostThreadId(): number {
  return nodeModules !== null ? nodeModules.wt.threadId : 0;
}

/** An environment variable (Node), or null (no environment in browsers). */
export function hostEnv(name: string): string | null {
  return proc?.env?.[name] ?? null;
}

/** Writes a diagnostic line: process.stderr under Node, console.error elsewhere. */
export function hostWriteError(msg: string): void {
  if (proc?.stderr) proc.stderr.write(msg);
  else console.error(msg.endsWith("\n") ? msg.slice(0, -1) : msg);
}

/** The parent's Node execArgv, or [] elsewhere. */
export function hostExecArgv(): readonly string[] {
  return proc?.execArgv ?? [];
}

/** Whether a file: URL names an existing file (Node); true for any URL elsewhere (the fetch decides). */
export function hostFileExists(url: URL): boolean {
  if (nodeModules === null || url.protocol !== "file:") return true;
  return nodeModules.fs.existsSync(nodeModules.url.fileURLToPath(url));
}

/** A file: URL's path for messages (Node), else the URL itself. */
export function hostUrlDisplay(url: URL): string {
  return nodeModules !== null && url.protocol === "file:" ? nodeModules.url.fileURLToPath(url) : url.href;
}

/** A filesystem path → file: URL (Node); elsewhere resolved against the page/worker location. */
export function hostPathToUrl(path: string): URL {
  if (nodeModules !== null) return nodeModules.url.pathToFileURL(path);
  const base = (globalThis as { location?: { href: string } }).location?.href;
  return new URL(path, base);
}
