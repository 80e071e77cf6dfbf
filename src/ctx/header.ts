/**
 * header: the heap header, at byte 0 of the buffer. It records how the heap was built (so every worker
 * that attaches derives the same tables), the global locks, the arena table, the page map's root, the
 * thread registry and the per-thread records. Offset 0 is NULL, so no allocation ever starts here.
 *
 * ╒════════════ Fixed part (HDR_FIXED_BYTES) ════════════╕
 *  bytes     field             units   meaning / sync
 *   0..3     magic             u32     HEAP_MAGIC: "this buffer is a jemalloc-ts heap"
 *   4..7     layoutVersion     u32     LAYOUT_VERSION: code and buffer must agree
 *   8..11    lgQuantum         u32     size-class configuration, fixed at creation
 *  12..15    lgPage            u32
 *  16..19    lgHugepage        u32
 *  20..23    lgVaddr           u32
 *  24..31    maxBytes          f64     the buffer's maxByteLength
 *  32..39    top               f64     end of the mapped address space (map lock)
 *  40..43    headerBytes       u32     total header size, page multiple: first mappable byte
 *  44..47    nslots            u32     thread slots
 *  48..51    poison            i32     0, or why the heap was poisoned (Atomics)
 *  52..55    shared            u32     1 for a SharedArrayBuffer, 0 for a resizable ArrayBuffer
 *  56..59    narenasAuto       u32     opt.narenas: automatic arenas 0..narenasAuto-1
 *  60..63    narenasTotal      i32     arenas.narenas: indices in use (auto + huge + manual) (Atomics)
 *  64..67    hugeArena         i32     index of the huge arena, or -1 (oversize_threshold 0)
 *  68..71    (reserved)
 *  72..79    epoch             f64     mallctl epoch (ctl lock)
 *  80..87    clockOriginMs     f64     Date.now() at creation: one clock for every worker
 *  88..95    zeroReallocs      f64     stats.zero_reallocs (ctl lock)
 *  96..99    confEmbedLen      u32     bytes of the embedded malloc_conf string
 * 100..103   confEnvLen        u32     bytes of the environment's malloc_conf string at creation
 * 104..111   virtualNowNs      f64     the clock when `clock` is virtual (set by the creator)
 * 112..115   base0             u32     the global base record (b0)
 * 116..119   lastDestroyed     i32     most recently destroyed manual arena index, or -1 (ctl lock)
 * 120..127   arenasDirtyMs     f64     arenas.dirty_decay_ms: default for new arenas
 * 128..135   arenasMuzzyMs     f64     arenas.muzzy_decay_ms
 * 136..139   bgThreads         i32     background_thread enabled (Atomics)
 * 140..143   maxBgThreads      i32     max_background_threads (Atomics)
 * 144..147   ncpus             u32     CPUs assumed at creation (narenas default)
 * 148..151   (reserved)
 * 152..155   bgRegion          u32     background threads' region in b0 (src/background/layout.ts), 0 until
 *                                      first enabled; published once with Atomics.compareExchange
 * 156..159   bgNthreads        i32     n_background_threads: workers started and not yet joined (Atomics)
 * 160..163   bgNinfo           u32     thread records in the region (opt.max_background_threads)
 * 164..167   mapFloor          u32     residue mod hugepage of the OS's lowest mapping (pages.ts, map lock)
 * 168..171   mapGapTop         u32     start of the highest unused gap below the top, 0 = none (pages.ts)
 * 172..175   flags             u32     creation choices every worker follows (HDR_FLAG_*)
 * 176..179   profRegion        u32     heap profiling's region in b0 (src/prof/layout.ts), 0 when opt.prof is off
 * 180..183   confExt           u32     conf strings too long for their slots, or 0 (src/heap/conf_store.ts)
 * 184..191   statsIntervalAccum i64   opt.stats_interval's byte accumulator (ctx/events.ts, Atomics)
 * 192..383   locks             LOCK_BYTES each: map, ctl, arenas
 * 384..387   tcachesTable      u32     explicit tcache table (b0), 0 until the first tcache.create
 * 388..391   tcachesPast       u32     indices ever handed out
 * 392..395   tcachesAvail      i32     head of the destroyed-index list, -1 = none
 * 448..511   tcaches lock      LOCK_BYTES
 * 1024..3071 confEmbed         utf-8   embedded malloc_conf (config.malloc_conf)
 * 3072..5119 confEnv           utf-8   JEMALLOC_TS_MALLOC_CONF as read by the creator
 * ╘═════════════════════════════════════════════════════╛
 * Then, in order, each 8-byte aligned: the arena table (ARENAS_MAX u32 record offsets), the page-map
 * root (u32 leaf offsets), the thread registry (src/sync/slots) and the per-thread records
 * (THREAD_BYTES each, from a THREAD_ALIGN boundary). The whole header is rounded up to a page.
 */

import { alignUp } from "../layout/index.js";
import { LOCK_BYTES, slotsRegionWords } from "../sync/index.js";

export const HEAP_MAGIC = 0x4a455453; // "JETS"
/** 2: a lock's state word holds its owner tag (src/sync/layout.ts). */
export const LAYOUT_VERSION = 2;

export const HDR_MAGIC_B = 0;
export const HDR_VERSION_B = 4;
export const HDR_LG_QUANTUM_B = 8;
export const HDR_LG_PAGE_B = 12;
export const HDR_LG_HUGEPAGE_B = 16;
export const HDR_LG_VADDR_B = 20;
export const HDR_MAX_BYTES_B = 24;
export const HDR_TOP_B = 32;
export const HDR_HEADER_BYTES_B = 40;
export const HDR_NSLOTS_B = 44;
export const HDR_POISON_B = 48;
export const HDR_SHARED_B = 52;
export const HDR_NARENAS_AUTO_B = 56;
export const HDR_NARENAS_TOTAL_B = 60;
export const HDR_HUGE_ARENA_B = 64;
export const HDR_EPOCH_B = 72;
export const HDR_CLOCK_ORIGIN_B = 80;
export const HDR_ZERO_REALLOCS_B = 88;
export const HDR_CONF_EMBED_LEN_B = 96;
export const HDR_CONF_ENV_LEN_B = 100;
export const HDR_VIRTUAL_NOW_B = 104;
export const HDR_BASE0_B = 112;
export const HDR_LAST_DESTROYED_B = 116;
export const HDR_ARENAS_DIRTY_MS_B = 120;
export const HDR_ARENAS_MUZZY_MS_B = 128;
export const HDR_BG_THREADS_B = 136;
export const HDR_MAX_BG_THREADS_B = 140;
export const HDR_NCPUS_B = 144;
export const HDR_BG_REGION_B = 152;
export const HDR_BG_NTHREADS_B = 156;
export const HDR_BG_NINFO_B = 160;
export const HDR_MAP_FLOOR_B = 164;
export const HDR_MAP_GAP_TOP_B = 168;
export const HDR_FLAGS_B = 172;
/** Statistics counters off (Heap.create({ stats: false }) / JEMALLOC_TS_STATS=0). */
export const HDR_FLAG_NO_STATS = 1;
/** Forced purges zero-fill the pages (Heap.create({ zeroOnPurge: true })). */
export const HDR_FLAG_ZERO_ON_PURGE = 2;
/** Debug mode, jemalloc's --enable-debug (Heap.create({ debug: true }) / JEMALLOC_TS_DEBUG=1). */
export const HDR_FLAG_DEBUG = 4;
export const HDR_PROF_REGION_B = 176;
/** Conf strings too long for their header slots: offset of their block (src/heap/conf_store.ts), or 0. */
export const HDR_CONF_EXT_B = 180;
/** opt.stats_interval's byte accumulator over all threads (i64, Atomics). */
export const HDR_STATS_INTERVAL_ACCUM_B = 184;
export const HDR_LOCKS_B = 192;
export { LOCK_BYTES };
export const HDR_LOCK_MAP_B = HDR_LOCKS_B;
export const HDR_LOCK_CTL_B = HDR_LOCK_MAP_B + LOCK_BYTES;
export const HDR_LOCK_ARENAS_B = HDR_LOCK_CTL_B + LOCK_BYTES;
/** Explicit thread caches (tcache.create): table of [record, nextAvail] pairs carved from b0. */
export const HDR_TCACHES_TABLE_B = 384;
export const HDR_TCACHES_PAST_B = 388;
export const HDR_TCACHES_AVAIL_B = 392;
export const HDR_LOCK_TCACHES_B = 448;
export const HDR_CONF_EMBED_B = 1024;
export const HDR_CONF_MAX_BYTES = 2048;
export const HDR_CONF_ENV_B = HDR_CONF_EMBED_B + HDR_CONF_MAX_BYTES;
export const HDR_FIXED_BYTES = HDR_CONF_ENV_B + HDR_CONF_MAX_BYTES;

/** Arena indices are below MALLOCX_ARENA_LIMIT (4095); the table has room for all of them. */
export const ARENAS_MAX = 4096;

/**
 * Per-thread record (one per slot), owned by its thread while the slot is ACTIVE.
 *  bytes  field        units   meaning
 *   0..3  arena        i32     chosen arena index, -1 = not chosen yet
 *   4..7  tcache       u32     the thread's tcache record (0 = none)
 *   8..15 allocated    f64     thread.allocated
 *  16..23 deallocated  f64     thread.deallocated
 *  24..27 lastError    u32     errno of the last failed call (ENOMEM / EINVAL)
 *  28..31 tcacheOn     u32     thread.tcache.enabled
 *  32..35 binshardSel  u32     shard selector taken from arena.binshard_next
 *  40..47 gcAllocNext  f64     thread.allocated value at which the next tcache GC event fires
 *  48..55 gcDallocNext f64     thread.deallocated value for the dalloc GC event
 *  56..59 nodeThreadId u32     worker_threads.threadId of the owning agent (for heap.watch)
 *  60..63 tcacheTransit u32    an explicit cache this thread is destroying (0 = none): still counted
 *                              as internal, so a reclaim finishes it if the thread dies meanwhile
 *  64..67 internalBlock u32    an internal block this thread holds (malloc_stats_print's buffer;
 *                              0 = none): counted as internal, freed by a reclaim (arena/internal.ts)
 *  68..127 (padding)
 * The fast paths write allocated/deallocated on every call: records are 128 bytes and 128-byte
 * aligned so no two threads' records share a cache line pair (x86 prefetches lines in pairs); two
 * workers in adjacent slots otherwise run about twice as slowly.
 */
export const THREAD_BYTES = 128;
/** Alignment of the per-thread record array (a cache line pair). */
export const THREAD_ALIGN = 128;
export const THREAD_ARENA_B = 0;
export const THREAD_TCACHE_B = 4;
export const THREAD_ALLOCATED_B = 8;
export const THREAD_DEALLOCATED_B = 16;
export const THREAD_LAST_ERROR_B = 24;
export const THREAD_TCACHE_ON_B = 28;
export const THREAD_BINSHARD_B = 32;
export const THREAD_GC_ALLOC_NEXT_B = 40;
export const THREAD_GC_DALLOC_NEXT_B = 48;
export const THREAD_NODE_TID_B = 56;
export const THREAD_TCACHE_TRANSIT_B = 60;
export const THREAD_INTERNAL_BLOCK_B = THREAD_TCACHE_TRANSIT_B + 4;

/** Page map geometry: 2 levels; a leaf covers 2^RTREE_LEAF_BITS pages. */
export const RTREE_LEAF_BITS = 10;

export interface HeaderLayout {
  arenaTableB: number;
  rtreeRootB: number;
  rtreeRootEntries: number;
  slotsB: number;
  threadsB: number;
  headerBytes: number;
}

export function headerLayout(lgPage: number, lgVaddr: number, nslots: number): HeaderLayout {
  const arenaTableB = HDR_FIXED_BYTES;
  const rtreeRootB = alignUp(arenaTableB + ARENAS_MAX * 4, 8);
  const pageBits = lgVaddr - lgPage;
  const rootBits = Math.max(0, pageBits - RTREE_LEAF_BITS);
  const rtreeRootEntries = 2 ** rootBits;
  const slotsB = alignUp(rtreeRootB + rtreeRootEntries * 4, 8);
  const threadsB = alignUp(slotsB + slotsRegionWords(nslots) * 4, THREAD_ALIGN);
  const end = threadsB + nslots * THREAD_BYTES;
  return {
    arenaTableB,
    rtreeRootB,
    rtreeRootEntries,
    slotsB,
    threadsB,
    headerBytes: alignUp(end, 2 ** lgPage),
  };
}
