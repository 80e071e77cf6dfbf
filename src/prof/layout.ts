/**
 * layout: where heap profiling keeps its state in the buffer (jemalloc's prof globals, bt2gctx,
 * tdata/tctx tables and the per-allocation prof_info). Everything is carved from b0 when a heap is
 * created with opt.prof, so a dump from any worker sees every worker's samples, and the samples of a
 * worker that has exited stay until their blocks are freed.
 *
 * Header word HDR_PROF_REGION_B (src/layout/header.ts reserved area) holds the region's offset, 0 when
 * profiling is off; it is published once with Atomics.compareExchange.
 *
 * ╒════════════ Region (REGION_BYTES + nslots × PT_BYTES), one per heap ════════════╕
 *  bytes       field          units   meaning / sync
 *   0..63      lock                   the prof lock: every table below (jemalloc's bt2gctx_mtx + tdata locks)
 *  64..67      active         i32     prof.active (Atomics)
 *  68..71      gdump          i32     prof.gdump (Atomics)
 *  72..75      threadActInit  i32     prof.thread_active_init (Atomics)
 *  76..79      lgSample       u32     prof.lg_sample: the current sampling rate (lock)
 *  80..83      dumpSeq        u32     prof_dump_seq: <seq> of automatic file names (lock)
 *  84..87      dumpMseq       u32     <mseq> of prof.dump names (lock)
 *  88..91      dumpIseq       u32     <iseq> of interval dumps (lock)
 *  92..95      dumpUseq       u32     <useq> of gdump dumps (lock)
 *  96..99      strBuckets     u32     interned strings: bucket array (STR_NBUCKETS words)
 * 100..103     stackBuckets   u32     interned stacks (gctx): bucket array
 * 104..107     tctxBuckets    u32     (stack, thread) counters: bucket array
 * 108..111     allocBuckets   u32     sampled allocations by address: bucket array
 * 112..115     allocFree      u32     free list of allocation records
 * 116..119     tctxList       u32     every tctx record, newest first (dump order is sorted later)
 * 120..123     nstrings       u32     strings interned so far (a string's id: its synthetic address)
 * 124..127     unbias         u32     opt_prof_unbias
 * 128..131     recentMax      i32     experimental.prof_recent.alloc_max (lock)
 * 132..135     prefixLen      u32     prof.prefix bytes (lock)
 * 136..143     intervalAcc    f64     bytes allocated since the last interval dump (lock)
 * 144..151     gdumpPeak      f64     highest stats.active seen by gdump (lock)
 * 152..155     statsTable     u32     prof_stats: (live req, live n, accum req, accum n) f64 per size class
 * 156..159     tdataList      u32     thread-name records
 * 160..4255    prefix         utf-8   prof.prefix (PREFIX_MAX bytes)
 * 4256..       threads[nslots]        per-slot sampling state (PT_* below)
 * ╘═════════════════════════════════════════════════════════════════════════════════════╛
 */
import { LOCK_BYTES } from "../ctx/header.js";

export const PROF_LOCK_B = 0;
export const PROF_ACTIVE_B = 64;
export const PROF_GDUMP_B = 68;
export const PROF_THREAD_ACTIVE_INIT_B = 72;
export const PROF_LG_SAMPLE_B = 76;
export const PROF_DUMP_SEQ_B = 80;
export const PROF_DUMP_MSEQ_B = 84;
export const PROF_DUMP_ISEQ_B = 88;
export const PROF_DUMP_USEQ_B = 92;
export const PROF_STR_BUCKETS_B = 96;
export const PROF_STACK_BUCKETS_B = 100;
export const PROF_TCTX_BUCKETS_B = 104;
export const PROF_ALLOC_BUCKETS_B = 108;
export const PROF_ALLOC_FREE_B = 112;
export const PROF_TCTX_LIST_B = 116;
export const PROF_NSTRINGS_B = 120;
export const PROF_UNBIAS_B = 124;
export const PROF_RECENT_MAX_B = 128;
export const PROF_PREFIX_LEN_B = 132;
export const PROF_INTERVAL_ACC_B = 136;
export const PROF_GDUMP_PEAK_B = 144;
export const PROF_STATS_TABLE_B = 152;
export const PROF_TDATA_LIST_B = 156;
export const PROF_PREFIX_B = 160;
export const PROF_PREFIX_MAX = 4096;
export const PROF_THREADS_B = PROF_PREFIX_B + PROF_PREFIX_MAX;
export const PROF_REGION_BYTES = PROF_THREADS_B;

if (LOCK_BYTES > PROF_ACTIVE_B) throw new Error("prof layout: the lock does not fit its field");

/**
 * Per-slot sampling state (PT_BYTES), owned by the slot's thread; reset when a thread takes the slot.
 *  0..7    sampleNext   f64  thread.allocated value at which the next sample is taken
 *  8..15   (reserved)   the thread's earliest event is THREAD_GC_ALLOC_NEXT_B (src/ctx/events.ts)
 *  16..23  prng         u64  the thread's PRNG (tsd prng_state), two i32 words
 *  24..27  active       u32  thread.prof.active
 *  28..31  tid          u32  the thread id that owns the state
 *  32..39  lastEvent    f64  thread.allocated at the previous event (interval-dump accounting)
 *  40..63  spares       u32×6 freed promoted extents kept for the next samples, 0 = none (./spare.ts)
 */
export const PT_BYTES = 64;
export const PT_SAMPLE_NEXT_B = 0;
export const PT_PRNG_B = 16;
export const PT_ACTIVE_B = 24;
export const PT_TID_B = 28;
export const PT_LAST_EVENT_B = 32;
export const PT_SPARES_B = 40;
export const PT_NSPARES = 6;

/** Bucket counts (powers of two). */
export const STR_NBUCKETS = 4096;
export const STACK_NBUCKETS = 4096;
export const TCTX_NBUCKETS = 4096;
export const ALLOC_NBUCKETS = 16384;

/**
 * Interned string: 0 next (bucket chain), 4 hash, 8 id, 12 byte length, 16.. utf-8 bytes.
 * A frame is one string: "function (file:line:column)".
 */
export const STR_NEXT_B = 0;
export const STR_HASH_B = 4;
export const STR_ID_B = 8;
export const STR_LEN_B = 12;
export const STR_BYTES_B = 16;

/** Interned stack (gctx): 0 next, 4 hash, 8 nframes, 12.. frame string offsets (innermost first). */
export const STACK_NEXT_B = 0;
export const STACK_HASH_B = 4;
export const STACK_NFRAMES_B = 8;
export const STACK_FRAMES_B = 12;

/**
 * tctx: one (stack, thread) pair's counters, as jemalloc's prof_cnt_t.
 *  0 next (bucket chain), 4 stack, 8 tid, 12 allNext, then f64 counters from 16.
 */
export const TCTX_NEXT_B = 0;
export const TCTX_STACK_B = 4;
export const TCTX_TID_B = 8;
export const TCTX_ALL_NEXT_B = 12;
export const TCTX_CUROBJS_B = 16;
export const TCTX_CUROBJS_SHIFTED_B = 24;
export const TCTX_CURBYTES_B = 32;
export const TCTX_CURBYTES_UNBIASED_B = 40;
export const TCTX_ACCUMOBJS_B = 48;
export const TCTX_ACCUMOBJS_SHIFTED_B = 56;
export const TCTX_ACCUMBYTES_B = 64;
export const TCTX_ACCUMBYTES_UNBIASED_B = 72;
export const TCTX_BYTES = 80;

/** A sampled allocation (prof_info): 0 next, 4 ptr, 8 tctx, 12 usize, 16 requested size. */
export const ALLOC_NEXT_B = 0;
export const ALLOC_PTR_B = 4;
export const ALLOC_TCTX_B = 8;
export const ALLOC_USIZE_B = 12;
export const ALLOC_SIZE_B = 16;
export const ALLOC_BYTES = 24;
/** Allocation records carved from b0 at a time. */
export const ALLOC_CHUNK = 256;

/** Thread name record: 0 next, 4 tid, 8 name string (an interned string), 12 reserved. */
export const TDATA_NEXT_B = 0;
export const TDATA_TID_B = 4;
export const TDATA_NAME_B = 8;
export const TDATA_BYTES = 16;

/** prof_stats per size class: live req_sum, live count, accum req_sum, accum count (f64 each). */
export const PSTATS_BYTES = 32;

/** SC_LG_TINY_MIN: counts are kept shifted by this (prof_shifted_unbiased_cnt). */
export const LG_TINY_MIN = 3;
