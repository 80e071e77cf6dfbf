/**
 * Owner tags: one positive 32-bit integer naming a thread incarnation (slot index, generation).
 *
 *   bits 31..30  29 ............................ 10  9 ........... 0
 *   0 0          GGGGGGGG GGGGGGGG GGGG               SSSSSSSSSS
 *                G: generation (1 .. 2^20 - 1)        S: slot index (0 .. 1023)
 *
 * Invariants: generation ≥ 1, so a tag is never 0 (0 means "no owner" in every owner word); the tag
 * stays below 2^30, so V8 keeps it a small integer (no heap number allocation when stored or passed).
 * A slot's generation goes up by one on every claim and wraps from 2^20 - 1 back to 1, so a stale tag
 * can only be confused with a live one after a million reuses of the same slot.
 *
 * Synchronization: pure functions. Error convention: RangeError naming the bad value.
 */

export const OWNER_TAG_SLOT_BITS = 10;
export const OWNER_TAG_SLOT_MASK = (1 << OWNER_TAG_SLOT_BITS) - 1;
export const OWNER_TAG_GEN_SHIFT = OWNER_TAG_SLOT_BITS;
export const OWNER_TAG_GEN_BITS = 20;
export const OWNER_TAG_GEN_MAX = (1 << OWNER_TAG_GEN_BITS) - 1;
/** Most slots a thread registry can have (slot indexes fit in the tag). */
export const SLOTS_MAX = 1 << OWNER_TAG_SLOT_BITS;
/** No owner (free lock, cleared owner word). */
export const OWNER_NONE = 0;

/** Encodes (slot, generation) as an owner tag. */
export function ownerTag(slot: number, generation: number): number {
  if (!Number.isInteger(slot) || slot < 0 || slot >= SLOTS_MAX) {
    throw new RangeError(`ownerTag: slot ${String(slot)} is not an integer in [0, ${SLOTS_MAX})`);
  }
  if (!Number.isInteger(generation) || generation < 1 || generation > OWNER_TAG_GEN_MAX) {
    throw new RangeError(
      `ownerTag: generation ${String(generation)} is not an integer in [1, ${OWNER_TAG_GEN_MAX}]`,
    );
  }
  return (generation << OWNER_TAG_GEN_SHIFT) | slot;
}

/** True when `tag` is a well-formed owner tag (positive, generation ≥ 1). */
export function ownerTagIsValid(tag: number): boolean {
  return (tag | 0) === tag && tag > 0 && tag >>> OWNER_TAG_GEN_SHIFT >= 1 && tag < 1 << 30;
}

export function ownerTagSlot(tag: number): number {
  return tag & OWNER_TAG_SLOT_MASK;
}

export function ownerTagGeneration(tag: number): number {
  return tag >>> OWNER_TAG_GEN_SHIFT;
}

/** The generation after `generation`, skipping 0 on wrap. */
export function generationNext(generation: number): number {
  return generation >= OWNER_TAG_GEN_MAX ? 1 : generation + 1;
}

/** "slot 3 gen 7" (or "none" for 0), for error messages. */
export function ownerTagDescribe(tag: number): string {
  if (tag === OWNER_NONE) return "none";
  if (!ownerTagIsValid(tag)) return `invalid tag ${tag}`;
  return `slot ${ownerTagSlot(tag)} gen ${ownerTagGeneration(tag)}`;
}
