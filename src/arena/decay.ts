/**
 * decay (arena level): when an arena decays and whom it wakes — jemalloc's arena_decay,
 * arena_decay_impl and arena_handle_deferred_work. The purging itself is the page allocator's
 * (src/extent/pac_decay.ts); waking background purge threads goes through the context's background
 * hooks (ctx.background), which the background layer installs, so this layer never imports it.
 *
 * Locking: called without the arena's extent lock; takes it (or only tries it, as jemalloc does for
 * unforced decay) itself. Background hooks are called with no lock held.
 */
import type { HeapCtx } from "../ctx/ctx.js";
import { decayEpochNpagesDelta, decayImmediately, decayMsRead } from "../decay/index.js";
import { esetNpages } from "../extent/eset.js";
import { pacDecayDirty, pacDecayMuzzy, pacEcacheDirty, pacEcacheMuzzy } from "../extent/extent.js";
import { pacLock, pacUnlock, paDalloc } from "../extent/pac.js";
import { PURGE_NEVER, pacDecayAll, pacMaybeDecayPurge } from "../extent/pac_decay.js";
import { PAC_LOCK_B } from "../extent/pac_layout.js";
import { lockTryAcquire } from "../sync/index.js";

export { PURGE_ALWAYS, PURGE_NEVER, PURGE_ON_EPOCH_ADVANCE, pacDecayMsSet } from "../extent/pac_decay.js";

/** arena_decay_impl for one state. True when another thread holds the lock (skipped). */
function decayOne(
  ctx: HeapCtx,
  pac: number,
  decayB: number,
  ec: number,
  eagerness: number,
  all: boolean,
): boolean {
  if (all) {
    pacLock(ctx, pac);
    try {
      pacDecayAll(ctx, pac, decayB, ec);
    } finally {
      pacUnlock(ctx, pac);
    }
    return false;
  }
  if (!lockTryAcquire(ctx.i32, (pac + PAC_LOCK_B) >>> 2, ctx.ownerTag)) return true;
  let npagesNew = -1;
  try {
    if (pacMaybeDecayPurge(ctx, pac, decayB, ec, eagerness)) npagesNew = decayEpochNpagesDelta(ctx, decayB);
  } finally {
    pacUnlock(ctx, pac);
  }
  // PURGE_NEVER means an application thread while background threads are on (arena_decay_impl).
  if (npagesNew >= 0 && eagerness === PURGE_NEVER)
    ctx.background.maybeDeferredWork(ctx, pac, decayB, npagesNew);
  return false;
}

/** arena_decay: dirty then muzzy; `all` purges everything (arena.<i>.purge). */
export function arenaDecay(ctx: HeapCtx, pac: number, eagerness: number, all: boolean): void {
  if (decayOne(ctx, pac, pacDecayDirty(ctx, pac), pacEcacheDirty(ctx, pac), eagerness, all)) return;
  const muzzy = pacEcacheMuzzy(ctx, pac);
  if (esetNpages(ctx, muzzy) === 0 && decayMsRead(ctx, pacDecayMuzzy(ctx, pac)) <= 0) return;
  decayOne(ctx, pac, pacDecayMuzzy(ctx, pac), muzzy, eagerness, all);
}

/**
 * arena_handle_deferred_work: after the page allocator put pages into the dirty cache (paDalloc,
 * paShrink). With decay time 0 they are purged at once; then background threads are told.
 */
export function arenaHandleDeferredWork(ctx: HeapCtx, pac: number): void {
  const decayB = pacDecayDirty(ctx, pac);
  if (decayImmediately(ctx, decayB)) {
    pacLock(ctx, pac);
    try {
      pacDecayAll(ctx, pac, decayB, pacEcacheDirty(ctx, pac));
    } finally {
      pacUnlock(ctx, pac);
    }
  }
  ctx.background.inactivityCheck(ctx, pac);
}

/** pa_dalloc followed by arena_handle_deferred_work: give extent `e` back to arena `pac`'s dirty cache. */
export function arenaExtentDalloc(ctx: HeapCtx, pac: number, e: number): void {
  paDalloc(ctx, pac, e);
  arenaHandleDeferredWork(ctx, pac);
}
