/**
 * LockContext: the per-thread, create-once settings every blocking lock operation needs — where the
 * thread registry lives (to tell a dead owner from a slow one), whether this agent may block in
 * `Atomics.wait`, the spin and wait bounds, lock names for messages, and the optional witness.
 *
 * Invariants: a context belongs to one thread and is never shared between agents (it holds JS
 * functions and the witness's per-thread stack). Its fields are fixed at construction, so lock
 * call sites see one object shape.
 *
 * Error convention: RangeError for bad options; LockTimeoutError from lock operations whose bounded
 * wait ran out while the owner was still alive.
 */

import { ownerTagDescribe, ownerTagGeneration, ownerTagIsValid, ownerTagSlot } from "./owner.js";
import { type LockNameOf, type LockRankOf, Witness } from "./witness.js";

/** jemalloc's opt.mutex_max_spin default: CAS attempts before a contended acquire blocks. */
export const LOCK_MAX_SPIN_DEFAULT = 600;
/** Length of one bounded Atomics.wait; the owner's liveness is re-checked after each. */
export const LOCK_WAIT_SLICE_MS_DEFAULT = 50;
/** Total wait on a live owner before LockTimeoutError. */
export const LOCK_TIMEOUT_MS_DEFAULT = 10_000;

export interface LockContextOptions {
  /** Word index of the thread registry (see slots.ts). */
  regW: number;
  /** May this agent block in Atomics.wait? Default: detectCanBlock(). */
  canBlock?: boolean;
  /** opt.mutex_max_spin: CAS attempts before waiting (default 600); -1 = never block, only spin. */
  maxSpin?: number;
  /** Length of one bounded wait, ms (default 50). */
  waitSliceMs?: number;
  /** Longest total wait on a live owner, ms (default 10 000). */
  timeoutMs?: number;
  /** Lock word index → human name, for errors. Default "lock@<word>". */
  lockName?: LockNameOf;
  /** Debug lock-order checking: a Witness, or the rank function to build one with. */
  witness?: Witness | LockRankOf | null;
  /** Monotonic clock in ms (default performance.now), injectable for tests. */
  now?: () => number;
  /** Keep the mutex statistics (default true; false as jemalloc built without stats). */
  stats?: boolean;
}

export class LockContext {
  readonly regW: number;
  readonly canBlock: boolean;
  readonly maxSpin: number;
  readonly waitSliceMs: number;
  readonly timeoutMs: number;
  readonly lockName: LockNameOf;
  witness: Witness | null;
  readonly now: () => number;
  /** True when contended acquires must spin instead of calling Atomics.wait. */
  readonly spinOnly: boolean;
  /** Owner tag of the dead holder of the last lock taken over (LOCK_OWNER_DIED), for its repair. */
  deadOwner = 0;
  /**
   * Called before each bounded wait slice; may throw to abandon the wait (the heap throws
   * HeapPoisonedError here once it is poisoned, so no thread waits on a lock that will never be freed).
   */
  abortWait: (() => void) | null = null;
  /** Mutex statistics kept (false: the counters are never written). */
  readonly stats: boolean;

  constructor(options: LockContextOptions) {
    this.regW = intOption(options.regW, "regW", 0, 2 ** 31 - 1);
    this.canBlock = options.canBlock ?? detectCanBlock();
    this.maxSpin = intOption(options.maxSpin ?? LOCK_MAX_SPIN_DEFAULT, "maxSpin", -1, 2 ** 31 - 1);
    this.waitSliceMs = numOption(options.waitSliceMs ?? LOCK_WAIT_SLICE_MS_DEFAULT, "waitSliceMs", 1);
    this.timeoutMs = numOption(options.timeoutMs ?? LOCK_TIMEOUT_MS_DEFAULT, "timeoutMs", 0);
    this.lockName = options.lockName ?? defaultLockName;
    this.now = options.now ?? defaultNow;
    const w = options.witness ?? null;
    this.witness = typeof w === "function" ? new Witness(w, { nameOf: this.lockName }) : w;
    this.spinOnly = !this.canBlock || this.maxSpin < 0;
    this.stats = options.stats ?? true;
  }
  /** Installs a witness after construction (debug mode: it needs the finished heap context). */
  setWitness(w: Witness | LockRankOf): void {
    this.witness = typeof w === "function" ? new Witness(w, { nameOf: this.lockName }) : w;
  }
}

/** Creates a per-thread lock context (see LockContextOptions for defaults). */
export function createLockContext(options: LockContextOptions): LockContext {
  return new LockContext(options);
}

/**
 * Whether this agent may call Atomics.wait. A browser main thread throws TypeError even when the
 * value differs, and it throws before comparing, so a "not-equal" probe answers without blocking.
 */
export function detectCanBlock(): boolean {
  try {
    Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 1, 0);
    return true;
  } catch {
    return false;
  }
}

/** A bounded lock wait ran out while the owner was still alive (or unknown). Never a silent hang. */
export class LockTimeoutError extends Error {
  readonly lockW: number;
  readonly lockName: string;
  readonly ownerTag: number;
  readonly ownerSlot: number;
  readonly ownerGeneration: number;
  readonly waitedMs: number;

  constructor(lockW: number, lockName: string, ownerTag: number, waitedMs: number) {
    const owner =
      ownerTag === 0
        ? "an unknown owner (state word without an owner tag: corrupt)"
        : `owner ${ownerTagDescribe(ownerTag)}, which is still alive`;
    super(
      `lock ${lockName} (word ${lockW}) not acquired within ${Math.round(waitedMs)} ms: held by ${owner}`,
    );
    this.name = "LockTimeoutError";
    this.lockW = lockW;
    this.lockName = lockName;
    this.ownerTag = ownerTag;
    this.ownerSlot = ownerTagIsValid(ownerTag) ? ownerTagSlot(ownerTag) : -1;
    this.ownerGeneration = ownerTagIsValid(ownerTag) ? ownerTagGeneration(ownerTag) : -1;
    this.waitedMs = waitedMs;
  }
}

function defaultLockName(lockW: number): string {
  return `lock@${lockW}`;
}

function defaultNow(): number {
  return performance.now();
}

function intOption(v: number, name: string, min: number, max: number): number {
  if (!Number.isInteger(v) || v < min || v > max) {
    throw new RangeError(`LockContext: ${name} ${String(v)} is not an integer in [${min}, ${max}]`);
  }
  return v;
}

function numOption(v: number, name: string, min: number): number {
  if (typeof v !== "number" || !Number.isFinite(v) || v < min) {
    throw new RangeError(`LockContext: ${name} ${String(v)} is not a finite number ≥ ${min}`);
  }
  return v;
}
