/**
 * spare: each thread keeps up to PT_NSPARES freed promoted extents (page-aligned, of the large
 * minimum class, in an automatic arena) for its next samples. A sample's promotion then costs one
 * word read instead of an arena allocation, and the free of a sampled block one word write instead of
 * a trip through the tcache's large bin, its GC flush and the arena (at the default rate a sample is
 * rare enough that the bin is usually flushed between two of them). Six spares: the number of live
 * samples of a thread drifts up and down, and on the small-churn benchmark two spares still sent one
 * promotion in seven to the arena, six one in thirty. jemalloc promotes through the same large path;
 * this is a cache in front of it, which thread exit and reclaim empty.
 *
 * A spare stays promoted (its small class) and active; it holds no sample. The words are written by
 * the owning thread only, each a single store after the extent is ready, so a thread killed between
 * two of them leaves either the spare or nothing.
 */

import { arenaRecordByInd } from "../arena/large.js";
import { arenaIsAuto } from "../arena/layout.js";
import type { HeapCtx } from "../ctx/ctx.js";
import {
  EDATA_BITS_SLAB_MASK,
  EDATA_W_BITS,
  EDATA_W_SZIND,
  EXTENT_STATE_ACTIVE,
  edataArena,
  edataBase,
  edataState,
} from "../extent/edata.js";
import { emapLookupChecked } from "../extent/emap.js";
import { PROF_THREADS_B, PT_BYTES, PT_NSPARES, PT_SPARES_B } from "./layout.js";
import { extentProfCount } from "./records.js";
import { profThreadB } from "./region.js";

/** A freed spare for a new sample (0 when none). */
export function profSpareTake(ctx: HeapCtx): number {
  const w = (profThreadB(ctx) + PT_SPARES_B) >>> 2;
  const u32 = ctx.u32;
  for (let i = 0; i < PT_NSPARES; i++) {
    const p = u32[w + i]!;
    if (p !== 0) {
      u32[w + i] = 0;
      return p;
    }
  }
  return 0;
}

/** Whether `ptr` is one of the thread's spares (freed already: freeing it again is a double free). */
export function profSpareHolds(ctx: HeapCtx, ptr: number): boolean {
  const w = (profThreadB(ctx) + PT_SPARES_B) >>> 2;
  for (let i = 0; i < PT_NSPARES; i++) if (ctx.u32[w + i] === ptr) return true;
  return false;
}

/** A promoted extent: not a slab, of a small class (arena_prof_promote's mark). */
function promoted(ctx: HeapCtx, e: number): boolean {
  const u32 = ctx.u32;
  return (
    (u32[(e >>> 2) + EDATA_W_BITS]! & EDATA_BITS_SLAB_MASK) === 0 &&
    u32[(e >>> 2) + EDATA_W_SZIND]! < ctx.sc.nbins
  );
}

/**
 * The free of `ptr` (extent `e`, its sample already dropped): keeps it as a spare when it is a
 * promoted block of an automatic arena and a spare word is empty. False: free it as usual.
 */
export function profSpareKeep(ctx: HeapCtx, ptr: number, e: number): boolean {
  if (ctx.opt.junkFree || !promoted(ctx, e) || extentProfCount(ctx.u32, e) !== 0) return false;
  if (edataBase(ctx.u32, e) !== ptr) return false;
  const arena = arenaRecordByInd(ctx, edataArena(ctx.u32, e));
  if (arena === 0 || !arenaIsAuto(ctx, arena)) return false;
  const w = (profThreadB(ctx) + PT_SPARES_B) >>> 2;
  for (let i = 0; i < PT_NSPARES; i++) {
    if (ctx.u32[w + i] === 0) {
      ctx.u32[w + i] = ptr;
      return true;
    }
  }
  return false;
}

/**
 * Empties slot `slot`'s spares (thread exit, reclaim of a departed thread) and returns those that
 * are still what a spare must be — an active promoted extent starting there with no sample — for the
 * caller to free; anything else is dropped (a reclaimed slot's words are not trusted).
 */
export function profSparesDrain(ctx: HeapCtx, slot: number): number[] {
  const out: number[] = [];
  if (ctx.profB === 0) return out;
  const w = (ctx.profB + PROF_THREADS_B + slot * PT_BYTES + PT_SPARES_B) >>> 2;
  for (let i = 0; i < PT_NSPARES; i++) {
    const p = ctx.u32[w + i]!;
    ctx.u32[w + i] = 0;
    if (p === 0) continue;
    const e = emapLookupChecked(ctx, p);
    if (e === 0 || edataBase(ctx.u32, e) !== p || edataState(ctx.u32, e) !== EXTENT_STATE_ACTIVE) continue;
    if (promoted(ctx, e) && extentProfCount(ctx.u32, e) === 0) out.push(p);
  }
  return out;
}
