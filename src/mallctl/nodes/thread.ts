// thread.* (MIB 4): the calling thread's arena, counters, cache and peak.
//
// thread.arena: writing binds the thread to another arena (EFAULT for an index
// ≥ arenas.narenas, EAGAIN when the arena cannot be created).
// thread.allocatedp / deallocatedp: jemalloc returns pointers to the counters;
// here a pointer is a byte offset: the offset of the counter (an f64) in the buffer.
// thread.peak.*: the peak of allocated − deallocated, updated by the thread's peak
// events (every 64 KiB each way) and on read (ctx/events.ts).
// thread.prof.name: read XOR write in jemalloc; here a write returns the name now set. Writing needs
// opt.prof (ENOENT), a string of printable characters or blanks (EFAULT otherwise, and for NULL), and
// is ENOENT with opt.prof_sys_thread_name. thread.prof.active: reads false without opt.prof.

import {
  arenaCreateManual,
  arenaGet,
  arenaRecordByInd,
  narenasTotal,
  threadArena,
  threadArenaBind,
} from "../../arena/arena.js";
import { arenaDecay, PURGE_ON_EPOCH_ADVANCE } from "../../arena/decay.js";
import { peakReset, peakUpdate } from "../../ctx/events.js";
import { HDR_NCPUS_B, THREAD_ALLOCATED_B, THREAD_DEALLOCATED_B } from "../../ctx/header.js";
import { ctlFail } from "../../errors.js";
import {
  profThreadActive,
  profThreadActiveSet,
  profThreadName,
  profThreadNameSet,
} from "../../prof/index.js";
import {
  threadTcacheEnabledGet,
  threadTcacheEnabledSet,
  threadTcacheFlush,
  threadTcacheReassociate,
} from "../../tcache/index.js";
import { arenaLiveByInd } from "../snapshot.js";
import { leaf, named } from "../tree.js";
import { type H, type Node, ro, u64 } from "./common.js";

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
    if (!threadArenaBind(ctx, ind)) ctlFail("EAGAIN", `arena ${ind} could not be initialized`);
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
    if (a !== 0) arenaDecay(ctx, a, PURGE_ON_EPOCH_ADVANCE, true);
  }
}

const threadProfName = leaf<H>({
  type: "const char *",
  access: "rw",
  writeFirst: true,
  enabled: (heap) => heap.ctx.profB !== 0,
  read: (heap) => profThreadName(heap.ctx),
  write: (heap, _mib, v) => {
    if (heap.ctx.optRaw.prof_sys_thread_name) ctlFail("ENOENT", "opt.prof_sys_thread_name names threads");
    if (typeof v !== "string") ctlFail("EFAULT", "thread.prof.name needs a string");
    // isgraph || isblank, as prof_thread_name_set checks each char.
    if (!/^[\x21-\x7e \t]*$/.test(v))
      ctlFail("EFAULT", `thread name has a character that is not printable: ${JSON.stringify(v)}`);
    if (!profThreadNameSet(heap.ctx, v)) ctlFail("EAGAIN", "out of memory for the thread name");
  },
});

const threadProfActive = leaf<H>({
  type: "bool",
  access: "rw",
  read: (heap) => heap.ctx.profB !== 0 && profThreadActive(heap.ctx),
  write: (heap, _mib, v) => {
    if (heap.ctx.profB === 0) ctlFail("ENOENT", "opt.prof is off");
    profThreadActiveSet(heap.ctx, v as boolean);
  },
});

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
      ["name", threadProfName],
      ["active", threadProfActive],
    ]),
  ],
  ["idle", leaf<H>({ type: "void", access: "-", run: threadIdle })],
]);
