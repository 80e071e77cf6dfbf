/**
 * The PAC record (page allocator "classic"): the part of an arena record that the extent layer owns.
 * It sits at offset 0 of every arena record, so an arena's record offset is also its PAC offset.
 *
 * ╒══════════ PAC record (PAC_FIXED_BYTES, then the ecaches and decay records) ══════════╕
 *  bytes         field              units   meaning
 *   0..L-1       lock                       the arena's extent lock: everything in this record
 *   L+0          arenaInd           u32     the arena's index
 *   L+4          snNext             u32     next extent serial number
 *   L+8          expGrowNext        u32     page class of the next retained growth
 *   L+12         expGrowLimit       u32     retain_grow_limit as a page class
 *   L+16         edataAvailHead     edata   edata cache (extent_avail): free records
 *   L+20         edataAvailCount    count
 *   L+24         baseB              base    the arena's metadata allocator
 *   L+28         oversizeThreshold  bytes   extents freed at or above this are purged at once
 *   L+32         pacMapped          f64     bytes mapped for this arena's extents
 *   L+40         abandonedVm        f64     bytes leaked after a failed split (never expected)
 *   L+48         nactive            f64     pages in active extents (pactive)
 *   L+56         offsetState        u32     PRNG state for cache-oblivious offsets
 *   L+60         hooksVersion       u32     bumped when a thread installs extent hooks (info only)
 *   L+64         intent             6×u32   the extent lock holder's write-ahead record (intent.ts)
 *   then         ecacheDirty, ecacheMuzzy, ecacheRetained, decayDirty, decayMuzzy (ArenaLayout)
 * ╘════════════════════════════════════════════════════════════════════════════════════════╛
 */
import { LOCK_BYTES } from "../ctx/header.js";
import { alignUp } from "../layout/index.js";

export const PAC_LOCK_B = 0;
export const PAC_ARENA_IND_B = LOCK_BYTES;
export const PAC_SN_NEXT_B = LOCK_BYTES + 4;
export const PAC_EXP_GROW_NEXT_B = LOCK_BYTES + 8;
export const PAC_EXP_GROW_LIMIT_B = LOCK_BYTES + 12;
export const PAC_EDATA_AVAIL_HEAD_B = LOCK_BYTES + 16;
export const PAC_EDATA_AVAIL_COUNT_B = LOCK_BYTES + 20;
export const PAC_BASE_B = LOCK_BYTES + 24;
export const PAC_OVERSIZE_THRESHOLD_B = LOCK_BYTES + 28;
export const PAC_MAPPED_B = alignUp(LOCK_BYTES + 32, 8);
export const PAC_ABANDONED_VM_B = PAC_MAPPED_B + 8;
export const PAC_NACTIVE_B = PAC_MAPPED_B + 16;
export const PAC_OFFSET_STATE_B = PAC_MAPPED_B + 24;
export const PAC_HOOKS_VERSION_B = PAC_MAPPED_B + 28;
export const PAC_INTENT_B = PAC_MAPPED_B + 32;
export const PAC_FIXED_BYTES = alignUp(PAC_MAPPED_B + 56, 8);
