/**
 * ledger helpers (tests only), in the spirit of RELIABILITY.md §6.5's client ledger:
 *  - fill patterns: a block's bytes are a window of a fixed pseudo-random tape chosen by a seed, so any
 *    byte written by someone else (an overlapping block, a bad copy, allocator metadata) is caught;
 *  - ClaimMap: an ownership map over SharedArrayBuffers (8-byte granules for small blocks, pages for
 *    large ones) that every worker claims with Atomics when it gets a block and releases before it
 *    frees one: two live blocks that overlap collide, whichever workers hold them;
 *  - a tiny seeded PRNG (mulberry32) for workers and stress loops.
 */

/** The tape's period: a prime, so patterns never line up with pages or size classes. */
export const PATTERN_PERIOD = 4093;
const TAPE = new Uint8Array(2 * PATTERN_PERIOD);
{
  let x = 0x9e3779b9;
  for (let i = 0; i < PATTERN_PERIOD; i++) {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    TAPE[i] = x & 0xff;
    TAPE[i + PATTERN_PERIOD] = x & 0xff;
  }
}
const TAPE_BUF = Buffer.from(TAPE.buffer, TAPE.byteOffset, TAPE.length);
const ZEROS = Buffer.alloc(1 << 16);

/** The pattern byte at index `i` of a block with `seed`. */
export function patternByte(seed: number, i: number): number {
  return TAPE[((seed >>> 0) + i) % PATTERN_PERIOD]!;
}

/** Writes the pattern of `seed` over u8[p, p + len). */
export function fillPattern(u8: Uint8Array, p: number, len: number, seed: number): void {
  let done = 0;
  let start = (seed >>> 0) % PATTERN_PERIOD;
  while (done < len) {
    const n = Math.min(len - done, PATTERN_PERIOD);
    u8.set(TAPE.subarray(start, start + n), p + done);
    done += n;
    start = (start + n) % PATTERN_PERIOD;
  }
}

/** Index of the first byte of u8[p, p + len) that is not the pattern of `seed`, or -1. */
export function findPatternMismatch(u8: Uint8Array, p: number, len: number, seed: number): number {
  let done = 0;
  let start = (seed >>> 0) % PATTERN_PERIOD;
  while (done < len) {
    const n = Math.min(len - done, PATTERN_PERIOD);
    const have = Buffer.from(u8.buffer, u8.byteOffset + p + done, n);
    if (Buffer.compare(have, TAPE_BUF.subarray(start, start + n)) !== 0) {
      for (let i = 0; i < n; i++) if (have[i] !== TAPE[start + i]) return done + i;
    }
    done += n;
    start = (start + n) % PATTERN_PERIOD;
  }
  return -1;
}

/** Index of the first non-zero byte of u8[p, p + len), or -1. */
export function findNonZero(u8: Uint8Array, p: number, len: number): number {
  let done = 0;
  while (done < len) {
    const n = Math.min(len - done, ZEROS.length);
    const have = Buffer.from(u8.buffer, u8.byteOffset + p + done, n);
    if (Buffer.compare(have, ZEROS.subarray(0, n)) !== 0) {
      for (let i = 0; i < n; i++) if (have[i] !== 0) return done + i;
    }
    done += n;
  }
  return -1;
}

export const CLAIM_GRANULE = 8;
const LARGE_MARK = 0x40000000;

/** What a worker needs to rebuild a ClaimMap over the same shared memory. */
export interface ClaimMapShared {
  granules: SharedArrayBuffer;
  pages: SharedArrayBuffer;
  lgPage: number;
  largeMin: number;
}

/**
 * Ownership of heap bytes, shared by all workers (SharedArrayBuffers), so two live blocks that overlap
 * collide whichever workers hold them. Small blocks (usable < `largeMin`, slab regions) claim one byte
 * per 8-byte granule and add 1 to the counter of every page they touch; large blocks (their own
 * extents, never sharing a page with another block) claim whole pages by setting the page's counter to
 * a mark — so large claims cost one atomic per page, and small and large claims still collide.
 * A worker claims a block after malloc returns it and releases it before it calls free.
 */
export class ClaimMap {
  readonly shared: ClaimMapShared;
  readonly granules: Uint8Array;
  readonly pages: Int32Array;

  /** `heapBytes`: the heap's maxBytes; `largeMin`: the smallest large size class. */
  constructor(init: ClaimMapShared | { heapBytes: number; lgPage: number; largeMin: number }) {
    this.shared =
      "granules" in init
        ? init
        : {
            granules: new SharedArrayBuffer(Math.ceil(init.heapBytes / CLAIM_GRANULE)),
            pages: new SharedArrayBuffer(Math.ceil(init.heapBytes / 2 ** init.lgPage) * 4),
            lgPage: init.lgPage,
            largeMin: init.largeMin,
          };
    this.granules = new Uint8Array(this.shared.granules);
    this.pages = new Int32Array(this.shared.pages);
  }

  #pageRange(p: number, len: number): [number, number] {
    const lg = this.shared.lgPage;
    return [Math.floor(p / 2 ** lg), Math.floor((p + Math.max(len, 1) - 1) / 2 ** lg) + 1];
  }

  /**
   * Claims [p, p + len). Returns -1 on success, else the byte offset where it collided with a live
   * block's claim (the partial claim is rolled back).
   */
  claim(p: number, len: number): number {
    const [pg0, pg1] = this.#pageRange(p, len);
    if (pg1 > this.pages.length) return this.pages.length * 2 ** this.shared.lgPage;
    const pageBytes = 2 ** this.shared.lgPage;
    if (len >= this.shared.largeMin) {
      for (let g = pg0; g < pg1; g++) {
        if (Atomics.compareExchange(this.pages, g, 0, LARGE_MARK) !== 0) {
          for (let h = pg0; h < g; h++) Atomics.store(this.pages, h, 0);
          return g * pageBytes;
        }
      }
      return -1;
    }
    for (let g = pg0; g < pg1; g++) {
      if (Atomics.add(this.pages, g, 1) >= LARGE_MARK) {
        for (let h = pg0; h <= g; h++) Atomics.sub(this.pages, h, 1);
        return g * pageBytes;
      }
    }
    const g0 = p / CLAIM_GRANULE;
    const g1 = Math.ceil((p + Math.max(len, 1)) / CLAIM_GRANULE);
    for (let g = g0; g < g1; g++) {
      if (Atomics.compareExchange(this.granules, g, 0, 1) !== 0) {
        for (let h = g0; h < g; h++) Atomics.store(this.granules, h, 0);
        for (let h = pg0; h < pg1; h++) Atomics.sub(this.pages, h, 1);
        return g * CLAIM_GRANULE;
      }
    }
    return -1;
  }

  /** Releases [p, p + len); returns the first byte offset that was not claimed, or -1. */
  release(p: number, len: number): number {
    const [pg0, pg1] = this.#pageRange(p, len);
    const pageBytes = 2 ** this.shared.lgPage;
    let bad = -1;
    if (len >= this.shared.largeMin) {
      for (let g = pg0; g < pg1; g++) {
        if (Atomics.compareExchange(this.pages, g, LARGE_MARK, 0) !== LARGE_MARK && bad < 0)
          bad = g * pageBytes;
      }
      return bad;
    }
    const g0 = p / CLAIM_GRANULE;
    const g1 = Math.ceil((p + Math.max(len, 1)) / CLAIM_GRANULE);
    for (let g = g0; g < g1; g++) {
      if (Atomics.compareExchange(this.granules, g, 1, 0) !== 1 && bad < 0) bad = g * CLAIM_GRANULE;
    }
    if (bad >= 0) return bad; // not a claimed block: leave the page counters alone
    for (let g = pg0; g < pg1; g++) {
      const old = Atomics.sub(this.pages, g, 1);
      if ((old <= 0 || old >= LARGE_MARK) && bad < 0) bad = g * pageBytes;
    }
    return bad;
  }

  /** Granules and pages still claimed (0 when every block was released). */
  claimed(): number {
    let n = 0;
    const zeros = Buffer.alloc(1 << 16);
    const all = Buffer.from(this.shared.granules);
    for (let at = 0; at < all.length; at += zeros.length) {
      const chunk = all.subarray(at, Math.min(all.length, at + zeros.length));
      if (Buffer.compare(chunk, zeros.subarray(0, chunk.length)) !== 0)
        for (const b of chunk) if (b !== 0) n++;
    }
    for (let g = 0; g < this.pages.length; g++) if (this.pages[g] !== 0) n++;
    return n;
  }
}

/** mulberry32: a small seeded PRNG returning uint32s. */
export function prng(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return (t ^ (t >>> 14)) >>> 0;
  };
}

/** The seed of a stress run: $SEED if set (to replay a failure), else a fresh one. */
export function seedFromEnv(): number {
  const s = process.env.SEED;
  if (s !== undefined && s !== "") {
    const n = Number(s);
    if (!Number.isInteger(n) || n < 0 || n >= 2 ** 32)
      throw new RangeError(`SEED must be an integer in [0, 2^32), got ${JSON.stringify(s)}`);
    return n;
  }
  return (Math.random() * 2 ** 32) >>> 0;
}
