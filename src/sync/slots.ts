/**
 * Thread registry: one slot per live thread (a `Heap` attached in one JS agent), in the heap buffer.
 * A slot's (index, generation) pair is the thread's owner tag (see owner.ts); lock owner words hold
 * it, so anyone can tell whether a lock holder still exists (RELIABILITY.md §5.3, F5).
 *
 * ╒═══════════ Registry header: 80 bytes = 20 × i32, at word regW (even) ═══════════╕
 *  word  bytes   field            units        sync
 *   0    0..63   LOCK             lock record  registry lock (rank THREADS); for multi-slot work
 *                                              by threads that own a slot (reclaim, walks)
 *  16    64..67  NSLOTS           slots        immutable after slotsInit
 *  17    68..71  NEXT_THREAD_ID   counter      atomic (last thread id handed out)
 *  18    72..75  LIVE             threads      atomic (slots in state ACTIVE)
 *  19    76..79  MAGIC            SLOTS_MAGIC  immutable after slotsInit
 * ╘═══════════════════════════════════════════════════════════════════════════════════╛
 * ╒═══════════ Slot: 16 bytes = 4 × i32, at regW + SLOTS_HEADER_WORDS + slot × SLOT_WORDS ═══════════╕
 *  word  bytes   field            units        sync
 *   0    0..3    STATE_GEN        packed       atomic, CAS only (legend below)
 *   1    4..7    THREAD_ID        id           atomic; written by the claimer right after its CAS
 *   2    8..11   HEARTBEAT        beats        atomic; bumped by the owner, read by supervisors
 *   3    12..15  RESERVED         0            -
 * ╘═══════════════════════════════════════════════════════════════════════════════════════════════════╛
 *
 * STATE_GEN legend: state and generation change together in one CAS, so no reader ever sees a new
 * state with an old generation (a stale tag can never look alive, not even for an instant).
 *
 *   bits 31..22   21 ......................... 2   1..0
 *   0             GGGGGGGG GGGGGGGG GGGG           SS      G: generation, S: SLOT_STATE_*
 *
 * Transitions: FREE(g) → ACTIVE(g+1) (slotClaim), ACTIVE(g) → DEAD(g) (slotMarkDead),
 * ACTIVE(g) or DEAD(g) → FREE(g) (slotRelease). A DEAD slot is not reusable until released, so the
 * supervisor can first recover what the dead thread left behind (its tcache, its held locks).
 *
 * Synchronization: lock-free (CAS on STATE_GEN), so a thread terminated in the middle of a claim
 * never wedges the registry. Error convention: RangeError for bad arguments, Error for misuse
 * (stale generation, double release), SlotsFullError when no slot is free.
 */

import { LOCK_WORDS } from "./layout.js";
import {
  generationNext,
  OWNER_TAG_GEN_BITS,
  ownerTag,
  ownerTagGeneration,
  ownerTagIsValid,
  ownerTagSlot,
  SLOTS_MAX,
} from "./owner.js";

export const SLOTS_HDR_W_LOCK = 0;
export const SLOTS_HDR_W_NSLOTS = LOCK_WORDS;
export const SLOTS_HDR_W_X_NEXT_THREAD_ID = LOCK_WORDS + 1;
export const SLOTS_HDR_W_X_LIVE = LOCK_WORDS + 2;
export const SLOTS_HDR_W_MAGIC = LOCK_WORDS + 3;
export const SLOTS_HEADER_WORDS = LOCK_WORDS + 4;
/** "SLT1" in ASCII: marks an initialized registry. */
export const SLOTS_MAGIC = 0x534c5431;

export const SLOT_W_X_STATE_GEN = 0;
export const SLOT_W_X_THREAD_ID = 1;
export const SLOT_W_X_HEARTBEAT = 2;
export const SLOT_W_RESERVED = 3;
export const SLOT_WORDS = 4;

export const SLOT_STATE_FREE = 0;
export const SLOT_STATE_ACTIVE = 1;
export const SLOT_STATE_DEAD = 2;
export const SLOT_STATE_BITS = 2;
export const SLOT_STATE_MASK = (1 << SLOT_STATE_BITS) - 1;
export const SLOT_GEN_SHIFT = SLOT_STATE_BITS;
export const SLOT_GEN_MASK = (1 << OWNER_TAG_GEN_BITS) - 1;

const STATE_NAMES = ["FREE", "ACTIVE", "DEAD", "INVALID"];

/** What slotClaim hands back to the new thread. */
export interface SlotClaim {
  slot: number;
  generation: number;
  threadId: number;
  ownerTag: number;
}

/** Thrown by slotClaim when every slot is ACTIVE or DEAD. */
export class SlotsFullError extends Error {
  constructor(nslots: number, live: number) {
    super(
      `thread registry full: all ${nslots} slots are taken (${live} ACTIVE, the rest DEAD and not yet ` +
        "released); release dead threads' slots or create the heap with more slots",
    );
    this.name = "SlotsFullError";
  }
}

/** Words the registry occupies for `nslots` slots (even, so what follows stays 8-byte aligned). */
export function slotsRegionWords(nslots: number): number {
  nslotsCheck(nslots, "slotsRegionWords");
  return SLOTS_HEADER_WORDS + nslots * SLOT_WORDS;
}

/** Word index of the registry's own lock record. */
export function slotsLockW(regW: number): number {
  return regW + SLOTS_HDR_W_LOCK;
}

/** Formats an empty registry at `regW`: every slot FREE with generation 0. */
export function slotsInit(i32: Int32Array, regW: number, nslots: number): void {
  nslotsCheck(nslots, "slotsInit");
  regionCheck(i32, regW, slotsRegionWords(nslots), "slotsInit");
  i32.fill(0, regW, regW + slotsRegionWords(nslots));
  i32[regW + SLOTS_HDR_W_NSLOTS] = nslots;
  Atomics.store(i32, regW + SLOTS_HDR_W_MAGIC, SLOTS_MAGIC);
}

/** Validates an attached registry (magic, slot count, bounds) and returns its slot count. */
export function slotsCount(i32: Int32Array, regW: number): number {
  regionCheck(i32, regW, SLOTS_HEADER_WORDS, "slotsCount");
  if (Atomics.load(i32, regW + SLOTS_HDR_W_MAGIC) !== SLOTS_MAGIC) {
    throw new Error(`slotsCount: no thread registry at word ${regW} (bad magic)`);
  }
  const nslots = i32[regW + SLOTS_HDR_W_NSLOTS]!;
  nslotsCheck(nslots, "slotsCount");
  regionCheck(i32, regW, slotsRegionWords(nslots), "slotsCount");
  return nslots;
}

/** Number of ACTIVE slots. */
export function slotsLiveCount(i32: Int32Array, regW: number): number {
  return Atomics.load(i32, regW + SLOTS_HDR_W_X_LIVE);
}

/**
 * Claims the lowest FREE slot for the calling thread, bumping its generation. Throws
 * SlotsFullError when none is free. `nslots` must match the registry's (checked).
 */
export function slotClaim(i32: Int32Array, regW: number, nslots: number): SlotClaim {
  if (slotsCount(i32, regW) !== nslots) {
    throw new RangeError(
      `slotClaim: nslots ${String(nslots)} does not match the registry (${slotsCount(i32, regW)})`,
    );
  }
  for (let slot = 0; slot < nslots; slot++) {
    const w = slotWord(regW, slot);
    let sg = Atomics.load(i32, w + SLOT_W_X_STATE_GEN);
    // Retry the same slot only while it stays FREE (another claimer may bump it first).
    while ((sg & SLOT_STATE_MASK) === SLOT_STATE_FREE) {
      const generation = generationNext((sg >>> SLOT_GEN_SHIFT) & SLOT_GEN_MASK);
      const next = stateGen(SLOT_STATE_ACTIVE, generation);
      const seen = Atomics.compareExchange(i32, w + SLOT_W_X_STATE_GEN, sg, next);
      if (seen === sg) return claimFinish(i32, regW, w, slot, generation);
      sg = seen;
    }
  }
  throw new SlotsFullError(nslots, slotsLiveCount(i32, regW));
}

function claimFinish(i32: Int32Array, regW: number, w: number, slot: number, generation: number): SlotClaim {
  const threadId = (Atomics.add(i32, regW + SLOTS_HDR_W_X_NEXT_THREAD_ID, 1) + 1) >>> 0;
  Atomics.store(i32, w + SLOT_W_X_THREAD_ID, threadId);
  Atomics.store(i32, w + SLOT_W_X_HEARTBEAT, 0);
  Atomics.add(i32, regW + SLOTS_HDR_W_X_LIVE, 1);
  return { slot, generation, threadId, ownerTag: ownerTag(slot, generation) };
}

/**
 * Frees slot `slot` (ACTIVE on detach, or DEAD after a supervisor reclaimed it). The generation is
 * kept, so the next claim gets generation + 1. A stale generation or an already FREE slot throws.
 */
export function slotRelease(i32: Int32Array, regW: number, slot: number, generation: number): void {
  const w = slotWordChecked(i32, regW, slot, generation, "slotRelease");
  for (let attempt = 0; attempt < 8; attempt++) {
    const sg = Atomics.load(i32, w + SLOT_W_X_STATE_GEN);
    const state = sg & SLOT_STATE_MASK;
    const current = (sg >>> SLOT_GEN_SHIFT) & SLOT_GEN_MASK;
    if (current !== generation) {
      throw new Error(
        `slotRelease: stale generation ${generation} for slot ${slot} (slot is ${STATE_NAMES[state]} gen ${current})`,
      );
    }
    if (state === SLOT_STATE_FREE) {
      throw new Error(`slotRelease: slot ${slot} gen ${generation} is already FREE (released twice?)`);
    }
    const free = stateGen(SLOT_STATE_FREE, generation);
    if (Atomics.compareExchange(i32, w + SLOT_W_X_STATE_GEN, sg, free) === sg) {
      if (state === SLOT_STATE_ACTIVE) Atomics.sub(i32, regW + SLOTS_HDR_W_X_LIVE, 1);
      return;
    }
    // Lost a race with slotMarkDead (ACTIVE → DEAD); re-read and try again.
  }
  throw new Error(
    `slotRelease: slot ${slot} gen ${generation} kept changing under a release (registry corrupt?)`,
  );
}

/**
 * Marks an ACTIVE slot DEAD (a supervisor saw the thread exit). Returns false, changing nothing, when
 * the slot is not ACTIVE with that generation: already dead, released by a clean detach, or reused.
 */
export function slotMarkDead(i32: Int32Array, regW: number, slot: number, generation: number): boolean {
  const w = slotWordChecked(i32, regW, slot, generation, "slotMarkDead");
  const active = stateGen(SLOT_STATE_ACTIVE, generation);
  const dead = stateGen(SLOT_STATE_DEAD, generation);
  if (Atomics.compareExchange(i32, w + SLOT_W_X_STATE_GEN, active, dead) !== active) return false;
  Atomics.sub(i32, regW + SLOTS_HDR_W_X_LIVE, 1);
  return true;
}

/**
 * True when the thread named by owner tag `tag` still holds its slot: the slot is ACTIVE with the
 * tag's generation. Throws RangeError for a malformed tag or a slot outside the registry.
 */
export function ownerIsAlive(i32: Int32Array, regW: number, tag: number): boolean {
  const nslots = i32[regW + SLOTS_HDR_W_NSLOTS]!;
  if (!ownerTagIsValid(tag) || ownerTagSlot(tag) >= nslots) {
    throw new RangeError(`ownerIsAlive: ${String(tag)} is not an owner tag of this ${nslots}-slot registry`);
  }
  const sg = Atomics.load(i32, slotWord(regW, ownerTagSlot(tag)) + SLOT_W_X_STATE_GEN);
  return sg === stateGen(SLOT_STATE_ACTIVE, ownerTagGeneration(tag));
}

export function slotState(i32: Int32Array, regW: number, slot: number): number {
  return (
    Atomics.load(i32, slotWordIndexChecked(i32, regW, slot, "slotState") + SLOT_W_X_STATE_GEN) &
    SLOT_STATE_MASK
  );
}

export function slotGeneration(i32: Int32Array, regW: number, slot: number): number {
  const sg = Atomics.load(i32, slotWordIndexChecked(i32, regW, slot, "slotGeneration") + SLOT_W_X_STATE_GEN);
  return (sg >>> SLOT_GEN_SHIFT) & SLOT_GEN_MASK;
}

/** Thread id of the slot's current (or, when FREE/DEAD, last) occupant; 0 if never claimed. */
export function slotThreadId(i32: Int32Array, regW: number, slot: number): number {
  return Atomics.load(i32, slotWordIndexChecked(i32, regW, slot, "slotThreadId") + SLOT_W_X_THREAD_ID) >>> 0;
}

/** Owner tag of the slot's current generation (meaningful while ACTIVE or DEAD). */
export function slotOwnerTag(i32: Int32Array, regW: number, slot: number): number {
  return ownerTag(slot, slotGeneration(i32, regW, slot));
}

/** Bumps the slot's heartbeat (the owner calls this from its slow path; a supervisor samples it). */
export function slotHeartbeat(i32: Int32Array, regW: number, slot: number): void {
  Atomics.add(i32, slotWordIndexChecked(i32, regW, slot, "slotHeartbeat") + SLOT_W_X_HEARTBEAT, 1);
}

export function slotHeartbeatRead(i32: Int32Array, regW: number, slot: number): number {
  return (
    Atomics.load(i32, slotWordIndexChecked(i32, regW, slot, "slotHeartbeatRead") + SLOT_W_X_HEARTBEAT) >>> 0
  );
}

/** Name of a SLOT_STATE_* value, for messages. */
export function slotStateName(state: number): string {
  return STATE_NAMES[state & SLOT_STATE_MASK]!;
}

function stateGen(state: number, generation: number): number {
  return (generation << SLOT_GEN_SHIFT) | state;
}

function slotWord(regW: number, slot: number): number {
  return regW + SLOTS_HEADER_WORDS + slot * SLOT_WORDS;
}

function slotWordIndexChecked(i32: Int32Array, regW: number, slot: number, what: string): number {
  const nslots = i32[regW + SLOTS_HDR_W_NSLOTS];
  if (!Number.isInteger(slot) || slot < 0 || nslots === undefined || slot >= nslots) {
    throw new RangeError(`${what}: slot ${String(slot)} is not in [0, ${String(nslots)})`);
  }
  return slotWord(regW, slot);
}

function slotWordChecked(
  i32: Int32Array,
  regW: number,
  slot: number,
  generation: number,
  what: string,
): number {
  const w = slotWordIndexChecked(i32, regW, slot, what);
  if (!Number.isInteger(generation) || generation < 1 || generation > SLOT_GEN_MASK) {
    throw new RangeError(
      `${what}: generation ${String(generation)} is not an integer in [1, ${SLOT_GEN_MASK}]`,
    );
  }
  return w;
}

function nslotsCheck(nslots: number, what: string): void {
  if (!Number.isInteger(nslots) || nslots < 1 || nslots > SLOTS_MAX) {
    throw new RangeError(`${what}: nslots ${String(nslots)} is not an integer in [1, ${SLOTS_MAX}]`);
  }
}

function regionCheck(i32: Int32Array, regW: number, words: number, what: string): void {
  if (!Number.isInteger(regW) || regW < 0 || regW % 2 !== 0) {
    throw new RangeError(`${what}: registry word index ${String(regW)} must be a non-negative even integer`);
  }
  if (regW + words > i32.length) {
    throw new RangeError(
      `${what}: registry at word ${regW} (+${words} words) is outside the view (${i32.length} words)`,
    );
  }
}
