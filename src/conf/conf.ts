import {
  CONF_EXTRA_KEYS,
  DEFAULT_NUM_BACKGROUND_THREAD,
  featureBuilt,
  LARGE_MAXCLASS_N,
  MALLOCX_ARENA_LIMIT,
  MAX_BACKGROUND_THREAD_LIMIT,
  OPT_TABLE,
  type OptValues,
  PLATFORM_SUPPORT,
  THP_MODE_NOT_SUPPORTED,
} from "./opt.js";

export { MallocConfAbortError } from "../errors.js";
export * from "./numbers.js";
export type * from "./types.js";

import { narenasDefault } from "./numbers.js";
import { MallocConfParser, validateOptions, validateSources } from "./parser.js";
import type { BinShardSetting, ConfOptions, ConfResult, ConfSource, SlabSizeSetting } from "./types.js";

export const CONF_SOURCE_LABEL_EMBEDDED = "string specified via --with-malloc-conf";
export const CONF_ENV_VAR = "JEMALLOC_TS_MALLOC_CONF";
export const CONF_SOURCE_LABEL_ENV = `value of the environment variable ${CONF_ENV_VAR}`;

/** The sources in jemalloc's order: the embedded string (config.malloc_conf), then the environment. */
export function mallocConfSources(embedded: string, env: string | null | undefined): ConfSource[] {
  return [
    { label: CONF_SOURCE_LABEL_EMBEDDED, text: embedded },
    { label: CONF_SOURCE_LABEL_ENV, text: env ?? null },
  ];
}

/** JEMALLOC_TS_MALLOC_CONF under Node, null elsewhere or when unset. */
export function readMallocConfEnv(): string | null {
  const proc = (globalThis as { process?: { env?: Record<string, string | undefined> } }).process;
  return proc?.env?.[CONF_ENV_VAR] ?? null;
}

function defaultWriter(msg: string): void {
  const proc = (globalThis as { process?: { stderr?: { write(s: string): unknown } } }).process;
  if (proc?.stderr) proc.stderr.write(msg);
  else console.error(msg.endsWith("\n") ? msg.slice(0, -1) : msg);
}

// --- boot steps that rewrite options --------------------------------------------------------

interface BootResult {
  narenasAuto: number;
  hugeArena: boolean;
  oversizeThresholdEffective: number;
  profIntervalLg: number;
}

/**
 * The option rewrites of malloc_init_hard(), in its order: pages_boot (THP state),
 * the HPA check, malloc_init_narenas (percpu, narenas default and limit, huge arena),
 * background_thread_boot1 (max_background_threads).
 */
function bootOptions(parser: MallocConfParser): BootResult {
  const opt = parser.opt;
  const env = parser.env;
  if (!PLATFORM_SUPPORT.thp) {
    if (opt.metadata_thp !== "disabled" && opt.abort) {
      parser.write("<jemalloc>: no MADV_HUGEPAGE support\n");
      parser.abort("abort");
    }
    opt.thp = THP_MODE_NOT_SUPPORTED;
  }
  if (opt.hpa && !PLATFORM_SUPPORT.hpa) {
    // jemalloc 5.3 prints this one without a newline.
    parser.write(
      `<jemalloc>: HPA not supported in the current configuration; ${opt.abort_conf ? "aborting" : "disabling"}.`,
    );
    if (opt.abort_conf) parser.abortInvalidConf();
    opt.hpa = false;
  }
  if (opt.percpu_arena !== "disabled" && !PLATFORM_SUPPORT.percpuArena) {
    opt.percpu_arena = "disabled";
    const n = opt.narenas !== 0 ? opt.narenas : narenasDefault(env.ncpus, parser.narenasRatio);
    parser.write(`<jemalloc>: perCPU arena getcpu() not available. Setting narenas to ${n}.\n`);
    if (opt.abort) parser.abort("abort");
  }
  if (opt.narenas === 0) opt.narenas = narenasDefault(env.ncpus, parser.narenasRatio);
  let narenasAuto = opt.narenas;
  if (narenasAuto >= MALLOCX_ARENA_LIMIT) {
    narenasAuto = MALLOCX_ARENA_LIMIT - 1;
    parser.write(`<jemalloc>: Reducing narenas to limit (${narenasAuto})\n`);
  }
  const largeMinclass = 2 ** (env.lgPage + 2);
  const threshold = BigInt(opt.oversize_threshold);
  const hugeArena = threshold >= BigInt(largeMinclass) && threshold <= LARGE_MAXCLASS_N;
  if (!hugeArena) opt.oversize_threshold = 0;
  const oversizeThresholdEffective = hugeArena
    ? opt.oversize_threshold
    : Number(LARGE_MAXCLASS_N + (1n << BigInt(env.lgPage)));
  if (opt.max_background_threads > MAX_BACKGROUND_THREAD_LIMIT) {
    opt.max_background_threads = DEFAULT_NUM_BACKGROUND_THREAD;
  }
  const profIntervalLg = profBootOptions(parser);
  return { narenasAuto, hugeArena, oversizeThresholdEffective, profIntervalLg };
}

/**
 * malloc_conf_init_check_deps and prof_boot1: prof_leak_error needs prof_final (initialization
 * fails), implies prof_leak; prof_leak turns profiling on without automatic dumps. Returns lg of
 * prof_interval, -1 for none (profiling off, lg_prof_interval:-1, or turned on by prof_leak alone).
 */
function profBootOptions(parser: MallocConfParser): number {
  const opt = parser.opt;
  if (opt.prof_leak_error && !opt.prof_final) {
    parser.write("<jemalloc>: prof_leak_error is set w/o prof_final.\n");
    parser.abort("abort_conf");
  }
  if (opt.prof_leak_error && !opt.prof_leak) opt.prof_leak = true;
  if (opt.prof_leak && !opt.prof) {
    opt.prof = true;
    opt.prof_gdump = false;
    return -1;
  }
  return opt.prof && opt.lg_prof_interval >= 0 ? opt.lg_prof_interval : -1;
}

/**
 * Parses the malloc_conf sources (in jemalloc's order, later settings win), writes
 * jemalloc's messages, applies the boot-time option rewrites and returns what took effect.
 * Throws MallocConfAbortError where jemalloc would abort().
 */
export function parseMallocConf(sources: readonly ConfSource[], options: ConfOptions): ConfResult {
  validateSources(sources);
  const env = validateOptions(options);
  const parser = new MallocConfParser(env, options.writer ?? defaultWriter);
  parser.run(sources);
  const boot = bootOptions(parser);
  return {
    opt: parser.opt,
    errors: parser.errors,
    hadConfError: parser.hadConfError,
    messages: parser.messages,
    narenasAuto: boot.narenasAuto,
    hugeArena: boot.hugeArena,
    oversizeThresholdEffective: boot.oversizeThresholdEffective,
    profIntervalLg: boot.profIntervalLg,
    narenasRatio: parser.narenasRatio,
    slabSizes: parser.slabSizes,
    binShards: parser.binShards,
    sanGuardSmall: parser.sanGuardSmall,
    sanGuardLarge: parser.sanGuardLarge,
    profUnbias: parser.profUnbias,
  };
}

/** Every opt.* as read after boot with no malloc_conf at all. */
export function optDefaults(ncpus: number, lgPage = 12, lgHugepage = 21): OptValues {
  return parseMallocConf([], { ncpus, lgPage, lgHugepage, writer: () => {} }).opt;
}

// --- applying the multi-size settings to a size-class table -------------------------------

function sizeToBinIndex(binSizes: readonly number[], size: number): number {
  if (size === 0) return 0;
  for (let i = 0; i < binSizes.length; i++) {
    if ((binSizes[i] ?? 0) >= size) return i;
  }
  return binSizes.length - 1;
}

/**
 * bin_update_shard_size() over the segments: shards per bin (default 1). Segments
 * starting above the largest small class are ignored; ends are clipped to it.
 */
export function applyBinShards(segments: readonly BinShardSetting[], binSizes: readonly number[]): number[] {
  const shards = binSizes.map(() => 1);
  const smallMax = binSizes[binSizes.length - 1] ?? 0;
  for (const seg of segments) {
    if (seg.start > smallMax) continue;
    const first = sizeToBinIndex(binSizes, seg.start);
    const last = sizeToBinIndex(binSizes, Math.min(seg.end, smallMax));
    for (let i = first; i <= last; i++) shards[i] = seg.nshards;
  }
  return shards;
}

/**
 * sc_data_update_slab_size() over the segments: slab pages per bin, each clamped to
 * [ceil(size / PAGE), BITMAP_MAXBITS × size / PAGE] with BITMAP_MAXBITS = 2^(lgPage − 3).
 */
export function applySlabSizes(
  segments: readonly SlabSizeSetting[],
  binSizes: readonly number[],
  defaultPages: readonly number[],
  lgPage: number,
): number[] {
  const page = 2 ** lgPage;
  const bitmapMaxBits = 2 ** (lgPage - 3);
  const pages = [...defaultPages];
  for (const seg of segments) {
    // (size_t)(int)pgs: negative counts become huge and clamp to the maximum.
    const guess = seg.pages < 0 ? Number.POSITIVE_INFINITY : seg.pages;
    binSizes.forEach((size, i) => {
      if (seg.start > size || size > seg.end) return;
      const minPages = Math.ceil(size / page);
      const maxPages = Math.floor((bitmapMaxBits * size) / page);
      pages[i] = guess < minPages ? minPages : Math.min(guess, maxPages);
    });
  }
  return pages;
}

/** Keys this build accepts (for docs and tests). */
export function acceptedConfKeys(): string[] {
  const keys = OPT_TABLE.filter((o) => featureBuilt(o.feature) && o.parser.kind !== "none").map(
    (o) => o.name,
  );
  const extras = CONF_EXTRA_KEYS.filter((e) => featureBuilt(e.feature)).map((e) => e.key);
  return [...keys, ...extras];
}
