import { afterEach, describe, expect, it, vi } from "vitest";
import {
  createLockContext,
  detectCanBlock,
  LOCK_MAX_SPIN_DEFAULT,
  LOCK_OK,
  LOCK_OWNER_DIED,
  LOCK_TIMEOUT_MS_DEFAULT,
  LOCK_W_NUM_OPS,
  LOCK_W_X_STATE,
  LOCK_W_X_WAITERS,
  LOCK_WAIT_SLICE_MS_DEFAULT,
  LOCK_WAITERS_N_MASK,
  LOCK_WORDS,
  type LockContext,
  LockTimeoutError,
  lockAcquire,
  lockAcquireAsync,
  lockAssertOwner,
  lockInit,
  lockIsHeld,
  lockOwner,
  lockRelease,
  lockStatsMerge,
  lockStatsRead,
  lockStatsReset,
  lockStatsZero,
  lockTryAcquire,
  ownerTag,
  slotClaim,
  slotMarkDead,
  slotRelease,
  slotsInit,
  slotsRegionWords,
} from "../../src/sync/index.js";

const REG_W = 0;
const NSLOTS = 4;
const LOCK_W = slotsRegionWords(NSLOTS);
const name = (w: number) => (w === LOCK_W ? "arena0.bin3" : `lock@${w}`);

function setup() {
  const i32 = new Int32Array(new SharedArrayBuffer((LOCK_W + LOCK_WORDS + 2) * 4));
  slotsInit(i32, REG_W, NSLOTS);
  lockInit(i32, LOCK_W);
  const a = slotClaim(i32, REG_W, NSLOTS);
  const b = slotClaim(i32, REG_W, NSLOTS);
  const ctx = createLockContext({ regW: REG_W, lockName: name, canBlock: true });
  return { i32, a, b, ctx };
}

function ctxWith(over: Partial<Parameters<typeof createLockContext>[0]>): LockContext {
  return createLockContext({ regW: REG_W, lockName: name, canBlock: true, ...over });
}

afterEach(() => {
  vi.restoreAllMocks();
});

describe("lock: uncontended", () => {
  it("init leaves a free lock with zero stats", () => {
    const { i32 } = setup();
    expect(lockIsHeld(i32, LOCK_W)).toBe(false);
    expect(lockOwner(i32, LOCK_W)).toBe(0);
    expect(lockStatsRead(i32, LOCK_W)).toEqual(lockStatsZero());
  });

  it("acquire/release sets and clears state and owner; counts ops and owner switches", () => {
    const { i32, a, b, ctx } = setup();
    expect(lockAcquire(i32, LOCK_W, a.ownerTag, ctx)).toBe(LOCK_OK);
    expect(lockIsHeld(i32, LOCK_W)).toBe(true);
    expect(lockOwner(i32, LOCK_W)).toBe(a.ownerTag);
    // One word: taking the lock and naming the owner are the same CAS.
    expect(i32[LOCK_W + LOCK_W_X_STATE]).toBe(a.ownerTag);
    lockRelease(i32, LOCK_W, a.ownerTag, ctx);
    expect(i32[LOCK_W + LOCK_W_X_STATE]).toBe(0);
    expect(lockOwner(i32, LOCK_W)).toBe(0);
    lockAcquire(i32, LOCK_W, a.ownerTag, ctx);
    lockRelease(i32, LOCK_W, a.ownerTag, ctx);
    lockAcquire(i32, LOCK_W, b.ownerTag, ctx);
    lockRelease(i32, LOCK_W, b.ownerTag, ctx);
    const s = lockStatsRead(i32, LOCK_W);
    expect(s.numOps).toBe(3);
    expect(s.numOwnerSwitch).toBe(2);
    expect([s.numWait, s.numSpinAcq, s.totalWaitTimeNs, s.maxWaitTimeNs, s.maxNumThds]).toEqual([
      0, 0, 0, 0, 0,
    ]);
  });

  it("200k uncontended pairs leave the lock free with an exact op count", () => {
    const { i32, a, ctx } = setup();
    for (let i = 0; i < 200_000; i++) {
      lockAcquire(i32, LOCK_W, a.ownerTag, ctx);
      lockRelease(i32, LOCK_W, a.ownerTag, ctx);
    }
    expect(lockStatsRead(i32, LOCK_W).numOps).toBe(200_000);
    expect(lockStatsRead(i32, LOCK_W).numOwnerSwitch).toBe(1);
    expect(lockIsHeld(i32, LOCK_W)).toBe(false);
  });

  it("try-acquire succeeds only when free and counts only successes", () => {
    const { i32, a, b, ctx } = setup();
    expect(lockTryAcquire(i32, LOCK_W, a.ownerTag)).toBe(true);
    expect(lockTryAcquire(i32, LOCK_W, b.ownerTag)).toBe(false);
    expect(lockTryAcquire(i32, LOCK_W, a.ownerTag)).toBe(false);
    expect(lockOwner(i32, LOCK_W)).toBe(a.ownerTag);
    lockRelease(i32, LOCK_W, a.ownerTag);
    expect(lockTryAcquire(i32, LOCK_W, b.ownerTag, ctx)).toBe(true);
    lockRelease(i32, LOCK_W, b.ownerTag, ctx);
    expect(lockStatsRead(i32, LOCK_W).numOps).toBe(2);
  });

  it("rejects owner tags that are not positive 32-bit integers", () => {
    const { i32, ctx } = setup();
    for (const bad of [0, -1, 1.5, Number.NaN, 2 ** 31, Number.POSITIVE_INFINITY]) {
      expect(() => lockAcquire(i32, LOCK_W, bad, ctx)).toThrow(RangeError);
      expect(() => lockTryAcquire(i32, LOCK_W, bad)).toThrow(RangeError);
    }
    expect(lockIsHeld(i32, LOCK_W)).toBe(false);
  });

  it("releasing a lock one does not hold throws, naming lock and owner, and changes nothing", () => {
    const { i32, a, b, ctx } = setup();
    expect(() => lockRelease(i32, LOCK_W, a.ownerTag, ctx)).toThrow(
      /lockRelease: lock arena0.bin3 \(word \d+\) is not held, not by the caller \(slot 0 gen 1\)/,
    );
    lockAcquire(i32, LOCK_W, a.ownerTag, ctx);
    expect(() => lockRelease(i32, LOCK_W, b.ownerTag, ctx)).toThrow(
      /is held by slot 0 gen 1, not by the caller \(slot 1 gen 1\)/,
    );
    expect(() => lockRelease(i32, LOCK_W, b.ownerTag)).toThrow(/lock@\d+/);
    expect(() => lockRelease(i32, LOCK_W, 0)).toThrow(Error);
    expect(lockOwner(i32, LOCK_W)).toBe(a.ownerTag);
    expect(i32[LOCK_W + LOCK_W_X_STATE]).toBe(a.ownerTag);
    lockAssertOwner(i32, LOCK_W, a.ownerTag);
    expect(() => lockAssertOwner(i32, LOCK_W, b.ownerTag, ctx)).toThrow(/lockAssertOwner/);
    lockRelease(i32, LOCK_W, a.ownerTag, ctx);
    expect(() => lockRelease(i32, LOCK_W, a.ownerTag, ctx)).toThrow(/not held/);
  });

  it("a recursive acquire throws instead of waiting on itself", () => {
    const { i32, a, ctx } = setup();
    lockAcquire(i32, LOCK_W, a.ownerTag, ctx);
    expect(() => lockAcquire(i32, LOCK_W, a.ownerTag, ctx)).toThrow(
      /already held by the caller \(slot 0 gen 1\)/,
    );
    expect(lockOwner(i32, LOCK_W)).toBe(a.ownerTag);
  });

  it("works through a length-tracking view of a growable buffer", () => {
    const sab = new SharedArrayBuffer(LOCK_W * 4, { maxByteLength: 4096 });
    const i32 = new Int32Array(sab);
    slotsInit(i32, REG_W, NSLOTS);
    const a = slotClaim(i32, REG_W, NSLOTS);
    const far = 512;
    expect(() => lockInit(i32, far)).toThrow(RangeError);
    sab.grow(4096);
    lockInit(i32, far);
    const ctx = ctxWith({});
    expect(lockAcquire(i32, far, a.ownerTag, ctx)).toBe(LOCK_OK);
    expect(lockOwner(i32, far)).toBe(a.ownerTag);
    lockRelease(i32, far, a.ownerTag, ctx);
    expect(lockStatsRead(i32, far).numOps).toBe(1);
  });
});

describe("lock: dead owners and bounded waits (single thread)", () => {
  it("a waiter takes over from a dead owner at once: LOCK_OWNER_DIED, state kept locked", () => {
    const { i32, a, b, ctx } = setup();
    lockAcquire(i32, LOCK_W, a.ownerTag, ctx);
    slotMarkDead(i32, REG_W, a.slot, a.generation);
    const spy = vi.spyOn(Atomics, "wait");
    expect(lockAcquire(i32, LOCK_W, b.ownerTag, ctx)).toBe(LOCK_OWNER_DIED);
    expect(spy).not.toHaveBeenCalled(); // the owner is checked before the first wait
    expect(lockOwner(i32, LOCK_W)).toBe(b.ownerTag);
    expect(lockIsHeld(i32, LOCK_W)).toBe(true);
    expect(() => lockRelease(i32, LOCK_W, a.ownerTag, ctx)).toThrow(/held by slot 1 gen 1/);
    lockRelease(i32, LOCK_W, b.ownerTag, ctx);
    expect(lockIsHeld(i32, LOCK_W)).toBe(false);
    const s = lockStatsRead(i32, LOCK_W);
    expect(s.numOps).toBe(2);
    expect(s.numWait).toBe(1);
    expect(s.numOwnerSwitch).toBe(2);
    expect(i32[LOCK_W + LOCK_W_X_WAITERS]! & LOCK_WAITERS_N_MASK).toBe(0);
    expect(lockAcquire(i32, LOCK_W, b.ownerTag, ctx)).toBe(LOCK_OK);
  });

  it("a stale owner tag is dead even after its slot was reused (F5)", () => {
    const { i32, a, b, ctx } = setup();
    lockAcquire(i32, LOCK_W, a.ownerTag, ctx);
    slotMarkDead(i32, REG_W, a.slot, a.generation);
    slotRelease(i32, REG_W, a.slot, a.generation);
    const reborn = slotClaim(i32, REG_W, NSLOTS);
    expect(reborn.slot).toBe(a.slot);
    expect(reborn.ownerTag).not.toBe(a.ownerTag);
    expect(lockAcquire(i32, LOCK_W, b.ownerTag, ctx)).toBe(LOCK_OWNER_DIED);
  });

  it("a live owner that never releases gives LockTimeoutError within the timeout", () => {
    const { i32, a, b } = setup();
    const ctx = ctxWith({ timeoutMs: 150 });
    lockAcquire(i32, LOCK_W, a.ownerTag, ctx);
    const t0 = performance.now();
    let err: unknown;
    try {
      lockAcquire(i32, LOCK_W, b.ownerTag, ctx);
    } catch (e) {
      err = e;
    }
    const elapsed = performance.now() - t0;
    expect(err).toBeInstanceOf(LockTimeoutError);
    const te = err as LockTimeoutError;
    expect(te.lockName).toBe("arena0.bin3");
    expect(te.lockW).toBe(LOCK_W);
    expect(te.ownerTag).toBe(a.ownerTag);
    expect([te.ownerSlot, te.ownerGeneration]).toEqual([0, 1]);
    expect(te.message).toMatch(/lock arena0.bin3 .* held by owner slot 0 gen 1, which is still alive/);
    expect(elapsed).toBeGreaterThanOrEqual(150);
    expect(elapsed).toBeLessThan(150 + 2 * LOCK_WAIT_SLICE_MS_DEFAULT + 250);
    expect(lockOwner(i32, LOCK_W)).toBe(a.ownerTag);
    expect(i32[LOCK_W + LOCK_W_X_WAITERS]! & LOCK_WAITERS_N_MASK).toBe(0);
    lockRelease(i32, LOCK_W, a.ownerTag, ctx);
    expect(lockAcquire(i32, LOCK_W, b.ownerTag, ctx)).toBe(LOCK_OK);
  });

  it("uses the injected clock for the timeout", () => {
    const { i32, a, b } = setup();
    let t = 0;
    const ctx = ctxWith({ timeoutMs: 1000, now: () => (t += 600) });
    lockAcquire(i32, LOCK_W, a.ownerTag, ctx);
    const t0 = performance.now();
    expect(() => lockAcquire(i32, LOCK_W, b.ownerTag, ctx)).toThrow(LockTimeoutError);
    expect(performance.now() - t0).toBeLessThan(500); // the real clock never reached timeoutMs
  });

  it("a held lock always names its holder: there is no anonymous state to die in", () => {
    const { i32, a, b, ctx } = setup();
    const seen: number[] = [];
    const spy = vi.spyOn(Atomics, "compareExchange");
    lockAcquire(i32, LOCK_W, a.ownerTag, ctx);
    for (const r of spy.mock.results) seen.push(r.value as number);
    spy.mockRestore();
    // Exactly one atomic step took the lock, and right after it the word already names the owner.
    expect(seen).toEqual([0]);
    expect(lockOwner(i32, LOCK_W)).toBe(a.ownerTag);
    lockRelease(i32, LOCK_W, a.ownerTag, ctx);
    expect(lockTryAcquire(i32, LOCK_W, b.ownerTag)).toBe(true);
    expect(lockOwner(i32, LOCK_W)).toBe(b.ownerTag);
  });

  it("a corrupt state word is reported", () => {
    const { i32, b } = setup();
    Atomics.store(i32, LOCK_W + LOCK_W_X_STATE, 5); // generation 0: never issued
    expect(() => lockAcquire(i32, LOCK_W, b.ownerTag, ctxWith({ timeoutMs: 60 }))).toThrow(
      /corrupt state word/,
    );
  });
});

describe("lock: agents that cannot block (F10)", () => {
  it("detectCanBlock is true on Node's main thread and false where Atomics.wait throws", () => {
    expect(detectCanBlock()).toBe(true);
    vi.spyOn(Atomics, "wait").mockImplementation(() => {
      throw new TypeError("Atomics.wait cannot be called in this context");
    });
    expect(detectCanBlock()).toBe(false);
    expect(createLockContext({ regW: 0 }).canBlock).toBe(false);
  });

  it("canBlock=false never calls Atomics.wait: times out on a live owner, takes over a dead one", () => {
    const { i32, a, b } = setup();
    const spy = vi.spyOn(Atomics, "wait");
    const ctx = ctxWith({ canBlock: false, timeoutMs: 80 });
    expect(ctx.spinOnly).toBe(true);
    lockAcquire(i32, LOCK_W, a.ownerTag, ctx);
    expect(() => lockAcquire(i32, LOCK_W, b.ownerTag, ctx)).toThrow(LockTimeoutError);
    slotMarkDead(i32, REG_W, a.slot, a.generation);
    expect(lockAcquire(i32, LOCK_W, b.ownerTag, ctx)).toBe(LOCK_OWNER_DIED);
    lockRelease(i32, LOCK_W, b.ownerTag, ctx);
    expect(lockAcquire(i32, LOCK_W, b.ownerTag, ctx)).toBe(LOCK_OK);
    lockRelease(i32, LOCK_W, b.ownerTag, ctx);
    expect(spy).not.toHaveBeenCalled();
  });

  it("maxSpin = -1 (unbounded spin) also never blocks", () => {
    const { i32, a, b } = setup();
    const spy = vi.spyOn(Atomics, "wait");
    const ctx = ctxWith({ maxSpin: -1, timeoutMs: 40 });
    expect(ctx.spinOnly).toBe(true);
    lockAcquire(i32, LOCK_W, a.ownerTag, ctx);
    expect(() => lockAcquire(i32, LOCK_W, b.ownerTag, ctx)).toThrow(LockTimeoutError);
    expect(spy).not.toHaveBeenCalled();
  });

  it("lockAcquireAsync waits without blocking and gets the lock when it is released", async () => {
    const { i32, a, b, ctx } = setup();
    const spy = vi.spyOn(Atomics, "wait");
    lockAcquire(i32, LOCK_W, a.ownerTag, ctx);
    setTimeout(() => lockRelease(i32, LOCK_W, a.ownerTag, ctx), 30);
    const t0 = performance.now();
    expect(await lockAcquireAsync(i32, LOCK_W, b.ownerTag, ctx)).toBe(LOCK_OK);
    expect(performance.now() - t0).toBeGreaterThanOrEqual(20);
    expect(lockOwner(i32, LOCK_W)).toBe(b.ownerTag);
    lockRelease(i32, LOCK_W, b.ownerTag, ctx);
    const s = lockStatsRead(i32, LOCK_W);
    expect(s.numWait).toBe(1);
    expect(s.totalWaitTimeNs).toBeGreaterThan(10e6);
    expect(s.maxWaitTimeNs).toBe(s.totalWaitTimeNs);
    expect(s.maxNumThds).toBe(1);
    expect(spy).not.toHaveBeenCalled();
    expect(await lockAcquireAsync(i32, LOCK_W, b.ownerTag, ctx)).toBe(LOCK_OK);
  });

  it("lockAcquireAsync takes over a dead owner and times out on a live one", async () => {
    const { i32, a, b } = setup();
    const ctx = ctxWith({ timeoutMs: 60 });
    lockAcquire(i32, LOCK_W, a.ownerTag, ctx);
    await expect(lockAcquireAsync(i32, LOCK_W, b.ownerTag, ctx)).rejects.toBeInstanceOf(LockTimeoutError);
    await expect(lockAcquireAsync(i32, LOCK_W, 0, ctx)).rejects.toBeInstanceOf(RangeError);
    await expect(lockAcquireAsync(i32, LOCK_W, a.ownerTag, ctx)).rejects.toThrow(
      /already held by the caller/,
    );
    setTimeout(() => slotMarkDead(i32, REG_W, a.slot, a.generation), 20);
    expect(await lockAcquireAsync(i32, LOCK_W, b.ownerTag, ctx)).toBe(LOCK_OWNER_DIED);
    expect(lockOwner(i32, LOCK_W)).toBe(b.ownerTag);
  });

  it("lockAcquireAsync falls back to timers without Atomics.waitAsync", async () => {
    const { i32, a, b, ctx } = setup();
    const saved = Object.getOwnPropertyDescriptor(Atomics, "waitAsync")!;
    Object.defineProperty(Atomics, "waitAsync", { value: undefined, configurable: true, writable: true });
    try {
      lockAcquire(i32, LOCK_W, a.ownerTag, ctx);
      setTimeout(() => lockRelease(i32, LOCK_W, a.ownerTag, ctx), 20);
      expect(await lockAcquireAsync(i32, LOCK_W, b.ownerTag, ctx)).toBe(LOCK_OK);
    } finally {
      Object.defineProperty(Atomics, "waitAsync", saved);
    }
  });
});

describe("lock statistics", () => {
  it("64-bit counters carry from the low word", () => {
    const { i32, a, ctx } = setup();
    i32[LOCK_W + LOCK_W_NUM_OPS] = -1;
    lockAcquire(i32, LOCK_W, a.ownerTag, ctx);
    lockRelease(i32, LOCK_W, a.ownerTag, ctx);
    expect(lockStatsRead(i32, LOCK_W).numOps).toBe(2 ** 32);
  });

  it("reset zeroes counters and the previous owner, keeps state, owner and live waiters", () => {
    const { i32, a, ctx } = setup();
    lockAcquire(i32, LOCK_W, a.ownerTag, ctx);
    lockRelease(i32, LOCK_W, a.ownerTag, ctx);
    lockAcquire(i32, LOCK_W, a.ownerTag, ctx);
    Atomics.store(i32, LOCK_W + LOCK_W_X_WAITERS, (5 << 16) | 2);
    lockStatsReset(i32, LOCK_W);
    expect(lockStatsRead(i32, LOCK_W)).toEqual(lockStatsZero());
    expect(i32[LOCK_W + LOCK_W_X_WAITERS]).toBe(2);
    expect(lockOwner(i32, LOCK_W)).toBe(a.ownerTag);
    Atomics.store(i32, LOCK_W + LOCK_W_X_WAITERS, 0);
    lockRelease(i32, LOCK_W, a.ownerTag, ctx);
    lockAcquire(i32, LOCK_W, a.ownerTag, ctx);
    expect(lockStatsRead(i32, LOCK_W).numOwnerSwitch).toBe(1); // previous owner forgotten
    expect(() => lockStatsRead(i32, LOCK_W + 1)).toThrow(RangeError);
  });

  it("merge sums counts and keeps maxima, as jemalloc's prof merge", () => {
    const sum = lockStatsMerge(lockStatsZero(), {
      numOps: 5,
      numWait: 2,
      numSpinAcq: 1,
      numOwnerSwitch: 3,
      totalWaitTimeNs: 100,
      maxWaitTimeNs: 60,
      maxNumThds: 2,
    });
    lockStatsMerge(sum, {
      numOps: 1,
      numWait: 1,
      numSpinAcq: 0,
      numOwnerSwitch: 1,
      totalWaitTimeNs: 90,
      maxWaitTimeNs: 90,
      maxNumThds: 1,
    });
    expect(sum).toEqual({
      numOps: 6,
      numWait: 3,
      numSpinAcq: 1,
      numOwnerSwitch: 4,
      totalWaitTimeNs: 190,
      maxWaitTimeNs: 90,
      maxNumThds: 2,
    });
  });
});

describe("lock context", () => {
  it("defaults follow jemalloc and the brief", () => {
    const ctx = createLockContext({ regW: 8 });
    expect(ctx.maxSpin).toBe(LOCK_MAX_SPIN_DEFAULT);
    expect(LOCK_MAX_SPIN_DEFAULT).toBe(600);
    expect(ctx.timeoutMs).toBe(LOCK_TIMEOUT_MS_DEFAULT);
    expect(ctx.waitSliceMs).toBe(LOCK_WAIT_SLICE_MS_DEFAULT);
    expect(ctx.lockName(12)).toBe("lock@12");
    expect(ctx.canBlock).toBe(true);
    expect(ctx.spinOnly).toBe(false);
  });

  it("rejects bad options with RangeError naming the value", () => {
    expect(() => createLockContext({ regW: -1 })).toThrow(/regW -1/);
    expect(() => createLockContext({ regW: 0, maxSpin: -2 })).toThrow(/maxSpin -2/);
    expect(() => createLockContext({ regW: 0, maxSpin: 1.5 })).toThrow(RangeError);
    expect(() => createLockContext({ regW: 0, waitSliceMs: 0 })).toThrow(/waitSliceMs 0/);
    expect(() => createLockContext({ regW: 0, timeoutMs: Number.NaN })).toThrow(/timeoutMs NaN/);
  });

  it("LockTimeoutError without a known owner has slot -1", () => {
    const e = new LockTimeoutError(10, "x", 0, 5);
    expect([e.ownerSlot, e.ownerGeneration]).toEqual([-1, -1]);
    expect(new LockTimeoutError(10, "x", ownerTag(2, 9), 5).ownerSlot).toBe(2);
  });
});
