/**
 * ops: the allocation operations behind the public API (jemalloc.c's imalloc / idalloc / iralloc),
 * after argument validation: choose the arena, allocate or free, resize in place or move. The thread
 * cache sits in front of these (tcache issue); with the cache off every call lands here.
 */
import { arenaChooseMaybeHuge, arenaDecayTick, arenaMallocHard, arenaPalloc, arenaRecordByInd } from "../arena/arena.js";
import { binDallocLocked, binLock, binRecord, binUnlock } from "../arena/bin.js";
import { CACHELINE, largeDalloc, largeRallocNoMove, largeUsize } from "../arena/large.js";
import { slabRegIsAllocated } from "../arena/slab.js";
import type { HeapCtx } from "../extent/ctx.js";
import {
  EXTENT_STATE_ACTIVE,
  edataAddr,
  edataArena,
  edataBase,
  edataBinshard,
  edataSlab,
  edataState,
  edataSzind,
} from "../extent/edata.js";
import { emapLookupChecked } from "../extent/emap.js";
import { paDalloc } from "../extent/pac.js";
import { THREAD_ALLOCATED_B, THREAD_DEALLOCATED_B } from "../layout/header.js";

/** Why a pointer was refused (0 = fine). Set by lookupLive. */
export const PTR_OK = 0;
export const PTR_UNKNOWN = 1;
export const PTR_NOT_ACTIVE = 2;
export const PTR_INTERIOR = 3;
export const PTR_FREED_REGION = 4;

let ptrError = PTR_OK;
export function lastPtrError(): number {
  return ptrError;
}

/**
 * The extent record of a live allocation starting at `ptr`, or 0 (with lastPtrError saying why).
 * The slab bitmap check is racy here; frees re-check under the bin lock.
 */
export function lookupLive(ctx: HeapCtx, ptr: number): number {
  const e = emapLookupChecked(ctx, ptr);
  if (e === 0) {
    ptrError = PTR_UNKNOWN;
    return 0;
  }
  const u32 = ctx.u32;
  if (edataState(u32, e) !== EXTENT_STATE_ACTIVE) {
    ptrError = PTR_NOT_ACTIVE;
    return 0;
  }
  if (edataSlab(u32, e)) {
    const regSize = ctx.sc.binRegSize[edataSzind(u32, e)]!;
    const off = ptr - edataBase(u32, e);
    if (off % regSize !== 0) {
      ptrError = PTR_INTERIOR;
      return 0;
    }
    if (!slabRegIsAllocated(u32, e, off / regSize)) {
      ptrError = PTR_FREED_REGION;
      return 0;
    }
  } else if (ptr !== edataAddr(u32, e)) {
    ptrError = PTR_INTERIOR;
    return 0;
  }
  ptrError = PTR_OK;
  return e;
}

/** Usable size of the live allocation `e` (from lookupLive). */
export function usizeOf(ctx: HeapCtx, e: number): number {
  const u32 = ctx.u32;
  return edataSlab(u32, e) ? ctx.sc.binRegSize[edataSzind(u32, e)]! : largeUsize(ctx, e);
}

function bump(ctx: HeapCtx, fieldB: number, v: number): void {
  const d = (ctx.threadB + fieldB) >>> 3;
  ctx.f64[d] = ctx.f64[d]! + v;
}

/** imalloc without a cache: `usize`/`ind` from s2u/size2index; `chooseSize` picks the huge arena. */
export function mallocArena(ctx: HeapCtx, usize: number, ind: number, chooseSize: number, arenaInd: number, zero: boolean): number {
  const arena = arenaChooseMaybeHuge(ctx, arenaInd, chooseSize);
  if (arena === 0) return 0;
  const p = arenaMallocHard(ctx, arena, usize, ind, zero);
  if (p !== 0) {
    bump(ctx, THREAD_ALLOCATED_B, usize);
    if (!zero && ctx.opt.junkAlloc) ctx.u8.fill(0xa5, p, p + usize);
  }
  return p;
}

/** ipalloc: aligned (usize from sa2u). */
export function pallocArena(ctx: HeapCtx, usize: number, alignment: number, arenaInd: number, zero: boolean): number {
  const arena = arenaChooseMaybeHuge(ctx, arenaInd, usize);
  if (arena === 0) return 0;
  const p = arenaPalloc(ctx, arena, usize, alignment, zero);
  if (p !== 0) {
    bump(ctx, THREAD_ALLOCATED_B, usize);
    if (!zero && ctx.opt.junkAlloc) ctx.u8.fill(0xa5, p, p + usize);
  }
  return p;
}

/**
 * Frees the live allocation at `ptr` whose record is `e`. Returns false when the region turned out to
 * be free already (double free caught under the lock): nothing changed.
 */
export function dallocArena(ctx: HeapCtx, ptr: number, e: number): boolean {
  const u32 = ctx.u32;
  const arena = arenaRecordByInd(ctx, edataArena(u32, e));
  if (edataSlab(u32, e)) {
    const binind = edataSzind(u32, e);
    const regSize = ctx.sc.binRegSize[binind]!;
    const regind = (ptr - edataBase(u32, e)) / regSize;
    const bin = binRecord(ctx, arena, binind, edataBinshard(u32, e));
    if (ctx.opt.junkFree) ctx.u8.fill(0x5a, ptr, ptr + regSize);
    binLock(ctx, bin);
    if (edataState(u32, e) !== EXTENT_STATE_ACTIVE || !slabRegIsAllocated(u32, e, regind)) {
      binUnlock(ctx, bin);
      return false;
    }
    const empty = binDallocLocked(ctx, arena, bin, binind, e, regind);
    binUnlock(ctx, bin);
    if (empty) paDalloc(ctx, arena, e);
    bump(ctx, THREAD_DEALLOCATED_B, regSize);
  } else {
    const usize = largeUsize(ctx, e);
    if (ctx.opt.junkFree) ctx.u8.fill(0x5a, ptr, ptr + usize);
    largeDalloc(ctx, e);
    bump(ctx, THREAD_DEALLOCATED_B, usize);
  }
  arenaDecayTick(ctx, arena);
  return true;
}

/**
 * arena_ralloc_no_move for a live allocation: same small class, or a large extent resized in place.
 * True on failure.
 */
export function rallocNoMove(ctx: HeapCtx, e: number, oldUsize: number, size: number, extra: number, zero: boolean): boolean {
  const sc = ctx.sc;
  const usizeMin = sc.s2u(size);
  const usizeMax = sc.s2u(size + extra);
  const arena = arenaRecordByInd(ctx, edataArena(ctx.u32, e));
  if (oldUsize <= sc.smallMaxclass && usizeMin !== 0 && usizeMin <= sc.smallMaxclass) {
    if ((usizeMax > sc.smallMaxclass || sc.size2index(usizeMax) !== sc.size2index(oldUsize)) && (size > oldUsize || usizeMax < oldUsize)) {
      return true;
    }
    arenaDecayTick(ctx, arena);
    return false;
  }
  if (oldUsize >= sc.largeMinclass && usizeMax >= sc.largeMinclass) {
    const fail = largeRallocNoMove(ctx, e, usizeMin, usizeMax, zero);
    if (!fail) arenaDecayTick(ctx, arena);
    return fail;
  }
  return true;
}

/** Set by rallocArena: whether the last resize moved the block. */
export let rallocMoved = false;

/**
 * arena_ralloc: resize the live allocation `e` at `ptr` (usable `oldUsize`) to `size` with
 * `alignment` (0 = none). Returns the new address (maybe `ptr`), or 0 on OOM (old block untouched).
 */
export function rallocArena(ctx: HeapCtx, ptr: number, e: number, oldUsize: number, size: number, alignment: number, zero: boolean, arenaInd: number): number {
  const sc = ctx.sc;
  const usize = alignment === 0 ? sc.s2u(size) : sc.sa2u(size, alignment);
  rallocMoved = false;
  if (usize === 0) return 0;
  if (usize <= sc.smallMaxclass && !rallocNoMove(ctx, e, oldUsize, usize, 0, zero)) {
    adjust(ctx, oldUsize, usize);
    return ptr;
  }
  if (oldUsize >= sc.largeMinclass && usize >= sc.largeMinclass && (alignment <= CACHELINE || ptr % alignment === 0)) {
    if (!largeRallocNoMove(ctx, e, usize, usize, zero)) {
      arenaDecayTick(ctx, arenaRecordByInd(ctx, edataArena(ctx.u32, e)));
      adjust(ctx, oldUsize, usize);
      return ptr;
    }
  }
  const p = alignment === 0 ? mallocArena(ctx, usize, sc.size2index(usize), usize, arenaInd, zero) : pallocArena(ctx, usize, alignment, arenaInd, zero);
  if (p === 0) return 0;
  ctx.u8.copyWithin(p, ptr, ptr + Math.min(usize, oldUsize));
  dallocArena(ctx, ptr, e);
  rallocMoved = true;
  return p;
}

function adjust(ctx: HeapCtx, oldUsize: number, usize: number): void {
  bump(ctx, THREAD_ALLOCATED_B, usize);
  bump(ctx, THREAD_DEALLOCATED_B, oldUsize);
}
