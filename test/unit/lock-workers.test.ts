/**
 * The lock with real worker_threads: contention, a holder killed with terminate(), a live holder
 * that never lets go, a waiter that may not block, and slot reuse after death (RELIABILITY §5, F2, F5).
 */
import type { Worker } from "node:worker_threads";
import { afterEach, describe, expect, it, vi } from "vitest";
import {
  createLockContext,
  LOCK_OK,
  LOCK_OWNER_DIED,
  LOCK_WAIT_SLICE_MS_DEFAULT,
  lockAcquire,
  lockIsHeld,
  lockOwner,
  lockRelease,
  lockStatsRead,
  ownerIsAlive,
  SLOT_STATE_DEAD,
  SLOT_STATE_FREE,
  slotClaim,
  slotMarkDead,
  slotRelease,
  slotState,
  slotsLiveCount,
} from "../../src/sync/index.js";
import { spawnTsWorker } from "../helpers/spawn.js";
import {
  COUNTER_W,
  CTL_W,
  FINALLY_W,
  GO_W,
  LOCK_W,
  makeTestHeap,
  NSLOTS,
  REG_W,
  testLockName,
  VIOLATIONS_W,
} from "../workers/lock-common.js";

const COUNTER = new URL("../workers/lock-counter.ts", import.meta.url);
const HOLDER = new URL("../workers/lock-holder.ts", import.meta.url);
const WAITER = new URL("../workers/lock-waiter.ts", import.meta.url);

interface Claimed {
  slot: number;
  generation: number;
  ownerTag: number;
  result: number;
}
interface WaiterReply {
  result?: number;
  error?: string;
  message?: string;
  at: number;
  waitedMs: number;
  ownerSlot?: number;
}

const live: Worker[] = [];
afterEach(async () => {
  vi.restoreAllMocks();
  await Promise.all(live.splice(0).map((w) => w.terminate()));
});

/** Starts a worker and returns a pull-style reader over its messages. */
function start(entry: URL, data: Record<string, unknown>) {
  const w = spawnTsWorker(entry, data);
  live.push(w);
  const queue: unknown[] = [];
  const pending: ((m: unknown) => void)[] = [];
  let failure: Error | undefined;
  const fail: ((e: Error) => void)[] = [];
  w.on("message", (m) => {
    const p = pending.shift();
    if (p) p(m);
    else queue.push(m);
  });
  const onFail = (e: Error) => {
    failure = e;
    for (const f of fail.splice(0)) f(e);
  };
  w.on("error", onFail);
  w.on("exit", (code) => onFail(new Error(`worker exited (${code})`)));
  return {
    worker: w,
    next<T>(): Promise<T> {
      if (queue.length > 0) return Promise.resolve(queue.shift() as T);
      if (failure) return Promise.reject(failure);
      return new Promise<T>((resolve, reject) => {
        pending.push(resolve as (m: unknown) => void);
        fail.push(reject);
      });
    },
    hasMessage: () => queue.length > 0,
  };
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function until(cond: () => boolean, ms: number): Promise<void> {
  const t0 = Date.now();
  while (!cond()) {
    if (Date.now() - t0 > ms) throw new Error("condition not met in time");
    await sleep(5);
  }
}

async function contend(nworkers: number, iters: number, work: number, maxSpin?: number) {
  const { sab, i32 } = makeTestHeap();
  const ws = Array.from({ length: nworkers }, () =>
    start(COUNTER, { sab, iters, work, outside: work, maxSpin }),
  );
  await until(() => slotsLiveCount(i32, REG_W) === nworkers, 20_000);
  // Hold the lock across the start so every worker contends at least once, however it is scheduled.
  const me = slotClaim(i32, REG_W, NSLOTS);
  const ctx = createLockContext({ regW: REG_W, lockName: testLockName });
  lockAcquire(i32, LOCK_W, me.ownerTag, ctx);
  Atomics.store(i32, GO_W, 1);
  Atomics.notify(i32, GO_W);
  await sleep(100);
  lockRelease(i32, LOCK_W, me.ownerTag, ctx);
  slotRelease(i32, REG_W, me.slot, me.generation);
  const replies = await Promise.all(ws.map((w) => w.next<{ done: number; died: number }>()));
  return { i32, replies };
}

describe("lock under contention (real workers)", () => {
  it.each([
    [2, 0],
    [4, 600],
  ])("%i workers (maxSpin %i): exact count, no overlap, stats agree", async (n, maxSpin) => {
    const iters = 1500;
    const { i32, replies } = await contend(n, iters, 300, maxSpin);
    expect(replies.map((r) => r.done)).toEqual(new Array(n).fill(iters));
    expect(replies.every((r) => r.died === 0)).toBe(true);
    expect(i32[COUNTER_W]).toBe(n * iters);
    expect(i32[VIOLATIONS_W]).toBe(0);
    expect(lockIsHeld(i32, LOCK_W)).toBe(false);
    const s = lockStatsRead(i32, LOCK_W);
    expect(s.numOps).toBe(n * iters + 1); // + the main thread's hold at the start
    expect(s.numWait).toBeGreaterThan(0);
    expect(s.numWait + s.numSpinAcq).toBeLessThanOrEqual(s.numOps);
    expect(s.numOwnerSwitch).toBeGreaterThanOrEqual(n + 1);
    expect(s.numOwnerSwitch).toBeLessThanOrEqual(s.numOps);
    expect(s.totalWaitTimeNs).toBeGreaterThan(0);
    expect(s.maxWaitTimeNs).toBeGreaterThan(0);
    expect(s.maxWaitTimeNs).toBeLessThanOrEqual(s.totalWaitTimeNs);
    expect(s.maxNumThds).toBeGreaterThanOrEqual(1);
    expect(s.maxNumThds).toBeLessThanOrEqual(n);
    expect(slotsLiveCount(i32, REG_W)).toBe(0);
  });
});

describe("lock holder death (F2, F5)", () => {
  it("terminate() leaves the lock held; after markDead a waiter gets LOCK_OWNER_DIED within the bound", async () => {
    const { sab, i32 } = makeTestHeap();
    const holder = start(HOLDER, { sab });
    const h = await holder.next<Claimed>();
    expect(h.result).toBe(LOCK_OK);
    const waiter = start(WAITER, { sab, timeoutMs: 20_000 });
    await waiter.next();
    await sleep(60); // the waiter is now blocked in lockAcquire

    await holder.worker.terminate();
    expect(lockIsHeld(i32, LOCK_W)).toBe(true); // measured fact: no release on terminate
    expect(lockOwner(i32, LOCK_W)).toBe(h.ownerTag);
    expect(Atomics.load(i32, FINALLY_W)).toBe(0); // the holder's finally never ran
    await sleep(3 * LOCK_WAIT_SLICE_MS_DEFAULT);
    expect(waiter.hasMessage()).toBe(false); // slot still ACTIVE: the waiter keeps waiting

    const markedAt = Date.now();
    expect(slotMarkDead(i32, REG_W, h.slot, h.generation)).toBe(true);
    const r = await waiter.next<WaiterReply>();
    expect(r.result).toBe(LOCK_OWNER_DIED);
    expect(r.at - markedAt).toBeLessThan(LOCK_WAIT_SLICE_MS_DEFAULT + 450);
    expect(lockIsHeld(i32, LOCK_W)).toBe(false); // the waiter released it
    expect(slotState(i32, REG_W, h.slot)).toBe(SLOT_STATE_DEAD);

    // The supervisor frees the dead slot; the next thread gets it with a new generation.
    slotRelease(i32, REG_W, h.slot, h.generation);
    expect(slotState(i32, REG_W, h.slot)).toBe(SLOT_STATE_FREE);
    const reborn = slotClaim(i32, REG_W, NSLOTS);
    expect(reborn.slot).toBe(h.slot);
    expect(reborn.generation).toBe(h.generation + 1);
    expect(ownerIsAlive(i32, REG_W, h.ownerTag)).toBe(false);
    expect(ownerIsAlive(i32, REG_W, reborn.ownerTag)).toBe(true);
  });

  it("a worker reusing a dead holder's slot is not confused with it: it takes the stale lock over", async () => {
    const { sab, i32 } = makeTestHeap();
    const first = start(HOLDER, { sab });
    const h1 = await first.next<Claimed>();
    await first.worker.terminate();
    slotMarkDead(i32, REG_W, h1.slot, h1.generation);
    slotRelease(i32, REG_W, h1.slot, h1.generation);
    expect(lockOwner(i32, LOCK_W)).toBe(h1.ownerTag);

    const second = start(HOLDER, { sab });
    const h2 = await second.next<Claimed>();
    expect(h2.slot).toBe(h1.slot);
    expect(h2.generation).not.toBe(h1.generation);
    expect(h2.result).toBe(LOCK_OWNER_DIED);
    expect(lockOwner(i32, LOCK_W)).toBe(h2.ownerTag);
    Atomics.store(i32, CTL_W, 1);
    expect(await second.next<{ released: boolean }>()).toEqual({ released: true });
    expect(lockIsHeld(i32, LOCK_W)).toBe(false);
  });

  it("a live owner that never releases gives LockTimeoutError within ctx.timeoutMs", async () => {
    const { sab, i32 } = makeTestHeap();
    const holder = start(HOLDER, { sab });
    const h = await holder.next<Claimed>();
    const waiter = start(WAITER, { sab, timeoutMs: 300 });
    await waiter.next();
    const r = await waiter.next<WaiterReply>();
    expect(r.error).toBe("LockTimeoutError");
    expect(r.message).toMatch(/lock test\.lock .* held by owner slot 0 gen 1, which is still alive/);
    expect(r.ownerSlot).toBe(h.slot);
    expect(r.waitedMs).toBeGreaterThanOrEqual(300);
    expect(r.waitedMs).toBeLessThan(300 + 2 * LOCK_WAIT_SLICE_MS_DEFAULT + 300);
    expect(lockOwner(i32, LOCK_W)).toBe(h.ownerTag);
    Atomics.store(i32, CTL_W, 1);
    await holder.next();
    expect(Atomics.load(i32, FINALLY_W)).toBe(1);
    expect(lockIsHeld(i32, LOCK_W)).toBe(false);
  });

  it("a context that cannot block spins (no Atomics.wait) until a worker releases", async () => {
    const { sab, i32 } = makeTestHeap();
    const holder = start(HOLDER, { sab, holdMs: 150 });
    await holder.next<Claimed>();
    const me = slotClaim(i32, REG_W, NSLOTS);
    const ctx = createLockContext({ regW: REG_W, canBlock: false, lockName: testLockName, timeoutMs: 5000 });
    const spy = vi.spyOn(Atomics, "wait");
    const t0 = performance.now();
    expect(lockAcquire(i32, LOCK_W, me.ownerTag, ctx)).toBe(LOCK_OK);
    expect(performance.now() - t0).toBeGreaterThan(50);
    expect(spy).not.toHaveBeenCalled();
    lockRelease(i32, LOCK_W, me.ownerTag, ctx);
    expect(lockStatsRead(i32, LOCK_W).numWait).toBe(1);
  });
});
