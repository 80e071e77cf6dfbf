// malloc_stats_print: jemalloc 5.3's statistics report (src/stats.c) for a heap,
// as text (its table layout) or, with option J, as compact JSON with its schema.
//
// Options (characters of `opts`; others are ignored): J JSON; g omit the general
// section (version, config.*, opt.*, arenas.*); m merged arena stats; d destroyed
// arenas; a per-arena stats; b bins; l large classes; x mutex counters; e extents;
// h HPA section.
//
// It first writes `epoch` (refreshes the snapshot) and then reports that snapshot.
// Options read through mallctl are skipped when the leaf answers ENOENT, as jemalloc
// skips them, and the "Profiling settings" section (prof.*) is printed because this
// build has profiling (config.prof), whether opt.prof is on or not.
//
// Synchronization: holds the ctl lock while it reads the snapshot.
// Errors: TypeError for a non-string `opts`.

import { narenasTotal } from "../arena/arena.js";
import { internalAlloc, internalFree } from "../arena/internal.js";
import type { HeapHandle } from "../ctx/ctx.js";
import { MallctlError } from "../errors.js";
import { MALLCTL_ROOT } from "../mallctl/root.js";
import { GLOBAL_MUTEX_NAMES, type StatsSnapshot, statsRefresh } from "../mallctl/snapshot.js";
import { withCtlLock } from "../mallctl/state.js";
import { CONFIG_LEAF_NAMES, mallctlCall } from "../mallctl/tree.js";
import { Emitter, type EmitValue, vBool, vInt, vStr } from "./emitter.js";
import { arenaPrint, mutexTable, type PrintFlags } from "./stats_print_arena.js";

export { ratePerSecond, utilString } from "./stats_print_arena.js";

/** STATS_PRINT_OPTIONS: each letter turns one thing on (J) or off (the others). */
export function statsPrintFlags(opts: string): PrintFlags {
  const has = (c: string): boolean => opts.includes(c);
  return {
    json: has("J"),
    general: !has("g"),
    merged: !has("m"),
    destroyed: !has("d"),
    unmerged: !has("a"),
    bins: !has("b"),
    large: !has("l"),
    mutex: !has("x"),
    extents: !has("e"),
    hpa: !has("h"),
  };
}

/** fxp_print(): a 16.16 fixed-point number with its significant decimals ("0.25"). */
export function fxpString(a: number): string {
  const integer = Math.floor(a / 65536);
  const frac = BigInt(a % 65536);
  let zeros = 0;
  let digits = frac;
  for (let i = 0; i < 14; i++) {
    if (digits < 65536n && digits * 10n >= 65536n) zeros = i;
    digits *= 10n;
  }
  digits >>= 16n;
  while (digits > 0n && digits % 10n === 0n) digits /= 10n;
  return `${integer}.${"0".repeat(zeros)}${digits}`;
}

// --- general section ---------------------------------------------------------------------------

/** A leaf's value, or undefined when it answers an error (jemalloc's `if (je_mallctl(...) == 0)`). */
function ctl(heap: HeapHandle, name: string): unknown {
  try {
    return mallctlCall(MALLCTL_ROOT, heap, name);
  } catch (err) {
    if (err instanceof MallctlError) return undefined;
    throw err;
  }
}

function asEmit(v: unknown): EmitValue {
  if (typeof v === "boolean") return vBool(v);
  if (typeof v === "number" || typeof v === "bigint") return vInt(v);
  return vStr(String(v));
}

/** opt.* in stats_general_print()'s order; [name, mutable twin]. stats_print(_opts) twice, as in 5.3. */
const OPT_PRINT_ORDER: ReadonlyArray<readonly [string, string?]> = [
  ["abort"],
  ["abort_conf"],
  ["cache_oblivious"],
  ["confirm_conf"],
  ["retain"],
  ["dss"],
  ["narenas"],
  ["percpu_arena"],
  ["oversize_threshold"],
  ["hpa"],
  ["hpa_slab_max_alloc"],
  ["hpa_hugification_threshold"],
  ["hpa_hugify_delay_ms"],
  ["hpa_min_purge_interval_ms"],
  ["hpa_dirty_mult"],
  ["hpa_sec_nshards"],
  ["hpa_sec_max_alloc"],
  ["hpa_sec_max_bytes"],
  ["hpa_sec_bytes_after_flush"],
  ["hpa_sec_batch_fill_extra"],
  ["metadata_thp"],
  ["mutex_max_spin"],
  ["background_thread", "background_thread"],
  ["dirty_decay_ms", "arenas.dirty_decay_ms"],
  ["muzzy_decay_ms", "arenas.muzzy_decay_ms"],
  ["lg_extent_max_active_fit"],
  ["junk"],
  ["zero"],
  ["utrace"],
  ["xmalloc"],
  ["experimental_infallible_new"],
  ["tcache"],
  ["tcache_max"],
  ["tcache_nslots_small_min"],
  ["tcache_nslots_small_max"],
  ["tcache_nslots_large"],
  ["lg_tcache_nslots_mul"],
  ["tcache_gc_incr_bytes"],
  ["tcache_gc_delay_bytes"],
  ["lg_tcache_flush_small_div"],
  ["lg_tcache_flush_large_div"],
  ["thp"],
  ["prof"],
  ["prof_prefix"],
  ["prof_active", "prof.active"],
  ["prof_thread_active_init", "prof.thread_active_init"],
  ["lg_prof_sample", "prof.lg_sample"],
  ["prof_accum"],
  ["lg_prof_interval"],
  ["prof_gdump"],
  ["prof_final"],
  ["prof_leak"],
  ["prof_leak_error"],
  ["stats_print"],
  ["stats_print_opts"],
  ["stats_print"],
  ["stats_print_opts"],
  ["stats_interval"],
  ["stats_interval_opts"],
  ["zero_realloc"],
];

function optsPrint(e: Emitter, heap: HeapHandle): void {
  e.dictBegin("opt", "Run-time option settings");
  for (const [name, twin] of OPT_PRINT_ORDER) {
    const v = ctl(heap, `opt.${name}`);
    if (v === undefined) continue;
    if (name === "hpa_dirty_mult") {
      const n = v as number;
      e.kv(name, `opt.${name}`, vStr(n === 0xffffffff ? "-1" : fxpString(n)));
    } else if (twin !== undefined) {
      const w = ctl(heap, twin);
      if (w !== undefined) e.kvNote(name, `opt.${name}`, asEmit(v), twin, asEmit(w));
    } else {
      e.kv(name, `opt.${name}`, asEmit(v));
    }
  }
  e.dictEnd();
}

function configPrint(e: Emitter, heap: HeapHandle): void {
  e.dictBegin("config", "Build-time option settings");
  for (const name of CONFIG_LEAF_NAMES) e.kv(name, `config.${name}`, asEmit(ctl(heap, `config.${name}`)));
  e.dictEnd();
}

function arenasGeneralPrint(e: Emitter, heap: HeapHandle): void {
  const sc = heap.ctx.sc;
  e.jsonObjectKvBegin("arenas");
  e.kv("narenas", "Arenas", vInt(ctl(heap, "arenas.narenas") as number));
  e.jsonKv("dirty_decay_ms", vInt(ctl(heap, "arenas.dirty_decay_ms") as number));
  e.jsonKv("muzzy_decay_ms", vInt(ctl(heap, "arenas.muzzy_decay_ms") as number));
  e.kv("quantum", "Quantum size", vInt(sc.quantum));
  e.kv("page", "Page size", vInt(sc.page));
  e.kv("tcache_max", "Maximum thread-cached size class", vInt(ctl(heap, "arenas.tcache_max") as number));
  e.kv("nbins", "Number of bin size classes", vInt(sc.nbins));
  e.kv("nhbins", "Number of thread-cache bin size classes", vInt(ctl(heap, "arenas.nhbins") as number));
  e.jsonArrayKvBegin("bin");
  for (let i = 0; e.json && i < sc.nbins; i++) {
    e.jsonObjectBegin();
    e.jsonKv("size", vInt(sc.binRegSize[i]!));
    e.jsonKv("nregs", vInt(sc.binNregs[i]!));
    e.jsonKv("slab_size", vInt(sc.binSlabSize[i]!));
    e.jsonKv("nshards", vInt(sc.binNshards[i]!));
    e.jsonObjectEnd();
  }
  e.jsonArrayEnd();
  e.kv("nlextents", "Number of large size classes", vInt(sc.nlextents));
  e.jsonArrayKvBegin("lextent");
  for (let j = 0; e.json && j < sc.nlextents; j++) {
    e.jsonObjectBegin();
    e.jsonKv("size", vInt(sc.index2size(sc.nbins + j)));
    e.jsonObjectEnd();
  }
  e.jsonArrayEnd();
  e.jsonObjectEnd();
}

/** The profiling switches, printed by every build with profiling (config.prof), opt.prof on or off. */
function profPrint(e: Emitter, heap: HeapHandle): void {
  if (ctl(heap, "config.prof") !== true) return;
  e.dictBegin("prof", "Profiling settings");
  for (const name of ["thread_active_init", "active", "gdump", "interval", "lg_sample"])
    e.kv(name, `prof.${name}`, asEmit(ctl(heap, `prof.${name}`)));
  e.dictEnd();
}

/** stats_general_print(). */
function generalPrint(e: Emitter, heap: HeapHandle): void {
  e.kv("version", "Version", vStr(ctl(heap, "version") as string));
  configPrint(e, heap);
  optsPrint(e, heap);
  profPrint(e, heap);
  arenasGeneralPrint(e, heap);
}

// --- totals and arenas ---------------------------------------------------------------------------

function totalsPrint(e: Emitter, heap: HeapHandle, s: StatsSnapshot, f: PrintFlags): void {
  const zeroReallocs = ctl(heap, "stats.zero_reallocs") as number;
  e.jsonObjectKvBegin("stats");
  for (const k of [
    "allocated",
    "active",
    "metadata",
    "metadata_thp",
    "resident",
    "mapped",
    "retained",
  ] as const) {
    e.jsonKv(k, vInt(s[k]));
  }
  e.jsonKv("zero_reallocs", vInt(zeroReallocs));
  e.tablePrintf(
    `Allocated: ${s.allocated}, active: ${s.active}, metadata: ${s.metadata} (n_thp ${s.metadata_thp}), resident: ${s.resident}, mapped: ${s.mapped}, retained: ${s.retained}\n`,
  );
  e.tablePrintf(`Count of realloc(non-null-ptr, 0) calls: ${zeroReallocs}\n`);
  const bg = s.background_thread;
  e.jsonObjectKvBegin("background_thread");
  e.jsonKv("num_threads", vInt(bg.num_threads));
  e.jsonKv("num_runs", vInt(bg.num_runs));
  e.jsonKv("run_interval", vInt(bg.run_interval));
  e.jsonObjectEnd();
  e.tablePrintf(
    `Background threads: ${bg.num_threads}, num_runs: ${bg.num_runs}, run_interval: ${bg.run_interval} ns\n`,
  );
  if (f.mutex) {
    const uptime = s.arenas.get(0)?.uptimeNs ?? 0;
    mutexTable(e, GLOBAL_MUTEX_NAMES, (n) => s.mutexes[n as (typeof GLOBAL_MUTEX_NAMES)[number]], uptime);
  }
  e.jsonObjectEnd();
}

function arenasPrint(e: Emitter, heap: HeapHandle, s: StatsSnapshot, f: PrintFlags): void {
  if (!(f.merged || f.destroyed || f.unmerged)) return;
  e.jsonObjectKvBegin("stats.arenas");
  const n = narenasTotal(heap.ctx);
  const initialized: number[] = [];
  for (let i = 0; i < n; i++) if (s.arenas.has(i)) initialized.push(i);
  if (f.merged && (initialized.length > 1 || !f.unmerged)) {
    e.tablePrintf("Merged arenas stats:\n");
    e.jsonObjectKvBegin("merged");
    arenaPrint(e, heap, s.merged, f);
    e.jsonObjectEnd();
  }
  if (s.destroyedInitialized && f.destroyed) {
    e.tablePrintf("Destroyed arenas stats:\n");
    e.jsonObjectKvBegin("destroyed");
    arenaPrint(e, heap, s.destroyed, f);
    e.jsonObjectEnd();
  }
  if (f.unmerged) {
    for (const i of initialized) {
      e.jsonObjectKvBegin(String(i));
      e.tablePrintf(`arenas[${i}]:\n`);
      arenaPrint(e, heap, s.arenas.get(i)!, f);
      e.jsonObjectEnd();
    }
  }
  e.jsonObjectEnd();
}

/** STATS_PRINT_BUFSIZE: the output buffer malloc_stats_print allocates. */
export const STATS_PRINT_BUF_BYTES = 65536;

/** malloc_stats_print(): the report as a string (text, or JSON with "J"). */
export function statsPrint(heap: HeapHandle, opts = ""): string {
  if (typeof opts !== "string") throw new TypeError(`statsPrint: opts must be a string, got ${typeof opts}`);
  const f = statsPrintFlags(opts);
  // malloc_stats_print writes through a 64 KiB buffer it allocates in arena 0 (an internal block, no
  // cache) unless built with debug: the report counts it (a live large block, or a small one with
  // 64 KiB pages), and freeing it afterwards leaves its pages dirty. Out of memory: no buffer.
  const buf = heap.ctx.debug ? 0 : internalAlloc(heap.ctx, STATS_PRINT_BUF_BYTES);
  if (heap.ctx.failpoint !== null) heap.ctx.failpoint("stats.print.buffer");
  try {
    return report(heap, f);
  } finally {
    if (buf !== 0) internalFree(heap.ctx, buf, STATS_PRINT_BUF_BYTES);
  }
}

function report(heap: HeapHandle, f: PrintFlags): string {
  return withCtlLock(heap, () => {
    const snap = statsRefresh(heap);
    const e = new Emitter(f.json);
    e.begin();
    e.tablePrintf("___ Begin jemalloc statistics ___\n");
    e.jsonObjectKvBegin("jemalloc");
    if (f.general) generalPrint(e, heap);
    // stats_print_helper runs only when statistics are kept (jemalloc: if (config_stats)).
    if (heap.ctx.opt.stats) {
      totalsPrint(e, heap, snap, f);
      arenasPrint(e, heap, snap, f);
    }
    e.jsonObjectEnd();
    e.tablePrintf("--- End jemalloc statistics ---\n");
    e.end();
    return e.toString();
  });
}

/**
 * opt.stats_print: prints the report (opt.stats_print_opts) to stderr when the
 * process exits, as jemalloc's atexit handler does. Call once per heap at creation.
 */
export function statsPrintAtExit(heap: HeapHandle, write?: (s: string) => void): boolean {
  const opt = heap.derived.conf.opt;
  const proc = (globalThis as { process?: NodeJS.Process }).process;
  if (!opt.stats_print || proc === undefined || typeof proc.on !== "function") return false;
  const out = write ?? ((s: string) => proc.stderr.write(s));
  proc.on("exit", () => {
    try {
      heap.mallctl("version"); // throws once the handle is detached or the heap poisoned
    } catch {
      return;
    }
    out(statsPrint(heap, opt.stats_print_opts));
  });
  return true;
}
