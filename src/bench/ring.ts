/**
 * ring: a single-producer single-consumer queue of block offsets in its own SharedArrayBuffer, for the
 * producer-consumer workload (one worker mallocs, the other frees what it receives).
 *
 * ╒══════════ Ring: Int32Array over a SharedArrayBuffer of (RING_SLOTS_W + slots) words ══════════╕
 *  word        field   meaning                                        sync
 *   0          HEAD    items published by the producer (counts up)    Atomics (producer stores)
 *   16         TAIL    items taken by the consumer (counts up)        Atomics (consumer stores)
 *   32 + i     SLOT i  offset of item i mod slots (u32 as i32)         plain; published by HEAD
 * ╘═════════════════════════════════════════════════════════════════════════════════════════════════╛
 * HEAD and TAIL sit 64 bytes apart so the two workers do not write one cache line. Counters wrap at
 * 2^32; differences are taken with `| 0`. A side publishes every RING_PUBLISH_EVERY items (and before it
 * waits), so waiting costs Atomics only at batch boundaries; waits are 1 ms Atomics.wait slices that
 * also poll the cell budget, so a stopped peer can never hang the other.
 *
 * Synchronization: plain slot writes happen-before the producer's Atomics.store of HEAD, which the
 * consumer reads with Atomics.load before reading the slots (and symmetrically for TAIL).
 * Errors: RangeError for a slot count that is not a power of two.
 */
import { budgetOver } from "./result.js";

export const RING_HEAD_W = 0;
export const RING_TAIL_W = 16;
export const RING_SLOTS_W = 32;
export const RING_PUBLISH_EVERY = 64;
const SPINS_BEFORE_WAIT = 256;

export function ringCreate(slots: number): SharedArrayBuffer {
  if (!Number.isInteger(slots) || slots < RING_PUBLISH_EVERY * 2 || (slots & (slots - 1)) !== 0) {
    throw new RangeError(`ring: slots must be a power of two ≥ ${RING_PUBLISH_EVERY * 2}, got ${slots}`);
  }
  return new SharedArrayBuffer((RING_SLOTS_W + slots) * 4);
}

export function ringSlots(ring: Int32Array): number {
  return ring.length - RING_SLOTS_W;
}

/** Blocks until `word` differs from `seen` or 1 ms passes; false once the budget has run out. */
function waitChange(ring: Int32Array, word: number, seen: number, spins: number): boolean {
  if (spins < SPINS_BEFORE_WAIT) return true;
  Atomics.wait(ring, word, seen, 1);
  return !budgetOver();
}

/** The producer's side: `alloc(k)` gives the k-th item's offset (0 = failure, still passed on). */
export function ringProduce(ring: Int32Array, n: number, alloc: (k: number) => number): number {
  const mask = ringSlots(ring) - 1;
  const cap = mask + 1;
  let head = Atomics.load(ring, RING_HEAD_W);
  let tail = Atomics.load(ring, RING_TAIL_W);
  let made = 0;
  while (made < n) {
    if (((head - tail) | 0) >= cap) {
      // Full: publish what is made so the consumer can drain it, then wait for TAIL to move.
      Atomics.store(ring, RING_HEAD_W, head);
      Atomics.notify(ring, RING_HEAD_W);
      let spins = 0;
      do {
        if (!waitChange(ring, RING_TAIL_W, tail, spins++)) return made;
        tail = Atomics.load(ring, RING_TAIL_W);
      } while (((head - tail) | 0) >= cap);
    }
    ring[RING_SLOTS_W + (head & mask)] = alloc(made);
    head = (head + 1) | 0;
    made++;
    if ((made & (RING_PUBLISH_EVERY - 1)) === 0) {
      Atomics.store(ring, RING_HEAD_W, head);
      Atomics.notify(ring, RING_HEAD_W);
    }
  }
  Atomics.store(ring, RING_HEAD_W, head);
  Atomics.notify(ring, RING_HEAD_W);
  return made;
}

/** The consumer's side: takes `n` items and hands each offset to `free`. Returns items taken. */
export function ringConsume(ring: Int32Array, n: number, free: (p: number) => void): number {
  const mask = ringSlots(ring) - 1;
  let tail = Atomics.load(ring, RING_TAIL_W);
  let head = Atomics.load(ring, RING_HEAD_W);
  let taken = 0;
  while (taken < n) {
    if (head === tail) {
      // Empty: give back the freed slots, then wait for HEAD to move.
      Atomics.store(ring, RING_TAIL_W, tail);
      Atomics.notify(ring, RING_TAIL_W);
      let spins = 0;
      do {
        if (!waitChange(ring, RING_HEAD_W, head, spins++)) return taken;
        head = Atomics.load(ring, RING_HEAD_W);
      } while (head === tail);
    }
    free(ring[RING_SLOTS_W + (tail & mask)]! >>> 0);
    tail = (tail + 1) | 0;
    taken++;
    if ((taken & (RING_PUBLISH_EVERY - 1)) === 0) {
      Atomics.store(ring, RING_TAIL_W, tail);
      Atomics.notify(ring, RING_TAIL_W);
    }
  }
  Atomics.store(ring, RING_TAIL_W, tail);
  Atomics.notify(ring, RING_TAIL_W);
  return taken;
}
