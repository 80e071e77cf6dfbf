import { describe, expect, it } from "vitest";
import {
  LOCK_BYTES,
  LOCK_FIELDS,
  LOCK_STATE_CONTENDED_BIT,
  LOCK_STATE_FREE,
  LOCK_STATE_OWNER_MASK,
  LOCK_W_MAX_WAIT_NS,
  LOCK_W_NUM_OPS,
  LOCK_W_NUM_OWNER_SWITCH,
  LOCK_W_NUM_SPIN_ACQ,
  LOCK_W_NUM_WAIT,
  LOCK_W_PREV_OWNER,
  LOCK_W_RESERVED,
  LOCK_W_TOTAL_WAIT_NS,
  LOCK_W_X_STATE,
  LOCK_W_X_WAITERS,
  LOCK_WAITERS_MAX_SHIFT,
  LOCK_WAITERS_MAX_WIDTH,
  LOCK_WAITERS_N_MASK,
  LOCK_WAITERS_N_WIDTH,
  LOCK_WORDS,
  lockInit,
  OWNER_TAG_GEN_MAX,
  ownerTag,
  SLOT_W_RESERVED,
  SLOT_W_X_HEARTBEAT,
  SLOT_W_X_STATE_GEN,
  SLOT_W_X_THREAD_ID,
  SLOT_WORDS,
  SLOTS_HDR_W_LOCK,
  SLOTS_HDR_W_MAGIC,
  SLOTS_HDR_W_NSLOTS,
  SLOTS_HDR_W_X_LIVE,
  SLOTS_HDR_W_X_NEXT_THREAD_ID,
  SLOTS_HEADER_WORDS,
  SLOTS_MAX,
  slotsRegionWords,
} from "../../src/sync/index.js";

/** Asserts fields tile [0, total) exactly: no overlap, no gap, each aligned to its width. */
function assertTiles(fields: readonly (readonly [string, number, number])[], total: number): void {
  const owner = new Array<string | undefined>(total).fill(undefined);
  for (const [name, word, width] of fields) {
    expect(word % width, `${name} aligned to its width`).toBe(0);
    for (let k = word; k < word + width; k++) {
      expect(k, `${name} inside the record`).toBeLessThan(total);
      expect(owner[k], `${name} overlaps ${owner[k]}`).toBeUndefined();
      owner[k] = name;
    }
  }
  expect(
    owner.every((o) => o !== undefined),
    "no unused words",
  ).toBe(true);
}

describe("lock record layout", () => {
  it("is an even number of words, at most 16, 8-byte sized", () => {
    expect(LOCK_WORDS % 2).toBe(0);
    expect(LOCK_WORDS).toBeLessThanOrEqual(16);
    expect(LOCK_BYTES).toBe(LOCK_WORDS * 4);
    expect(LOCK_BYTES % 8).toBe(0);
  });

  it("fields do not overlap, fill the record and 64-bit counters are 8-byte aligned", () => {
    assertTiles(LOCK_FIELDS, LOCK_WORDS);
    for (const w of [
      LOCK_W_NUM_OPS,
      LOCK_W_NUM_WAIT,
      LOCK_W_NUM_SPIN_ACQ,
      LOCK_W_NUM_OWNER_SWITCH,
      LOCK_W_TOTAL_WAIT_NS,
      LOCK_W_MAX_WAIT_NS,
    ]) {
      expect((w * 4) % 8).toBe(0);
    }
  });

  it("pins the exact offsets", () => {
    expect([LOCK_W_X_STATE, LOCK_W_RESERVED, LOCK_W_PREV_OWNER, LOCK_W_X_WAITERS]).toEqual([0, 1, 2, 3]);
    expect([
      LOCK_W_NUM_OPS,
      LOCK_W_NUM_WAIT,
      LOCK_W_NUM_SPIN_ACQ,
      LOCK_W_NUM_OWNER_SWITCH,
      LOCK_W_TOTAL_WAIT_NS,
      LOCK_W_MAX_WAIT_NS,
    ]).toEqual([4, 6, 8, 10, 12, 14]);
    expect([LOCK_STATE_FREE, LOCK_STATE_CONTENDED_BIT, LOCK_STATE_OWNER_MASK]).toEqual([
      0,
      2 ** 30,
      2 ** 30 - 1,
    ]);
    // Every owner tag fits below the contended bit.
    expect(ownerTag(SLOTS_MAX - 1, OWNER_TAG_GEN_MAX)).toBeLessThanOrEqual(LOCK_STATE_OWNER_MASK);
  });

  it("waiters word halves are disjoint and cover 32 bits", () => {
    expect(LOCK_WAITERS_N_WIDTH + LOCK_WAITERS_MAX_WIDTH).toBe(32);
    expect(LOCK_WAITERS_MAX_SHIFT).toBe(LOCK_WAITERS_N_WIDTH);
    expect(LOCK_WAITERS_N_MASK).toBe(0xffff);
  });

  it("lockInit rejects odd, negative, fractional and out-of-range word indexes", () => {
    const i32 = new Int32Array(new SharedArrayBuffer(64 * 4));
    for (const bad of [1, -2, 2.5, Number.NaN, 64 - LOCK_WORDS + 2, 64]) {
      expect(() => lockInit(i32, bad)).toThrow(RangeError);
    }
    lockInit(i32, 64 - LOCK_WORDS);
    const misaligned = new Int32Array(new SharedArrayBuffer(256), 4, 32);
    expect(() => lockInit(misaligned, 0)).toThrow(/8-byte-aligned/);
  });
});

describe("thread registry layout", () => {
  it("header holds a whole lock record plus the counters, even-sized", () => {
    assertTiles(
      [
        ["lock", SLOTS_HDR_W_LOCK, LOCK_WORDS],
        ["nslots", SLOTS_HDR_W_NSLOTS, 1],
        ["next_thread_id", SLOTS_HDR_W_X_NEXT_THREAD_ID, 1],
        ["live", SLOTS_HDR_W_X_LIVE, 1],
        ["magic", SLOTS_HDR_W_MAGIC, 1],
      ],
      SLOTS_HEADER_WORDS,
    );
    expect(SLOTS_HEADER_WORDS % 2).toBe(0);
    expect(SLOTS_HDR_W_LOCK % 2).toBe(0);
  });

  it("slot record tiles its words and keeps 8-byte alignment", () => {
    assertTiles(
      [
        ["state_gen", SLOT_W_X_STATE_GEN, 1],
        ["thread_id", SLOT_W_X_THREAD_ID, 1],
        ["heartbeat", SLOT_W_X_HEARTBEAT, 1],
        ["reserved", SLOT_W_RESERVED, 1],
      ],
      SLOT_WORDS,
    );
    expect(SLOT_WORDS % 2).toBe(0);
    for (const n of [1, 2, 7, 1024]) {
      expect(slotsRegionWords(n)).toBe(SLOTS_HEADER_WORDS + n * SLOT_WORDS);
      expect(slotsRegionWords(n) % 2).toBe(0);
    }
  });
});
