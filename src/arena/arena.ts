/**
 * arena: creating arenas, choosing one for a thread or a request, and dispatching allocation and
 * deallocation to bins (small) or large extents — jemalloc's arena.c / jemalloc.c arena choice.
 *
 *   auto arenas    0 .. narenas-1, created lazily; a new thread takes the least-loaded one, creating
 *                  the next while some are still uncreated (arena_choose_hard)
 *   huge arena     index narenas: requests ≥ oversize_threshold from threads on auto arenas; its decay
 *                  times are 0 when the defaults are positive
 *   manual arenas  arenas.create: not chosen automatically; they track full slabs and large extents so
 *                  they can be reset and destroyed
 *
 * The arena table (header) maps index → record; entries are published with Atomics.store under the
 * arenas lock and read with Atomics.load.
 */

import { OVERSIZE_THRESHOLD_DEFAULT } from "../conf/opt.js";
import type { HeapCtx } from "../ctx/ctx.js";
import {
  HDR_ARENAS_DIRTY_MS_B,
  HDR_ARENAS_MUZZY_MS_B,
  HDR_BASE0_B,
  HDR_BG_THREADS_B,
  HDR_HUGE_ARENA_B,
  HDR_LAST_DESTROYED_B,
  HDR_LOCK_ARENAS_B,
  HDR_NARENAS_AUTO_B,
  HDR_NARENAS_TOTAL_B,
  THREAD_ARENA_B,
  THREAD_BINSHARD_B,
} from "../ctx/header.js";
import { decayInit } from "../decay/index.js";
import { baseAlloc, baseNew } from "../extent/base.js";
import { edataAddr } from "../extent/edata.js";
import { pacDecayDirty, pacDecayMuzzy } from "../extent/extent.js";
import { heapLock, heapUnlock } from "../extent/lock.js";
import { pacInit, pacLock, pacUnlock } from "../extent/pac.js";
import { arenaMallocSmall, binInit, binRecord, bstatD } from "./bin.js";
import { arenaDecay, PURGE_NEVER, PURGE_ON_EPOCH_ADVANCE } from "./decay.js";
import { arenaRecordByInd, CACHELINE, largeAlloc } from "./large.js";
import {
  ARENA_BINSHARD_NEXT_B,
  ARENA_CREATE_TIME_B,
  ARENA_IS_AUTO_B,
  ARENA_NTHREADS_B,
  ARENA_STATE_B,
  ARENA_STATE_LIVE,
  arenaFieldsB,
  arenaIsAuto,
  BSTATS_COUNT,
  LSTATS_BYTES,
} from "./layout.js";

export { arenaRecordByInd };

function f64Set(ctx: HeapCtx, b: number, v: number): void {
  ctx.f64[b >>> 3] = v;
}

export { arenaFieldsB, arenaIsAuto } from "./layout.js";

export function arenaNthreads(ctx: HeapCtx, arena: number): number {
  return Atomics.load(ctx.i32, (arenaFieldsB(ctx, arena) + ARENA_NTHREADS_B) >>> 2);
}

export function narenasTotal(ctx: HeapCtx): number {
  return Atomics.load(ctx.i32, HDR_NARENAS_TOTAL_B >>> 2);
}
export function narenasAuto(ctx: HeapCtx): number {
  return ctx.u32[HDR_NARENAS_AUTO_B >>> 2]!;
}
export function hugeArenaInd(ctx: HeapCtx): number {
  return ctx.i32[HDR_HUGE_ARENA_B >>> 2]!;
}

/**
 * Creates arena `ind` (the caller holds the arenas lock and checked the slot is empty). Returns the
 * record, or 0 when out of memory.
 */
function arenaCreateLocked(
  ctx: HeapCtx,
  ind: number,
  isAuto: boolean,
  dirtyMs: number,
  muzzyMs: number,
): number {
  const base = ind === 0 ? ctx.u32[HDR_BASE0_B >>> 2]! : baseNew(ctx);
  if (base === 0) return 0;
  const al = ctx.arenaLayout;
  const arena = baseAlloc(ctx, base, al.arenaBytes, 64);
  if (arena === 0) return 0;
  // jemalloc creates arena 0 before arena_init_huge() sets the threshold from opt.oversize_threshold,
  // so arena 0's extents keep the default for their eager purge, whatever the option says.
  const oversize = ind === 0 ? OVERSIZE_THRESHOLD_DEFAULT : ctx.opt.oversizeThreshold;
  pacInit(ctx, arena, ind, base, dirtyMs, muzzyMs, oversize);
  const f = arena + al.arenaFieldsB;
  ctx.u32[(f + ARENA_IS_AUTO_B) >>> 2] = isAuto ? 1 : 0;
  ctx.u32[(f + ARENA_STATE_B) >>> 2] = ARENA_STATE_LIVE;
  f64Set(ctx, f + ARENA_CREATE_TIME_B, ctx.nowNs());
  const sc = ctx.sc;
  for (let i = 0; i < sc.nbins; i++) {
    for (let s = 0; s < sc.binNshards[i]!; s++) binInit(ctx, binRecord(ctx, arena, i, s));
  }
  Atomics.store(ctx.i32, (ctx.hdr.arenaTableB >>> 2) + ind, arena | 0);
  return arena;
}

/** Decay defaults for a new arena; the huge arena purges at once when the defaults are positive. */
function decayDefaults(ctx: HeapCtx, huge: boolean): [number, number] {
  let dirty = ctx.f64[HDR_ARENAS_DIRTY_MS_B >>> 3]!;
  let muzzy = ctx.f64[HDR_ARENAS_MUZZY_MS_B >>> 3]!;
  if (huge) {
    if (dirty > 0) dirty = 0;
    if (muzzy > 0) muzzy = 0;
  }
  return [dirty, muzzy];
}

/** The record of arena `ind`, creating an automatic one on first use. 0 on OOM or bad index. */
export function arenaGet(ctx: HeapCtx, ind: number, init: boolean): number {
  const arena = arenaRecordByInd(ctx, ind);
  // The creation is out of line: this stays small enough for V8 to inline on the large path.
  return arena !== 0 || !init ? arena : arenaGetCreate(ctx, ind);
}

function arenaGetCreate(ctx: HeapCtx, ind: number): number {
  let arena = 0;
  const nauto = narenasAuto(ctx);
  const huge = hugeArenaInd(ctx);
  if (ind >= nauto && ind !== huge) return 0;
  let created = false;
  heapLock(ctx, HDR_LOCK_ARENAS_B);
  try {
    arena = arenaRecordByInd(ctx, ind);
    if (arena === 0) {
      const [d, m] = decayDefaults(ctx, ind === huge);
      arena = arenaCreateLocked(ctx, ind, true, d, m);
      created = arena !== 0;
    }
  } finally {
    heapUnlock(ctx, HDR_LOCK_ARENAS_B);
  }
  // arena_new_create_background_thread, after the arenas lock is dropped.
  if (created) ctx.background.arenaNew(ctx, ind);
  return arena;
}

/** arenas.create: a manual arena at the next index. Returns the index, or -1 on OOM / no index left. */
export function arenaCreateManual(ctx: HeapCtx, reuseInd = -1): number {
  let ind: number;
  heapLock(ctx, HDR_LOCK_ARENAS_B);
  try {
    if (ctx.failpoint !== null) ctx.failpoint("arenas.locked");
    ind = reuseInd >= 0 ? reuseInd : ctx.i32[HDR_LAST_DESTROYED_B >>> 2]!;
    if (ind < 0) {
      ind = narenasTotal(ctx);
      if (ind >= 4095) return -1;
    }
    const [d, m] = decayDefaults(ctx, false);
    const old = arenaRecordByInd(ctx, ind);
    if (old !== 0) {
      arenaRevive(ctx, old, d, m);
      if (ctx.i32[HDR_LAST_DESTROYED_B >>> 2] === ind) ctx.i32[HDR_LAST_DESTROYED_B >>> 2] = -1;
    } else if (arenaCreateLocked(ctx, ind, false, d, m) === 0) return -1;
    if (ind >= narenasTotal(ctx)) Atomics.store(ctx.i32, HDR_NARENAS_TOTAL_B >>> 2, ind + 1);
  } finally {
    heapUnlock(ctx, HDR_LOCK_ARENAS_B);
  }
  // arena_new_create_background_thread, after the arenas lock is dropped.
  ctx.background.arenaNew(ctx, ind);
  return ind;
}

/**
 * Binds the thread to arena `ind` (thread.arena, or first use); unbinds the previous one. False, with
 * nothing changed, when the arena cannot be had (an automatic arena whose creation ran out of memory).
 */
export function threadArenaBind(ctx: HeapCtx, ind: number): boolean {
  const tw = (ctx.threadB + THREAD_ARENA_B) >>> 2;
  const old = ctx.i32[tw]!;
  if (old === ind) return true;
  const a = arenaGet(ctx, ind, true);
  if (a === 0) return false;
  if (old >= 0) {
    const oa = arenaRecordByInd(ctx, old);
    if (oa !== 0) Atomics.sub(ctx.i32, (arenaFieldsB(ctx, oa) + ARENA_NTHREADS_B) >>> 2, 1);
  }
  Atomics.add(ctx.i32, (arenaFieldsB(ctx, a) + ARENA_NTHREADS_B) >>> 2, 1);
  const f = arenaFieldsB(ctx, a);
  const sel = ctx.u32[(f + ARENA_BINSHARD_NEXT_B) >>> 2]!;
  ctx.u32[(f + ARENA_BINSHARD_NEXT_B) >>> 2] = sel + 1;
  ctx.u32[(ctx.threadB + THREAD_BINSHARD_B) >>> 2] = sel;
  ctx.i32[tw] = ind;
  return true;
}

/**
 * arena_choose_hard: the least-loaded initialized auto arena (lowest index on ties); while some auto
 * arenas are uncreated and that one has threads, create the first uncreated one instead.
 */
function arenaChooseHard(ctx: HeapCtx): number {
  const nauto = narenasAuto(ctx);
  let best = -1;
  let bestLoad = Infinity;
  let firstNull = -1;
  for (let i = 0; i < nauto; i++) {
    const a = arenaRecordByInd(ctx, i);
    if (a === 0) {
      if (firstNull < 0) firstNull = i;
      continue;
    }
    const load = arenaNthreads(ctx, a);
    if (load < bestLoad) {
      best = i;
      bestLoad = load;
    }
  }
  if (best < 0) return firstNull < 0 ? 0 : firstNull;
  if (bestLoad === 0 || firstNull < 0) return best;
  return firstNull;
}

/**
 * The thread's arena index, choosing (and binding) one on first use. When the chosen arena cannot be
 * created (out of memory) the thread stays unbound and the index is returned anyway: the caller's
 * arenaGet then fails and the allocation returns 0, as arena_choose_hard's NULL does in jemalloc.
 */
export function threadArena(ctx: HeapCtx): number {
  const ind = ctx.i32[(ctx.threadB + THREAD_ARENA_B) >>> 2]!;
  if (ind >= 0) return ind;
  heapLock(ctx, HDR_LOCK_ARENAS_B);
  let chosen: number;
  try {
    chosen = arenaChooseHard(ctx);
  } finally {
    heapUnlock(ctx, HDR_LOCK_ARENAS_B);
  }
  threadArenaBind(ctx, chosen);
  return chosen;
}

/**
 * arena_choose_maybe_huge: an explicit arena wins; otherwise requests ≥ oversize_threshold go to the
 * huge arena unless the thread is bound to a manual arena. Returns an arena record (0 on OOM).
 */
export function arenaChooseMaybeHuge(ctx: HeapCtx, explicitInd: number, size: number): number {
  if (explicitInd >= 0) return arenaGet(ctx, explicitInd, true);
  const tind = threadArena(ctx);
  const tarena = arenaGet(ctx, tind, true);
  const huge = hugeArenaInd(ctx);
  if (huge >= 0 && size >= ctx.opt.oversizeThreshold && (tarena === 0 || arenaIsAuto(ctx, tarena))) {
    return arenaGet(ctx, huge, true);
  }
  return tarena;
}

/** arena_decay_tick: one tick of this thread's ticker; a firing runs an unforced decay pass. */
export function arenaDecayTick(ctx: HeapCtx, arena: number): void {
  if (ctx.ticker.ticks(1)) arenaDecayUnforced(ctx, arena);
}

export function arenaDecayTicks(ctx: HeapCtx, arena: number, n: number): void {
  if (n > 0 && ctx.ticker.ticks(n)) arenaDecayUnforced(ctx, arena);
}

/**
 * arena_decay(arena, is_background_thread = false, all = false): with background threads on, an
 * application thread never purges (it may wake the worker instead). The flag is re-read from the
 * header here, so every thread follows a background_thread mallctl written by another one.
 */
function arenaDecayUnforced(ctx: HeapCtx, arena: number): void {
  ctx.backgroundThreads = Atomics.load(ctx.i32, HDR_BG_THREADS_B >>> 2) !== 0;
  arenaDecay(ctx, arena, ctx.backgroundThreads ? PURGE_NEVER : PURGE_ON_EPOCH_ADVANCE, false);
}

/** The thread's bin shard for size class `binind`. */
export function threadShard(ctx: HeapCtx, binind: number): number {
  const n = ctx.sc.binNshards[binind]!;
  return n === 1 ? 0 : ctx.u32[(ctx.threadB + THREAD_BINSHARD_B) >>> 2]! % n;
}

/**
 * arena_malloc without a thread cache: a region of class `ind` (usable size `usize`) from `arena`.
 * Returns the address or 0 on OOM.
 */
export function arenaMallocHard(
  ctx: HeapCtx,
  arena: number,
  usize: number,
  ind: number,
  zero: boolean,
): number {
  let ret: number;
  if (ind < ctx.sc.nbins) {
    ret = arenaMallocSmall(ctx, arena, ind, threadShard(ctx, ind));
    if (ret !== 0 && zero) ctx.u8.fill(0, ret, ret + usize);
  } else {
    const e = largeAlloc(ctx, arena, usize, CACHELINE, zero, ind);
    ret = e === 0 ? 0 : edataAddr(ctx.u32, e);
  }
  if (ret !== 0) arenaDecayTick(ctx, arena);
  return ret;
}

/** arena_palloc: an aligned allocation (usize from sa2u). */
export function arenaPalloc(
  ctx: HeapCtx,
  arena: number,
  usize: number,
  alignment: number,
  zero: boolean,
): number {
  const sc = ctx.sc;
  if (usize <= sc.smallMaxclass) return arenaMallocHard(ctx, arena, usize, sc.size2index(usize), zero);
  const e = largeAlloc(ctx, arena, usize, alignment <= CACHELINE ? CACHELINE : alignment, zero);
  if (e === 0) return 0;
  arenaDecayTick(ctx, arena);
  return edataAddr(ctx.u32, e);
}

/**
 * Brings a destroyed arena back at the same index for arenas.create: statistics restart from zero;
 * the base, the edata cache and the retained address space carry over. Caller holds the arenas lock.
 */
export function arenaRevive(ctx: HeapCtx, arena: number, dirtyMs: number, muzzyMs: number): void {
  const sc = ctx.sc;
  const al = ctx.arenaLayout;
  pacLock(ctx, arena);
  try {
    for (let i = 0; i < sc.nbins; i++) {
      for (let s = 0; s < sc.binNshards[i]!; s++) {
        const bin = binRecord(ctx, arena, i, s);
        for (let k = 0; k < BSTATS_COUNT; k++) ctx.f64[bstatD(bin, k)] = 0;
      }
    }
    ctx.f64.fill(0, (arena + al.lstatsB) >>> 3, (arena + al.lstatsB + al.nlextentsAddr * LSTATS_BYTES) >>> 3);
    const now = ctx.nowNs();
    decayInit(ctx, pacDecayDirty(ctx, arena), now, dirtyMs, pacDecayDirty(ctx, arena));
    decayInit(ctx, pacDecayMuzzy(ctx, arena), now, muzzyMs, pacDecayMuzzy(ctx, arena));
    ctx.u32[(arenaFieldsB(ctx, arena) + ARENA_STATE_B) >>> 2] = 1;
  } finally {
    pacUnlock(ctx, arena);
  }
}
