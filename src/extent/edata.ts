/**
 * edata: the extent record. One record describes one run of whole pages: an active slab or large
 * allocation, or a free run in one of the arena's extent caches (dirty / muzzy / retained).
 *
 * Records live in the buffer, carved by the arena's base allocator, and are recycled through the
 * arena's edata cache (jemalloc's edata_cache: `extent_avail` counts the cached records).
 *
 * ╒══════════════ Extent record: EDATA_HEADER_BYTES + bitmap, 8-byte aligned ══════════════╕
 *  word  bytes   field      units    meaning / sync
 *   0    0..3    addr       bytes    user address: base, or base + cache-oblivious offset (large)
 *   1    4..7    base       bytes    first byte of the extent, page aligned
 *   2    8..11   size       bytes    page multiple, > 0
 *   3   12..15   bits       packed   state | slab | committed | zeroed | head (legend below)
 *   4   16..19   szind      index    size class (slab: bin index; large: usize class; none: NSIZES)
 *   5   20..23   arena      index    owning arena
 *   6   24..27   sn         serial   age: lower = older; split keeps it, merge takes the minimum
 *   7   28..31   nfree      regions  slab only: free regions
 *   8   32..35   binshard   index    slab only: bin shard
 *   9   36..39   phParent   edata    pairing heap: parent, or previous sibling
 *  10   40..43   phNext     edata    pairing heap: next sibling
 *  11   44..47   phChild    edata    pairing heap: first child
 *  12   48..51   listPrev   edata    LRU (free) / full-slab or large list (manual arenas) / edata cache
 *  13   52..55   listNext   edata
 *  14   56..59   bmHint     word     slab only: lowest bitmap word that may hold a free region
 *  15   60..63   check      tag      EDATA_CHECK ^ record offset: proves a looked-up word names a record
 *  16.. 64..     bitmap     bits     slab only: bit set = region allocated; SLAB_MAXREGS bits
 *
 * bits legend:  pppp pppp  .hzc  Ssss  (low bits right; bits 16..31 unused)
 *   letters: p prof, h head, z zeroed, c committed, S slab, s state
 *   state  bits 0..2   ACTIVE / DIRTY / MUZZY / RETAINED / MERGING / CACHED
 *   slab   bit  3
 *   committed bit 4,  zeroed bit 5,  head bit 6 (first extent of a mapping: never merged with what precedes)
 *   prof   bits 8..15: live sampled allocations in the extent (a large extent, or a small block promoted
 *          to one: at most 1; written under the prof lock). Non-zero: the free looks up its sample.
 *
 * Synchronization: fields of an active record belong to its owner (the bin lock for slab bitmaps and
 * nfree, the arena's extent lock for everything else); free records are touched only under the arena's
 * extent lock. Readers of the page map read `base`, `size`, `bits` racily and re-check under the lock.
 */

export const EDATA_W_ADDR = 0;
export const EDATA_W_BASE = 1;
export const EDATA_W_SIZE = 2;
export const EDATA_W_BITS = 3;
export const EDATA_W_SZIND = 4;
export const EDATA_W_ARENA = 5;
export const EDATA_W_SN = 6;
export const EDATA_W_NFREE = 7;
export const EDATA_W_BINSHARD = 8;
export const EDATA_W_PH_PARENT = 9;
export const EDATA_W_PH_NEXT = 10;
export const EDATA_W_PH_CHILD = 11;
export const EDATA_W_LIST_PREV = 12;
export const EDATA_W_LIST_NEXT = 13;
export const EDATA_W_BM_HINT = 14;
export const EDATA_W_CHECK = 15;
export const EDATA_W_BITMAP = 16;
export const EDATA_HEADER_WORDS = 16;
export const EDATA_HEADER_BYTES = EDATA_HEADER_WORDS * 4;

export const EDATA_CHECK = 0x5eda7a00;

export const EXTENT_STATE_ACTIVE = 0;
export const EXTENT_STATE_DIRTY = 1;
export const EXTENT_STATE_MUZZY = 2;
export const EXTENT_STATE_RETAINED = 3;
export const EXTENT_STATE_MERGING = 4;
/** The record is parked in the edata cache and describes nothing. */
export const EXTENT_STATE_CACHED = 5;

export const EDATA_BITS_STATE_SHIFT = 0;
export const EDATA_BITS_STATE_WIDTH = 3;
export const EDATA_BITS_STATE_MASK = ((1 << EDATA_BITS_STATE_WIDTH) - 1) << EDATA_BITS_STATE_SHIFT;
export const EDATA_BITS_SLAB_SHIFT = EDATA_BITS_STATE_SHIFT + EDATA_BITS_STATE_WIDTH;
export const EDATA_BITS_SLAB_MASK = 1 << EDATA_BITS_SLAB_SHIFT;
export const EDATA_BITS_COMMITTED_SHIFT = EDATA_BITS_SLAB_SHIFT + 1;
export const EDATA_BITS_COMMITTED_MASK = 1 << EDATA_BITS_COMMITTED_SHIFT;
export const EDATA_BITS_ZEROED_SHIFT = EDATA_BITS_COMMITTED_SHIFT + 1;
export const EDATA_BITS_ZEROED_MASK = 1 << EDATA_BITS_ZEROED_SHIFT;
export const EDATA_BITS_HEAD_SHIFT = EDATA_BITS_ZEROED_SHIFT + 1;
export const EDATA_BITS_HEAD_MASK = 1 << EDATA_BITS_HEAD_SHIFT;
export const EDATA_BITS_PROF_SHIFT = 8;
export const EDATA_BITS_PROF_MAX = 255;
export const EDATA_BITS_PROF_MASK = EDATA_BITS_PROF_MAX << EDATA_BITS_PROF_SHIFT;

/** Bytes of one record for a heap whose slabs hold at most `slabMaxRegs` regions. */
export function edataBytes(slabMaxRegs: number): number {
  const bitmapBytes = Math.ceil(slabMaxRegs / 64) * 8;
  return EDATA_HEADER_BYTES + bitmapBytes;
}

// Accessors. `u32` is the heap's Uint32Array; `e` a record's byte offset.

export function edataAddr(u32: Uint32Array, e: number): number {
  return u32[(e >>> 2) + EDATA_W_ADDR]!;
}
export function edataBase(u32: Uint32Array, e: number): number {
  return u32[(e >>> 2) + EDATA_W_BASE]!;
}
export function edataSize(u32: Uint32Array, e: number): number {
  return u32[(e >>> 2) + EDATA_W_SIZE]!;
}
/** One past the last byte (may be 2^32 for an extent ending at the top of a 4 GiB space). */
export function edataPast(u32: Uint32Array, e: number): number {
  return u32[(e >>> 2) + EDATA_W_BASE]! + u32[(e >>> 2) + EDATA_W_SIZE]!;
}
export function edataState(u32: Uint32Array, e: number): number {
  return u32[(e >>> 2) + EDATA_W_BITS]! & EDATA_BITS_STATE_MASK;
}
export function edataSlab(u32: Uint32Array, e: number): boolean {
  return (u32[(e >>> 2) + EDATA_W_BITS]! & EDATA_BITS_SLAB_MASK) !== 0;
}
export function edataCommitted(u32: Uint32Array, e: number): boolean {
  return (u32[(e >>> 2) + EDATA_W_BITS]! & EDATA_BITS_COMMITTED_MASK) !== 0;
}
export function edataZeroed(u32: Uint32Array, e: number): boolean {
  return (u32[(e >>> 2) + EDATA_W_BITS]! & EDATA_BITS_ZEROED_MASK) !== 0;
}
export function edataHead(u32: Uint32Array, e: number): boolean {
  return (u32[(e >>> 2) + EDATA_W_BITS]! & EDATA_BITS_HEAD_MASK) !== 0;
}
export function edataSzind(u32: Uint32Array, e: number): number {
  return u32[(e >>> 2) + EDATA_W_SZIND]!;
}
export function edataArena(u32: Uint32Array, e: number): number {
  return u32[(e >>> 2) + EDATA_W_ARENA]!;
}
export function edataSn(u32: Uint32Array, e: number): number {
  return u32[(e >>> 2) + EDATA_W_SN]!;
}
export function edataNfree(u32: Uint32Array, e: number): number {
  return u32[(e >>> 2) + EDATA_W_NFREE]!;
}
export function edataBinshard(u32: Uint32Array, e: number): number {
  return u32[(e >>> 2) + EDATA_W_BINSHARD]!;
}

export function edataAddrSet(u32: Uint32Array, e: number, v: number): void {
  u32[(e >>> 2) + EDATA_W_ADDR] = v;
}
export function edataSizeSet(u32: Uint32Array, e: number, v: number): void {
  u32[(e >>> 2) + EDATA_W_SIZE] = v;
}
export function edataStateSet(u32: Uint32Array, e: number, state: number): void {
  const w = (e >>> 2) + EDATA_W_BITS;
  u32[w] = (u32[w]! & ~EDATA_BITS_STATE_MASK) | (state << EDATA_BITS_STATE_SHIFT);
}
function bitSet(u32: Uint32Array, e: number, mask: number, on: boolean): void {
  const w = (e >>> 2) + EDATA_W_BITS;
  u32[w] = on ? u32[w]! | mask : u32[w]! & ~mask;
}
export function edataSlabSet(u32: Uint32Array, e: number, v: boolean): void {
  bitSet(u32, e, EDATA_BITS_SLAB_MASK, v);
}
export function edataCommittedSet(u32: Uint32Array, e: number, v: boolean): void {
  bitSet(u32, e, EDATA_BITS_COMMITTED_MASK, v);
}
export function edataZeroedSet(u32: Uint32Array, e: number, v: boolean): void {
  bitSet(u32, e, EDATA_BITS_ZEROED_MASK, v);
}
export function edataHeadSet(u32: Uint32Array, e: number, v: boolean): void {
  bitSet(u32, e, EDATA_BITS_HEAD_MASK, v);
}
export function edataSzindSet(u32: Uint32Array, e: number, v: number): void {
  u32[(e >>> 2) + EDATA_W_SZIND] = v;
}
export function edataSnSet(u32: Uint32Array, e: number, v: number): void {
  u32[(e >>> 2) + EDATA_W_SN] = v;
}
export function edataNfreeSet(u32: Uint32Array, e: number, v: number): void {
  u32[(e >>> 2) + EDATA_W_NFREE] = v;
}
export function edataBinshardSet(u32: Uint32Array, e: number, v: number): void {
  u32[(e >>> 2) + EDATA_W_BINSHARD] = v;
}

/** (sn, addr) order: oldest first, then lowest address (jemalloc's edata_snad_comp). */
export function edataSnadComp(u32: Uint32Array, a: number, b: number): number {
  const sa = u32[(a >>> 2) + EDATA_W_SN]!;
  const sb = u32[(b >>> 2) + EDATA_W_SN]!;
  if (sa !== sb) return sa < sb ? -1 : 1;
  const aa = u32[(a >>> 2) + EDATA_W_ADDR]!;
  const ab = u32[(b >>> 2) + EDATA_W_ADDR]!;
  return aa < ab ? -1 : aa > ab ? 1 : 0;
}

export interface EdataInit {
  arena: number;
  base: number;
  size: number;
  slab: boolean;
  szind: number;
  sn: number;
  state: number;
  zeroed: boolean;
  committed: boolean;
  head: boolean;
}

/** edata_init: every field of the header set; links cleared. */
export function edataInit(
  u32: Uint32Array,
  e: number,
  arena: number,
  base: number,
  size: number,
  slab: boolean,
  szind: number,
  sn: number,
  state: number,
  zeroed: boolean,
  committed: boolean,
  head: boolean,
): void {
  const w = e >>> 2;
  u32[w + EDATA_W_ADDR] = base;
  u32[w + EDATA_W_BASE] = base;
  u32[w + EDATA_W_SIZE] = size;
  u32[w + EDATA_W_BITS] =
    (state << EDATA_BITS_STATE_SHIFT) |
    (slab ? EDATA_BITS_SLAB_MASK : 0) |
    (committed ? EDATA_BITS_COMMITTED_MASK : 0) |
    (zeroed ? EDATA_BITS_ZEROED_MASK : 0) |
    (head ? EDATA_BITS_HEAD_MASK : 0);
  u32[w + EDATA_W_SZIND] = szind;
  u32[w + EDATA_W_ARENA] = arena;
  u32[w + EDATA_W_SN] = sn;
  edataInitTail(u32, e);
}

/**
 * The words edata_init clears, and the check word naming `e`: slab fields, heap and list links. Also
 * used by the split, which writes the trail's other words from the lead's record.
 */
export function edataInitTail(u32: Uint32Array, e: number): void {
  const w = e >>> 2;
  u32[w + EDATA_W_NFREE] = 0;
  u32[w + EDATA_W_BINSHARD] = 0;
  u32[w + EDATA_W_PH_PARENT] = 0;
  u32[w + EDATA_W_PH_NEXT] = 0;
  u32[w + EDATA_W_PH_CHILD] = 0;
  u32[w + EDATA_W_LIST_PREV] = 0;
  u32[w + EDATA_W_LIST_NEXT] = 0;
  u32[w + EDATA_W_BM_HINT] = 0;
  u32[w + EDATA_W_CHECK] = (EDATA_CHECK ^ e) >>> 0;
}

/** True if the word at `e` plausibly names a record (used on pointers read from the page map). */
export function edataIsRecord(u32: Uint32Array, e: number): boolean {
  return (
    e !== 0 &&
    (e & 7) === 0 &&
    (e >>> 2) + EDATA_W_CHECK < u32.length &&
    u32[(e >>> 2) + EDATA_W_CHECK] === (EDATA_CHECK ^ e) >>> 0
  );
}

/**
 * In-flight mark (src/heap/inflight.ts): an active extent a thread holds outside every list (a fresh
 * slab from the page allocator until its bin installs it, an emptied slab until it goes back, a large
 * extent claimed for freeing) carries its holder's owner tag in its pairing-heap parent word, unused
 * while it is in no heap; tag·2 + 1 is odd, so never a record offset.
 */
export function edataInflightMark(tag: number): number {
  return tag * 2 + 1;
}

export function edataMarkInFlight(u32: Uint32Array, e: number, tag: number): void {
  u32[(e >>> 2) + EDATA_W_PH_PARENT] = edataInflightMark(tag);
}
