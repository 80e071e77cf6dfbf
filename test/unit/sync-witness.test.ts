import { describe, expect, it } from "vitest";
import {
  createLockContext,
  LOCK_RANK_ARENA_LARGE,
  LOCK_RANK_BASE,
  LOCK_RANK_BIN,
  LOCK_RANK_CTL,
  LOCK_RANK_DECAY,
  LOCK_RANK_EXTENT_GROW,
  LOCK_RANK_EXTENTS,
  LOCK_RANK_LEAF,
  LOCK_RANK_NAMES,
  LOCK_RANK_OMIT,
  LOCK_RANK_RTREE,
  LOCK_RANK_THREADS,
  LOCK_WORDS,
  LockOrderError,
  lockAcquire,
  lockInit,
  lockIsHeld,
  lockRankName,
  lockRelease,
  lockTryAcquire,
  slotClaim,
  slotsInit,
  slotsRegionWords,
  WITNESS_DEPTH_MAX,
  Witness,
} from "../../src/sync/index.js";

// Four locks after a 2-slot registry, with ranks CTL, EXTENTS, BIN and a second BIN.
const REG_W = 0;
const A = slotsRegionWords(2);
const B = A + LOCK_WORDS;
const C = B + LOCK_WORDS;
const D = C + LOCK_WORDS;
const E = D + LOCK_WORDS;
const RANKS = new Map([
  [A, LOCK_RANK_CTL],
  [B, LOCK_RANK_EXTENTS],
  [C, LOCK_RANK_BIN],
  [D, LOCK_RANK_BIN],
  [E, LOCK_RANK_OMIT],
]);
const rankOf = (w: number) => RANKS.get(w) ?? -1;
const nameOf = (w: number) =>
  ["ctl", "ecache", "bin0", "bin1", "omitted"][(w - A) / LOCK_WORDS] ?? `lock@${w}`;

function setup(addressOrderedRanks: number[] = []) {
  const i32 = new Int32Array(new SharedArrayBuffer((E + LOCK_WORDS) * 4));
  slotsInit(i32, REG_W, 2);
  for (const w of [A, B, C, D, E]) lockInit(i32, w);
  const me = slotClaim(i32, REG_W, 2);
  const witness = new Witness(rankOf, { nameOf, addressOrderedRanks });
  const ctx = createLockContext({ regW: REG_W, witness, lockName: nameOf });
  return { i32, tag: me.ownerTag, ctx, witness };
}

describe("lock ranks", () => {
  it("follow jemalloc's witness order for the core locks", () => {
    const order = [
      LOCK_RANK_CTL,
      LOCK_RANK_THREADS,
      LOCK_RANK_DECAY,
      LOCK_RANK_EXTENT_GROW,
      LOCK_RANK_EXTENTS,
      LOCK_RANK_RTREE,
      LOCK_RANK_BASE,
      LOCK_RANK_ARENA_LARGE,
      LOCK_RANK_BIN,
      LOCK_RANK_LEAF,
    ];
    for (let i = 1; i < order.length; i++) expect(order[i]).toBeGreaterThan(order[i - 1]!);
    expect(LOCK_RANK_OMIT).toBe(0);
  });

  it("every rank has a unique name", () => {
    const names = Object.values(LOCK_RANK_NAMES);
    expect(new Set(names).size).toBe(names.length);
    expect(lockRankName(LOCK_RANK_BIN)).toBe("BIN");
    expect(lockRankName(77)).toBe("rank 77");
  });
});

describe("witness", () => {
  it("allows strictly increasing ranks and tracks depth", () => {
    const { i32, tag, ctx, witness } = setup();
    lockAcquire(i32, A, tag, ctx);
    lockAcquire(i32, B, tag, ctx);
    lockAcquire(i32, C, tag, ctx);
    expect(witness.depth).toBe(3);
    expect(witness.highestRank()).toBe(LOCK_RANK_BIN);
    lockRelease(i32, B, tag, ctx); // out-of-order release is fine
    lockRelease(i32, C, tag, ctx);
    lockRelease(i32, A, tag, ctx);
    expect(witness.depth).toBe(0);
    expect(witness.highestRank()).toBe(-1);
    witness.assertLockless();
  });

  it("throws LockOrderError on a rank reversal before touching the lock", () => {
    const { i32, tag, ctx, witness } = setup();
    lockAcquire(i32, C, tag, ctx);
    expect(() => lockAcquire(i32, B, tag, ctx)).toThrow(LockOrderError);
    expect(() => lockAcquire(i32, B, tag, ctx)).toThrow(
      /acquiring ecache \(rank EXTENTS\) while holding bin0 \(rank BIN\)/,
    );
    expect(lockIsHeld(i32, B)).toBe(false);
    expect(witness.depth).toBe(1);
    lockRelease(i32, C, tag, ctx);
  });

  it("rejects equal ranks unless the rank is address-ordered, then only ascending", () => {
    const strict = setup();
    lockAcquire(strict.i32, C, strict.tag, strict.ctx);
    expect(() => lockAcquire(strict.i32, D, strict.tag, strict.ctx)).toThrow(LockOrderError);
    lockRelease(strict.i32, C, strict.tag, strict.ctx);

    const ordered = setup([LOCK_RANK_BIN]);
    lockAcquire(ordered.i32, C, ordered.tag, ordered.ctx);
    lockAcquire(ordered.i32, D, ordered.tag, ordered.ctx);
    lockRelease(ordered.i32, D, ordered.tag, ordered.ctx);
    lockRelease(ordered.i32, C, ordered.tag, ordered.ctx);
    lockAcquire(ordered.i32, D, ordered.tag, ordered.ctx);
    expect(() => lockAcquire(ordered.i32, C, ordered.tag, ordered.ctx)).toThrow(LockOrderError);
  });

  it("reports a recursive acquire", () => {
    const { i32, tag, ctx } = setup();
    lockAcquire(i32, A, tag, ctx);
    lockAcquire(i32, B, tag, ctx);
    expect(() => lockAcquire(i32, A, tag, ctx)).toThrow(/already held by this thread/);
  });

  it("checks try-acquire too, and records it only on success", () => {
    const { i32, tag, ctx, witness } = setup();
    lockAcquire(i32, C, tag, ctx);
    expect(() => lockTryAcquire(i32, A, tag, ctx)).toThrow(LockOrderError);
    expect(witness.depth).toBe(1);
    lockRelease(i32, C, tag, ctx);
    expect(lockTryAcquire(i32, A, tag, ctx)).toBe(true);
    expect(witness.holds(A)).toBe(true);
    lockRelease(i32, A, tag, ctx);
  });

  it("ignores OMIT-rank locks", () => {
    const { i32, tag, ctx, witness } = setup();
    lockAcquire(i32, C, tag, ctx);
    lockAcquire(i32, E, tag, ctx);
    expect(witness.depth).toBe(1);
    lockRelease(i32, E, tag, ctx);
    lockRelease(i32, C, tag, ctx);
  });

  it("assertions: owner, not owner, lockless, and popping an unheld lock", () => {
    const w = new Witness(rankOf, { nameOf });
    w.push(A, LOCK_RANK_CTL);
    w.assertOwner(A);
    w.assertNotOwner(B);
    expect(() => w.assertOwner(B)).toThrow(/ecache is not held/);
    expect(() => w.assertNotOwner(A)).toThrow(/ctl is held/);
    expect(() => w.assertLockless()).toThrow(/holding ctl/);
    expect(() => w.pop(B)).toThrow(/releasing ecache, which this thread does not hold/);
    w.reset();
    w.assertLockless();
  });

  it("rejects a bad rank and a stack deeper than the maximum", () => {
    const w = new Witness(() => -3);
    expect(() => w.check(100)).toThrow(RangeError);
    const deep = new Witness((lockW) => lockW + 1);
    for (let i = 0; i < WITNESS_DEPTH_MAX; i++) deep.push(i, deep.check(i));
    expect(() => deep.push(WITNESS_DEPTH_MAX, WITNESS_DEPTH_MAX + 1)).toThrow(RangeError);
  });

  it("a context built from a rank function gets its own witness with the context's names", () => {
    const ctx = createLockContext({ regW: 0, witness: rankOf, lockName: nameOf });
    expect(ctx.witness).toBeInstanceOf(Witness);
    expect(ctx.witness!.nameOf(B)).toBe("ecache");
    expect(createLockContext({ regW: 0 }).witness).toBeNull();
  });
});
