/**
 * arena_caches: thread caches holding regions of an arena about to be reset or destroyed. jemalloc's
 * manual makes the caller flush every cache used with the arena first and leaves the rest undefined
 * (a cache would later hand out memory of the discarded arena). Here arena.<i>.reset / destroy
 * (src/mallctl/nodes/arena_i.ts, before the arena layer resets it) flush, in every bin that holds some of the arena's blocks, the calling thread's cache and every
 * explicit cache (tcache.create; any thread may flush those, as tcache.flush does). Another thread's
 * own cache cannot be flushed from here (its owner touches it without a lock), so when one still
 * holds a block of the arena the operation is refused with EFAULT and nothing is changed; that thread
 * flushes (thread.tcache.flush) or exits, and the call can be repeated.
 * Reading another thread's cache races only with that thread taking entries out, which can only
 * make the answer conservative (a refusal).
 */
import type { HeapCtx } from "../ctx/ctx.js";
import { THREAD_TCACHE_B } from "../ctx/header.js";
import { edataArena } from "../extent/edata.js";
import { emapLookupChecked } from "../extent/emap.js";
import { tcacheRecordSane, tcacheRecords } from "./index.js";
import {
  TBIN_W_CAP,
  TBIN_W_HEAD,
  TBIN_W_NSTASHED,
  TBIN_W_SLOTS,
  TCACHE_KIND_B,
  TCACHE_KIND_EXPLICIT,
  tbinW,
} from "./layout.js";
import { tcacheBinFlush, tcacheGeom } from "./tcache.js";

/** Whether bin `binind` of cache `tc` holds a region of arena `ind`. */
function binHolds(ctx: HeapCtx, tc: number, binind: number, ind: number): boolean {
  const u32 = ctx.u32;
  const w = tbinW(tc, binind);
  const cap = u32[w + TBIN_W_CAP]!;
  const slots = u32[w + TBIN_W_SLOTS]!;
  // The stash [0, nstashed) and the cached entries [head, cap).
  for (let k = 0; k < cap; k++) {
    if (k >= u32[w + TBIN_W_NSTASHED]! && k < u32[w + TBIN_W_HEAD]!) continue;
    const e = emapLookupChecked(ctx, u32[slots + k]!);
    if (e !== 0 && edataArena(u32, e) === ind) return true;
  }
  return false;
}

/**
 * Flushes arena `ind`'s blocks out of the caches this thread may flush. Returns false, having flushed
 * nothing, when another thread's cache holds some (the caller answers EFAULT).
 */
export function arenaCachesRelease(ctx: HeapCtx, ind: number): boolean {
  const own = ctx.u32[(ctx.threadB + THREAD_TCACHE_B) >>> 2]!;
  const nhbins = tcacheGeom(ctx).nhbins;
  const flushable: number[] = [];
  for (const tc of tcacheRecords(ctx)) {
    const mine = tc === own || ctx.u32[(tc + TCACHE_KIND_B) >>> 2] === TCACHE_KIND_EXPLICIT;
    if (!tcacheRecordSane(ctx, tc)) {
      if (mine) continue;
      return false;
    }
    for (let i = 0; i < nhbins; i++) {
      if (!binHolds(ctx, tc, i, ind)) continue;
      if (!mine) return false;
      flushable.push(tc, i);
    }
  }
  for (let k = 0; k < flushable.length; k += 2) tcacheBinFlush(ctx, flushable[k]!, flushable[k + 1]!, 0);
  return true;
}
