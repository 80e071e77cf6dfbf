/**
 * Lock record layout: one futex-style mutex (Drepper, "Futexes Are Tricky", mutex #2) plus the
 * per-mutex profiling counters jemalloc reports as `stats.mutexes.*` / `stats.arenas.<i>.mutexes.*`.
 *
 * Invariants:
 * - A record is LOCK_WORDS i32 words at a word index `lockW` that is a multiple of 2, so each 64-bit
 *   counter (lo, hi pair) sits at an 8-byte-aligned byte offset.
 * - STATE ≠ 0 ⇔ the lock is held, and then its low 30 bits are the holder's owner tag: taking the
 *   lock and naming its owner is one CAS (0 → tag), so a holder can never be anonymous, not even for
 *   an instant (a worker terminated anywhere leaves either a free lock or one naming it).
 *
 * Synchronization: words marked "atomic" are only accessed with `Atomics`; "holder" words are read
 * and written with plain loads/stores by the thread that holds the lock (the lock's seq-cst state
 * operations publish them to the next holder). Readers that do not hold the lock may see stale values.
 *
 * ╒══════════════ Lock record: 64 bytes = 16 × i32, 8-byte aligned ══════════════╕
 *  word  bytes   field                  units         sync
 *   0    0..3    STATE                  packed        atomic (0 free, else owner tag | CONTENDED)
 *   1    4..7    RESERVED               0             - (was a separate owner word)
 *   2    8..11   PREV_OWNER             owner tag     holder (last holder, for num_owner_switch)
 *   3    12..15  WAITERS                packed        atomic (see legend below)
 *   4    16..23  NUM_OPS      lo, hi    count (u64)   holder
 *   6    24..31  NUM_WAIT     lo, hi    count (u64)   holder
 *   8    32..39  NUM_SPIN_ACQ lo, hi    count (u64)   holder
 *  10    40..47  NUM_OWNER_SWITCH lo,hi count (u64)   holder
 *  12    48..55  TOTAL_WAIT_NS lo, hi   ns (u64)      holder
 *  14    56..63  MAX_WAIT_NS  lo, hi    ns (u64)      holder
 * ╘═══════════════════════════════════════════════════════════════════════════════╛
 *
 * STATE word legend (owner tags are < 2^30, see owner.ts):
 *
 *   bit 31   bit 30        bits 29..0
 *   0        C             TTTTTTTT TTTTTTTT TTTTTTTT TTTTTT
 *            C: contended (a waiter may be asleep: the release must notify)
 *            T: the holder's owner tag; all zero (with C = 0) = free
 *
 * WAITERS word legend (two u16 halves; contenders add/sub 1 to the low half, the holder raises the
 * high half with a CAS loop, so neither disturbs the other while n_waiting < 2^16):
 *
 *   bits 31..16                     bits 15..0
 *   MMMMMMMM MMMMMMMM               NNNNNNNN NNNNNNNN
 *   M: max_num_thds (most threads   N: n_waiting_thds (threads currently in the
 *      seen waiting at once)           blocking part of the slow path)
 */

/** Words per lock record (even, so records keep 8-byte alignment when packed back to back). */
export const LOCK_WORDS = 16;
/** Bytes per lock record. */
export const LOCK_BYTES = LOCK_WORDS * 4;

export const LOCK_W_X_STATE = 0;
/** Unused (kept 0): the owner lives in the STATE word. */
export const LOCK_W_RESERVED = 1;
export const LOCK_W_PREV_OWNER = 2;
export const LOCK_W_X_WAITERS = 3;
export const LOCK_W_NUM_OPS = 4;
export const LOCK_W_NUM_WAIT = 6;
export const LOCK_W_NUM_SPIN_ACQ = 8;
export const LOCK_W_NUM_OWNER_SWITCH = 10;
export const LOCK_W_TOTAL_WAIT_NS = 12;
export const LOCK_W_MAX_WAIT_NS = 14;

/** Offset of the high word inside a 64-bit (lo, hi) counter pair. */
export const LOCK_U64_HI = 1;

/** STATE of a free lock. */
export const LOCK_STATE_FREE = 0;
/** STATE bit set by a waiter before it sleeps (Drepper's "locked, maybe waiters"). */
export const LOCK_STATE_CONTENDED_BIT = 1 << 30;
/** STATE bits that hold the owner tag. */
export const LOCK_STATE_OWNER_MASK = LOCK_STATE_CONTENDED_BIT - 1;

export const LOCK_WAITERS_N_SHIFT = 0;
export const LOCK_WAITERS_N_WIDTH = 16;
export const LOCK_WAITERS_N_MASK = ((1 << LOCK_WAITERS_N_WIDTH) - 1) << LOCK_WAITERS_N_SHIFT;
export const LOCK_WAITERS_MAX_SHIFT = LOCK_WAITERS_N_SHIFT + LOCK_WAITERS_N_WIDTH;
export const LOCK_WAITERS_MAX_WIDTH = 16;
/** Largest max_num_thds the high half can hold. */
export const LOCK_WAITERS_MAX_LIMIT = (1 << LOCK_WAITERS_MAX_WIDTH) - 1;

/** Field table for the layout self-test and debug printing: [name, word, width in words]. */
export const LOCK_FIELDS: readonly (readonly [string, number, number])[] = [
  ["state", LOCK_W_X_STATE, 1],
  ["reserved", LOCK_W_RESERVED, 1],
  ["prev_owner", LOCK_W_PREV_OWNER, 1],
  ["waiters", LOCK_W_X_WAITERS, 1],
  ["num_ops", LOCK_W_NUM_OPS, 2],
  ["num_wait", LOCK_W_NUM_WAIT, 2],
  ["num_spin_acq", LOCK_W_NUM_SPIN_ACQ, 2],
  ["num_owner_switch", LOCK_W_NUM_OWNER_SWITCH, 2],
  ["total_wait_time", LOCK_W_TOTAL_WAIT_NS, 2],
  ["max_wait_time", LOCK_W_MAX_WAIT_NS, 2],
];

/**
 * Throws a RangeError unless `lockW` names a whole, 8-byte-aligned lock record inside `i32`.
 * Slow path only (init, stats); the acquire/release fast paths trust their callers.
 */
export function lockRecordCheck(i32: Int32Array, lockW: number, what: string): void {
  if (!Number.isInteger(lockW) || lockW < 0 || lockW % 2 !== 0) {
    throw new RangeError(`${what}: lock word index ${String(lockW)} must be a non-negative even integer`);
  }
  if (lockW + LOCK_WORDS > i32.length) {
    throw new RangeError(
      `${what}: lock record at word ${lockW} (+${LOCK_WORDS} words) is outside the view (${i32.length} words)`,
    );
  }
  if (i32.byteOffset % 8 !== 0) {
    throw new RangeError(`${what}: the Int32Array view must start at an 8-byte-aligned offset`);
  }
}
