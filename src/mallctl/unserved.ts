// The leaves of mallctl-5.3.tsv that answer ENOENT here, and why; and the leaves
// that answer as a jemalloc on a platform without the feature answers.
// (The README's list is generated from these tables; a test keeps them honest.)

/** TSV name (with <i>/<j>) → why it answers ENOENT. */
export const ENOENT_LEAVES: Readonly<Record<string, string>> = {
  "opt.utrace": "utrace(2) does not exist for a buffer: as jemalloc without --enable-utrace",
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
  "experimental.hooks.prof_backtrace":
    "reads null; writing is ENOENT: stacks are JavaScript stacks, there is no native backtrace hook to install",
  "experimental.hooks.prof_dump": "reads null; writing is ENOENT: no native dump hook",
};
