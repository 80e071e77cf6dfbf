// thread.* (MIB 4): the calling thread's arena, counters, cache and peak.
//
// thread.arena: writing binds the thread to another arena (EFAULT for an index
// ≥ arenas.narenas, EAGAIN when the arena cannot be created).
// thread.allocatedp / deallocatedp: jemalloc returns pointers to the counters;
// here a pointer is a byte offset: the offset of the counter (an f64) in the buffer.
// thread.peak.*: the peak of allocated − deallocated, updated by the thread's peak
// events (every 64 KiB each way) and on read (heap/events.ts).
// thread.prof.*: ENOENT (profiling not built).

import {
  arenaCreateManual,
  arenaGet,
  arenaRecordByInd,
  narenasTotal,
  threadArena,
  threadArenaBind,
} from "../../arena/arena.js";
import { PURGE_ON_EPOCH_ADVANCE, pacDecay } from "../../extent/pac.js";
import { peakReset, peakUpdate } from "../../heap/events.js";
import { HDR_NCPUS_B, THREAD_ALLOCATED_B, THREAD_DEALLOCATED_B } from "../../layout/header.js";
import {
  threadTcacheEnabledGet,
  threadTcacheEnabledSet,
  threadTcacheFlush,
  threadTcacheReassociate,
} from "../../tcache/index.js";
import { ctlFail } from "../errors.js";
import { arenaLiveByInd } from "../snapshot.js";
import { leaf, named } from "../tree.js";
import { type H, type Node, notBuilt, ro, u64 } from "./common.js";

function counter(heap: H, fieldB: number): number {
  return heap.ctx.f64[(heap.ctx.threadB + fieldB) >>> 3]!;
}

const arenaNode = leaf<H>({
  type: "unsigned",
  access: "rw",
  read: (heap) => threadArena(heap.ctx),
  write: (heap, _mib, v) => {
    const ctx = heap.ctx;
    const ind = v as number;
    if (ind === threadArena(ctx)) return;
    const n = narenasTotal(ctx);
    if (ind >= n) ctlFail("EFAULT", `arena ${ind} is out of range (arenas.narenas is ${n})`);
    // A destroyed index is initialized anew, as jemalloc's arena_get(ind, true) does.
    const revived = arenaLiveByInd(ctx, ind) === 0 && arenaRecordByInd(ctx, ind) !== 0;
    if (revived && arenaCreateManual(ctx, ind) < 0)
      ctlFail("EAGAIN", `arena ${ind} could not be initialized`);
    if (arenaGet(ctx, ind, true) === 0) ctlFail("EAGAIN", `arena ${ind} could not be initialized`);
    threadArenaBind(ctx, ind);
    threadTcacheReassociate(ctx, ind);
  },
});

const tcacheNode = named<H>([
  [
    "enabled",
    leaf<H>({
      type: "bool",
      access: "rw",
      read: (heap) => threadTcacheEnabledGet(heap.ctx),
      write: (heap, _mib, v) => threadTcacheEnabledSet(heap.ctx, v as boolean),
    }),
  ],
  [
    "flush",
    leaf<H>({
      type: "void",
      access: "-",
      run: (heap) => {
        if (!threadTcacheEnabledGet(heap.ctx)) ctlFail("EFAULT", "the thread has no thread cache");
        threadTcacheFlush(heap.ctx);
      },
    }),
  ],
]);

const peakNode = named<H>([
  ["read", ro("uint64_t", (heap) => u64(peakUpdate(heap.ctx)))],
  ["reset", leaf<H>({ type: "void", access: "-", run: (heap) => peakReset(heap.ctx) })],
]);

/** thread.idle: flush the cache; with more arenas than 2 × CPUs, purge the thread's arena fully. */
function threadIdle(heap: H): void {
  const ctx = heap.ctx;
  if (threadTcacheEnabledGet(ctx)) threadTcacheFlush(ctx);
  const ncpus = ctx.u32[HDR_NCPUS_B >>> 2]!;
  if (heap.derived.conf.opt.narenas > ncpus * 2) {
    const a = arenaLiveByInd(ctx, threadArena(ctx));
    if (a !== 0) pacDecay(ctx, a, PURGE_ON_EPOCH_ADVANCE, true);
  }
}

export const threadNode: Node = named<H>([
  ["arena", arenaNode],
  ["allocated", ro("uint64_t", (heap) => u64(counter(heap, THREAD_ALLOCATED_B)))],
  ["allocatedp", ro("opaque", (heap) => heap.ctx.threadB + THREAD_ALLOCATED_B)],
  ["deallocated", ro("uint64_t", (heap) => u64(counter(heap, THREAD_DEALLOCATED_B)))],
  ["deallocatedp", ro("opaque", (heap) => heap.ctx.threadB + THREAD_DEALLOCATED_B)],
  ["tcache", tcacheNode],
  ["peak", peakNode],
  [
    "prof",
    named<H>([
      ["name", notBuilt("const char *", "rw")],
      ["active", notBuilt("bool", "rw")],
    ]),
  ],
  ["idle", leaf<H>({ type: "void", access: "-", run: threadIdle })],
]);
