// stats.* (MIB 11): heap-wide statistics from the snapshot the last `epoch` write
// took (snapshot.ts), the global mutex counters, and stats.mutexes.reset.
//
// stats.mapped is the address space this heap mapped for its arenas and their
// metadata (bytes of the buffer in use as arena or base memory); stats.resident
// counts pages handed out and not purged (DESIGN.md §4). stats.zero_reallocs reads
// the live counter, as jemalloc does.

import { arenaRecordByInd, narenasTotal } from "../../arena/arena.js";
import { binRecord } from "../../arena/bin.js";
import { BIN_LOCK_B } from "../../arena/layout.js";
import type { HeapCtx } from "../../ctx/ctx.js";
import { HDR_LOCK_CTL_B, HDR_ZERO_REALLOCS_B } from "../../ctx/header.js";
import { BASE_LOCK_B } from "../../extent/base.js";
import { heapLock, heapUnlock } from "../../extent/lock.js";
import { PAC_BASE_B, PAC_LOCK_B } from "../../extent/pac_layout.js";
import { lockStatsReset } from "../../sync/index.js";
import { backgroundLockB, GLOBAL_MUTEX_NAMES, snapshotGet } from "../snapshot.js";
import { withCtlLock } from "../state.js";
import { leaf, named } from "../tree.js";
import { type H, mutexNode, type Node, ro, snapLeaf } from "./common.js";
import { statsArenasNode } from "./stats_arenas_i.js";

/** Resets one lock's counters while holding it (malloc_mutex_prof_data_reset). */
function lockReset(ctx: HeapCtx, lockB: number): void {
  heapLock(ctx, lockB);
  try {
    lockStatsReset(ctx.i32, lockB >>> 2);
  } finally {
    heapUnlock(ctx, lockB);
  }
}

/** stats.mutexes.reset: zeroes the counters of every lock stats.* reports. */
function mutexesReset(heap: H): void {
  withCtlLock(heap, (ctx) => {
    lockStatsReset(ctx.i32, HDR_LOCK_CTL_B >>> 2);
    const bg = backgroundLockB(ctx);
    if (bg !== 0) lockReset(ctx, bg);
    const n = narenasTotal(ctx);
    for (let i = 0; i < n; i++) {
      const a = arenaRecordByInd(ctx, i);
      if (a === 0) continue;
      lockReset(ctx, a + PAC_LOCK_B);
      const base = ctx.u32[(a + PAC_BASE_B) >>> 2]!;
      if (base !== 0) lockReset(ctx, base + BASE_LOCK_B);
      for (let b = 0; b < ctx.sc.nbins; b++) {
        for (let s = 0; s < ctx.sc.binNshards[b]!; s++) lockReset(ctx, binRecord(ctx, a, b, s) + BIN_LOCK_B);
      }
    }
  });
}

const mutexesNode = named<H>([
  ...GLOBAL_MUTEX_NAMES.map(
    (name) => [name, mutexNode((heap) => withCtlLock(heap, () => snapshotGet(heap).mutexes[name]))] as const,
  ),
  ["reset", leaf<H>({ type: "void", access: "-", run: mutexesReset })],
]);

export const statsNode: Node = named<H>([
  ["allocated", snapLeaf("size_t", (s) => s.allocated)],
  ["active", snapLeaf("size_t", (s) => s.active)],
  ["metadata", snapLeaf("size_t", (s) => s.metadata)],
  ["metadata_thp", snapLeaf("size_t", (s) => s.metadata_thp)],
  ["resident", snapLeaf("size_t", (s) => s.resident)],
  ["mapped", snapLeaf("size_t", (s) => s.mapped)],
  ["retained", snapLeaf("size_t", (s) => s.retained)],
  [
    "background_thread",
    named<H>([
      ["num_threads", snapLeaf("size_t", (s) => s.background_thread.num_threads)],
      ["num_runs", snapLeaf("uint64_t", (s) => s.background_thread.num_runs)],
      ["run_interval", snapLeaf("uint64_t", (s) => s.background_thread.run_interval)],
    ]),
  ],
  ["mutexes", mutexesNode],
  ["arenas", statsArenasNode],
  ["zero_reallocs", ro("size_t", (heap) => heap.ctx.f64[HDR_ZERO_REALLOCS_B >>> 3]!)],
]);
