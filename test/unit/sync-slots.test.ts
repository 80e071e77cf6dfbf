import fc from "fast-check";
import { describe, expect, it } from "vitest";
import {
  generationNext,
  LOCK_WORDS,
  OWNER_TAG_GEN_MAX,
  ownerIsAlive,
  ownerTag,
  ownerTagDescribe,
  ownerTagGeneration,
  ownerTagIsValid,
  ownerTagSlot,
  SLOT_STATE_ACTIVE,
  SLOT_STATE_DEAD,
  SLOT_STATE_FREE,
  SLOT_W_X_STATE_GEN,
  SLOTS_HEADER_WORDS,
  SLOTS_MAX,
  SlotsFullError,
  slotClaim,
  slotGeneration,
  slotHeartbeat,
  slotHeartbeatRead,
  slotMarkDead,
  slotOwnerTag,
  slotRelease,
  slotState,
  slotStateName,
  slotsCount,
  slotsInit,
  slotsLiveCount,
  slotsLockW,
  slotsRegionWords,
  slotThreadId,
} from "../../src/sync/index.js";

const REG_W = 4;

function registry(nslots: number): Int32Array {
  const i32 = new Int32Array(new SharedArrayBuffer((REG_W + slotsRegionWords(nslots) + 4) * 4));
  slotsInit(i32, REG_W, nslots);
  return i32;
}

describe("owner tags", () => {
  it("round-trip (slot, generation), are positive, never 0 and stay below 2^30", () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 0, max: SLOTS_MAX - 1 }),
        fc.integer({ min: 1, max: OWNER_TAG_GEN_MAX }),
        (s, g) => {
          const t = ownerTag(s, g);
          expect(t).toBeGreaterThan(0);
          expect(t).toBeLessThan(2 ** 30);
          expect(ownerTagIsValid(t)).toBe(true);
          expect(ownerTagSlot(t)).toBe(s);
          expect(ownerTagGeneration(t)).toBe(g);
        },
      ),
    );
  });

  it("distinct (slot, generation) pairs give distinct tags", () => {
    expect(ownerTag(0, 1)).not.toBe(ownerTag(1, 1));
    expect(ownerTag(3, 1)).not.toBe(ownerTag(3, 2));
    expect(ownerTag(SLOTS_MAX - 1, OWNER_TAG_GEN_MAX)).toBe(2 ** 30 - 1);
  });

  it("rejects bad slots and generations with RangeError naming the value", () => {
    expect(() => ownerTag(-1, 1)).toThrow(/slot -1/);
    expect(() => ownerTag(SLOTS_MAX, 1)).toThrow(RangeError);
    expect(() => ownerTag(1.5, 1)).toThrow(RangeError);
    expect(() => ownerTag(0, 0)).toThrow(/generation 0/);
    expect(() => ownerTag(0, OWNER_TAG_GEN_MAX + 1)).toThrow(RangeError);
    expect(() => ownerTag(0, Number.NaN)).toThrow(/NaN/);
  });

  it("validity and description", () => {
    for (const bad of [0, -5, 1.5, 5, 2 ** 30, Number.NaN]) expect(ownerTagIsValid(bad)).toBe(false);
    expect(ownerTagDescribe(0)).toBe("none");
    expect(ownerTagDescribe(ownerTag(3, 7))).toBe("slot 3 gen 7");
    expect(ownerTagDescribe(5)).toMatch(/invalid/);
  });

  it("generations wrap to 1, never 0", () => {
    expect(generationNext(1)).toBe(2);
    expect(generationNext(OWNER_TAG_GEN_MAX)).toBe(1);
    expect(generationNext(0)).toBe(1);
  });
});

describe("thread registry", () => {
  it("slotsInit formats an empty registry and slotsCount validates it", () => {
    const i32 = registry(4);
    expect(slotsCount(i32, REG_W)).toBe(4);
    expect(slotsLiveCount(i32, REG_W)).toBe(0);
    for (let s = 0; s < 4; s++) {
      expect(slotState(i32, REG_W, s)).toBe(SLOT_STATE_FREE);
      expect(slotGeneration(i32, REG_W, s)).toBe(0);
      expect(slotThreadId(i32, REG_W, s)).toBe(0);
    }
    expect(slotsLockW(REG_W)).toBe(REG_W);
    expect(() => slotsCount(new Int32Array(new SharedArrayBuffer(256)), 0)).toThrow(/bad magic/);
  });

  it("rejects bad nslots and regions", () => {
    const i32 = new Int32Array(new SharedArrayBuffer(64));
    expect(() => slotsRegionWords(0)).toThrow(RangeError);
    expect(() => slotsRegionWords(SLOTS_MAX + 1)).toThrow(RangeError);
    expect(() => slotsInit(i32, 0, 8)).toThrow(/outside the view/);
    expect(() => slotsInit(i32, 1, 1)).toThrow(/even/);
    expect(() => slotsInit(i32, 0, Number.NaN)).toThrow(/NaN/);
  });

  it("claims the lowest free slot with a fresh generation and a monotonic thread id", () => {
    const i32 = registry(3);
    const a = slotClaim(i32, REG_W, 3);
    const b = slotClaim(i32, REG_W, 3);
    expect([a.slot, a.generation, a.threadId]).toEqual([0, 1, 1]);
    expect([b.slot, b.generation, b.threadId]).toEqual([1, 1, 2]);
    expect(a.ownerTag).toBe(ownerTag(0, 1));
    expect(slotState(i32, REG_W, 0)).toBe(SLOT_STATE_ACTIVE);
    expect(slotsLiveCount(i32, REG_W)).toBe(2);
    expect(slotOwnerTag(i32, REG_W, 1)).toBe(b.ownerTag);
    slotRelease(i32, REG_W, a.slot, a.generation);
    const c = slotClaim(i32, REG_W, 3);
    expect([c.slot, c.generation, c.threadId]).toEqual([0, 2, 3]);
    expect(slotThreadId(i32, REG_W, 0)).toBe(3);
  });

  it("throws SlotsFullError when every slot is ACTIVE or DEAD", () => {
    const i32 = registry(2);
    const a = slotClaim(i32, REG_W, 2);
    slotClaim(i32, REG_W, 2);
    slotMarkDead(i32, REG_W, a.slot, a.generation);
    expect(() => slotClaim(i32, REG_W, 2)).toThrow(SlotsFullError);
    expect(() => slotClaim(i32, REG_W, 2)).toThrow(/all 2 slots are taken \(1 ACTIVE/);
    slotRelease(i32, REG_W, a.slot, a.generation);
    expect(slotClaim(i32, REG_W, 2).slot).toBe(0);
  });

  it("slotClaim checks nslots against the registry", () => {
    const i32 = registry(2);
    expect(() => slotClaim(i32, REG_W, 3)).toThrow(/does not match/);
  });

  it("release: stale generation and double release are errors, state unchanged", () => {
    const i32 = registry(2);
    const a = slotClaim(i32, REG_W, 2);
    expect(() => slotRelease(i32, REG_W, a.slot, a.generation + 1)).toThrow(/stale generation/);
    expect(slotState(i32, REG_W, a.slot)).toBe(SLOT_STATE_ACTIVE);
    slotRelease(i32, REG_W, a.slot, a.generation);
    expect(() => slotRelease(i32, REG_W, a.slot, a.generation)).toThrow(/already FREE/);
    expect(slotsLiveCount(i32, REG_W)).toBe(0);
    expect(() => slotRelease(i32, REG_W, 2, 1)).toThrow(RangeError);
    expect(() => slotRelease(i32, REG_W, 0, 0)).toThrow(RangeError);
  });

  it("markDead: ACTIVE → DEAD once; false for stale, released or already dead", () => {
    const i32 = registry(2);
    const a = slotClaim(i32, REG_W, 2);
    expect(slotMarkDead(i32, REG_W, a.slot, a.generation + 1)).toBe(false);
    expect(slotMarkDead(i32, REG_W, a.slot, a.generation)).toBe(true);
    expect(slotState(i32, REG_W, a.slot)).toBe(SLOT_STATE_DEAD);
    expect(slotStateName(slotState(i32, REG_W, a.slot))).toBe("DEAD");
    expect(slotsLiveCount(i32, REG_W)).toBe(0);
    expect(slotMarkDead(i32, REG_W, a.slot, a.generation)).toBe(false);
    slotRelease(i32, REG_W, a.slot, a.generation);
    expect(slotsLiveCount(i32, REG_W)).toBe(0);
    expect(slotMarkDead(i32, REG_W, a.slot, a.generation)).toBe(false);
    expect(slotState(i32, REG_W, a.slot)).toBe(SLOT_STATE_FREE);
  });

  it("a slot reused after death has a new generation and the stale tag is dead (F5)", () => {
    const i32 = registry(1);
    const old = slotClaim(i32, REG_W, 1);
    expect(ownerIsAlive(i32, REG_W, old.ownerTag)).toBe(true);
    slotMarkDead(i32, REG_W, old.slot, old.generation);
    expect(ownerIsAlive(i32, REG_W, old.ownerTag)).toBe(false);
    slotRelease(i32, REG_W, old.slot, old.generation);
    const neu = slotClaim(i32, REG_W, 1);
    expect(neu.slot).toBe(old.slot);
    expect(neu.generation).not.toBe(old.generation);
    expect(neu.ownerTag).not.toBe(old.ownerTag);
    expect(ownerIsAlive(i32, REG_W, old.ownerTag)).toBe(false);
    expect(ownerIsAlive(i32, REG_W, neu.ownerTag)).toBe(true);
    expect(() => slotRelease(i32, REG_W, old.slot, old.generation)).toThrow(/stale generation/);
    expect(slotMarkDead(i32, REG_W, old.slot, old.generation)).toBe(false);
    expect(ownerIsAlive(i32, REG_W, neu.ownerTag)).toBe(true);
  });

  it("generation wraps past the maximum to 1, skipping 0", () => {
    const i32 = registry(1);
    const w = REG_W + SLOTS_HEADER_WORDS + SLOT_W_X_STATE_GEN;
    i32[w] = (OWNER_TAG_GEN_MAX << 2) | SLOT_STATE_FREE;
    const c = slotClaim(i32, REG_W, 1);
    expect(c.generation).toBe(1);
    expect(c.ownerTag).toBe(ownerTag(0, 1));
  });

  it("ownerIsAlive rejects malformed tags and slots outside the registry", () => {
    const i32 = registry(2);
    expect(() => ownerIsAlive(i32, REG_W, 0)).toThrow(RangeError);
    expect(() => ownerIsAlive(i32, REG_W, ownerTag(2, 1))).toThrow(/2-slot registry/);
    expect(ownerIsAlive(i32, REG_W, ownerTag(1, 1))).toBe(false);
  });

  it("heartbeat counts beats per slot", () => {
    const i32 = registry(2);
    const a = slotClaim(i32, REG_W, 2);
    expect(slotHeartbeatRead(i32, REG_W, a.slot)).toBe(0);
    slotHeartbeat(i32, REG_W, a.slot);
    slotHeartbeat(i32, REG_W, a.slot);
    expect(slotHeartbeatRead(i32, REG_W, a.slot)).toBe(2);
    expect(slotHeartbeatRead(i32, REG_W, 1)).toBe(0);
    expect(() => slotHeartbeat(i32, REG_W, 2)).toThrow(RangeError);
  });

  it("accessors reject slots out of range", () => {
    const i32 = registry(2);
    for (const bad of [-1, 2, 0.5, Number.NaN]) {
      expect(() => slotState(i32, REG_W, bad)).toThrow(RangeError);
      expect(() => slotGeneration(i32, REG_W, bad)).toThrow(RangeError);
      expect(() => slotThreadId(i32, REG_W, bad)).toThrow(RangeError);
    }
  });

  it("the header's lock record sits before the counters", () => {
    expect(slotsLockW(REG_W) + LOCK_WORDS).toBeLessThanOrEqual(REG_W + SLOTS_HEADER_WORDS);
  });

  it("random claim/release/markDead sequences keep live count and generations consistent", () => {
    fc.assert(
      fc.property(
        fc.array(fc.tuple(fc.integer({ min: 0, max: 2 }), fc.integer({ min: 0, max: 3 })), { maxLength: 60 }),
        (ops) => {
          const n = 4;
          const i32 = registry(n);
          const held = new Map<number, { gen: number; dead: boolean }>();
          const lastGen = new Array<number>(n).fill(0);
          for (const [op, s] of ops) {
            if (op === 0) {
              if (held.size === n) {
                expect(() => slotClaim(i32, REG_W, n)).toThrow(SlotsFullError);
                continue;
              }
              const c = slotClaim(i32, REG_W, n);
              expect(held.has(c.slot)).toBe(false);
              expect(c.generation).toBe(lastGen[c.slot]! + 1);
              lastGen[c.slot] = c.generation;
              held.set(c.slot, { gen: c.generation, dead: false });
            } else if (op === 1 && held.has(s)) {
              slotRelease(i32, REG_W, s, held.get(s)!.gen);
              held.delete(s);
            } else if (op === 2 && held.has(s)) {
              const h = held.get(s)!;
              expect(slotMarkDead(i32, REG_W, s, h.gen)).toBe(!h.dead);
              h.dead = true;
            }
            const live = [...held.values()].filter((h) => !h.dead).length;
            expect(slotsLiveCount(i32, REG_W)).toBe(live);
          }
        },
      ),
    );
  });
});
