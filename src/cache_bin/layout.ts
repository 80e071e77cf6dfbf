/**
 * The cache-bin record: one bin of a thread cache (jemalloc's cache_bin_t), eight u32 words, plus its
 * slot stack of u32 block offsets held elsewhere (in the cache's internal allocation, src/tcache).
 *
 * ╒══════════ Cache-bin record (TBIN_BYTES = 8 × u32) ══════════╕
 *  word  field       units   meaning (owner: the thread using the cache; plain loads/stores)
 *   0    head        index   first occupied slot; the bin holds slots [head, cap) (ncached = cap − head)
 *   1    lowWater    count   minimum ncached since the last GC visit
 *   2    cap         count   ncached_max
 *   3    slotsW      word    u32-view index of the bin's slot 0
 *   4..5 nrequests   f64     requests served since the last merge into arena stats
 *   6    packed      bits    lgFillDiv (0..7) | refilled (bit 8) | flushDelay (bits 16..23)
 *   7    nstashed    count   entries stashed by opt.lg_san_uaf_align, in slots [0, nstashed)
 * ╘═════════════════════════════════════════════════════════════╛
 * A pop returns slots[head] (the most recently pushed); a fill stores the lowest addresses at the
 * top; a flush takes the oldest items, slots[cap − nflush .. cap). Stashed blocks (junked, waiting
 * for their junk to be verified: src/cache_bin/san_uaf.ts) sit at the other end of the stack and
 * take room from it: the bin is full when head reaches nstashed (jemalloc's low_bits_full).
 */
export const TBIN_WORDS = 8;
export const TBIN_BYTES = TBIN_WORDS * 4;
export const TBIN_W_HEAD = 0;
export const TBIN_W_LOW_WATER = 1;
export const TBIN_W_CAP = 2;
export const TBIN_W_SLOTS = 3;
export const TBIN_W_NREQUESTS = 4;
export const TBIN_W_PACKED = 6;
export const TBIN_W_NSTASHED = 7;
export const TBIN_FILL_DIV_MASK = 0xff;
export const TBIN_REFILLED_BIT = 1 << 8;
export const TBIN_FLUSH_DELAY_SHIFT = 16;
export const TBIN_FLUSH_DELAY_MASK = 0xff << TBIN_FLUSH_DELAY_SHIFT;
