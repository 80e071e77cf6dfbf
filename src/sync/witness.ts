/**
 * Witness: per-thread lock-order checking for debug builds (jemalloc witness.h).
 *
 * Every lock has a rank (LOCK_RANK_*); a thread must acquire locks in strictly increasing rank.
 * Acquiring a lock whose rank is ≤ the highest rank the thread holds throws a LockOrderError before
 * the lock is touched, so an inversion is reported instead of deadlocking later. Equal ranks are
 * allowed only for ranks listed in `addressOrderedRanks`, and then only in ascending lock-word order
 * (jemalloc's malloc_mutex_address_ordered). Rank LOCK_RANK_OMIT locks are ignored.
 *
 * Invariants: the held stack is strictly increasing in (rank, lockW), so its top is the highest
 * held rank. Synchronization: a Witness belongs to one thread (one LockContext); it is plain JS
 * state, never shared. Error convention: LockOrderError for order violations and releases of locks
 * this thread does not hold; RangeError for a full stack or a bad rank.
 */

/*
 * Ranks, in jemalloc 5.3's order (witness_rank_e), keeping the locks this port has. THREADS (our
 * thread registry) sits where jemalloc's tcaches/arenas bookkeeping sits: a reclaimer holds it while
 * it flushes a dead thread's tcache, which takes core locks below it. The core locks follow
 * jemalloc exactly: decay → extent grow → extents (ecache) → extent_avail → rtree → base →
 * arena large → bin, then leaf locks (stats) that nothing is acquired under.
 */
export const LOCK_RANK_OMIT = 0;
export const LOCK_RANK_INIT = 1;
export const LOCK_RANK_CTL = 2;
export const LOCK_RANK_THREADS = 3;
export const LOCK_RANK_TCACHES = 4;
export const LOCK_RANK_ARENAS = 5;
export const LOCK_RANK_BACKGROUND_THREAD_GLOBAL = 6;
export const LOCK_RANK_BACKGROUND_THREAD = 7;
export const LOCK_RANK_DECAY = 8;
export const LOCK_RANK_TCACHE_QL = 9;
export const LOCK_RANK_EXTENT_GROW = 10;
export const LOCK_RANK_EXTENTS = 11;
export const LOCK_RANK_EDATA_CACHE = 12;
export const LOCK_RANK_RTREE = 13;
export const LOCK_RANK_BASE = 14;
export const LOCK_RANK_ARENA_LARGE = 15;
export const LOCK_RANK_BIN = 16;
export const LOCK_RANK_LEAF = 0x1000;

/** Rank → name, for messages. */
export const LOCK_RANK_NAMES: Readonly<Record<number, string>> = {
  [LOCK_RANK_OMIT]: "OMIT",
  [LOCK_RANK_INIT]: "INIT",
  [LOCK_RANK_CTL]: "CTL",
  [LOCK_RANK_THREADS]: "THREADS",
  [LOCK_RANK_TCACHES]: "TCACHES",
  [LOCK_RANK_ARENAS]: "ARENAS",
  [LOCK_RANK_BACKGROUND_THREAD_GLOBAL]: "BACKGROUND_THREAD_GLOBAL",
  [LOCK_RANK_BACKGROUND_THREAD]: "BACKGROUND_THREAD",
  [LOCK_RANK_DECAY]: "DECAY",
  [LOCK_RANK_TCACHE_QL]: "TCACHE_QL",
  [LOCK_RANK_EXTENT_GROW]: "EXTENT_GROW",
  [LOCK_RANK_EXTENTS]: "EXTENTS",
  [LOCK_RANK_EDATA_CACHE]: "EDATA_CACHE",
  [LOCK_RANK_RTREE]: "RTREE",
  [LOCK_RANK_BASE]: "BASE",
  [LOCK_RANK_ARENA_LARGE]: "ARENA_LARGE",
  [LOCK_RANK_BIN]: "BIN",
  [LOCK_RANK_LEAF]: "LEAF",
};

/** Most locks one thread may hold at once under the witness. */
export const WITNESS_DEPTH_MAX = 32;

export type LockRankOf = (lockW: number) => number;
export type LockNameOf = (lockW: number) => string;

export interface WitnessOptions {
  /** Ranks whose locks may be held several at a time, acquired in ascending lock-word order. */
  addressOrderedRanks?: readonly number[];
  /** Lock names for messages; defaults to "lock@<word>". */
  nameOf?: LockNameOf;
}

/** A lock-order violation or a release of a lock the thread does not hold (debug). */
export class LockOrderError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "LockOrderError";
  }
}

export function lockRankName(rank: number): string {
  return LOCK_RANK_NAMES[rank] ?? `rank ${rank}`;
}

export class Witness {
  readonly rankOf: LockRankOf;
  readonly nameOf: LockNameOf;
  private readonly addressOrdered: ReadonlySet<number>;
  private readonly heldW = new Int32Array(WITNESS_DEPTH_MAX);
  private readonly heldRank = new Int32Array(WITNESS_DEPTH_MAX);
  private n = 0;

  constructor(rankOf: LockRankOf, options: WitnessOptions = {}) {
    this.rankOf = rankOf;
    this.nameOf = options.nameOf ?? ((lockW) => `lock@${lockW}`);
    this.addressOrdered = new Set(options.addressOrderedRanks ?? []);
  }

  /** Locks currently held (rank OMIT excluded). */
  get depth(): number {
    return this.n;
  }

  /** Highest held rank, or -1 when no lock is held. */
  highestRank(): number {
    return this.n === 0 ? -1 : this.heldRank[this.n - 1]!;
  }

  holds(lockW: number): boolean {
    return this.indexOf(lockW) >= 0;
  }

  /** Checks that acquiring `lockW` now keeps the order; returns its rank. Throws LockOrderError. */
  check(lockW: number): number {
    const rank = this.rankOf(lockW);
    if (!Number.isInteger(rank) || rank < 0) {
      throw new RangeError(
        `witness: rank ${String(rank)} of ${this.nameOf(lockW)} is not a non-negative integer`,
      );
    }
    if (rank === LOCK_RANK_OMIT || this.n === 0) return rank;
    if (this.holds(lockW)) {
      throw new LockOrderError(
        `witness: ${this.nameOf(lockW)} is already held by this thread (recursive acquire)`,
      );
    }
    const topW = this.heldW[this.n - 1]!;
    const topRank = this.heldRank[this.n - 1]!;
    if (rank > topRank) return rank;
    if (rank === topRank && this.addressOrdered.has(rank) && lockW > topW) return rank;
    throw new LockOrderError(
      `witness: lock order reversal: acquiring ${this.describe(lockW, rank)} while holding ` +
        `${this.describe(topW, topRank)} (held: ${this.heldList()})`,
    );
  }

  /** Records that `lockW` (rank from check) is now held. */
  push(lockW: number, rank: number): void {
    if (rank === LOCK_RANK_OMIT) return;
    if (this.n === WITNESS_DEPTH_MAX) {
      throw new RangeError(
        `witness: more than ${WITNESS_DEPTH_MAX} locks held (acquiring ${this.nameOf(lockW)})`,
      );
    }
    this.heldW[this.n] = lockW;
    this.heldRank[this.n] = rank;
    this.n++;
  }

  /** Records that `lockW` was released; throws LockOrderError if this thread did not hold it. */
  pop(lockW: number): void {
    const i = this.indexOf(lockW);
    if (i < 0) {
      if (this.rankOf(lockW) === LOCK_RANK_OMIT) return;
      throw new LockOrderError(`witness: releasing ${this.nameOf(lockW)}, which this thread does not hold`);
    }
    this.heldW.copyWithin(i, i + 1, this.n);
    this.heldRank.copyWithin(i, i + 1, this.n);
    this.n--;
  }

  assertOwner(lockW: number): void {
    if (!this.holds(lockW) && this.rankOf(lockW) !== LOCK_RANK_OMIT) {
      throw new LockOrderError(`witness: ${this.nameOf(lockW)} is not held by this thread`);
    }
  }

  assertNotOwner(lockW: number): void {
    if (this.holds(lockW)) throw new LockOrderError(`witness: ${this.nameOf(lockW)} is held by this thread`);
  }

  /** Throws unless the thread holds no (ranked) lock, e.g. before returning to user code. */
  assertLockless(): void {
    if (this.n !== 0) throw new LockOrderError(`witness: expected no locks held, holding ${this.heldList()}`);
  }

  /** Forgets every held lock (the thread is being torn down or took over a dead owner's state). */
  reset(): void {
    this.n = 0;
  }

  private indexOf(lockW: number): number {
    for (let i = 0; i < this.n; i++) if (this.heldW[i] === lockW) return i;
    return -1;
  }

  private describe(lockW: number, rank: number): string {
    return `${this.nameOf(lockW)} (rank ${lockRankName(rank)})`;
  }

  private heldList(): string {
    const parts: string[] = [];
    for (let i = 0; i < this.n; i++) parts.push(this.describe(this.heldW[i]!, this.heldRank[i]!));
    return parts.join(", ");
  }
}
