// opt_spec: what an option is — its C type, how its value is parsed, its bounds, the record of all
// option values — and the build configuration (config.*, features built) the table is read against.
// The table itself is opt.ts.

/** The C types of opt leaves. */
export type OptCType =
  | "bool"
  | "unsigned"
  | "size_t"
  | "ssize_t"
  | "uint64_t"
  | "int64_t"
  | "fxp_t"
  | "const char *";

/**
 * Build features an option needs. `fill`: --enable-fill; `prof`: --enable-prof;
 * `utrace`: --enable-utrace; `xmalloc`: --enable-xmalloc; `cxx`: C++ support;
 * `uaf_detection`: --enable-uaf-detection; `log`: --enable-log.
 * Without the feature jemalloc reports the key as `Invalid conf pair` and the
 * leaf answers ENOENT.
 */
export type BuildFeature = "fill" | "prof" | "utrace" | "xmalloc" | "cxx" | "uaf_detection" | "log";

/**
 * What this port is "built with". Decisions:
 * - fill, stats: on (jemalloc's defaults).
 * - prof: on (src/prof: sampled JavaScript stacks, heap_v2 dumps, pprof profiles).
 * - xmalloc: ON — `xmalloc:true` makes allocation failure throw instead of returning 0
 *   (DESIGN.md §4); so `config.xmalloc` is true and `opt.xmalloc` is readable
 *   (the Debian reference build has it off: a documented difference).
 * - cxx: on, as in the reference build: `experimental_infallible_new` is accepted and
 *   readable; it has no effect (there is no operator new here).
 * - uaf_detection: ON — `lg_san_uaf_align` is served in every mode (jemalloc's sampled use-after-free
 *   detection, src/cache_bin/san_uaf.ts); the reference build has it off: a documented difference.
 * - utrace, log, debug, lazy_lock: off.
 */
export const BUILD_FEATURES: Readonly<Record<BuildFeature, boolean>> = {
  fill: true,
  prof: true,
  utrace: false,
  xmalloc: true,
  cxx: true,
  uaf_detection: true,
  log: false,
};

/**
 * Platform support this port lacks, answered as a jemalloc without it answers:
 * no sbrk (dss), no getcpu (percpu_arena), no MADV_HUGEPAGE (thp, metadata_thp),
 * no HPA. Background threads are supported (they are workers).
 */
export const PLATFORM_SUPPORT = {
  dss: false,
  percpuArena: false,
  thp: false,
  hpa: false,
  backgroundThread: true,
} as const;

/** `config.*` values of this build (the mallctl config subtree). */
export interface BuildConfig {
  cache_oblivious: boolean;
  debug: boolean;
  fill: boolean;
  lazy_lock: boolean;
  opt_safety_checks: boolean;
  prof: boolean;
  prof_libgcc: boolean;
  prof_libunwind: boolean;
  stats: boolean;
  utrace: boolean;
  xmalloc: boolean;
}

export const BUILD_CONFIG: Readonly<BuildConfig> = {
  cache_oblivious: true,
  debug: false,
  fill: BUILD_FEATURES.fill,
  lazy_lock: false,
  // jemalloc's default build has it off; our always-on cheap checks do not change
  // what the flag means in jemalloc (the sized-dealloc checks of --enable-opt-safety-checks).
  opt_safety_checks: false,
  prof: BUILD_FEATURES.prof,
  prof_libgcc: false,
  prof_libunwind: false,
  stats: true,
  utrace: BUILD_FEATURES.utrace,
  xmalloc: BUILD_FEATURES.xmalloc,
};

/** One field per `opt.*` leaf, named as jemalloc names it. */
export interface OptValues {
  abort: boolean;
  abort_conf: boolean;
  cache_oblivious: boolean;
  trust_madvise: boolean;
  confirm_conf: boolean;
  hpa: boolean;
  hpa_slab_max_alloc: number;
  hpa_hugification_threshold: number;
  hpa_hugify_delay_ms: bigint;
  hpa_min_purge_interval_ms: bigint;
  /** 16.16 fixed point raw bits; 0xffffffff = -1 (disabled). */
  hpa_dirty_mult: number;
  hpa_sec_nshards: number;
  hpa_sec_max_alloc: number;
  hpa_sec_max_bytes: number;
  hpa_sec_bytes_after_flush: number;
  hpa_sec_batch_fill_extra: number;
  metadata_thp: string;
  retain: boolean;
  dss: string;
  narenas: number;
  percpu_arena: string;
  oversize_threshold: number;
  mutex_max_spin: bigint;
  background_thread: boolean;
  max_background_threads: number;
  dirty_decay_ms: number;
  muzzy_decay_ms: number;
  stats_print: boolean;
  stats_print_opts: string;
  stats_interval: bigint;
  stats_interval_opts: string;
  junk: string;
  zero: boolean;
  utrace: boolean;
  xmalloc: boolean;
  experimental_infallible_new: boolean;
  tcache: boolean;
  tcache_max: number;
  tcache_nslots_small_min: number;
  tcache_nslots_small_max: number;
  tcache_nslots_large: number;
  lg_tcache_nslots_mul: number;
  tcache_gc_incr_bytes: number;
  tcache_gc_delay_bytes: number;
  lg_tcache_flush_small_div: number;
  lg_tcache_flush_large_div: number;
  thp: string;
  lg_extent_max_active_fit: number;
  prof: boolean;
  prof_prefix: string;
  prof_active: boolean;
  prof_thread_active_init: boolean;
  lg_prof_sample: number;
  lg_prof_interval: number;
  prof_gdump: boolean;
  prof_final: boolean;
  prof_leak: boolean;
  prof_leak_error: boolean;
  prof_accum: boolean;
  prof_recent_alloc_max: number;
  prof_stats: boolean;
  prof_sys_thread_name: boolean;
  prof_time_resolution: string;
  lg_san_uaf_align: number;
  zero_realloc: string;
}

export type OptName = keyof OptValues;

/** The build-time geometry some bounds and defaults depend on. */
export interface OptEnv {
  ncpus: number;
  lgPage: number;
  lgHugepage: number;
}

/**
 * A bound of an integer option: a constant, or a symbol resolved from OptEnv
 * (`CURRENT` = the option's value at the moment the pair is parsed, as
 * `max_background_threads` uses).
 */
export type OptBound = bigint | "PAGE" | "HUGEPAGE" | "HUGEPAGE_PAGES" | "LARGE_MAXCLASS" | "CURRENT";

/**
 * How malloc_conf parses a key (jemalloc's CONF_HANDLE_* macros):
 * - bool: exactly `true` / `false`, else Invalid conf value.
 * - unsigned: strtoumax base 0 into uintmax, then min/max checks (each optional);
 *   `clip` clamps silently, otherwise Out-of-range conf value; `bits` is the width
 *   of the C type the value is then cast to (32 for unsigned, 64 for size_t).
 * - signed: the same read as intmax (so `-1` is -1).
 * - enum: value must equal one of `values` exactly.
 * - custom: parsed by a dedicated handler in conf.ts (the note says how).
 * - none: no malloc_conf key (reported as Invalid conf pair).
 */
export type OptParser =
  | { kind: "bool" }
  | {
      kind: "unsigned";
      bits: 32 | 64;
      min: OptBound;
      max: OptBound;
      checkMin: boolean;
      checkMax: boolean;
      clip: boolean;
    }
  | { kind: "signed"; min: OptBound; max: OptBound; checkMin: boolean; checkMax: boolean; clip: boolean }
  | { kind: "enum"; values: readonly string[] }
  | { kind: "custom"; note: string }
  | { kind: "none" };

export interface OptSpec {
  name: OptName;
  ctype: OptCType;
  /** Needed build feature (absent = always built). */
  feature?: BuildFeature;
  parser: OptParser;
  /** Value before boot. */
  initial: (env: OptEnv) => OptValues[OptName];
}

/** A malloc_conf key that is not an opt leaf. */
export interface ConfExtraSpec {
  key: string;
  feature?: BuildFeature;
  parser: OptParser;
}
