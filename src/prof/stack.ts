/**
 * stack: the JavaScript call stack above the heap's API (jemalloc's prof_backtrace), taken only when
 * an allocation is sampled. V8's structured call sites give function, file, line and column; the
 * frames of this package (the allocator itself) at the top of the stack are dropped, so the innermost
 * frame kept is the caller of malloc / calloc / mallocx / …
 */
import { hostFileUrlToPath, hostFindSourceMap } from "../platform/index.js";

/** PROF_BT_MAX: the deepest stack kept. */
export const PROF_BT_MAX = 128;

/** This package's source or build directory root (…/src or …/dist), and its non-allocator parts. */
const pkgRoot = (() => {
  try {
    const here = hostFileUrlToPath(import.meta.url).replace(/\\/g, "/");
    return here.slice(0, here.lastIndexOf("/prof/") + 1);
  } catch {
    return "\u0000";
  }
})();
const ownToolDirs = [`${pkgRoot}cli/`, `${pkgRoot}bench/`];

/** Per script name (as V8 reports it): whether it is the allocator's own code, and its frame texts. */
interface ScriptFrames {
  readonly allocator: boolean;
  /** Source offset → frame text; native frames by function name. */
  readonly byPos: Map<number | string, string>;
}
const scripts = new Map<string, ScriptFrames>();

function scriptOf(raw: string): ScriptFrames {
  let s = scripts.get(raw);
  if (s === undefined) {
    const file = fileOf(raw);
    const allocator = file.startsWith(pkgRoot) && !ownToolDirs.some((d) => file.startsWith(d));
    s = { allocator, byPos: new Map() };
    scripts.set(raw, s);
  }
  return s;
}

/** V8 hands the structured call sites over as they are (no formatting). */
function returnSites(_e: Error, sites: NodeJS.CallSite[]): NodeJS.CallSite[] {
  return sites;
}

/**
 * A capture: the caller calls Error.captureStackTrace(holder, …) itself, on a fresh holder object,
 * between captureOpen and captureClose. V8 walks and summarizes every frame on the stack, the skipped
 * ones too, so the capture is made from the frame that decides to sample rather than from a helper
 * below it; and a fresh holder is cheaper than clearing a reused one (its `stack` setter is slow).
 */
export interface StackHolder {
  stack?: unknown;
}
let savedPrepare: typeof Error.prepareStackTrace;
let savedLimit = 10;

/** Before Error.captureStackTrace(stackHolder, above): V8 keeps enough frames, hands them over raw. */
export function captureOpen(): void {
  savedPrepare = Error.prepareStackTrace;
  savedLimit = Error.stackTraceLimit;
  Error.stackTraceLimit = PROF_BT_MAX + 32;
  Error.prepareStackTrace = returnSites;
}

/** After the capture (also when it threw): the structured call sites, and the user's settings back. */
export function captureClose(holder: StackHolder): NodeJS.CallSite[] {
  let sites: unknown;
  try {
    // Read while our formatter is installed: `stack` is formatted on first access.
    sites = holder.stack;
  } finally {
    Error.prepareStackTrace = savedPrepare;
    Error.stackTraceLimit = savedLimit;
  }
  return Array.isArray(sites) ? (sites as NodeJS.CallSite[]) : [];
}

/** `above`: the innermost function whose frame and callees are left out (V8 does not build them). */
export function captureSites(above: (...args: never[]) => unknown): NodeJS.CallSite[] {
  const holder: StackHolder = {};
  captureOpen();
  try {
    Error.captureStackTrace(holder, above);
  } catch (err) {
    captureClose(holder);
    throw err;
  }
  return captureClose(holder);
}

/** Script name → plain path (file:// URLs converted once). */
const fileCache = new Map<string, string>();

function fileOf(raw: string): string {
  let f = fileCache.get(raw);
  if (f === undefined) {
    f = raw;
    if (raw.startsWith("file://")) {
      try {
        f = hostFileUrlToPath(raw).replace(/\\/g, "/");
      } catch {
        // keep the URL
      }
    }
    fileCache.set(raw, f);
  }
  return f;
}

/** V8's name for a frame: "Type.method", "new Ctor", "fn", or "(anonymous)". */
function functionOf(site: NodeJS.CallSite): string {
  const fn = site.getFunctionName() ?? site.getMethodName();
  if (site.isConstructor()) return `new ${fn ?? "(anonymous)"}`;
  if (fn === null || fn === undefined || fn === "") return site.isToplevel() ? "(top level)" : "(anonymous)";
  const type = site.isToplevel() ? null : site.getTypeName();
  return type !== null && type !== "Object" && !fn.startsWith(`${type}.`) ? `${type}.${fn}` : fn;
}

/** V8's call site also has getPosition: the source offset, found without computing line and column. */
type PositionedCallSite = NodeJS.CallSite & { getPosition?: () => number };

/** A frame's text, named and source-mapped once per (script, source offset). */
function frameText(site: NodeJS.CallSite, script: ScriptFrames, raw: string): string {
  const pos = raw === "" ? 0 : ((site as PositionedCallSite).getPosition?.() ?? 0);
  // An offset in a script names its function and position: a known frame costs one lookup.
  const key = pos === 0 ? functionOf(site) : pos;
  let text = script.byPos.get(key);
  if (text !== undefined) return text;
  const line = site.getLineNumber() ?? 0;
  const col = site.getColumnNumber() ?? 0;
  const fn = functionOf(site);
  const file = fileOf(raw);
  text = file === "" || line === 0 ? `${fn} (${file || "native"})` : mapped(site, fn, file, line, col);
  script.byPos.set(key, text);
  return text;
}

/** The original position when the script has a source map Node knows (tsx, --enable-source-maps). */
function mapped(site: NodeJS.CallSite, fn: string, file: string, line: number, col: number): string {
  try {
    const sm = hostFindSourceMap(site.getFileName() ?? file);
    const e = sm?.findEntry(line - 1, col - 1) as
      | { originalSource?: string; originalLine?: number; originalColumn?: number }
      | undefined;
    if (e?.originalSource !== undefined && e.originalLine !== undefined && e.originalColumn !== undefined) {
      let src = e.originalSource;
      if (src.startsWith("file://")) src = hostFileUrlToPath(src).replace(/\\/g, "/");
      return `${fn} (${src}:${e.originalLine + 1}:${e.originalColumn + 1})`;
    }
  } catch {
    // no usable map: the generated position
  }
  return `${fn} (${file}:${line}:${col})`;
}

/**
 * The frame texts "function (file:line:column)" of captured call sites, innermost first, without the
 * allocator's own frames. Each distinct frame is named and source-mapped once per thread. An empty
 * stack becomes one "(unknown)" frame.
 */
export function stackTexts(sites: NodeJS.CallSite[]): string[] {
  const out: string[] = [];
  let kept = false;
  for (let i = 0; i < sites.length && out.length < PROF_BT_MAX; i++) {
    const site = sites[i]!;
    const raw = site.getFileName() ?? "";
    const script = scriptOf(raw);
    if (!kept && script.allocator) continue;
    kept = true;
    out.push(frameText(site, script, raw));
  }
  if (out.length === 0) out.push("(unknown)");
  return out;
}

/**
 * A node of a thread's trie over captured call sites, innermost first, keyed by each frame's script
 * and source offset (two native calls a frame, the same pair that names a frame in frameText): a
 * repeated stack is found without building its frame texts, and the node keeps its interned record.
 */
export interface SiteNode {
  /** The stack's record in the heap's table (src/prof/intern.ts); 0 until interned. */
  stack: number;
  /** The frame's script name as V8 reports it ("" for native frames). */
  readonly raw: string;
  /** Children by source offset (by function name where there is none). */
  readonly next: Map<number | string, SiteNode>;
  /** The next child under the same key in another script. */
  alt: SiteNode | null;
  /** The call sites last captured for it, while it has no record (named when it is interned). */
  pending: NodeJS.CallSite[] | null;
}

export function siteNodeNew(raw: string): SiteNode {
  return { stack: 0, raw, next: new Map(), alt: null, pending: null };
}

/** The trie node of `sites` under `root`, created on the way when new; a node without its record yet
 * keeps `sites` for the caller to name. */
export function siteTrieFind(root: SiteNode, sites: NodeJS.CallSite[]): SiteNode {
  let node = root;
  for (let i = 0; i < sites.length; i++) {
    const site = sites[i]!;
    const raw = site.getFileName() ?? "";
    const pos = raw === "" ? 0 : ((site as PositionedCallSite).getPosition?.() ?? 0);
    const key = pos === 0 ? functionOf(site) : pos;
    const first = node.next.get(key);
    let n = first;
    while (n !== undefined && n.raw !== raw) n = n.alt ?? undefined;
    if (n === undefined) {
      n = siteNodeNew(raw);
      n.alt = first ?? null;
      node.next.set(key, n);
    }
    node = n;
  }
  if (node.stack === 0) node.pending = sites;
  return node;
}

/** Splits a frame text back into its parts (for reports). */
export function parseFrame(text: string): { fn: string; file: string; line: number; column: number } {
  const m = /^(.*) \((.*?)(?::(\d+):(\d+))?\)$/.exec(text);
  if (m === null) return { fn: text, file: "", line: 0, column: 0 };
  return { fn: m[1]!, file: m[2]!, line: Number(m[3] ?? 0), column: Number(m[4] ?? 0) };
}
