// ticker.ts — jemalloc 5.3's geometric decay ticker (ticker.h `ticker_geom_t`, table from src/ticker.c).
//
// What it is: a per-thread countdown that fires on average once per `nticks` events. Instead of a fixed
// period, each reload draws 6 bits r from the thread's u64 PRNG and sets the countdown to
// floor(nticks · TABLE[r] / 61); TABLE[r] ≈ −61·ln((r + 1)/64), so the gaps are roughly geometric and one
// ticker serves every arena (jemalloc's arena_decay_ticks: each arena operation ticks it, a firing runs
// arena_decay on the arena at hand).
//
// Invariants: countdown ≥ 0 between calls; ticks(n) subtracts n and fires when the count goes below 0,
// so the first firing of a fresh ticker comes on tick nticks + 1. nticks · 255 / 61 ≤ 2^31 − 1.
//
// Synchronization: worker-private (jemalloc keeps it in the tsd), a plain JS object with numeric fields.
// The PRNG state it draws from is the thread's prng_state (two Int32 words, low first), which jemalloc also
// uses for cache-oblivious large-allocation offsets; whoever owns the thread passes the same words to both.
//
// Errors: RangeError for bad nticks, tick counts or PRNG word index.

import { prngLgRangeU64 } from "./prng.js";

/** Events between arena decay checks, on average (arena_types.h). */
export const ARENA_DECAY_NTICKS_PER_UPDATE = 1000;
/** Random bits per reload. */
export const TICKER_GEOM_NBITS = 6;
/** Scale of TICKER_GEOM_TABLE: entries are round(−61·ln((r+1)/64)), 61 = floor(255 / ln 64). */
export const TICKER_GEOM_MUL = 61;
/** The 64 reload factors of jemalloc 5.3 src/ticker.c. */
export const TICKER_GEOM_TABLE: Readonly<Uint8Array> = Uint8Array.from([
  254, 211, 187, 169, 156, 144, 135, 127, 120, 113, 107, 102, 97, 93, 89, 85, 81, 77, 74, 71, 68, 65, 62, 60,
  57, 55, 53, 50, 48, 46, 44, 42, 40, 39, 37, 35, 33, 32, 30, 29, 27, 26, 24, 23, 21, 20, 19, 18, 16, 15, 14,
  13, 12, 10, 9, 8, 7, 6, 5, 4, 3, 2, 1, 0,
]);

const INT32_MAX = 2147483647;

export class TickerGeom {
  /** Events left before the next firing (jemalloc's `tick`). */
  countdown: number;
  /** Mean events between firings (jemalloc's `nticks`). */
  readonly nticks: number;
  /** The thread's u64 PRNG state: words prngW (low) and prngW + 1 (high) of this array. */
  readonly prng: Int32Array;
  readonly prngW: number;

  constructor(nticks: number, prng: Int32Array, prngW: number) {
    if (!Number.isInteger(nticks) || nticks < 1 || Math.floor((nticks * 255) / TICKER_GEOM_MUL) > INT32_MAX) {
      throw new RangeError(`ticker: nticks ${nticks} is not an integer in [1, ${INT32_MAX}·61/255]`);
    }
    if (!Number.isInteger(prngW) || prngW < 0 || prngW + 2 > prng.length) {
      throw new RangeError(
        `ticker: PRNG word index ${prngW} is outside the state array (length ${prng.length})`,
      );
    }
    // jemalloc starts every thread at the mean (TICKER_GEOM_INIT).
    this.countdown = nticks;
    this.nticks = nticks;
    this.prng = prng;
    this.prngW = prngW;
  }

  /** Record n events (ticker_geom_ticks); true when the ticker fires, having reloaded itself. */
  ticks(n: number): boolean {
    if ((n | 0) !== n || n < 0) {
      throw new RangeError(`ticker: tick count ${n} is not an integer in [0, 2^31)`);
    }
    this.countdown -= n;
    if (this.countdown < 0) {
      return this.fire();
    }
    return false;
  }

  /** Record one event (ticker_geom_tick). */
  tick(): boolean {
    this.countdown -= 1;
    if (this.countdown < 0) {
      return this.fire();
    }
    return false;
  }

  /** Reload from the table (ticker_geom_fixup); kept out of line so tick() stays small. */
  private fire(): boolean {
    const r = prngLgRangeU64(this.prng, this.prngW, TICKER_GEOM_NBITS);
    this.countdown = Math.floor((this.nticks * TICKER_GEOM_TABLE[r]!) / TICKER_GEOM_MUL);
    return true;
  }
}
