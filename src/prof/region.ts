/**
 * region: the profiling region in the buffer — created once per heap (prof_boot2), the prof lock,
 * the global switches (prof.active, prof.gdump, prof.thread_active_init, prof.lg_sample, prof.prefix)
 * and each thread's sampling state. Layout: ./layout.ts.
 */

import type { HeapCtx } from "../ctx/ctx.js";
import { HDR_BASE0_B, HDR_NSLOTS_B, HDR_PROF_REGION_B } from "../ctx/header.js";
import { baseAlloc } from "../extent/base.js";
import { heapLock, heapUnlock } from "../extent/lock.js";
import {
  ALLOC_NBUCKETS,
  PROF_ACTIVE_B,
  PROF_ALLOC_BUCKETS_B,
  PROF_GDUMP_B,
  PROF_LG_SAMPLE_B,
  PROF_LOCK_B,
  PROF_PREFIX_B,
  PROF_PREFIX_LEN_B,
  PROF_PREFIX_MAX,
  PROF_RECENT_MAX_B,
  PROF_REGION_BYTES,
  PROF_STACK_BUCKETS_B,
  PROF_STATS_TABLE_B,
  PROF_STR_BUCKETS_B,
  PROF_TCTX_BUCKETS_B,
  PROF_THREAD_ACTIVE_INIT_B,
  PROF_THREADS_B,
  PROF_UNBIAS_B,
  PSTATS_BYTES,
  PT_BYTES,
  STACK_NBUCKETS,
  STR_NBUCKETS,
  TCTX_NBUCKETS,
} from "./layout.js";

/** The region's offset, 0 when the heap profiles nothing. */
export function profRegion(ctx: HeapCtx): number {
  return Atomics.load(ctx.u32, HDR_PROF_REGION_B >>> 2);
}

/** prof_boot2: carves the region and its tables from b0 with the options' initial values. */
export function profRegionEnsure(ctx: HeapCtx, unbias: boolean): number {
  const have = profRegion(ctx);
  if (have !== 0) return have;
  const b0 = ctx.u32[HDR_BASE0_B >>> 2]!;
  const nslots = ctx.u32[HDR_NSLOTS_B >>> 2]!;
  const r = baseAlloc(ctx, b0, PROF_REGION_BYTES + nslots * PT_BYTES, 64);
  if (r === 0) throw new RangeError("opt.prof: out of memory for the profiling tables");
  const table = (n: number): number => {
    const t = baseAlloc(ctx, b0, n, 8);
    if (t === 0) throw new RangeError("opt.prof: out of memory for the profiling tables");
    return t;
  };
  const u32 = ctx.u32;
  const o = ctx.optRaw;
  u32[(r + PROF_STR_BUCKETS_B) >>> 2] = table(STR_NBUCKETS * 4);
  u32[(r + PROF_STACK_BUCKETS_B) >>> 2] = table(STACK_NBUCKETS * 4);
  u32[(r + PROF_TCTX_BUCKETS_B) >>> 2] = table(TCTX_NBUCKETS * 4);
  u32[(r + PROF_ALLOC_BUCKETS_B) >>> 2] = table(ALLOC_NBUCKETS * 4);
  u32[(r + PROF_STATS_TABLE_B) >>> 2] = table(ctx.sc.nsizes * PSTATS_BYTES);
  u32[(r + PROF_ACTIVE_B) >>> 2] = o.prof_active ? 1 : 0;
  u32[(r + PROF_GDUMP_B) >>> 2] = o.prof_gdump ? 1 : 0;
  u32[(r + PROF_THREAD_ACTIVE_INIT_B) >>> 2] = o.prof_thread_active_init ? 1 : 0;
  u32[(r + PROF_LG_SAMPLE_B) >>> 2] = o.lg_prof_sample;
  u32[(r + PROF_UNBIAS_B) >>> 2] = unbias ? 1 : 0;
  ctx.i32[(r + PROF_RECENT_MAX_B) >>> 2] = Math.min(o.prof_recent_alloc_max, 2 ** 31 - 1);
  prefixWrite(ctx, r, o.prof_prefix);
  const prev = Atomics.compareExchange(ctx.i32, HDR_PROF_REGION_B >>> 2, 0, r | 0);
  return prev === 0 ? r : prev >>> 0;
}

export function profLock(ctx: HeapCtx): void {
  heapLock(ctx, ctx.profB + PROF_LOCK_B);
}

export function profUnlock(ctx: HeapCtx): void {
  heapUnlock(ctx, ctx.profB + PROF_LOCK_B);
}

/** Runs `fn` under the prof lock. */
export function withProfLock<T>(ctx: HeapCtx, fn: () => T): T {
  profLock(ctx);
  try {
    return fn();
  } finally {
    profUnlock(ctx);
  }
}

export function profFlag(ctx: HeapCtx, fieldB: number): boolean {
  return Atomics.load(ctx.i32, (ctx.profB + fieldB) >>> 2) !== 0;
}

export function profFlagSet(ctx: HeapCtx, fieldB: number, on: boolean): boolean {
  return Atomics.exchange(ctx.i32, (ctx.profB + fieldB) >>> 2, on ? 1 : 0) !== 0;
}

export function profLgSample(ctx: HeapCtx): number {
  return Atomics.load(ctx.u32, (ctx.profB + PROF_LG_SAMPLE_B) >>> 2);
}

/** This thread's sampling state record. */
export function profThreadB(ctx: HeapCtx): number {
  return ctx.profB + PROF_THREADS_B + ctx.slot * PT_BYTES;
}

const utf8 = new TextEncoder();
const utf8Dec = new TextDecoder();

/** UTF-8 bytes of `s`, cut at `max` bytes. */
export function utf8Bytes(s: string, max: number): Uint8Array {
  const b = utf8.encode(s);
  return b.length <= max ? b : b.subarray(0, max);
}

/** Decodes bytes of the buffer (copied: decoders refuse shared memory). */
export function utf8At(ctx: HeapCtx, b: number, len: number): string {
  return utf8Dec.decode(ctx.u8.slice(b, b + len));
}

function prefixWrite(ctx: HeapCtx, r: number, prefix: string): void {
  const b = utf8Bytes(prefix, PROF_PREFIX_MAX);
  ctx.u8.set(b, r + PROF_PREFIX_B);
  ctx.u32[(r + PROF_PREFIX_LEN_B) >>> 2] = b.length;
}

/** prof.prefix: the dump file prefix (write under the prof lock). */
export function profPrefixSet(ctx: HeapCtx, prefix: string): void {
  withProfLock(ctx, () => prefixWrite(ctx, ctx.profB, prefix));
}

export function profPrefix(ctx: HeapCtx): string {
  const r = ctx.profB;
  return utf8At(ctx, r + PROF_PREFIX_B, ctx.u32[(r + PROF_PREFIX_LEN_B) >>> 2]!);
}
