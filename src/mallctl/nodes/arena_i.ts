import { backgroundThreadResetFinish, backgroundThreadResetPrepare } from "../../background/index.js";
// arena.<i>.* (MIB 8.<i>.*): acting on one arena, or on all of them.
//
// Indices: 0 ≤ i ≤ arenas.narenas (i == narenas is jemalloc's deprecated alias of
// MALLCTL_ARENAS_ALL = 4096), 4096, and 4097 (MALLCTL_ARENAS_DESTROYED); others ENOENT.
// decay / purge accept "all"; the other leaves need an existing arena (EFAULT
// otherwise, as in jemalloc). reset / destroy work on manual arenas only (EFAULT for
// automatic ones; destroy also EFAULT while threads are bound).
// dss: this port has no sbrk, so it answers as jemalloc without dss support: every
// arena reads "disabled" and only "disabled" can be written (EFAULT otherwise).
// extent_hooks: an ExtentHooks object of JS functions (src/extent/ctx.ts). Functions
// cannot live in the shared buffer, so hooks are installed for the calling thread
// (heap.ctx.hooks): install them in every worker that uses the arena. Reading
// returns DEFAULT_EXTENT_HOOKS when none are installed; writing it removes them.
// oversize_threshold is stored as a u32 in the arena: values above 2^32 − 1 read back
// as 2^32 − 1 (no allocation in a ≤ 4 GiB buffer can reach them).

import { arenaGet, arenaIsAuto, arenaNthreads, narenasAuto, narenasTotal } from "../../arena/arena.js";
import { arenaDecay, PURGE_NEVER, PURGE_ON_EPOCH_ADVANCE, pacDecayMsSet } from "../../arena/decay.js";
import { type ArenaOpResult, arenaDestroy, arenaReset } from "../../arena/reset.js";
import { DSS_PREC_NAMES } from "../../conf/opt.js";
import type { ExtentHooks, HeapCtx } from "../../ctx/ctx.js";
import { decayMsRead } from "../../decay/index.js";
import { ctlFail } from "../../errors.js";
import { pacDecayDirty, pacDecayMuzzy } from "../../extent/extent.js";
import { pacLock, pacUnlock } from "../../extent/pac.js";
import {
  PAC_EXP_GROW_LIMIT_B,
  PAC_HOOKS_VERSION_B,
  PAC_OVERSIZE_THRESHOLD_B,
} from "../../extent/pac_layout.js";
import { profArenaReset } from "../../prof/index.js";
import { arenaCachesRelease } from "../../tcache/arena_caches.js";
import {
  ARENA_DSS_WITHOUT_SBRK,
  arenaLiveByInd,
  MALLCTL_ARENAS_ALL,
  MALLCTL_ARENAS_DESTROYED,
  snapshotGet,
} from "../snapshot.js";
import { withCtlLock } from "../state.js";
import { indexed, leaf, named } from "../tree.js";
import { type H, mibAt, type Node, ro } from "./common.js";

/** What arena.<i>.extent_hooks reads when the thread installed none (jemalloc's default hooks). */
export const DEFAULT_EXTENT_HOOKS: Readonly<ExtentHooks> = Object.freeze({});

const HOOK_NAMES: ReadonlySet<string> = new Set([
  "alloc",
  "dalloc",
  "destroy",
  "commit",
  "decommit",
  "purgeLazy",
  "purgeForced",
  "split",
  "merge",
]);

/** Checks a written hook table (EINVAL if it is not an object of known hook functions). */
export function extentHooksCheck(v: unknown): ExtentHooks {
  if (v === null || typeof v !== "object") ctlFail("EINVAL", "extent hooks must be an ExtentHooks object");
  for (const [k, fn] of Object.entries(v as Record<string, unknown>)) {
    if (!HOOK_NAMES.has(k)) ctlFail("EINVAL", `unknown extent hook ${JSON.stringify(k)}`);
    if (fn !== undefined && typeof fn !== "function")
      ctlFail("EINVAL", `extent hook ${k} must be a function`);
  }
  return v as ExtentHooks;
}

/** Installs (or, for DEFAULT_EXTENT_HOOKS, removes) this thread's hooks for arena `ind`. */
export function extentHooksInstall(ctx: HeapCtx, ind: number, hooks: ExtentHooks): void {
  if (hooks === DEFAULT_EXTENT_HOOKS) ctx.hooks.delete(ind);
  else ctx.hooks.set(ind, hooks);
}

/** The record of existing arena `i`, or 0 (arena_get(i, false): destroyed arenas do not exist). */
function arenaAt(ctx: HeapCtx, i: number): number {
  return arenaLiveByInd(ctx, i);
}

function arenaOrFault(ctx: HeapCtx, i: number): number {
  const a = arenaAt(ctx, i);
  return a !== 0 ? a : ctlFail("EFAULT", `arena ${i} does not exist`);
}

function isAll(ctx: HeapCtx, i: number): boolean {
  return i === MALLCTL_ARENAS_ALL || i === narenasTotal(ctx);
}

/** arena_i_decay(): one unforced pass (decay) or a full purge of one arena or of all. */
function arenaDecayOrPurge(heap: H, i: number, all: boolean): void {
  const ctx = heap.ctx;
  const eagerness = ctx.backgroundThreads ? PURGE_NEVER : PURGE_ON_EPOCH_ADVANCE;
  const n = narenasTotal(ctx);
  for (let k = isAll(ctx, i) ? 0 : i; k < n; k++) {
    const a = arenaLiveByInd(ctx, k);
    if (a !== 0) arenaDecay(ctx, a, eagerness, all);
    if (!isAll(ctx, i)) break;
  }
}

function manualArenaOrFault(ctx: HeapCtx, i: number): number {
  const a = arenaOrFault(ctx, i);
  if (arenaIsAuto(ctx, a)) ctlFail("EFAULT", `arena ${i} is an automatic arena`);
  return a;
}

function opResult(r: ArenaOpResult, what: string, i: number): void {
  if (r !== 0) ctlFail(r, `${what} of arena ${i} failed`);
}

/** Thread caches must not keep blocks of an arena being reset or destroyed (src/tcache/arena_caches.ts). */
function cachesReleaseOrFault(ctx: HeapCtx, i: number): void {
  if (!arenaCachesRelease(ctx, i))
    ctlFail("EFAULT", `another thread's cache still holds blocks of arena ${i} (flush it first)`);
}

function arenaDestroyLeaf(heap: H, i: number): void {
  withCtlLock(heap, (ctx) => {
    const a = manualArenaOrFault(ctx, i);
    if (arenaNthreads(ctx, a) !== 0) ctlFail("EFAULT", `arena ${i} still has threads bound to it`);
    cachesReleaseOrFault(ctx, i);
    backgroundThreadResetPrepare(ctx, i);
    try {
      profArenaReset(ctx, i);
      opResult(arenaDestroy(ctx, i), "destroy", i);
    } finally {
      backgroundThreadResetFinish(ctx, i);
    }
    // jemalloc marks both at once: the destroyed record initialized, the arena not.
    const snap = snapshotGet(heap);
    snap.destroyedInitialized = true;
    snap.arenas.delete(i);
  });
}

function initializedRead(heap: H, i: number): boolean {
  return withCtlLock(heap, (ctx) => {
    const snap = snapshotGet(heap);
    if (i === MALLCTL_ARENAS_DESTROYED) return snap.destroyedInitialized;
    return isAll(ctx, i) || snap.arenas.has(i);
  });
}

function dssWrite(heap: H, i: number, v: unknown): void {
  if (v === null) return;
  const name = v as string;
  if (!(DSS_PREC_NAMES as readonly string[]).includes(name))
    ctlFail("EINVAL", `unknown dss precedence ${JSON.stringify(name)}`);
  if (!isAll(heap.ctx, i)) arenaOrFault(heap.ctx, i);
  if (name !== ARENA_DSS_WITHOUT_SBRK)
    ctlFail("EFAULT", 'no sbrk(2) in a buffer: dss can only be "disabled"');
}

function dssRead(heap: H, i: number): string {
  if (!isAll(heap.ctx, i)) arenaOrFault(heap.ctx, i);
  return ARENA_DSS_WITHOUT_SBRK;
}

function decayMsLeaf(dirty: boolean): Node {
  const rec = (ctx: HeapCtx, a: number): number => (dirty ? pacDecayDirty(ctx, a) : pacDecayMuzzy(ctx, a));
  return leaf<H>({
    type: "ssize_t",
    access: "rw",
    read: (heap, mib) => {
      const ctx = heap.ctx;
      const a = arenaOrFault(ctx, mibAt(mib, 1));
      pacLock(ctx, a);
      try {
        return decayMsRead(ctx, rec(ctx, a));
      } finally {
        pacUnlock(ctx, a);
      }
    },
    write: (heap, mib, v) => {
      const ctx = heap.ctx;
      const a = arenaOrFault(ctx, mibAt(mib, 1));
      const eagerness = ctx.backgroundThreads ? PURGE_NEVER : PURGE_ON_EPOCH_ADVANCE;
      if (!pacDecayMsSet(ctx, a, dirty, v as number, eagerness))
        ctlFail("EFAULT", `invalid decay time ${String(v)}`);
    },
  });
}

const oversizeThresholdNode = leaf<H>({
  type: "size_t",
  access: "rw",
  read: (heap, mib) => {
    const ctx = heap.ctx;
    return ctx.u32[(arenaOrFault(ctx, mibAt(mib, 1)) + PAC_OVERSIZE_THRESHOLD_B) >>> 2]!;
  },
  write: (heap, mib, v) => {
    const ctx = heap.ctx;
    const a = arenaOrFault(ctx, mibAt(mib, 1));
    Atomics.store(ctx.u32, (a + PAC_OVERSIZE_THRESHOLD_B) >>> 2, Math.min(v as number, 2 ** 32 - 1));
  },
});

function hooksRead(heap: H, i: number): ExtentHooks {
  const ctx = heap.ctx;
  if (i >= narenasTotal(ctx)) ctlFail("EFAULT", `arena ${i} does not exist`);
  if (arenaAt(ctx, i) === 0 && i >= narenasAuto(ctx)) ctlFail("EFAULT", `arena ${i} does not exist`);
  return ctx.hooks.get(i) ?? DEFAULT_EXTENT_HOOKS;
}

/** Installs hooks; for an automatic arena not created yet, creates it with them (jemalloc does). */
function hooksWrite(heap: H, i: number, v: unknown): void {
  const hooks = extentHooksCheck(v);
  withCtlLock(heap, (ctx) => {
    hooksRead(heap, i);
    extentHooksInstall(ctx, i, hooks);
    const a = arenaAt(ctx, i) !== 0 ? arenaAt(ctx, i) : arenaGet(ctx, i, true);
    if (a === 0) ctlFail("EFAULT", `arena ${i} could not be initialized`);
    Atomics.add(ctx.i32, (a + PAC_HOOKS_VERSION_B) >>> 2, 1);
  });
}

/** pac_retain_grow_limit_get_set(): the limit as a page-size class. */
const retainGrowLimitNode = leaf<H>({
  type: "size_t",
  access: "rw",
  enabled: (heap) => heap.derived.conf.opt.retain,
  read: (heap, mib) => {
    const ctx = heap.ctx;
    const a = arenaOrFault(ctx, mibAt(mib, 1));
    return ctx.sc.pind2sz(ctx.u32[(a + PAC_EXP_GROW_LIMIT_B) >>> 2]!);
  },
  write: (heap, mib, v) => {
    const ctx = heap.ctx;
    const a = arenaOrFault(ctx, mibAt(mib, 1));
    const limit = v as number;
    // The largest page class ≤ limit (jemalloc: psz2ind(limit + 1) − 1, exact beyond 2^53 too).
    let ind = ctx.sc.psz2ind(limit);
    if (ind >= ctx.sc.npsizes) ind = ctx.sc.npsizes - 1;
    else if (ctx.sc.pind2sz(ind) > limit) ind--;
    if (ind < 0 || ind >= ctx.sc.npsizes) ctlFail("EFAULT", `retain_grow_limit ${limit} is below one page`);
    pacLock(ctx, a);
    try {
      ctx.u32[(a + PAC_EXP_GROW_LIMIT_B) >>> 2] = ind;
    } finally {
      pacUnlock(ctx, a);
    }
  },
});

const arenaINode = named<H>([
  ["initialized", ro("bool", (heap, mib) => initializedRead(heap, mibAt(mib, 1)))],
  [
    "decay",
    leaf<H>({ type: "void", access: "-", run: (heap, mib) => arenaDecayOrPurge(heap, mibAt(mib, 1), false) }),
  ],
  [
    "purge",
    leaf<H>({ type: "void", access: "-", run: (heap, mib) => arenaDecayOrPurge(heap, mibAt(mib, 1), true) }),
  ],
  [
    "reset",
    leaf<H>({
      type: "void",
      access: "-",
      run: (heap, mib) => {
        const i = mibAt(mib, 1);
        manualArenaOrFault(heap.ctx, i);
        cachesReleaseOrFault(heap.ctx, i);
        backgroundThreadResetPrepare(heap.ctx, i);
        try {
          profArenaReset(heap.ctx, i);
          opResult(arenaReset(heap.ctx, i), "reset", i);
        } finally {
          backgroundThreadResetFinish(heap.ctx, i);
        }
      },
    }),
  ],
  [
    "destroy",
    leaf<H>({ type: "void", access: "-", run: (heap, mib) => arenaDestroyLeaf(heap, mibAt(mib, 1)) }),
  ],
  [
    "dss",
    leaf<H>({
      type: "const char *",
      access: "rw",
      read: (heap, mib) => dssRead(heap, mibAt(mib, 1)),
      write: (heap, mib, v) => dssWrite(heap, mibAt(mib, 1), v),
    }),
  ],
  ["oversize_threshold", oversizeThresholdNode],
  ["dirty_decay_ms", decayMsLeaf(true)],
  ["muzzy_decay_ms", decayMsLeaf(false)],
  [
    "extent_hooks",
    leaf<H>({
      type: "opaque",
      access: "rw",
      read: (heap, mib) => hooksRead(heap, mibAt(mib, 1)),
      write: (heap, mib, v) => hooksWrite(heap, mibAt(mib, 1), v),
    }),
  ],
  ["retain_grow_limit", retainGrowLimitNode],
]);

/** arena_i_index(): 0 ≤ i ≤ arenas.narenas, ALL, DESTROYED. */
export const arenaNode: Node = indexed<H>((heap, i) =>
  i <= narenasTotal(heap.ctx) || i === MALLCTL_ARENAS_ALL || i === MALLCTL_ARENAS_DESTROYED
    ? arenaINode
    : null,
);
