/**
 * intent: the extent lock's write-ahead record (RELIABILITY.md §5.3). A few changes under an arena's
 * extent lock leave the page map unsound if the holder is terminated half-way — an extent split with
 * only one half registered, a merge with the upper half deregistered but the lower not yet grown, a
 * neighbour marked MERGING for a merge that never came, a fresh mapping with one end registered. Before
 * such a change the holder writes what it is about to do into its arena's PAC record; after it, it
 * clears the record. Whoever takes the lock over from a dead holder (src/heap/recover_intent.ts) finds
 * the record and finishes the change (split, merge, registration: every step is an absolute store, so
 * redoing it is harmless) or undoes it (a neighbour goes back to its free state).
 *
 * Record (PAC_INTENT_B, INTENT_WORDS u32 words; the fields are written before the op word, and the op
 * word is 0 between changes, so a holder killed while writing leaves "no change started"):
 *   word 0  op       INTENT_* (0: none)
 *   word 1  x        edata: split source / merge lower half / neighbour / registered extent
 *   word 2  y        edata: split trail / merge upper half
 *   word 3  u        split: lead size; merge: lower half's old size; neighbour: its free state
 *   word 4  v        split: trail size; merge: upper half's size
 *   word 5  w        merge: edata-cache count before the upper half's record goes back to it
 * Synchronization: written and read only by the holder of the arena's extent lock.
 */
import { PAC_INTENT_B } from "./pac_layout.js";

export const INTENT_NONE = 0;
/** A free neighbour was marked MERGING (x, its free state u). */
export const INTENT_NEIGHBOR = 1;
/** x is being split into [u | v]; y is the trail's record. */
export const INTENT_SPLIT = 2;
/** y (v bytes) is being merged into x (u bytes); w: edata-cache count before y's record returns. */
export const INTENT_MERGE = 3;
/** x, a fresh mapping's record, is being entered in the page map. */
export const INTENT_REGISTER = 4;

export const INTENT_W_OP = 0;
export const INTENT_W_X = 1;
export const INTENT_W_Y = 2;
export const INTENT_W_U = 3;
export const INTENT_W_V = 4;
export const INTENT_W_W = 5;
export const INTENT_WORDS = 6;

/** Writes an intent for arena record `pac` (op last). */
export function intentSet(
  u32: Uint32Array,
  pac: number,
  op: number,
  x: number,
  y: number,
  u: number,
  v: number,
  w: number,
): void {
  const b = (pac + PAC_INTENT_B) >>> 2;
  u32[b + INTENT_W_X] = x;
  u32[b + INTENT_W_Y] = y;
  u32[b + INTENT_W_U] = u;
  u32[b + INTENT_W_V] = v;
  u32[b + INTENT_W_W] = w;
  u32[b + INTENT_W_OP] = op;
}

/** INTENT_NEIGHBOR for `n` (free state `state`): only the words its undo reads (x, u), op last. */
export function intentSetNeighbor(u32: Uint32Array, pac: number, n: number, state: number): void {
  const b = (pac + PAC_INTENT_B) >>> 2;
  u32[b + INTENT_W_X] = n;
  u32[b + INTENT_W_U] = state;
  u32[b + INTENT_W_OP] = INTENT_NEIGHBOR;
}

/** The change is complete (or was undone): nothing for a taker to do. */
export function intentClear(u32: Uint32Array, pac: number): void {
  u32[((pac + PAC_INTENT_B) >>> 2) + INTENT_W_OP] = INTENT_NONE;
}

/** Word `i` (INTENT_W_*) of arena record `pac`'s intent. */
export function intentWord(u32: Uint32Array, pac: number, i: number): number {
  return u32[((pac + PAC_INTENT_B) >>> 2) + i]!;
}
