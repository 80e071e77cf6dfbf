// prof.* (MIB 10): heap profiling (src/prof), with jemalloc 5.3's ctl semantics:
// - thread_active_init, active, gdump: readable always (false without opt.prof); writes need
//   opt.prof (ENOENT), except prof.active ← false which is a no-op without it.
// - dump, prefix, reset, log_start, log_stop: ENOENT without opt.prof. prof.dump with no name and an
//   empty prefix, or an unwritable file, is EFAULT; prof.prefix ← NULL is EFAULT.
// - interval (uint64_t) and lg_sample (size_t) are read-only.
// - stats.{bins,lextents}.<i>.{live,accum}: only with opt.prof and opt.prof_stats; read
//   { req_sum, count } (bigints; req_sum is the sum of usable sizes here).
// - log_start / log_stop: allocation logging to a JSON file; log_stop writes the live sampled
//   allocations with their stacks (jemalloc's log also lists those freed meanwhile).

import { ctlFail } from "../../errors.js";
import { hostWriteFile } from "../../platform/index.js";
import { profCollect, profMdump, profReset, profStatsGet } from "../../prof/index.js";
import {
  PROF_ACTIVE_B,
  PROF_DUMP_SEQ_B,
  PROF_GDUMP_B,
  PROF_THREAD_ACTIVE_INIT_B,
} from "../../prof/layout.js";
import { profFlag, profFlagSet, profLgSample, profPrefix, profPrefixSet } from "../../prof/region.js";
import { indexed, leaf, named } from "../tree.js";
import type { H, Node } from "./common.js";

function profOn(heap: H): boolean {
  return heap.ctx.profB !== 0;
}

function needProf(heap: H): void {
  if (!profOn(heap)) ctlFail("ENOENT", "opt.prof is off");
}

/** A bool switch of the prof region (thread_active_init, gdump). */
function switchLeaf(fieldB: number): Node {
  return leaf<H>({
    type: "bool",
    access: "rw",
    read: (heap) => profOn(heap) && profFlag(heap.ctx, fieldB),
    write: (heap, _mib, v) => {
      needProf(heap);
      profFlagSet(heap.ctx, fieldB, v as boolean);
    },
  });
}

const activeNode = leaf<H>({
  type: "bool",
  access: "rw",
  read: (heap) => profOn(heap) && profFlag(heap.ctx, PROF_ACTIVE_B),
  write: (heap, _mib, v) => {
    if (!profOn(heap)) {
      if (v === true) ctlFail("ENOENT", "opt.prof is off");
      return;
    }
    profFlagSet(heap.ctx, PROF_ACTIVE_B, v as boolean);
  },
});

const dumpNode = leaf<H>({
  type: "const char *",
  access: "w",
  enabled: profOn,
  write: (heap, _mib, v) => {
    const file = v === undefined ? null : (v as string | null);
    if (!profMdump(heap.ctx, file))
      ctlFail("EFAULT", file === null ? "prof.prefix is empty: no file name" : `cannot write ${file}`);
  },
});

const prefixNode = leaf<H>({
  type: "const char *",
  access: "w",
  enabled: profOn,
  write: (heap, _mib, v) => {
    if (typeof v !== "string") ctlFail("EFAULT", "prof.prefix needs a string");
    profPrefixSet(heap.ctx, v);
  },
});

const resetNode = leaf<H>({
  type: "size_t",
  access: "w",
  enabled: profOn,
  write: (heap, _mib, v) => {
    const lg = v === undefined ? profLgSample(heap.ctx) : Math.min(v as number, 63);
    profReset(heap.ctx, lg);
  },
});

/**
 * prof_interval: 2^lg_prof_interval bytes when opt.prof was given, 0 when interval dumps are off
 * (also when prof_leak alone turned profiling on).
 */
const intervalNode = leaf<H>({
  type: "uint64_t",
  access: "r",
  read: (heap) => {
    const lg = heap.ctx.opt.profIntervalLg;
    return profOn(heap) && lg >= 0 ? 1n << BigInt(lg) : 0n;
  },
});

/** lg_prof_sample: set from the option when profiling starts, 0 in a heap without profiling. */
const lgSampleNode = leaf<H>({
  type: "size_t",
  access: "r",
  read: (heap) => (profOn(heap) ? profLgSample(heap.ctx) : 0),
});

/** Allocation logging: per process, as jemalloc's log is. */
const logFiles = new WeakMap<object, string>();

function logDefaultName(heap: H): string {
  const ctx = heap.ctx;
  const seq = ctx.u32[(ctx.profB + PROF_DUMP_SEQ_B) >>> 2]!;
  return `${profPrefix(ctx)}.${process.pid}.${seq}.json`;
}

const logStartNode = leaf<H>({
  type: "const char *",
  access: "w",
  enabled: profOn,
  write: (heap, _mib, v) => {
    if (logFiles.has(heap.ctx.buffer)) ctlFail("EFAULT", "allocation logging is already on");
    logFiles.set(heap.ctx.buffer, typeof v === "string" ? v : logDefaultName(heap));
  },
});

const logStopNode = leaf<H>({
  type: "void",
  access: "-",
  enabled: profOn,
  run: (heap) => {
    const file = logFiles.get(heap.ctx.buffer);
    if (file === undefined) ctlFail("EFAULT", "allocation logging is not on");
    logFiles.delete(heap.ctx.buffer);
    const data = profCollect(heap.ctx);
    const log = {
      info: { version: 1, lg_sample_rate: data.lgSample },
      stack_traces: data.stacks.map((s) => s.frames.map((f) => f.text)),
      allocations: data.stacks.map((s, i) => ({
        stack: i,
        objects: s.total.curobjs,
        bytes: s.total.curbytes,
      })),
    };
    try {
      hostWriteFile(file, JSON.stringify(log));
    } catch {
      ctlFail("EFAULT", `cannot write ${file}`);
    }
  },
});

function statsOn(heap: H): boolean {
  return profOn(heap) && heap.ctx.optRaw.prof_stats;
}

function statsLeaf(accum: boolean, first: number): Node {
  return leaf<H>({
    type: "opaque",
    access: "r",
    read: (heap, mib) => profStatsGet(heap.ctx, first + (mib[3] as number), accum),
  });
}

const binStats = named<H>([
  ["live", statsLeaf(false, 0)],
  ["accum", statsLeaf(true, 0)],
]);

export const profNode: Node = named<H>([
  ["thread_active_init", switchLeaf(PROF_THREAD_ACTIVE_INIT_B)],
  ["active", activeNode],
  ["dump", dumpNode],
  ["gdump", switchLeaf(PROF_GDUMP_B)],
  ["prefix", prefixNode],
  ["reset", resetNode],
  ["interval", intervalNode],
  ["lg_sample", lgSampleNode],
  ["log_start", logStartNode],
  ["log_stop", logStopNode],
  [
    "stats",
    named<H>([
      ["bins", indexed<H>((heap, i) => (statsOn(heap) && i < heap.ctx.sc.nbins ? binStats : null))],
      [
        "lextents",
        indexed<H>((heap, i) =>
          statsOn(heap) && i < heap.ctx.sc.nsizes - heap.ctx.sc.nbins
            ? lextentStats(heap.ctx.sc.nbins)
            : null,
        ),
      ],
    ]),
  ],
]);

const lextentNodes = new Map<number, Node>();
function lextentStats(nbins: number): Node {
  let n = lextentNodes.get(nbins);
  if (n === undefined) {
    n = named<H>([
      ["live", statsLeaf(false, nbins)],
      ["accum", statsLeaf(true, nbins)],
    ]);
    lextentNodes.set(nbins, n);
  }
  return n;
}
