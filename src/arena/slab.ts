/**
 * slab: the region bitmap of a slab (jemalloc's bitmap_t inside slab_data). A set bit marks an
 * allocated region; bits past nregs are set at init so they are never handed out. Allocation takes
 * the lowest free region (bitmap_sfu), so regions go out in ascending address order.
 * Synchronization: the owning bin's lock.
 */
import { metadataCorrupt } from "../errors.js";
import {
  EDATA_W_BITMAP,
  EDATA_W_BM_HINT,
  EDATA_W_NFREE,
  EDATA_W_PH_PARENT,
  EXTENT_STATE_ACTIVE,
  edataAddr,
  edataIsRecord,
  edataSlab,
  edataState,
  edataSzind,
} from "../extent/edata.js";

export { edataInflightMark as inflightMark, edataMarkInFlight as slabMarkInFlight } from "../extent/edata.js";

// Local copies for the per-region functions below: V8 folds a module's own constants into optimized
// code but loads an imported binding from its module cell at every use.
const W_BITMAP = EDATA_W_BITMAP;
const W_BM_HINT = EDATA_W_BM_HINT;
const W_NFREE = EDATA_W_NFREE;

export function slabUnmarkInFlight(u32: Uint32Array, e: number): void {
  u32[(e >>> 2) + EDATA_W_PH_PARENT] = 0;
}

/** Marks every region free; bits at and beyond `nregs` are set (never free). */
export function slabBitmapInit(u32: Uint32Array, e: number, nregs: number): void {
  const w = (e >>> 2) + EDATA_W_BITMAP;
  const nwords = Math.ceil(nregs / 32);
  u32.fill(0, w, w + nwords);
  const tail = nregs & 31;
  if (tail !== 0) u32[w + nwords - 1] = (0xffffffff << tail) >>> 0;
  u32[(e >>> 2) + EDATA_W_BM_HINT] = 0;
  u32[(e >>> 2) + EDATA_W_NFREE] = nregs;
}

/**
 * Takes the lowest free region; returns its index. The caller checked nfree > 0; `nregs` bounds the
 * scan (a bitmap that disagrees with nfree is corrupt metadata, never a region past the slab).
 */
export function slabRegAllocIndex(u32: Uint32Array, e: number, nregs: number): number {
  const ew = e >>> 2;
  const base = ew + EDATA_W_BITMAP;
  let i = u32[ew + EDATA_W_BM_HINT]!;
  for (;;) {
    if (i * 32 >= nregs) throw metadataCorrupt(`slab ${e}: nfree > 0 but its bitmap is full`);
    const word = u32[base + i]!;
    if (word !== 0xffffffff) {
      const inv = ~word;
      const bit = 31 - Math.clz32(inv & -inv);
      u32[base + i] = (word | (1 << bit)) >>> 0;
      u32[ew + EDATA_W_BM_HINT] = i;
      u32[ew + EDATA_W_NFREE] = u32[ew + EDATA_W_NFREE]! - 1;
      return i * 32 + bit;
    }
    i++;
  }
}

export function slabRegAlloc(u32: Uint32Array, e: number, regSize: number, nregs: number): number {
  return edataAddr(u32, e) + slabRegAllocIndex(u32, e, nregs) * regSize;
}

/** True if region `regind` is allocated. */
export function slabRegIsAllocated(u32: Uint32Array, e: number, regind: number): boolean {
  return (u32[(e >>> 2) + W_BITMAP + (regind >>> 5)]! & (1 << (regind & 31))) !== 0;
}

/** Frees region `regind` (the caller checked it is allocated). */
export function slabRegFree(u32: Uint32Array, e: number, regind: number): void {
  const ew = e >>> 2;
  const w = ew + W_BITMAP + (regind >>> 5);
  u32[w] = (u32[w]! & ~(1 << (regind & 31))) >>> 0;
  const wi = regind >>> 5;
  if (wi < u32[ew + W_BM_HINT]!) u32[ew + W_BM_HINT] = wi;
  u32[ew + W_NFREE] = u32[ew + W_NFREE]! + 1;
}

/**
 * Debug tier: the slab record `e` of class `binind` (nregs regions) is consistent — a live slab record
 * of that class whose nfree matches its bitmap. Throws (corrupt metadata) otherwise.
 */
export function slabAssertConsistent(u32: Uint32Array, e: number, binind: number, nregs: number): void {
  const ok =
    edataIsRecord(u32, e) &&
    edataSlab(u32, e) &&
    edataState(u32, e) === EXTENT_STATE_ACTIVE &&
    edataSzind(u32, e) === binind &&
    u32[(e >>> 2) + EDATA_W_NFREE] === nregs - slabPopcount(u32, e, nregs);
  if (!ok) throw metadataCorrupt(`slab ${e} of class ${binind}: record, class or free count is inconsistent`);
}

/** Number of allocated regions according to the bitmap (checker). */
export function slabPopcount(u32: Uint32Array, e: number, nregs: number): number {
  const base = (e >>> 2) + EDATA_W_BITMAP;
  let n = 0;
  for (let r = 0; r < nregs; r++) if ((u32[base + (r >>> 5)]! & (1 << (r & 31))) !== 0) n++;
  return n;
}
