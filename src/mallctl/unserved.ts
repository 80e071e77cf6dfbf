// The leaves of mallctl-5.3.tsv that answer ENOENT here, and why; and the leaves
// that answer as a jemalloc on a platform without the feature answers.
// (The README's list is generated from these tables; a test keeps them honest.)

const PROF = "heap profiling is not built yet: answers as jemalloc configured without --enable-prof";

/** TSV name (with <i>/<j>) → why it answers ENOENT. */
export const ENOENT_LEAVES: Readonly<Record<string, string>> = {
  "thread.prof.name": PROF,
  "thread.prof.active": PROF,
  "opt.utrace": "utrace(2) does not exist for a buffer: as jemalloc without --enable-utrace",
  "opt.prof": PROF,
  "opt.prof_prefix": PROF,
  "opt.prof_active": PROF,
  "opt.prof_thread_active_init": PROF,
  "opt.lg_prof_sample": PROF,
  "opt.lg_prof_interval": PROF,
  "opt.prof_gdump": PROF,
  "opt.prof_final": PROF,
  "opt.prof_leak": PROF,
  "opt.prof_leak_error": PROF,
  "opt.prof_accum": PROF,
  "opt.prof_recent_alloc_max": PROF,
  "opt.prof_stats": PROF,
  "opt.prof_sys_thread_name": PROF,
  "opt.prof_time_resolution": PROF,
  "opt.lg_san_uaf_align": "no use-after-free detection: as jemalloc without --enable-uaf-detection",
  "prof.thread_active_init": PROF,
  "prof.active": PROF,
  "prof.dump": PROF,
  "prof.gdump": PROF,
  "prof.prefix": PROF,
  "prof.reset": PROF,
  "prof.interval": PROF,
  "prof.lg_sample": PROF,
  "prof.log_start": PROF,
  "prof.log_stop": PROF,
  "prof.stats.bins.<i>.live": PROF,
  "prof.stats.bins.<i>.accum": PROF,
  "prof.stats.lextents.<i>.live": PROF,
  "prof.stats.lextents.<i>.accum": PROF,
  "experimental.prof_recent.alloc_max": PROF,
  "experimental.prof_recent.alloc_dump": PROF,
};

/** Leaves served with the answers of a jemalloc on a platform without the feature. */
export const PLATFORM_ANSWERS: Readonly<Record<string, string>> = {
  "arena.<i>.dss":
    'no sbrk(2) in a buffer: reads "disabled"; writing "primary"/"secondary" is EFAULT (jemalloc without dss)',
  "stats.arenas.<i>.dss": 'reads "disabled" (merged: "N/A"), as jemalloc without dss',
  "opt.dss": 'reads the option as given (default "secondary"); only dss:disabled is accepted in malloc_conf',
  "opt.percpu_arena": 'no getcpu: reads "disabled"; other values give `No getcpu support`',
  "opt.thp": 'no MADV_HUGEPAGE: reads "not supported"',
  "opt.metadata_thp": "reads the option; metadata never uses huge pages (stats.metadata_thp is 0)",
  "stats.metadata_thp": "0: no transparent huge pages",
  "stats.arenas.<i>.metadata_thp": "0: no transparent huge pages",
  "opt.hpa": "false: no HPA (hpa:true gives jemalloc's `HPA not supported` notice)",
  "stats.arenas.<i>.hpa_shard.*": "all 0 (no HPA), as a jemalloc with opt.hpa off",
  "stats.arenas.<i>.hpa_sec_bytes": "0 (no HPA)",
  "stats.arenas.<i>.mutexes.hpa_*": "all 0 (no HPA locks)",
  "stats.arenas.<i>.tcache_stashed_bytes": "0: no use-after-free stash",
  "experimental.hooks.prof_backtrace": "reads null; writing is ENOENT (opt.prof is off)",
  "experimental.hooks.prof_dump": "reads null; writing is ENOENT (opt.prof is off)",
};
