/**
 * prof: heap profiling over JavaScript stacks — what the heap and mallctl call. The parts:
 * layout (buffer records), region (globals, lock), intern (strings, stacks), records (counters,
 * sampled allocations), stack (JS stack capture), sample (the sampling event), collect (a consistent
 * copy), dump (heap_v2 + symbols), pprof (protobuf), leak (prof_final and the leak summary).
 */

import { baseAlloc } from "../extent/base.js";
import type { HeapCtx } from "../extent/ctx.js";
import { emapLookupChecked } from "../extent/emap.js";
import { HDR_BASE0_B } from "../layout/header.js";
import { profCollect } from "./collect.js";
import { formatDump, profDumpFilename, profDumpToFile } from "./dump.js";
import { internString, stringText } from "./intern.js";
import {
  PROF_LG_SAMPLE_B,
  PROF_STATS_TABLE_B,
  PROF_TDATA_LIST_B,
  PSTATS_BYTES,
  PT_ACTIVE_B,
  PT_TID_B,
  TCTX_ACCUMBYTES_B,
  TCTX_BYTES,
  TCTX_CUROBJS_B,
  TDATA_BYTES,
  TDATA_NAME_B,
  TDATA_NEXT_B,
  TDATA_TID_B,
} from "./layout.js";
import { profLeakAtExit } from "./leak.js";
import { profilePprof } from "./pprof.js";
import { allocPtr, allocRecordsAll, allocRecordTake, f64At, tctxAll } from "./records.js";
import { profThreadB, withProfLock } from "./region.js";

export { profCollect } from "./collect.js";
export { formatDump, profDumpText } from "./dump.js";

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

function threadTid(ctx: HeapCtx): number {
  return ctx.u32[(profThreadB(ctx) + PT_TID_B) >>> 2]!;
}

/** thread.prof.name: the calling thread's name in dumps ("" when unnamed). */
export function profThreadName(ctx: HeapCtx): string {
  const tid = threadTid(ctx);
  return withProfLock(ctx, () => {
    for (
      let r = ctx.u32[(ctx.profB + PROF_TDATA_LIST_B) >>> 2]!;
      r !== 0;
      r = ctx.u32[(r + TDATA_NEXT_B) >>> 2]!
    ) {
      if (ctx.u32[(r + TDATA_TID_B) >>> 2] === tid)
        return stringText(ctx, ctx.u32[(r + TDATA_NAME_B) >>> 2]!);
    }
    return "";
  });
}

/** Sets the thread's name; false when b0 is out of memory (EAGAIN). */
export function profThreadNameSet(ctx: HeapCtx, name: string): boolean {
  const tid = threadTid(ctx);
  return withProfLock(ctx, () => {
    const s = internString(ctx, name);
    if (s === 0) return false;
    const u32 = ctx.u32;
    for (let r = u32[(ctx.profB + PROF_TDATA_LIST_B) >>> 2]!; r !== 0; r = u32[(r + TDATA_NEXT_B) >>> 2]!) {
      if (u32[(r + TDATA_TID_B) >>> 2] === tid) {
        u32[(r + TDATA_NAME_B) >>> 2] = s;
        return true;
      }
    }
    const r = baseAlloc(ctx, u32[HDR_BASE0_B >>> 2]!, TDATA_BYTES, 8);
    if (r === 0) return false;
    u32[(r + TDATA_TID_B) >>> 2] = tid;
    u32[(r + TDATA_NAME_B) >>> 2] = s;
    const listW = (ctx.profB + PROF_TDATA_LIST_B) >>> 2;
    u32[(r + TDATA_NEXT_B) >>> 2] = u32[listW]!;
    u32[listW] = r;
    return true;
  });
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
