/**
 * errors: what the heap reports to its callers.
 *
 *   TypeError / RangeError   a value of the wrong type or out of range at the API boundary (nothing changed)
 *   HeapCorruptionError      misuse the heap detected: double free, a pointer it never returned, an
 *                            interior pointer, a sized free with the wrong size. Reported through the
 *                            corruption handler; the default throws. When the misuse is caught before
 *                            anything changed (the usual case) the heap stays usable; when internal state
 *                            is found inconsistent, the heap is poisoned and every later call throws.
 *   HeapPoisonedError        the heap was poisoned earlier
 */

export class HeapCorruptionError extends Error {
  override name = "HeapCorruptionError";
  /** The offending pointer (or 0). */
  readonly ptr: number;
  constructor(message: string, ptr: number) {
    super(message);
    this.ptr = ptr;
  }
}

/** A record that fails its check where it is read (the API then poisons the heap). */
export function metadataCorrupt(what: string): HeapCorruptionError {
  const err = new HeapCorruptionError(`<jemalloc>: corrupt allocator metadata: ${what}`, 0);
  (err as { metadata?: boolean }).metadata = true;
  return err;
}

export class HeapPoisonedError extends Error {
  override name = "HeapPoisonedError";
}

export interface CorruptionReport {
  /** What was detected: "double-free", "invalid-pointer", "interior-pointer", "size-mismatch", "corrupt-metadata". */
  kind: string;
  message: string;
  ptr: number;
}

export type CorruptionHandler = (report: CorruptionReport) => void;

/**
 * The default handler: throws. Its name says what to do, as jemalloc's
 * safety_check_detected_heap_corruption___run_address_sanitizer_build_to_debug does.
 */
export function heapCorruptionDetected___check_frees_and_sizes_or_enable_junk_to_debug(
  report: CorruptionReport,
): void {
  throw new HeapCorruptionError(report.message, report.ptr);
}

export const ENOMEM = 12;
export const EINVAL = 22;

function describe(v: unknown): string {
  if (typeof v === "string") return JSON.stringify(v);
  if (typeof v === "bigint") return `${v}n`;
  if (typeof v === "number" && Object.is(v, -0)) return "-0";
  return String(v);
}

/**
 * A byte count: a non-negative integer. `-0` is 0. Values above 2^53 are allowed (they fail as
 * out of memory, as in C), never wrapped.
 */
export function checkSize(v: unknown, fn: string, what = "size"): number {
  if (typeof v !== "number")
    throw new TypeError(`${fn}: ${what} must be a number, got ${typeof v} ${describe(v)}`);
  if (!Number.isInteger(v) || v < 0) {
    throw new RangeError(`${fn}: ${what} must be a non-negative integer, got ${describe(v)}`);
  }
  return v + 0;
}

/** A pointer: an integer offset in [0, 2^32). */
export function checkPtr(v: unknown, fn: string): number {
  if (typeof v !== "number")
    throw new TypeError(`${fn}: pointer must be a number, got ${typeof v} ${describe(v)}`);
  if (!Number.isInteger(v) || v < 0 || v >= 2 ** 32) {
    throw new RangeError(`${fn}: pointer must be an integer offset in [0, 2^32), got ${describe(v)}`);
  }
  return v + 0;
}

/** A flags word for the *allocx functions: an integer in [0, 2^32). */
export function checkFlags(v: unknown, fn: string): number {
  if (v === undefined) return 0;
  if (typeof v !== "number" || !Number.isInteger(v) || v < 0 || v >= 2 ** 32) {
    throw new TypeError(`${fn}: flags must be an integer in [0, 2^32), got ${describe(v)}`);
  }
  return v >>> 0;
}

export function describeValue(v: unknown): string {
  return describe(v);
}

// mallctl and malloc_conf errors.
//
// What it is: the errors the mallctl namespace and the malloc_conf parser throw.
// jemalloc's mallctl*() return an errno value; here the same failures throw a
// `MallctlError` whose `code` is jemalloc's errno name and whose `errno` is the
// Linux number, so code written against jemalloc's return values maps 1:1.
// `MallocConfAbortError` stands for jemalloc's abort() during option parsing
// (abort_conf:true with a bad option, or abort:true with an unsupported feature).
//
// Error convention: mallctl failures are MallctlError; programmer errors in the
// arguments of our own functions (wrong JS type of a name or MIB) are TypeError.

export const EPERM = 1;
export const ENOENT = 2;
export const EAGAIN = 11;
export const EFAULT = 14;

export type MallctlErrorCode = "ENOENT" | "EPERM" | "EINVAL" | "EFAULT" | "EAGAIN";

/** Linux errno numbers of the codes mallctl can return. */
export const MALLCTL_ERRNO: Readonly<Record<MallctlErrorCode, number>> = {
  EPERM,
  ENOENT,
  EAGAIN,
  EFAULT,
  EINVAL,
};

const CODE_MEANING: Readonly<Record<MallctlErrorCode, string>> = {
  ENOENT: "no such mallctl name, index out of range, or feature not built",
  EPERM: "operation not permitted on this node (read-only, write-only or void)",
  EINVAL: "invalid value (wrong type or out of range for the node's C type)",
  EFAULT: "the operation failed",
  EAGAIN: "resources temporarily unavailable",
};

/** Formats a name or MIB for messages: `"opt.narenas"` or `mib [6,19]`. */
export function describeMallctlTarget(target: string | readonly number[]): string {
  return typeof target === "string" ? JSON.stringify(target) : `mib [${target.join(",")}]`;
}

export class MallctlError extends Error {
  override readonly name = "MallctlError";
  readonly code: MallctlErrorCode;
  readonly errno: number;
  /** The mallctl name or MIB the call was about. */
  readonly target: string | readonly number[];
  /** What went wrong, without the target (the message is built from it). */
  readonly detail: string;

  constructor(code: MallctlErrorCode, target: string | readonly number[], detail?: string) {
    const what = detail ?? CODE_MEANING[code];
    super(`mallctl(${describeMallctlTarget(target)}): ${code}: ${what}`);
    this.code = code;
    this.errno = MALLCTL_ERRNO[code];
    this.target = typeof target === "string" ? target : [...target];
    this.detail = what;
  }
}

/**
 * What a leaf throws when its operation fails (jemalloc's handler returning an errno): the tree
 * turns it into a MallctlError naming the name or MIB the caller used.
 */
export class CtlLeafFailure extends Error {
  override readonly name = "CtlLeafFailure";
  readonly code: MallctlErrorCode;
  readonly detail: string;

  constructor(code: MallctlErrorCode, detail?: string) {
    const what = detail ?? CODE_MEANING[code];
    super(`${code}: ${what}`);
    this.code = code;
    this.detail = what;
  }
}

/** Shorthand for `throw new CtlLeafFailure(code, detail)` in expression position. */
export function ctlFail(code: MallctlErrorCode, detail?: string): never {
  throw new CtlLeafFailure(code, detail);
}

/** Why malloc_conf processing stopped the program (jemalloc would call abort()). */
export type MallocConfAbortReason = "abort_conf" | "abort";

export class MallocConfAbortError extends Error {
  override readonly name = "MallocConfAbortError";
  readonly reason: MallocConfAbortReason;
  /** Every message written before the abort, in order (each starts with `<jemalloc>: `). */
  readonly messages: readonly string[];

  constructor(reason: MallocConfAbortReason, messages: readonly string[]) {
    const last = messages[messages.length - 1] ?? "";
    super(`malloc_conf: abort() (${reason}): ${last.trim()}`);
    this.reason = reason;
    this.messages = [...messages];
  }
}
