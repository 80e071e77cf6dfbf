/**
 * prof: heap profiling over JavaScript stacks — what the heap and mallctl call. The parts:
 * layout (buffer records), region (globals, lock), intern (strings, stacks), records (counters,
 * sampled allocations), stack (JS stack capture), sample (the sampling event), collect (a consistent
 * copy), dump (heap_v2 + symbols), pprof (protobuf), leak (prof_final and the leak summary).
 */

import type { HeapCtx } from "../ctx/ctx.js";
import { edataArena } from "../extent/edata.js";
import { emapLookupChecked } from "../extent/emap.js";
import { profCollect } from "./collect.js";
import { formatDump, profDumpFilename, profDumpToFile } from "./dump.js";
import { stackFrames, stringText } from "./intern.js";
import {
  PROF_LG_SAMPLE_B,
  PROF_RECENT_MAX_B,
  PROF_STATS_TABLE_B,
  PSTATS_BYTES,
  PT_ACTIVE_B,
  TCTX_ACCUMBYTES_B,
  TCTX_BYTES,
  TCTX_CUROBJS_B,
  TCTX_STACK_B,
  TCTX_TID_B,
} from "./layout.js";
import { profLeakAtExit } from "./leak.js";
import { profilePprof } from "./pprof.js";
import {
  allocPtr,
  allocRecordsAll,
  allocRecordTake,
  allocSize,
  allocTctx,
  allocUsize,
  f64At,
  tctxAll,
} from "./records.js";
import { profLgSample as profLgSampleOf, profThreadB, withProfLock } from "./region.js";
import { profFreeSampled } from "./sample.js";

export { profCollect } from "./collect.js";
export { formatDump, profDumpText } from "./dump.js";
export { profThreadName, profThreadNameSet } from "./tdata.js";

function requireProf(ctx: HeapCtx, what: string): void {
  if (ctx.profB === 0)
    throw new RangeError(`${what}: the heap was created without opt.prof (use "prof:true")`);
}

/** heap.profile(): the pprof protobuf (gzip) or the jeprof dump text. */
export function heapProfile(ctx: HeapCtx, format: string): Uint8Array | string {
  requireProf(ctx, "profile");
  if (format === "pprof") return profilePprof(profCollect(ctx));
  if (format === "jeprof") return formatDump(ctx, profCollect(ctx));
  throw new RangeError(`profile: format must be "pprof" or "jeprof", got ${JSON.stringify(format)}`);
}

/**
 * prof_mdump: prof.dump to `file`, or to `<prefix>.<pid>.<seq>.m<mseq>.heap`. False when the prefix
 * is empty (no name) or the file cannot be written (EFAULT).
 */
export function profMdump(ctx: HeapCtx, file: string | null): boolean {
  const name = file ?? profDumpFilename(ctx, "m");
  if (name === null) return false;
  return profDumpToFile(ctx, name);
}

/**
 * prof_reset: forgets every sample (counters zeroed, sampled blocks no longer tracked) and sets the
 * sampling rate to 2^lg.
 */
export function profReset(ctx: HeapCtx, lg: number): void {
  withProfLock(ctx, () => {
    for (const a of allocRecordsAll(ctx)) {
      const ptr = allocPtr(ctx, a);
      const e = emapLookupChecked(ctx, ptr);
      if (e !== 0) allocRecordTake(ctx, ptr, e);
    }
    for (const t of tctxAll(ctx)) ctx.f64.fill(0, (t + TCTX_CUROBJS_B) >>> 3, (t + TCTX_BYTES) >>> 3);
    void TCTX_ACCUMBYTES_B;
    Atomics.store(ctx.u32, (ctx.profB + PROF_LG_SAMPLE_B) >>> 2, lg);
  });
}

export function profThreadActive(ctx: HeapCtx): boolean {
  return ctx.u32[(profThreadB(ctx) + PT_ACTIVE_B) >>> 2] !== 0;
}

export function profThreadActiveSet(ctx: HeapCtx, on: boolean): void {
  ctx.u32[(profThreadB(ctx) + PT_ACTIVE_B) >>> 2] = on ? 1 : 0;
}

/** prof_stats_t of size class `ind`: { req_sum, count }, live or cumulative. */
export function profStatsGet(ctx: HeapCtx, ind: number, accum: boolean): { req_sum: bigint; count: bigint } {
  return withProfLock(ctx, () => {
    const s = ctx.u32[(ctx.profB + PROF_STATS_TABLE_B) >>> 2]! + ind * PSTATS_BYTES + (accum ? 16 : 0);
    return { req_sum: BigInt(Math.max(0, f64At(ctx, s))), count: BigInt(Math.max(0, f64At(ctx, s + 8))) };
  });
}

/** Registers prof_final (and the leak summary) for the process's exit, once per heap. */
export function profAtExit(heap: { ctx: HeapCtx }): void {
  const ctx = heap.ctx;
  if (ctx.profB === 0 || !ctx.optRaw.prof_final) return;
  process.once("exit", () => profLeakAtExit(ctx));
}

/** experimental.prof_recent.alloc_max. */
export function profRecentMax(ctx: HeapCtx): number {
  return Atomics.load(ctx.i32, (ctx.profB + PROF_RECENT_MAX_B) >>> 2);
}

export function profRecentMaxSet(ctx: HeapCtx, max: number): void {
  Atomics.store(ctx.i32, (ctx.profB + PROF_RECENT_MAX_B) >>> 2, Math.min(max, 2 ** 31 - 1));
}

/** prof_recent_alloc_dump's JSON, over the live sampled allocations (newest records first). */
export function profRecentDump(ctx: HeapCtx): string {
  const max = profRecentMax(ctx);
  const recs = withProfLock(ctx, () => {
    const all = allocRecordsAll(ctx);
    const keep = max < 0 ? all : all.slice(0, max);
    return keep.map((a) => {
      const t = allocTctx(ctx, a);
      return {
        size: allocSize(ctx, a),
        usize: allocUsize(ctx, a),
        address: allocPtr(ctx, a),
        alloc_thread_uid: ctx.u32[(t + TCTX_TID_B) >>> 2]!,
        alloc_trace: stackFrames(ctx, ctx.u32[(t + TCTX_STACK_B) >>> 2]!).map((f) => stringText(ctx, f)),
      };
    });
  });
  return JSON.stringify({
    sample_interval: 2 ** profLgSampleOf(ctx),
    recent_alloc_max: max,
    recent_alloc: recs,
  });
}

/**
 * arena.<i>.reset / destroy (arena_reset's prof_free of every sampled block): the samples of arena
 * `ind` are dropped before its blocks are discarded.
 */
export function profArenaReset(ctx: HeapCtx, ind: number): void {
  if (ctx.profB === 0) return;
  const victims: number[] = [];
  withProfLock(ctx, () => {
    for (const a of allocRecordsAll(ctx)) {
      const e = emapLookupChecked(ctx, allocPtr(ctx, a));
      if (e !== 0 && edataArena(ctx.u32, e) === ind) victims.push(allocPtr(ctx, a), e);
    }
  });
  for (let i = 0; i < victims.length; i += 2) profFreeSampled(ctx, victims[i]!, victims[i + 1]!);
}
