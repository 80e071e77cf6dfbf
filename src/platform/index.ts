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
  module: typeof import("node:module");
  zlib: typeof import("node:zlib");
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
    module: get("node:module") as NodeModules["module"],
    zlib: get("node:zlib") as NodeModules["zlib"],
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

/** Writes a file (Node); throws elsewhere — a browser has no file system to dump into. */
export function hostWriteFile(path: string, data: string | Uint8Array): void {
  if (nodeModules === null) throw new Error(`cannot write ${path}: this host has no file system`);
  nodeModules.fs.writeFileSync(path, data);
}

/** The process id (Node), else 0. */
export function hostPid(): number {
  return (proc as { pid?: number } | undefined)?.pid ?? 0;
}

/** A path relative to the working directory, for messages (Node); the path itself elsewhere. */
export function hostRelativePath(path: string): string {
  const cwd = (proc as { cwd?: () => string } | undefined)?.cwd;
  if (typeof cwd !== "function") return path;
  const base = cwd();
  return path.startsWith(`${base}/`) ? path.slice(base.length + 1) : path;
}

/** Sets the exit code the process will end with (Node); nothing elsewhere. */
export function hostSetExitCode(code: number): void {
  if (proc !== undefined) (proc as { exitCode?: number }).exitCode = code;
}

/** Whether this agent is the process's (or page's) main thread. */
export function hostIsMainThread(): boolean {
  if (nodeModules !== null) return nodeModules.wt.isMainThread;
  return typeof (globalThis as { window?: unknown }).window !== "undefined";
}

/** A file: URL → path (Node); the string itself elsewhere or when it is not a file: URL. */
export function hostFileUrlToPath(url: string): string {
  if (nodeModules === null || !url.startsWith("file:")) return url;
  return nodeModules.url.fileURLToPath(url);
}

/** The part of Node's SourceMap the profiler uses. */
export interface SourceMapLike {
  findEntry(line: number, column: number): unknown;
}

/** The source map Node knows for a script (tsx, --enable-source-maps), or undefined. */
export function hostFindSourceMap(path: string): SourceMapLike | undefined {
  return nodeModules?.module.findSourceMap(path);
}

/**
 * A CommonJS package by name, loaded synchronously (Node); throws elsewhere. For optional outputs
 * (pprof encoding) that must not be in the module graph a browser loads.
 */
export function hostRequire(name: string): unknown {
  if (nodeModules === null) throw new Error(`${name} can only be loaded under Node`);
  return nodeModules.module.createRequire(import.meta.url)(name);
}

/** gzip: zlib's (Node), else a valid gzip stream of stored (uncompressed) deflate blocks. */
export function hostGzip(data: Uint8Array): Uint8Array {
  if (nodeModules !== null) return new Uint8Array(nodeModules.zlib.gzipSync(data));
  return gzipStored(data);
}

const CRC_TABLE = (() => {
  const t = new Uint32Array(256);
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
    t[n] = c >>> 0;
  }
  return t;
})();

function crc32(data: Uint8Array): number {
  let c = 0xffffffff;
  for (let i = 0; i < data.length; i++) c = CRC_TABLE[(c ^ data[i]!) & 0xff]! ^ (c >>> 8);
  return (c ^ 0xffffffff) >>> 0;
}

/** RFC 1952 member holding RFC 1951 stored blocks (at most 65535 bytes each). */
function gzipStored(data: Uint8Array): Uint8Array {
  const nblocks = Math.max(1, Math.ceil(data.length / 65535));
  const out = new Uint8Array(10 + data.length + 5 * nblocks + 8);
  out.set([0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 255]);
  let o = 10;
  for (let b = 0; b < nblocks; b++) {
    const start = b * 65535;
    const len = Math.min(65535, data.length - start);
    out[o++] = b === nblocks - 1 ? 1 : 0;
    out[o++] = len & 0xff;
    out[o++] = len >>> 8;
    out[o++] = ~len & 0xff;
    out[o++] = (~len >>> 8) & 0xff;
    out.set(data.subarray(start, start + len), o);
    o += len;
  }
  const dv = new DataView(out.buffer);
  dv.setUint32(o, crc32(data), true);
  dv.setUint32(o + 4, data.length >>> 0, true);
  return out;
}
