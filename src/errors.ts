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
