/**
 * stack: the JavaScript call stack above the heap's API (jemalloc's prof_backtrace), taken only when
 * an allocation is sampled. V8's structured call sites give function, file, line and column; the
 * frames of this package (the allocator itself) at the top of the stack are dropped, so the innermost
 * frame kept is the caller of malloc / calloc / mallocx / …
 */
import { fileURLToPath } from "node:url";

/** PROF_BT_MAX: the deepest stack kept. */
export const PROF_BT_MAX = 128;

/** This package's source or build directory root (…/src or …/dist), and its non-allocator parts. */
const pkgRoot = (() => {
  try {
    const here = fileURLToPath(import.meta.url).replace(/\\/g, "/");
    return here.slice(0, here.lastIndexOf("/prof/") + 1);
  } catch {
    return "\u0000";
  }
})();
const ownToolDirs = [`${pkgRoot}cli/`, `${pkgRoot}bench/`];

function isAllocatorFrame(file: string): boolean {
  return file.startsWith(pkgRoot) && !ownToolDirs.some((d) => file.startsWith(d));
}

/** One V8 stack line: "at fn (file:line:col)", "at file:line:col", "at fn (native)". */
const FRAME_LINE = /^\s*at (?:(.*?) \((.*?)(?::(\d+):(\d+))?\)|(.*?)(?::(\d+):(\d+))?)$/;

interface RawFrame {
  fn: string;
  file: string;
  line: number;
  column: number;
}

function parseLine(line: string): RawFrame | null {
  const m = FRAME_LINE.exec(line);
  if (m === null) return null;
  const named = m[2] !== undefined;
  let file = (named ? m[2] : m[5]) ?? "";
  if (file.startsWith("file://")) {
    try {
      file = fileURLToPath(file).replace(/\\/g, "/");
    } catch {
      // keep the URL as it is
    }
  }
  return {
    fn: named ? m[1]! : "(top level)",
    file,
    line: Number((named ? m[3] : m[6]) ?? 0),
    column: Number((named ? m[4] : m[7]) ?? 0),
  };
}

/**
 * The formatted stack (V8's text, which Node, tsx and vitest map back to the original sources).
 * Error.prepareStackTrace is set aside so that a user's formatter cannot change the text.
 */
function captureText(): string {
  const savedPrepare = Error.prepareStackTrace;
  const savedLimit = Error.stackTraceLimit;
  const holder: { stack?: unknown } = {};
  try {
    Error.stackTraceLimit = PROF_BT_MAX + 32;
    (Error as { prepareStackTrace?: unknown }).prepareStackTrace = undefined;
    Error.captureStackTrace(holder, captureText);
    return typeof holder.stack === "string" ? holder.stack : "";
  } finally {
    Error.prepareStackTrace = savedPrepare;
    Error.stackTraceLimit = savedLimit;
  }
}

/**
 * The caller's stack as frame texts "function (file:line:column)", innermost first, without the
 * allocator's own frames. An empty stack becomes one "(unknown)" frame.
 */
export function captureStack(): string[] {
  const frames: RawFrame[] = [];
  for (const line of captureText().split("\n")) {
    const f = parseLine(line);
    if (f !== null) frames.push(f);
  }
  let i = 0;
  while (i < frames.length && isAllocatorFrame(frames[i]!.file)) i++;
  const out: string[] = [];
  for (; i < frames.length && out.length < PROF_BT_MAX; i++) {
    const f = frames[i]!;
    const where = f.file === "" || f.line === 0 ? f.file || "native" : `${f.file}:${f.line}:${f.column}`;
    out.push(`${f.fn.replace(/^async /, "")} (${where})`);
  }
  if (out.length === 0) out.push("(unknown)");
  return out;
}

/** Splits a frame text back into its parts (for reports). */
export function parseFrame(text: string): { fn: string; file: string; line: number; column: number } {
  const m = /^(.*) \((.*?)(?::(\d+):(\d+))?\)$/.exec(text);
  if (m === null) return { fn: text, file: "", line: 0, column: 0 };
  return { fn: m[1]!, file: m[2]!, line: Number(m[3] ?? 0), column: Number(m[4] ?? 0) };
}
