// Helpers shared by the subtree files: the context type, value conversions for
// the C types, and small leaf builders.
//
// Every subtree is a tree over `HeapHandle` (one thread's handle); leaves reach the
// buffer through heap.ctx. Counters are kept as numbers in the buffer (exact to
// 2^53); leaves typed uint64_t/int64_t hand them out as bigints (tree.ts table).

import type { HeapHandle } from "../../ctx/ctx.js";
import { ctlFail } from "../../errors.js";
import type { LockStats } from "../../sync/index.js";
import { type ArenaSnapshot, arenaSnapshotOf, type StatsSnapshot, snapshotGet } from "../snapshot.js";
import { withCtlLock } from "../state.js";
import { type CType, type CtlLeaf, type CtlNode, leaf, named } from "../tree.js";

export type H = HeapHandle;
export type Node = CtlNode<H>;

/** A count held as a double, as the bigint a uint64_t leaf returns. */
export function u64(n: number): bigint {
  return BigInt(Math.max(0, Math.floor(n)));
}

/** A value converted to the JS type of C type `t` (bigint for the 64-bit integer types). */
export function asType(t: CType, v: number): number | bigint {
  return t === "uint64_t" || t === "int64_t" ? BigInt(Math.trunc(v)) : v;
}

/** A read-only leaf. */
export function ro(type: CType, read: (heap: H, mib: readonly number[]) => unknown): CtlLeaf<H> {
  return leaf<H>({ type, access: "r", read });
}

/** A leaf that answers ENOENT: the feature is not built (jemalloc's `if (!config_x) return ENOENT`). */
export function notBuilt(type: CType, access: "r" | "w" | "rw" | "-" = "r"): CtlLeaf<H> {
  const fail = (): never => ctlFail("ENOENT", "not available in this build");
  return leaf<H>({ type, access, enabled: () => false, read: fail, write: fail, run: fail });
}

/** The mib component at `pos` (an index the validator accepted). */
export function mibAt(mib: readonly number[], pos: number): number {
  return mib[pos] as number;
}

/** A stats leaf reading the snapshot (taken under the ctl lock, as jemalloc's CTL_RO_CGEN does). */
export function snapLeaf(type: CType, get: (snap: StatsSnapshot) => number): CtlLeaf<H> {
  return ro(type, (heap) => withCtlLock(heap, () => asType(type, get(snapshotGet(heap)))));
}

/** The snapshot record of stats.arenas.<mib[2]>, or ENOENT when it went away since validation. */
export function arenaSnapOf(heap: H, mib: readonly number[]): ArenaSnapshot {
  const s = arenaSnapshotOf(heap, snapshotGet(heap), mibAt(mib, 2));
  return s ?? ctlFail("ENOENT", `arena ${mibAt(mib, 2)} is not initialized in the current snapshot`);
}

/** A stats.arenas.<i> leaf reading arena i's snapshot record. */
export function arenaLeaf(
  type: CType,
  get: (a: ArenaSnapshot, mib: readonly number[]) => unknown,
): CtlLeaf<H> {
  return ro(type, (heap, mib) =>
    withCtlLock(heap, () => {
      const v = get(arenaSnapOf(heap, mib), mib);
      return typeof v === "number" ? asType(type, v) : v;
    }),
  );
}

/** The seven leaves of one mutex (num_ops … max_num_thds), in jemalloc's MIB order. */
export const MUTEX_COUNTER_NAMES = [
  "num_ops",
  "num_wait",
  "num_spin_acq",
  "num_owner_switch",
  "total_wait_time",
  "max_wait_time",
  "max_num_thds",
] as const;

/** A mutex counter by its mallctl name. */
export function mutexCounter(s: LockStats, name: (typeof MUTEX_COUNTER_NAMES)[number]): number {
  switch (name) {
    case "num_ops":
      return s.numOps;
    case "num_wait":
      return s.numWait;
    case "num_spin_acq":
      return s.numSpinAcq;
    case "num_owner_switch":
      return s.numOwnerSwitch;
    case "total_wait_time":
      return s.totalWaitTimeNs;
    case "max_wait_time":
      return s.maxWaitTimeNs;
    default:
      return s.maxNumThds;
  }
}

/** A named node with the seven counters of the mutex `pick` selects. */
export function mutexNode(pick: (heap: H, mib: readonly number[]) => LockStats): Node {
  return named<H>(
    MUTEX_COUNTER_NAMES.map((name) => {
      const type: CType = name === "max_num_thds" ? "uint32_t" : "uint64_t";
      const l = ro(type, (heap, mib) =>
        withCtlLock(heap, () => asType(type, mutexCounter(pick(heap, mib), name))),
      );
      return [name, l] as const;
    }),
  );
}
