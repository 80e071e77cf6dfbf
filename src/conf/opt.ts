// The option table: every `opt.*` leaf of jemalloc 5.3, its C type, default and
// how malloc_conf parses it; plus the build configuration of this port.
//
// What it is: pure data. conf.ts walks it to parse malloc_conf; tree.ts walks it
// to build the read-only `opt.*` subtree. The order of OPT_TABLE is the order of
// jemalloc's opt_node[] (so `OPT_TABLE[k]` has MIB 6.k).
//
// Invariants: one entry per opt leaf of mallctl-5.3.tsv, same order, same C type.
// Defaults here are the values *before* boot (`narenas` 0 = "default", `thp`
// "default", `max_background_threads` 4096 = "unset"); conf.ts applies jemalloc's
// boot steps, so `opt.*` reads what took effect (see conf.ts `bootOptions`).
//
// Synchronization: none (constant data). Error convention: none thrown here.
//
// Value typing (JS type of each C type, in OptValues and through mallctl):
//   bool → boolean; unsigned, uint32_t, fxp_t (raw 16.16 bits) → number;
//   size_t, ssize_t → number (exact up to 2^53; larger values, reachable only by
//   absurd settings such as `tcache_gc_delay_bytes:-1`, are kept as the largest
//   double not above the value); uint64_t, int64_t → bigint; const char * → string.

import {
  BUILD_FEATURES,
  type BuildFeature,
  type ConfExtraSpec,
  type OptBound,
  type OptEnv,
  type OptParser,
  type OptSpec,
  type OptValues,
} from "./opt_spec.js";

export {
  BUILD_CONFIG,
  BUILD_FEATURES,
  type BuildConfig,
  type BuildFeature,
  type ConfExtraSpec,
  type OptBound,
  type OptCType,
  type OptEnv,
  type OptName,
  type OptParser,
  type OptSpec,
  type OptValues,
  PLATFORM_SUPPORT,
} from "./opt_spec.js";

// --- constants of jemalloc 5.3 (64-bit build) ---------------------------------------------

export const UINT32_MAX_N = 0xffffffffn;
export const UINT64_MAX_N = 0xffffffffffffffffn;
export const INT64_MAX_N = 0x7fffffffffffffffn;
/** SC_LARGE_MAXCLASS of a 64-bit build: 7 × 2^60. */
export const LARGE_MAXCLASS_N = 7n << 60n;
/** TCACHE_LG_MAXCLASS_LIMIT / TCACHE_MAXCLASS_LIMIT (8 MiB). */
export const TCACHE_LG_MAXCLASS_LIMIT = 23;
export const TCACHE_MAXCLASS_LIMIT = 1 << TCACHE_LG_MAXCLASS_LIMIT;
/** NSTIME_SEC_MAX × 1000: the largest decay time in ms. */
export const DECAY_MS_MAX_N = (UINT64_MAX_N / 1_000_000_000n) * 1000n;
/** MALLOCX_ARENA_LIMIT: arena indices must stay below it. */
export const MALLOCX_ARENA_LIMIT = 4095;
/** MAX_BACKGROUND_THREAD_LIMIT (= MALLOCX_ARENA_LIMIT) and the boot default. */
export const MAX_BACKGROUND_THREAD_LIMIT = MALLOCX_ARENA_LIMIT;
export const DEFAULT_NUM_BACKGROUND_THREAD = 4;
/** OVERSIZE_THRESHOLD_DEFAULT: opt.oversize_threshold's default, 8 MiB. */
export const OVERSIZE_THRESHOLD_DEFAULT = 8 * 1024 * 1024;
/** BIN_SHARDS_MAX (2^EDATA_BITS_BINSHARD_WIDTH). */
export const BIN_SHARDS_MAX = 64;
/** FXP_INIT_INT(4): the default narenas_ratio. */
export const NARENAS_RATIO_DEFAULT_FXP = 4 << 16;

/** Stats print option letters (STATS_PRINT_OPTIONS), valid in stats_*_opts. */
export const STATS_PRINT_OPTION_CHARS = "Jgmdablxeh";

/** jemalloc's name tables used by the string options. */
export const METADATA_THP_MODE_NAMES = ["disabled", "auto", "always"] as const;
export const DSS_PREC_NAMES = ["disabled", "primary", "secondary"] as const;
export const PERCPU_ARENA_MODE_NAMES = ["percpu", "phycpu", "disabled"] as const;
/** thp_mode_names; the fourth is what opt.thp reads without THP support. */
export const THP_MODE_NAMES = ["default", "always", "never"] as const;
export const THP_MODE_NOT_SUPPORTED = "not supported";
export const JUNK_VALUES = ["true", "false", "alloc", "free"] as const;
export const ZERO_REALLOC_VALUES = ["alloc", "free", "abort"] as const;
export const PROF_TIME_RES_NAMES = ["default", "high"] as const;

// --- parser shorthands -------------------------------------------------------------------

const BOOL: OptParser = { kind: "bool" };
const NONE: OptParser = { kind: "none" };

function u(
  bits: 32 | 64,
  min: OptBound,
  max: OptBound,
  checkMin: boolean,
  checkMax: boolean,
  clip: boolean,
): OptParser {
  return { kind: "unsigned", bits, min, max, checkMin, checkMax, clip };
}

/** CONF_HANDLE_SSIZE_T / CONF_HANDLE_INT64_T: intmax read, never clips here. */
function s(min: OptBound, max: OptBound, checkMax = true): OptParser {
  return { kind: "signed", min, max, checkMin: true, checkMax, clip: false };
}

function custom(note: string): OptParser {
  return { kind: "custom", note };
}

const pageOf = (e: OptEnv): number => 2 ** e.lgPage;
const hugepageOf = (e: OptEnv): number => 2 ** e.lgHugepage;

// --- the table, in opt_node[] order (MIB 6.k) ---------------------------------------------

export const OPT_TABLE: readonly OptSpec[] = [
  { name: "abort", ctype: "bool", parser: BOOL, initial: () => false },
  { name: "abort_conf", ctype: "bool", parser: BOOL, initial: () => false },
  { name: "cache_oblivious", ctype: "bool", parser: NONE, initial: () => true },
  { name: "trust_madvise", ctype: "bool", parser: BOOL, initial: () => false },
  { name: "confirm_conf", ctype: "bool", parser: BOOL, initial: () => false },
  { name: "hpa", ctype: "bool", parser: BOOL, initial: () => false },
  {
    name: "hpa_slab_max_alloc",
    ctype: "size_t",
    parser: u(64, "PAGE", "HUGEPAGE", true, true, true),
    initial: () => 64 * 1024,
  },
  {
    name: "hpa_hugification_threshold",
    ctype: "size_t",
    parser: u(64, "PAGE", "HUGEPAGE", true, true, true),
    initial: (e) => Math.floor((hugepageOf(e) * 95) / 100),
  },
  {
    name: "hpa_hugify_delay_ms",
    ctype: "uint64_t",
    parser: u(64, 0n, 0n, false, false, false),
    initial: () => 10_000n,
  },
  {
    name: "hpa_min_purge_interval_ms",
    ctype: "uint64_t",
    parser: u(64, 0n, 0n, false, false, false),
    initial: () => 5_000n,
  },
  {
    name: "hpa_dirty_mult",
    ctype: "fxp_t",
    parser: custom("`-1` → 0xffffffff, else a fixed-point number (fxp_parse)"),
    initial: () => (25 << 16) / 100,
  },
  { name: "hpa_sec_nshards", ctype: "size_t", parser: u(64, 0n, 0n, true, false, true), initial: () => 4 },
  {
    name: "hpa_sec_max_alloc",
    ctype: "size_t",
    parser: u(64, "PAGE", 0n, true, false, true),
    initial: (e) => Math.max(32 * 1024, pageOf(e)),
  },
  {
    name: "hpa_sec_max_bytes",
    ctype: "size_t",
    parser: u(64, "PAGE", 0n, true, false, true),
    initial: () => 256 * 1024,
  },
  {
    name: "hpa_sec_bytes_after_flush",
    ctype: "size_t",
    parser: u(64, "PAGE", 0n, true, false, true),
    initial: () => 128 * 1024,
  },
  {
    name: "hpa_sec_batch_fill_extra",
    ctype: "size_t",
    parser: u(64, 0n, "HUGEPAGE_PAGES", true, true, true),
    initial: () => 0,
  },
  {
    name: "metadata_thp",
    ctype: "const char *",
    parser: custom("key and value matched by prefix; disabled|auto|always"),
    initial: () => "disabled",
  },
  { name: "retain", ctype: "bool", parser: BOOL, initial: () => true },
  {
    name: "dss",
    ctype: "const char *",
    parser: custom("key and value matched by prefix; only `disabled` can be set without sbrk"),
    initial: () => "secondary",
  },
  {
    name: "narenas",
    ctype: "unsigned",
    parser: custom("`default` → 0 (computed at boot), else unsigned ≥ 1, not clipped"),
    initial: () => 0,
  },
  {
    name: "percpu_arena",
    ctype: "const char *",
    parser: custom("key and value matched by prefix; every value gives `No getcpu support`"),
    initial: () => "disabled",
  },
  {
    name: "oversize_threshold",
    ctype: "size_t",
    parser: u(64, 0n, "LARGE_MAXCLASS", false, true, false),
    initial: () => OVERSIZE_THRESHOLD_DEFAULT,
  },
  { name: "mutex_max_spin", ctype: "int64_t", parser: s(-1n, INT64_MAX_N, false), initial: () => 600n },
  { name: "background_thread", ctype: "bool", parser: BOOL, initial: () => false },
  {
    name: "max_background_threads",
    ctype: "size_t",
    parser: u(64, 1n, "CURRENT", true, true, true),
    initial: () => MAX_BACKGROUND_THREAD_LIMIT + 1,
  },
  { name: "dirty_decay_ms", ctype: "ssize_t", parser: s(-1n, DECAY_MS_MAX_N), initial: () => 10_000 },
  { name: "muzzy_decay_ms", ctype: "ssize_t", parser: s(-1n, DECAY_MS_MAX_N), initial: () => 0 },
  { name: "stats_print", ctype: "bool", parser: BOOL, initial: () => false },
  {
    name: "stats_print_opts",
    ctype: "const char *",
    parser: custom("valid stats letters appended, repeats ignored"),
    initial: () => "",
  },
  { name: "stats_interval", ctype: "int64_t", parser: s(-1n, INT64_MAX_N, false), initial: () => -1n },
  {
    name: "stats_interval_opts",
    ctype: "const char *",
    parser: custom("valid stats letters appended, repeats ignored"),
    initial: () => "",
  },
  {
    name: "junk",
    ctype: "const char *",
    feature: "fill",
    parser: { kind: "enum", values: JUNK_VALUES },
    initial: () => "false",
  },
  { name: "zero", ctype: "bool", feature: "fill", parser: BOOL, initial: () => false },
  { name: "utrace", ctype: "bool", feature: "utrace", parser: BOOL, initial: () => false },
  { name: "xmalloc", ctype: "bool", feature: "xmalloc", parser: BOOL, initial: () => false },
  { name: "experimental_infallible_new", ctype: "bool", feature: "cxx", parser: BOOL, initial: () => false },
  { name: "tcache", ctype: "bool", parser: BOOL, initial: () => true },
  {
    name: "tcache_max",
    ctype: "size_t",
    parser: u(64, 0n, BigInt(TCACHE_MAXCLASS_LIMIT), false, true, true),
    initial: () => 1 << 15,
  },
  {
    name: "tcache_nslots_small_min",
    ctype: "unsigned",
    parser: u(32, 1n, 2048n, true, true, true),
    initial: () => 20,
  },
  {
    name: "tcache_nslots_small_max",
    ctype: "unsigned",
    parser: u(32, 1n, 2048n, true, true, true),
    initial: () => 200,
  },
  {
    name: "tcache_nslots_large",
    ctype: "unsigned",
    parser: u(32, 1n, 2048n, true, true, true),
    initial: () => 20,
  },
  { name: "lg_tcache_nslots_mul", ctype: "ssize_t", parser: s(-16n, 16n), initial: () => 1 },
  {
    name: "tcache_gc_incr_bytes",
    ctype: "size_t",
    parser: u(64, 1024n, 0n, true, false, true),
    initial: () => 65536,
  },
  {
    name: "tcache_gc_delay_bytes",
    ctype: "size_t",
    parser: u(64, 0n, 0n, false, false, false),
    initial: () => 0,
  },
  {
    name: "lg_tcache_flush_small_div",
    ctype: "unsigned",
    parser: u(32, 1n, 16n, true, true, true),
    initial: () => 1,
  },
  {
    name: "lg_tcache_flush_large_div",
    ctype: "unsigned",
    parser: u(32, 1n, 16n, true, true, true),
    initial: () => 1,
  },
  {
    name: "thp",
    ctype: "const char *",
    parser: custom("value matched by prefix; every value gives `No THP support`; reads `not supported`"),
    initial: () => "default",
  },
  {
    name: "lg_extent_max_active_fit",
    ctype: "size_t",
    parser: u(64, 0n, 64n, false, true, false),
    initial: () => 6,
  },
  { name: "prof", ctype: "bool", feature: "prof", parser: BOOL, initial: () => false },
  {
    name: "prof_prefix",
    ctype: "const char *",
    feature: "prof",
    parser: custom("raw string, truncated to PATH_MAX"),
    initial: () => "jeprof",
  },
  { name: "prof_active", ctype: "bool", feature: "prof", parser: BOOL, initial: () => true },
  { name: "prof_thread_active_init", ctype: "bool", feature: "prof", parser: BOOL, initial: () => true },
  {
    name: "lg_prof_sample",
    ctype: "size_t",
    feature: "prof",
    parser: u(64, 0n, 63n, false, true, true),
    initial: () => 19,
  },
  { name: "lg_prof_interval", ctype: "ssize_t", feature: "prof", parser: s(-1n, 63n), initial: () => -1 },
  { name: "prof_gdump", ctype: "bool", feature: "prof", parser: BOOL, initial: () => false },
  { name: "prof_final", ctype: "bool", feature: "prof", parser: BOOL, initial: () => false },
  { name: "prof_leak", ctype: "bool", feature: "prof", parser: BOOL, initial: () => false },
  { name: "prof_leak_error", ctype: "bool", feature: "prof", parser: BOOL, initial: () => false },
  { name: "prof_accum", ctype: "bool", feature: "prof", parser: BOOL, initial: () => false },
  {
    name: "prof_recent_alloc_max",
    ctype: "ssize_t",
    feature: "prof",
    parser: s(-1n, INT64_MAX_N),
    initial: () => 0,
  },
  { name: "prof_stats", ctype: "bool", feature: "prof", parser: BOOL, initial: () => false },
  { name: "prof_sys_thread_name", ctype: "bool", feature: "prof", parser: BOOL, initial: () => false },
  {
    name: "prof_time_resolution",
    ctype: "const char *",
    feature: "prof",
    parser: custom("default|high (high needs a high-resolution timer)"),
    initial: () => "default",
  },
  {
    name: "lg_san_uaf_align",
    ctype: "ssize_t",
    feature: "uaf_detection",
    parser: custom("-1, or clipped to [LG_PAGE, 63]"),
    initial: () => -1,
  },
  {
    name: "zero_realloc",
    ctype: "const char *",
    parser: { kind: "enum", values: ZERO_REALLOC_VALUES },
    initial: () => "free",
  },
];

/** malloc_conf keys that are not `opt.*` leaves. */
export const CONF_EXTRA_KEYS: readonly ConfExtraSpec[] = [
  { key: "narenas_ratio", parser: custom("fixed-point ratio; narenas default = round(ncpus × ratio)") },
  { key: "bin_shards", parser: custom("start-end:nshards|… with 1 ≤ nshards ≤ 64") },
  { key: "slab_sizes", parser: custom("start-end:pages|…, or `default`") },
  { key: "lg_tcache_max", parser: custom("tcache_max = 2^min(v, 23)") },
  {
    key: "hpa_hugification_threshold_ratio",
    parser: custom("fixed point ≤ 1; threshold = HUGEPAGE × ratio"),
  },
  { key: "san_guard_small", parser: u(64, 0n, 0n, false, false, false) },
  { key: "san_guard_large", parser: u(64, 0n, 0n, false, false, false) },
  { key: "prof_log", feature: "prof", parser: BOOL },
  { key: "prof_unbias", feature: "prof", parser: BOOL },
  { key: "log", feature: "log", parser: custom("log variable names") },
];

const OPT_BY_NAME: ReadonlyMap<string, OptSpec> = new Map(OPT_TABLE.map((o) => [o.name, o]));

export function optSpec(name: string): OptSpec | undefined {
  return OPT_BY_NAME.get(name);
}

/** Whether a spec's build feature is present in this port. */
export function featureBuilt(feature: BuildFeature | undefined): boolean {
  return feature === undefined || BUILD_FEATURES[feature];
}

/** The pre-boot option values for a geometry (what parsing starts from). */
export function initialOptValues(env: OptEnv): OptValues {
  const out: Record<string, unknown> = {};
  for (const spec of OPT_TABLE) out[spec.name] = spec.initial(env);
  return out as unknown as OptValues;
}

/** Resolves a symbolic bound for a geometry; `current` is the option's present value. */
export function resolveBound(bound: OptBound, env: OptEnv, current: bigint): bigint {
  switch (bound) {
    case "PAGE":
      return 1n << BigInt(env.lgPage);
    case "HUGEPAGE":
      return 1n << BigInt(env.lgHugepage);
    case "HUGEPAGE_PAGES":
      return 1n << BigInt(env.lgHugepage - env.lgPage);
    case "LARGE_MAXCLASS":
      return LARGE_MAXCLASS_N;
    case "CURRENT":
      return current;
    default:
      return bound;
  }
}

/**
 * Options whose defaults on this port differ from the reference build
 * (Debian's libjemalloc 5.3.0, 2 CPUs: tables/debian-q4-p12-h21.json), and why.
 * "ENOENT" means the leaf answers ENOENT on that side.
 */
export const DOCUMENTED_OPT_DIFFERENCES: Readonly<Record<string, string>> = {
  thp: 'no MADV_HUGEPAGE in a buffer: reads "not supported" (as jemalloc without THP support); reference "default"',
  xmalloc: "built with xmalloc here (reads false); the reference build has no xmalloc (ENOENT)",
  lg_san_uaf_align:
    "built with use-after-free detection here (reads -1, off); the reference build has none (ENOENT)",
};

export interface OptDifference {
  name: string;
  /** Our value, or "ENOENT" when the leaf is not built here. */
  ours: unknown;
  /** The reference value, or "ENOENT" when absent there. */
  reference: unknown;
}

function sameValue(a: unknown, b: unknown): boolean {
  if (typeof a === "bigint" || typeof b === "bigint") {
    try {
      return BigInt(a as bigint | number | string) === BigInt(b as bigint | number | string);
    } catch {
      return false;
    }
  }
  return a === b;
}

/**
 * Lists every opt leaf whose value (as read through `opt.*`) differs from a
 * reference `opt` object such as the `opt` of tables/debian-q4-p12-h21.json
 * (keys missing there count as ENOENT; integers may be numbers or strings).
 */
export function diffOptAgainstReference(
  opt: OptValues,
  reference: Readonly<Record<string, unknown>>,
): OptDifference[] {
  const out: OptDifference[] = [];
  for (const spec of OPT_TABLE) {
    const ours: unknown = featureBuilt(spec.feature) ? opt[spec.name] : "ENOENT";
    const ref: unknown = Object.hasOwn(reference, spec.name) ? reference[spec.name] : "ENOENT";
    if (!sameValue(ours, ref)) out.push({ name: spec.name, ours, reference: ref });
  }
  return out;
}
