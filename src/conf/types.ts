// conf types: what malloc_conf parsing takes (sources, options) and gives (ConfResult).
import type { OptValues } from "./opt.js";

/** One malloc_conf source; `text: null` = "no configuration specified". */
export interface ConfSource {
  /** Printed by confirm_conf: `malloc_conf #N (<label>): "<text>"`. */
  label: string;
  text: string | null;
}

export interface ConfOptions {
  /** CPUs, for the narenas default (4 × ncpus when ncpus > 1, else 1). */
  ncpus: number;
  /** log2 of the page size (12 = 4 KiB). Default 12. */
  lgPage?: number;
  /** log2 of the huge page size (21 = 2 MiB). Default 21. */
  lgHugepage?: number;
  /** Receives each message; default writes to stderr. */
  writer?: (msg: string) => void;
}

/** A `slab_sizes` segment: size classes in [start, end] get `pages` (the C `(int)` cast applied). */
export interface SlabSizeSetting {
  start: number;
  end: number;
  pages: number;
}

/** A `bin_shards` segment: size classes in [start, end] get `nshards` (1..64). */
export interface BinShardSetting {
  start: number;
  end: number;
  nshards: number;
}

export interface ConfResult {
  /** Every opt.* value as read after boot. */
  opt: OptValues;
  /** Number of errors that count for abort_conf (experimental_ keys do not count). */
  errors: number;
  /** jemalloc's had_conf_error: also set by structural errors of the first pass. */
  hadConfError: boolean;
  /** Every message written, in order. */
  messages: string[];
  /** Automatic arenas after defaulting and the MALLOCX_ARENA_LIMIT cap. */
  narenasAuto: number;
  /** Whether an arena index is reserved for huge (≥ oversize_threshold) requests. */
  hugeArena: boolean;
  /** Threshold used by allocation: opt value, or LARGE_MAXCLASS + PAGE when the huge arena is off. */
  oversizeThresholdEffective: number;
  /**
   * lg of prof_interval (bytes between interval dumps), or -1 when there are none: set only when
   * opt.prof was given; profiling turned on by prof_leak dumps nothing by itself (prof_boot1).
   */
  profIntervalLg: number;
  /** narenas_ratio as 16.16 fixed point (default 4.0 = 262144). */
  narenasRatio: number;
  /** slab_sizes segments in order (reset by `slab_sizes:default`). */
  slabSizes: SlabSizeSetting[];
  /** bin_shards segments in order. */
  binShards: BinShardSetting[];
  sanGuardSmall: number;
  sanGuardLarge: number;
  /** opt_prof_unbias: dumps report counts unbiased as jemalloc 5.3 does (default true). */
  profUnbias: boolean;
}

/** Labels of this port's two sources (jemalloc's texts for the sources they stand for). */
