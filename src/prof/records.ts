/**
 * records: the per-(stack, thread) counters (jemalloc's prof_tctx_t with its prof_cnt_t) and the
 * record of each live sampled allocation, found by address at free (jemalloc keeps it in the extent;
 * here a hash table keyed by address, and the extent's prof count bits send its frees to the slow
 * path). Callers hold the prof lock.
 */

import type { HeapCtx } from "../ctx/ctx.js";
import { HDR_BASE0_B } from "../ctx/header.js";
import { baseAlloc } from "../extent/base.js";
import { EDATA_BITS_PROF_MAX, EDATA_BITS_PROF_SHIFT, EDATA_W_BITS } from "../extent/edata.js";
import {
  ALLOC_BYTES,
  ALLOC_CHUNK,
  ALLOC_NBUCKETS,
  ALLOC_NEXT_B,
  ALLOC_PTR_B,
  ALLOC_SIZE_B,
  ALLOC_TCTX_B,
  ALLOC_USIZE_B,
  PROF_ALLOC_BUCKETS_B,
  PROF_ALLOC_FREE_B,
  PROF_TCTX_BUCKETS_B,
  PROF_TCTX_LIST_B,
  TCTX_ALL_NEXT_B,
  TCTX_BYTES,
  TCTX_NBUCKETS,
  TCTX_NEXT_B,
  TCTX_STACK_B,
  TCTX_TID_B,
} from "./layout.js";

function b0(ctx: HeapCtx): number {
  return ctx.u32[HDR_BASE0_B >>> 2]!;
}

function tctxHash(stack: number, tid: number): number {
  return (Math.imul(stack >>> 3, 0x9e3779b1) ^ Math.imul(tid + 1, 0x85ebca6b)) >>> 0;
}

/** The counters of (stack, tid), created zeroed when new; 0 when b0 is out of memory. */
export function tctxGet(ctx: HeapCtx, stack: number, tid: number): number {
  const u32 = ctx.u32;
  const slot =
    (u32[(ctx.profB + PROF_TCTX_BUCKETS_B) >>> 2]! >>> 2) + (tctxHash(stack, tid) & (TCTX_NBUCKETS - 1));
  for (let t = u32[slot]!; t !== 0; t = u32[(t + TCTX_NEXT_B) >>> 2]!) {
    if (u32[(t + TCTX_STACK_B) >>> 2] === stack && u32[(t + TCTX_TID_B) >>> 2] === tid) return t;
  }
  const t = baseAlloc(ctx, b0(ctx), TCTX_BYTES, 8);
  if (t === 0) return 0;
  u32[(t + TCTX_STACK_B) >>> 2] = stack;
  u32[(t + TCTX_TID_B) >>> 2] = tid;
  u32[(t + TCTX_NEXT_B) >>> 2] = u32[slot]!;
  u32[slot] = t;
  const listW = (ctx.profB + PROF_TCTX_LIST_B) >>> 2;
  u32[(t + TCTX_ALL_NEXT_B) >>> 2] = u32[listW]!;
  u32[listW] = t;
  return t;
}

/** Every tctx record ever created. */
export function tctxAll(ctx: HeapCtx): number[] {
  const out: number[] = [];
  const u32 = ctx.u32;
  for (let t = u32[(ctx.profB + PROF_TCTX_LIST_B) >>> 2]!; t !== 0; t = u32[(t + TCTX_ALL_NEXT_B) >>> 2]!)
    out.push(t);
  return out;
}

export function f64Add(ctx: HeapCtx, b: number, v: number): void {
  ctx.f64[b >>> 3] = ctx.f64[b >>> 3]! + v;
}

export function f64At(ctx: HeapCtx, b: number): number {
  return ctx.f64[b >>> 3]!;
}

// ---- sampled allocations by address ------------------------------------------------------------

function allocSlot(ctx: HeapCtx, ptr: number): number {
  const h = Math.imul(ptr >>> 3, 0x9e3779b1) >>> 0;
  return (
    (ctx.u32[(ctx.profB + PROF_ALLOC_BUCKETS_B) >>> 2]! >>> 2) + (h >>> (32 - Math.log2(ALLOC_NBUCKETS)))
  );
}

function allocRecordNew(ctx: HeapCtx): number {
  const u32 = ctx.u32;
  const freeW = (ctx.profB + PROF_ALLOC_FREE_B) >>> 2;
  if (u32[freeW] === 0) {
    const chunk = baseAlloc(ctx, b0(ctx), ALLOC_CHUNK * ALLOC_BYTES, 8);
    if (chunk === 0) return 0;
    for (let i = ALLOC_CHUNK - 1; i >= 0; i--) {
      const a = chunk + i * ALLOC_BYTES;
      u32[(a + ALLOC_NEXT_B) >>> 2] = u32[freeW]!;
      u32[freeW] = a;
    }
  }
  const a = u32[freeW]!;
  u32[freeW] = u32[(a + ALLOC_NEXT_B) >>> 2]!;
  return a;
}

/** Records the sampled allocation at `ptr`; false when b0 is out of memory (the sample is dropped). */
export function allocRecordAdd(
  ctx: HeapCtx,
  ptr: number,
  tctx: number,
  usize: number,
  size: number,
  e: number,
): boolean {
  const a = allocRecordNew(ctx);
  if (a === 0) return false;
  const u32 = ctx.u32;
  const slot = allocSlot(ctx, ptr);
  u32[(a + ALLOC_PTR_B) >>> 2] = ptr;
  u32[(a + ALLOC_TCTX_B) >>> 2] = tctx;
  u32[(a + ALLOC_USIZE_B) >>> 2] = usize;
  u32[(a + ALLOC_SIZE_B) >>> 2] = size;
  u32[(a + ALLOC_NEXT_B) >>> 2] = u32[slot]!;
  u32[slot] = a;
  extentProfCountAdd(u32, e, 1);
  return true;
}

/**
 * Unlinks the record of `ptr` and returns it (its fields stay readable until the next add), or 0
 * when `ptr` was not sampled.
 */
export function allocRecordTake(ctx: HeapCtx, ptr: number, e: number): number {
  const u32 = ctx.u32;
  let prevW = allocSlot(ctx, ptr);
  for (let a = u32[prevW]!; a !== 0; a = u32[prevW]!) {
    if (u32[(a + ALLOC_PTR_B) >>> 2] === ptr) {
      u32[prevW] = u32[(a + ALLOC_NEXT_B) >>> 2]!;
      const freeW = (ctx.profB + PROF_ALLOC_FREE_B) >>> 2;
      u32[(a + ALLOC_NEXT_B) >>> 2] = u32[freeW]!;
      u32[freeW] = a;
      extentProfCountAdd(u32, e, -1);
      return a;
    }
    prevW = (a + ALLOC_NEXT_B) >>> 2;
  }
  return 0;
}

/** Every live sampled allocation record. */
export function allocRecordsAll(ctx: HeapCtx): number[] {
  const u32 = ctx.u32;
  const base = u32[(ctx.profB + PROF_ALLOC_BUCKETS_B) >>> 2]! >>> 2;
  const out: number[] = [];
  for (let i = 0; i < ALLOC_NBUCKETS; i++)
    for (let a = u32[base + i]!; a !== 0; a = u32[(a + ALLOC_NEXT_B) >>> 2]!) out.push(a);
  return out;
}

export function allocPtr(ctx: HeapCtx, a: number): number {
  return ctx.u32[(a + ALLOC_PTR_B) >>> 2]!;
}
export function allocTctx(ctx: HeapCtx, a: number): number {
  return ctx.u32[(a + ALLOC_TCTX_B) >>> 2]!;
}
export function allocUsize(ctx: HeapCtx, a: number): number {
  return ctx.u32[(a + ALLOC_USIZE_B) >>> 2]!;
}
export function allocSize(ctx: HeapCtx, a: number): number {
  return ctx.u32[(a + ALLOC_SIZE_B) >>> 2]!;
}

/** The extent's count of live samples (bits 8..15), saturating and then sticky at the maximum. */
function extentProfCountAdd(u32: Uint32Array, e: number, delta: number): void {
  const w = (e >>> 2) + EDATA_W_BITS;
  const bits = u32[w]!;
  const n = (bits >>> EDATA_BITS_PROF_SHIFT) & EDATA_BITS_PROF_MAX;
  if (n === EDATA_BITS_PROF_MAX || (delta < 0 && n === 0)) return;
  const m = n + delta;
  u32[w] = (bits & ~(EDATA_BITS_PROF_MAX << EDATA_BITS_PROF_SHIFT)) | (m << EDATA_BITS_PROF_SHIFT);
}

export function extentProfCount(u32: Uint32Array, e: number): number {
  return (u32[(e >>> 2) + EDATA_W_BITS]! >>> EDATA_BITS_PROF_SHIFT) & EDATA_BITS_PROF_MAX;
}
