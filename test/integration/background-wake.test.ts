/**
 * The application-thread side of background threads, driven directly on a heap with a virtual clock
 * and no worker (jemalloc's arena_maybe_do_deferred_work / arena_should_decay_early): when a worker
 * is signalled, how newly freed pages are accounted against its scheduled wakeup, and when nothing
 * happens (worker stopped, its lock busy, decay not gradual).
 */
import { describe, expect, it } from "vitest";
import { backgroundThreadMaxSet } from "../../src/background/index.js";
import {
  BG_INDEFINITE,
  INFO_LOCK_B,
  INFO_NPAGES_PURGE_NEW_B,
  INFO_STARTED,
  INFO_STATE_B,
  INFO_WAKE_SEQ_B,
  infoB,
} from "../../src/background/layout.js";
import {
  backgroundInactivityCheck,
  backgroundMaybeDeferredWork,
  bgRegion,
  infoF64,
  infoWakeupTimeSet,
} from "../../src/background/wake.js";
import { HDR_BG_THREADS_B } from "../../src/ctx/header.js";
import { decayEpochNs, decayNpagesPurgeIn } from "../../src/decay/index.js";
import { Heap } from "../../src/heap.js";
import { lockRelease, lockTryAcquire } from "../../src/sync/index.js";

/** A heap with a region and a pretend worker 0 (STARTED, no thread) serving arena 0. */
function setup(conf = "dirty_decay_ms:10000,muzzy_decay_ms:0") {
  const clock = { ms: 0 };
  const heap = Heap.createVirtual(
    { maxBytes: 64 << 20, envConf: null, conf: `tcache:false,narenas:1,${conf}` },
    () => clock.ms,
  );
  backgroundThreadMaxSet(heap, 4);
  const ctx = heap.ctx;
  const info = infoB(bgRegion(ctx), 0);
  Atomics.store(ctx.i32, (info + INFO_STATE_B) >>> 2, INFO_STARTED);
  Atomics.store(ctx.i32, HDR_BG_THREADS_B >>> 2, 1);
  const arena = heap.arenaRecord(0);
  const decayB = arena + ctx.arenaLayout.decayDirtyB;
  const seq = (): number => Atomics.load(ctx.i32, (info + INFO_WAKE_SEQ_B) >>> 2);
  return { heap, ctx, clock, info, arena, decayB, seq };
}

describe("waking a background worker", () => {
  it("a worker sleeping indefinitely is signalled on any deferred work", () => {
    const { ctx, info, arena, decayB, seq } = setup();
    infoWakeupTimeSet(ctx, info, BG_INDEFINITE);
    backgroundMaybeDeferredWork(ctx, arena, decayB, 0);
    expect(seq()).toBe(1);
    backgroundInactivityCheck(ctx, arena);
    expect(seq()).toBe(2);
  });

  it("with a scheduled wakeup, pages purgeable before it accumulate until they pass 1024", () => {
    const { ctx, clock, info, arena, decayB, seq } = setup();
    clock.ms = 100;
    const epoch = decayEpochNs(ctx, decayB);
    const wakeup = epoch + 5e9; // 5 s after the decay epoch: half the 10 s decay time
    infoWakeupTimeSet(ctx, info, wakeup);
    const per = decayNpagesPurgeIn(ctx, decayB, 5e9, 600);
    expect(per).toBeGreaterThan(0);
    expect(per).toBeLessThan(600);
    let total = 0;
    let n = 0;
    while (total + per <= 1024) {
      backgroundMaybeDeferredWork(ctx, arena, decayB, 600);
      total += per;
      n++;
      expect(seq()).toBe(0);
      expect(infoF64(ctx, info, INFO_NPAGES_PURGE_NEW_B)).toBe(total);
    }
    backgroundMaybeDeferredWork(ctx, arena, decayB, 600);
    expect(seq()).toBe(1);
    expect(infoF64(ctx, info, INFO_NPAGES_PURGE_NEW_B)).toBe(0);
    expect(n).toBeGreaterThan(0);
    // The inactivity check does nothing while the worker has a wakeup scheduled.
    backgroundInactivityCheck(ctx, arena);
    expect(seq()).toBe(1);
  });

  it("a wakeup less than 100 ms away is not brought forward (but the count restarts)", () => {
    const { ctx, info, arena, decayB, seq } = setup("dirty_decay_ms:100,muzzy_decay_ms:0");
    const epoch = decayEpochNs(ctx, decayB);
    infoWakeupTimeSet(ctx, info, epoch + 50e6);
    backgroundMaybeDeferredWork(ctx, arena, decayB, 100_000);
    expect(seq()).toBe(0);
    expect(infoF64(ctx, info, INFO_NPAGES_PURGE_NEW_B)).toBe(0);
  });

  it("nothing happens for a stopped worker, a busy worker lock, a wakeup before the epoch, or decay ≤ 0", () => {
    {
      const { ctx, info, arena, decayB, seq } = setup();
      Atomics.store(ctx.i32, (info + INFO_STATE_B) >>> 2, 0);
      infoWakeupTimeSet(ctx, info, BG_INDEFINITE);
      backgroundMaybeDeferredWork(ctx, arena, decayB, 5000);
      expect(seq()).toBe(0);
    }
    {
      const { ctx, info, arena, decayB, seq } = setup();
      infoWakeupTimeSet(ctx, info, BG_INDEFINITE);
      const other = 0x3ffffff0; // a well-formed owner tag (< 2^30) of no thread
      expect(lockTryAcquire(ctx.i32, (info + INFO_LOCK_B) >>> 2, other)).toBe(true);
      backgroundMaybeDeferredWork(ctx, arena, decayB, 5000);
      expect(seq()).toBe(0);
      lockRelease(ctx.i32, (info + INFO_LOCK_B) >>> 2, other);
    }
    {
      const { ctx, clock, info, arena, decayB, seq } = setup();
      clock.ms = 1000;
      infoWakeupTimeSet(ctx, info, decayEpochNs(ctx, decayB) - 1);
      backgroundMaybeDeferredWork(ctx, arena, decayB, 100_000);
      expect(seq()).toBe(0);
    }
    {
      const { ctx, info, arena, decayB, seq } = setup("dirty_decay_ms:-1,muzzy_decay_ms:-1");
      infoWakeupTimeSet(ctx, info, 10e9);
      backgroundMaybeDeferredWork(ctx, arena, decayB, 100_000);
      expect(seq()).toBe(0);
    }
    {
      // Background threads off: the inactivity check is one header load and nothing else.
      const { ctx, info, arena, seq } = setup();
      Atomics.store(ctx.i32, HDR_BG_THREADS_B >>> 2, 0);
      infoWakeupTimeSet(ctx, info, BG_INDEFINITE);
      backgroundInactivityCheck(ctx, arena);
      expect(seq()).toBe(0);
    }
  });
});
