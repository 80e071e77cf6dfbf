/**
 * collect: one consistent copy of the profile (jemalloc's prof_dump_prep): every stack with its
 * per-thread counters, read under the prof lock, then formatted by the dump writers without it.
 * Counts are reported as jemalloc 5.3 prints them (prof_dump_print_cnts): with opt_prof_unbias, the
 * values that jeprof's own scaling turns back into the unbiased estimates.
 */
import type { HeapCtx } from "../ctx/ctx.js";
import { stackFrames, stringId, stringText } from "./intern.js";
import {
  LG_TINY_MIN,
  PROF_TDATA_LIST_B,
  PROF_UNBIAS_B,
  TCTX_ACCUMBYTES_B,
  TCTX_ACCUMBYTES_UNBIASED_B,
  TCTX_ACCUMOBJS_B,
  TCTX_ACCUMOBJS_SHIFTED_B,
  TCTX_CURBYTES_B,
  TCTX_CURBYTES_UNBIASED_B,
  TCTX_CUROBJS_B,
  TCTX_CUROBJS_SHIFTED_B,
  TCTX_STACK_B,
  TCTX_TID_B,
  TDATA_NAME_B,
  TDATA_NEXT_B,
  TDATA_TID_B,
} from "./layout.js";
import { f64At, tctxAll } from "./records.js";
import { profLgSample, withProfLock } from "./region.js";

/** prof_cnt_t as kept: raw counts and the unbiased sums (objects shifted by LG_TINY_MIN). */
export interface Cnt {
  curobjs: number;
  curobjsShifted: number;
  curbytes: number;
  curbytesUnbiased: number;
  accumobjs: number;
  accumobjsShifted: number;
  accumbytes: number;
  accumbytesUnbiased: number;
}

export interface Frame {
  /** Synthetic address of the frame (unique per frame text). */
  addr: number;
  text: string;
}

export interface StackProfile {
  frames: Frame[];
  total: Cnt;
  byThread: Map<number, Cnt>;
}

export interface ProfileData {
  lgSample: number;
  unbias: boolean;
  accum: boolean;
  total: Cnt;
  threads: Map<number, Cnt>;
  threadNames: Map<number, string>;
  stacks: StackProfile[];
}

/** Unbiased object counts are kept multiplied by this (2^SC_LG_TINY_MIN). */
export const LG_TINY_MIN_SCALE = 2 ** LG_TINY_MIN;

/** Frame addresses: 16-byte steps from here (jeprof subtracts 1 from caller addresses). */
export const FRAME_ADDR_BASE = 0x10000000;

export function frameAddr(id: number): number {
  return FRAME_ADDR_BASE + id * 16;
}

export function cntZero(): Cnt {
  return {
    curobjs: 0,
    curobjsShifted: 0,
    curbytes: 0,
    curbytesUnbiased: 0,
    accumobjs: 0,
    accumobjsShifted: 0,
    accumbytes: 0,
    accumbytesUnbiased: 0,
  };
}

function cntAdd(a: Cnt, b: Cnt, accum: boolean): void {
  a.curobjs += b.curobjs;
  a.curobjsShifted += b.curobjsShifted;
  a.curbytes += b.curbytes;
  a.curbytesUnbiased += b.curbytesUnbiased;
  if (!accum) return;
  a.accumobjs += b.accumobjs;
  a.accumobjsShifted += b.accumobjsShifted;
  a.accumbytes += b.accumbytes;
  a.accumbytesUnbiased += b.accumbytesUnbiased;
}

function cntRead(ctx: HeapCtx, t: number): Cnt {
  return {
    curobjs: f64At(ctx, t + TCTX_CUROBJS_B),
    curobjsShifted: f64At(ctx, t + TCTX_CUROBJS_SHIFTED_B),
    curbytes: f64At(ctx, t + TCTX_CURBYTES_B),
    curbytesUnbiased: f64At(ctx, t + TCTX_CURBYTES_UNBIASED_B),
    accumobjs: f64At(ctx, t + TCTX_ACCUMOBJS_B),
    accumobjsShifted: f64At(ctx, t + TCTX_ACCUMOBJS_SHIFTED_B),
    accumbytes: f64At(ctx, t + TCTX_ACCUMBYTES_B),
    accumbytesUnbiased: f64At(ctx, t + TCTX_ACCUMBYTES_UNBIASED_B),
  };
}

/** Copies the profile out of the buffer (prof lock held only while reading). */
export function profCollect(ctx: HeapCtx): ProfileData {
  const accum = ctx.optRaw.prof_accum;
  return withProfLock(ctx, () => {
    const byStack = new Map<number, StackProfile>();
    const threads = new Map<number, Cnt>();
    const total = cntZero();
    for (const t of tctxAll(ctx)) {
      const c = cntRead(ctx, t);
      // prof_dump_gctx skips contexts with nothing to show.
      if ((accum ? c.accumobjs : c.curobjs) === 0) continue;
      const stack = ctx.u32[(t + TCTX_STACK_B) >>> 2]!;
      const tid = ctx.u32[(t + TCTX_TID_B) >>> 2]!;
      let s = byStack.get(stack);
      if (s === undefined) {
        const frames = stackFrames(ctx, stack).map((f) => ({
          addr: frameAddr(stringId(ctx, f)),
          text: stringText(ctx, f),
        }));
        s = { frames, total: cntZero(), byThread: new Map() };
        byStack.set(stack, s);
      }
      cntAdd(s.total, c, accum);
      s.byThread.set(tid, c);
      let th = threads.get(tid);
      if (th === undefined) {
        th = cntZero();
        threads.set(tid, th);
      }
      cntAdd(th, c, accum);
      cntAdd(total, c, accum);
    }
    const threadNames = new Map<number, string>();
    for (
      let r = ctx.u32[(ctx.profB + PROF_TDATA_LIST_B) >>> 2]!;
      r !== 0;
      r = ctx.u32[(r + TDATA_NEXT_B) >>> 2]!
    ) {
      const tid = ctx.u32[(r + TDATA_TID_B) >>> 2]!;
      const name = ctx.u32[(r + TDATA_NAME_B) >>> 2]!;
      if (!threadNames.has(tid) && name !== 0) threadNames.set(tid, stringText(ctx, name));
    }
    return {
      lgSample: profLgSample(ctx),
      unbias: ctx.u32[(ctx.profB + PROF_UNBIAS_B) >>> 2] !== 0,
      accum,
      total,
      threads,
      threadNames,
      stacks: [...byStack.values()],
    };
  });
}

/** prof_double_uint64_cast: round, clamped to the u64 range. */
function toU64(d: number): number {
  if (!(d > 0)) return 0;
  return Math.round(d);
}

/** prof_do_unbias: the (objects, bytes) pair jeprof's AdjustSamples maps back onto the estimate. */
export function doUnbias(shiftedObjs: number, bytesUnbiased: number, lg: number): [number, number] {
  if (shiftedObjs <= 0 || bytesUnbiased <= 0) return [0, 0];
  const cOut = shiftedObjs / 2 ** LG_TINY_MIN;
  const x = bytesUnbiased / cOut;
  const y = bytesUnbiased * (1 - Math.exp(-x / 2 ** lg));
  return [toU64(y / x), toU64(y)];
}

/** The four numbers of one `objs: bytes [accum objs: accum bytes]` field, as jemalloc prints them. */
export function printedCnts(c: Cnt, data: ProfileData): [number, number, number, number] {
  if (!data.unbias) return [c.curobjs, c.curbytes, c.accumobjs, c.accumbytes];
  const [co, cb] = doUnbias(c.curobjsShifted, c.curbytesUnbiased, data.lgSample);
  const [ao, ab] = doUnbias(c.accumobjsShifted, c.accumbytesUnbiased, data.lgSample);
  return [co, cb, ao, ab];
}

/** The estimated true (objects, bytes) of a count: what jeprof reports after its scaling. */
export function estimatedCnts(c: Cnt, data: ProfileData, which: "cur" | "accum"): [number, number] {
  const [co, cb, ao, ab] = printedCnts(c, data);
  const [n, s] = which === "cur" ? [co, cb] : [ao, ab];
  if (n === 0) return [0, 0];
  const scale = 1 / (1 - Math.exp(-(s / n) / 2 ** data.lgSample));
  return [n * scale, s * scale];
}
