// The per-arena part of malloc_stats_print (jemalloc's stats_arena_print and the
// mutex tables): decay, allocation counts, memory, mutexes, bins, large classes,
// extents and the HPA section, each as table rows and/or JSON through the emitter.
//
// Synchronization: the caller (stats_print.ts) holds the ctl lock and passes the
// snapshot it took. Errors: none.

import type { HeapHandle } from "../ctx/ctx.js";
import { MUTEX_COUNTER_NAMES, mutexCounter } from "../mallctl/nodes/common.js";
import { PSSET_NPSIZES } from "../mallctl/nodes/stats_arenas_i.js";
import { ARENA_MUTEX_NAMES, type ArenaSnapshot, type BinSnapshot } from "../mallctl/snapshot.js";
import type { LockStats } from "../sync/index.js";
import { type EmitCol, type Emitter, type EmitValue, vInt, vStr, vTitle } from "./emitter.js";

/** What malloc_stats_print prints (STATS_PRINT_OPTIONS). */
export interface PrintFlags {
  json: boolean;
  general: boolean;
  merged: boolean;
  destroyed: boolean;
  unmerged: boolean;
  bins: boolean;
  large: boolean;
  mutex: boolean;
  extents: boolean;
  hpa: boolean;
}

/** rate_per_second(): events per second of uptime (the value itself under one second). */
export function ratePerSecond(value: number, uptimeNs: number): number {
  if (uptimeNs === 0 || value === 0) return 0;
  if (uptimeNs < 1e9) return value;
  return Math.floor(value / Math.floor(uptimeNs / 1e9));
}

/** get_rate_str() as used for the bins' util column. */
export function utilString(curregs: number, availregs: number): string {
  if (availregs === 0 || curregs > availregs) return availregs === 0 ? "1" : " race";
  const n = Math.floor((curregs * 1000) / availregs);
  if (n < 10) return `0.00${n}`;
  if (n < 100) return `0.0${n}`;
  if (n < 1000) return `0.${n}`;
  return "1";
}

export const R = (width: number, value: EmitValue): EmitCol => ({ justify: "right", width, value });
export const L = (width: number, value: EmitValue): EmitCol => ({ justify: "left", width, value });

// --- mutex tables ----------------------------------------------------------------------------

/** (counter, title, width) of the mutex columns; rate columns follow the counters they derive from. */
const MUTEX_COLS: ReadonlyArray<readonly [string, string, number, boolean]> = [
  ["num_ops", "n_lock_ops", 16, true],
  ["num_wait", "n_waiting", 16, true],
  ["num_spin_acq", "n_spin_acq", 16, true],
  ["num_owner_switch", "n_owner_switch", 16, true],
  ["total_wait_time", "total_wait_ns", 16, true],
  ["max_wait_time", "max_wait_ns", 16, false],
  ["max_num_thds", "max_n_thds", 12, false],
];

function mutexHeaderCols(): EmitCol[] {
  const cols: EmitCol[] = [];
  for (const [name, title, width, rated] of MUTEX_COLS) {
    cols.push(R(width, vTitle(title)));
    if (rated) cols.push(R(name === "total_wait_time" ? 10 : 8, vTitle("(#/sec)")));
  }
  return cols;
}

function mutexValueCols(s: LockStats, uptimeNs: number): EmitCol[] {
  const cols: EmitCol[] = [];
  for (const [name, , width, rated] of MUTEX_COLS) {
    const v = mutexCounter(s, name as (typeof MUTEX_COUNTER_NAMES)[number]);
    cols.push(R(width, vInt(v)));
    if (rated) cols.push(R(name === "total_wait_time" ? 10 : 8, vInt(ratePerSecond(v, uptimeNs))));
  }
  return cols;
}

function mutexJson(e: Emitter, s: LockStats): void {
  for (const name of MUTEX_COUNTER_NAMES) e.jsonKv(name, vInt(mutexCounter(s, name)));
}

/** One mutex table: a header row, then a row and a JSON object per mutex. */
export function mutexTable(
  e: Emitter,
  names: readonly string[],
  pick: (n: string) => LockStats,
  uptimeNs: number,
): void {
  e.tableRow([L(21, vTitle("")), ...mutexHeaderCols()]);
  e.jsonObjectKvBegin("mutexes");
  for (const name of names) {
    const s = pick(name);
    e.jsonObjectKvBegin(name);
    e.tableRow([L(21, vTitle(name)), ...mutexValueCols(s, uptimeNs)]);
    mutexJson(e, s);
    e.jsonObjectEnd();
  }
  e.jsonObjectEnd();
}

// --- one arena ---------------------------------------------------------------------------------

function decayRows(e: Emitter, a: ArenaSnapshot): void {
  const row = (type: string, ms: EmitValue, np: number, sw: number, ma: number, pu: number): EmitCol[] => [
    R(9, vTitle(type)),
    R(6, ms),
    R(13, vInt(np)),
    R(13, vInt(sw)),
    R(13, vInt(ma)),
    R(13, vInt(pu)),
  ];
  const ms = (v: number): EmitValue => (v >= 0 ? vInt(v) : vTitle("N/A"));
  e.tableRow(
    ["decaying:", "time", "npages", "sweeps", "madvises", "purged"].map((t, k) =>
      R(k === 0 ? 9 : k === 1 ? 6 : 13, vTitle(t)),
    ),
  );
  e.tableRow(row("dirty:", ms(a.dirty_decay_ms), a.pdirty, a.dirty_npurge, a.dirty_nmadvise, a.dirty_purged));
  e.tableRow(row("muzzy:", ms(a.muzzy_decay_ms), a.pmuzzy, a.muzzy_npurge, a.muzzy_nmadvise, a.muzzy_purged));
}

const GROUP_FIELDS = ["nmalloc", "ndalloc", "nrequests", "nfills", "nflushes"] as const;

function countRow(title: string, g: ArenaSnapshot["small"], uptime: number): EmitCol[] {
  const cols: EmitCol[] = [L(21, vTitle(title)), R(16, vInt(g.allocated))];
  for (const f of GROUP_FIELDS) cols.push(R(16, vInt(g[f])), R(10, vInt(ratePerSecond(g[f], uptime))));
  return cols;
}

function countsPrint(e: Emitter, a: ArenaSnapshot): void {
  const titles = ["nmalloc", "ndalloc", "nrequests", "nfill", "nflush"];
  const header: EmitCol[] = [L(21, vTitle("")), R(16, vTitle("allocated"))];
  for (const t of titles) header.push(R(16, vTitle(t)), R(10, vTitle("(#/sec)")));
  e.tableRow(header);
  for (const which of ["small", "large"] as const) {
    e.jsonObjectKvBegin(which);
    e.jsonKv("allocated", vInt(a[which].allocated));
    for (const f of GROUP_FIELDS) e.jsonKv(f, vInt(a[which][f]));
    e.tableRow(countRow(`${which}:`, a[which], a.uptimeNs));
    e.jsonObjectEnd();
  }
  const total = { allocated: a.small.allocated + a.large.allocated } as ArenaSnapshot["small"];
  for (const f of GROUP_FIELDS) total[f] = a.small[f] + a.large[f];
  e.tableRow(countRow("total:", total, a.uptimeNs));
}

const MEM_FIELDS = [
  "mapped",
  "retained",
  "base",
  "internal",
  "metadata_thp",
  "tcache_bytes",
  "tcache_stashed_bytes",
  "resident",
  "abandoned_vm",
  "extent_avail",
] as const;

function memPrint(e: Emitter, a: ArenaSnapshot, page: number): void {
  const row = (title: string, v: EmitValue): EmitCol[] => [L(21, vTitle(title)), R(16, v)];
  e.tableRow(row("", vTitle("")));
  e.tableRow(row("active:", vInt(a.pactive * page)));
  for (const f of MEM_FIELDS) {
    e.jsonKv(f, vInt(a[f]));
    e.tableRow(row(`${f}:`, vInt(a[f])));
  }
}

function gapMark(e: Emitter): void {
  e.tablePrintf("                     ---\n");
}

/**
 * Rows 0..n-1 of a table that skips idle rows (`idle(j)`): a "---" line where a run of skipped rows
 * ends and after a trailing one, as jemalloc marks them. `row` is called for every j (JSON has them all).
 */
function gappedRows(
  e: Emitter,
  n: number,
  idle: (j: number) => boolean,
  row: (j: number, idle: boolean) => void,
): void {
  let inGap = false;
  for (let j = 0; j < n; j++) {
    const wasGap = inGap;
    inGap = idle(j);
    if (wasGap && !inGap) gapMark(e);
    row(j, inGap);
  }
  if (inGap) gapMark(e);
}

/** Titles and widths of the bins table (the size title is 5 narrower: "bins:" precedes it). */
const BIN_TITLES: ReadonlyArray<readonly [string, number]> = [
  ["size", 15],
  ["ind", 4],
  ["allocated", 13],
  ["nmalloc", 13],
  ["(#/sec)", 8],
  ["ndalloc", 13],
  ["(#/sec)", 8],
  ["nrequests", 13],
  ["(#/sec)", 10],
  ["nshards", 9],
  ["curregs", 13],
  ["curslabs", 13],
  ["nonfull_slabs", 15],
  ["regs", 5],
  ["pgs", 4],
  [" ", 1],
  ["util", 6],
  ["nfills", 13],
  ["(#/sec)", 8],
  ["nflushes", 13],
  ["(#/sec)", 8],
  ["nslabs", 13],
  ["nreslabs", 13],
  ["(#/sec)", 8],
];

const BIN_JSON_FIELDS = [
  "nmalloc",
  "ndalloc",
  "curregs",
  "nrequests",
  "nfills",
  "nflushes",
  "nreslabs",
  "curslabs",
  "nonfull_slabs",
] as const;

function binJson(e: Emitter, b: BinSnapshot, mutex: boolean): void {
  e.jsonObjectBegin();
  for (const f of BIN_JSON_FIELDS) e.jsonKv(f, vInt(b[f]));
  if (mutex) {
    e.jsonObjectKvBegin("mutex");
    mutexJson(e, b.mutex);
    e.jsonObjectEnd();
  }
  e.jsonObjectEnd();
}

/** The columns a bins row and a large row begin with: size, ind, allocated, and three counts with rates. */
function classCols(
  size: number,
  ind: number,
  cur: number,
  c: { nmalloc: number; ndalloc: number; nrequests: number },
  up: number,
  requestsRateWidth: number,
): EmitCol[] {
  const rate = (v: number): EmitValue => vInt(ratePerSecond(v, up));
  return [
    R(20, vInt(size)),
    R(4, vInt(ind)),
    R(13, vInt(cur * size)),
    R(13, vInt(c.nmalloc)),
    R(8, rate(c.nmalloc)),
    R(13, vInt(c.ndalloc)),
    R(8, rate(c.ndalloc)),
    R(13, vInt(c.nrequests)),
    R(requestsRateWidth, rate(c.nrequests)),
  ];
}

function binRow(heap: HeapHandle, j: number, b: BinSnapshot, up: number, mutex: boolean): EmitCol[] {
  const sc = heap.ctx.sc;
  const size = sc.binRegSize[j]!;
  const nregs = sc.binNregs[j]!;
  const rate = (v: number): EmitValue => vInt(ratePerSecond(v, up));
  return [
    ...classCols(size, j, b.curregs, b, up, 10),
    R(9, vInt(sc.binNshards[j]!)),
    R(13, vInt(b.curregs)),
    R(13, vInt(b.curslabs)),
    R(15, vInt(b.nonfull_slabs)),
    R(5, vInt(nregs)),
    R(4, vInt(sc.binSlabSize[j]! / sc.page)),
    R(1, vTitle(" ")),
    R(6, vTitle(utilString(b.curregs, nregs * b.curslabs))),
    R(13, vInt(b.nfills)),
    R(8, rate(b.nfills)),
    R(13, vInt(b.nflushes)),
    R(8, rate(b.nflushes)),
    R(13, vInt(b.nslabs)),
    R(13, vInt(b.nreslabs)),
    R(8, rate(b.nreslabs)),
    ...(mutex ? mutexValueCols(b.mutex, up) : []),
  ];
}

/** stats_arena_bins_print(): JSON has every bin; the table skips bins that never had a slab. */
function binsPrint(e: Emitter, heap: HeapHandle, a: ArenaSnapshot, mutex: boolean): void {
  e.tablePrintf("bins:");
  e.tableRow([...BIN_TITLES.map(([t, w]) => R(w, vTitle(t))), ...(mutex ? mutexHeaderCols() : [])]);
  e.jsonArrayKvBegin("bins");
  gappedRows(
    e,
    heap.ctx.sc.nbins,
    (j) => a.bins[j]!.nslabs === 0,
    (j, idle) => {
      if (idle && !e.json) return;
      binJson(e, a.bins[j]!, mutex);
      e.tableRow(binRow(heap, j, a.bins[j]!, a.uptimeNs, mutex));
    },
  );
  e.jsonArrayEnd();
}

function lextentsPrint(e: Emitter, heap: HeapHandle, a: ArenaSnapshot): void {
  const sc = heap.ctx.sc;
  const up = a.uptimeNs;
  const titles: ReadonlyArray<readonly [string, number]> = [
    ["size", 14],
    ["ind", 4],
    ["allocated", 13],
    ["nmalloc", 13],
    ["(#/sec)", 8],
    ["ndalloc", 13],
    ["(#/sec)", 8],
    ["nrequests", 13],
    ["(#/sec)", 8],
    ["curlextents", 13],
  ];
  e.tablePrintf("large:");
  e.tableRow(titles.map(([t, w]) => R(w, vTitle(t))));
  e.jsonArrayKvBegin("lextents");
  gappedRows(
    e,
    sc.nlextents,
    (j) => a.lextents[j]!.nrequests === 0,
    (j, idle) => {
      const l = a.lextents[j]!;
      e.jsonObjectBegin();
      e.jsonKv("curlextents", vInt(l.curlextents));
      e.jsonObjectEnd();
      if (idle) return;
      const size = sc.index2size(sc.nbins + j);
      e.tableRow([...classCols(size, sc.nbins + j, l.curlextents, l, up, 8), R(13, vInt(l.curlextents))]);
    },
  );
  e.jsonArrayEnd();
}

const EXTENT_FIELDS = [
  "ndirty",
  "nmuzzy",
  "nretained",
  "dirty_bytes",
  "muzzy_bytes",
  "retained_bytes",
] as const;

function extentsPrint(e: Emitter, heap: HeapHandle, a: ArenaSnapshot): void {
  const sc = heap.ctx.sc;
  const titles = [
    "size",
    "ind",
    "ndirty",
    "dirty",
    "nmuzzy",
    "muzzy",
    "nretained",
    "retained",
    "ntotal",
    "total",
  ];
  e.tablePrintf("extents:");
  e.tableRow(titles.map((t, k) => R(k === 0 ? 12 : k === 1 ? 4 : 13, vTitle(t))));
  e.jsonArrayKvBegin("extents");
  const totalOf = (j: number): number =>
    a.extents[j]!.ndirty + a.extents[j]!.nmuzzy + a.extents[j]!.nretained;
  gappedRows(
    e,
    sc.npsizes,
    (j) => totalOf(j) === 0,
    (j, idle) => {
      const x = a.extents[j]!;
      e.jsonObjectBegin();
      for (const f of EXTENT_FIELDS) e.jsonKv(f, vInt(x[f]));
      e.jsonObjectEnd();
      if (idle) return;
      const total = totalOf(j);
      const bytes = x.dirty_bytes + x.muzzy_bytes + x.retained_bytes;
      const vals = [
        x.ndirty,
        x.dirty_bytes,
        x.nmuzzy,
        x.muzzy_bytes,
        x.nretained,
        x.retained_bytes,
        total,
        bytes,
      ];
      e.tableRow([R(20, vInt(sc.pind2sz(j))), R(4, vInt(j)), ...vals.map((v) => R(13, vInt(v)))]);
    },
  );
  e.jsonArrayEnd();
}

const SLAB_FIELDS = [
  "npageslabs_huge",
  "nactive_huge",
  "ndirty_huge",
  "npageslabs_nonhuge",
  "nactive_nonhuge",
  "ndirty_nonhuge",
];

/** stats_arena_hpa_shard_print(): every figure is 0 here (no HPA); the layout is jemalloc's. */
function hpaPrint(e: Emitter, a: ArenaSnapshot): void {
  e.kv("sec_bytes", "Bytes in small extent cache", vInt(a.hpa_sec_bytes));
  e.tablePrintf(
    "HPA shard stats:\n  Purge passes: 0 (0 / sec)\n  Purges: 0 (0 / sec)\n  Hugeifies: 0 (0 / sec)\n  Dehugifies: 0 (0 / sec)\n\n",
  );
  e.jsonObjectKvBegin("hpa_shard");
  for (const f of ["npurge_passes", "npurges", "nhugifies", "ndehugifies"]) e.jsonKv(f, vInt(0));
  for (const [key, title, tail] of [
    ["full_slabs", "In full slabs", ""],
    ["empty_slabs", "In empty slabs", "\n"],
  ]) {
    e.tablePrintf(
      `  ${title}:\n      npageslabs: 0 huge, 0 nonhuge\n      nactive: 0 huge, 0 nonhuge \n      ndirty: 0 huge, 0 nonhuge \n      nretained: 0 huge, 0 nonhuge \n${tail}`,
    );
    e.jsonObjectKvBegin(key as string);
    // jemalloc 5.3 writes nactive_huge twice and no ndirty_huge here.
    for (const f of [
      "npageslabs_huge",
      "nactive_huge",
      "nactive_huge",
      "npageslabs_nonhuge",
      "nactive_nonhuge",
      "ndirty_nonhuge",
    ]) {
      e.jsonKv(f, vInt(0));
    }
    e.jsonObjectEnd();
  }
  const titles = ["size", "ind", ...SLAB_FIELDS, "nretained_nonhuge"];
  const widths = [20, 4, 16, 16, 16, 20, 20, 20, 20];
  e.tableRow(titles.map((t, k) => R(widths[k]!, vTitle(t))));
  e.jsonArrayKvBegin("nonfull_slabs");
  for (let j = 0; j < PSSET_NPSIZES; j++) {
    e.jsonObjectBegin();
    for (const f of SLAB_FIELDS) e.jsonKv(f, vInt(0));
    e.jsonObjectEnd();
  }
  e.jsonArrayEnd();
  e.jsonObjectEnd();
  gapMark(e);
}

/** stats_arena_print(). */
export function arenaPrint(e: Emitter, heap: HeapHandle, a: ArenaSnapshot, f: PrintFlags): void {
  e.kv("nthreads", "assigned threads", vInt(a.nthreads));
  e.kv("uptime_ns", "uptime", vInt(a.uptimeNs));
  e.kv("dss", "dss allocation precedence", vStr(a.dss));
  for (const k of ["dirty_decay_ms", "muzzy_decay_ms", "pactive", "pdirty", "pmuzzy"] as const)
    e.jsonKv(k, vInt(a[k]));
  for (const k of [
    "dirty_npurge",
    "dirty_nmadvise",
    "dirty_purged",
    "muzzy_npurge",
    "muzzy_nmadvise",
    "muzzy_purged",
  ] as const) {
    e.jsonKv(k, vInt(a[k]));
  }
  decayRows(e, a);
  countsPrint(e, a);
  memPrint(e, a, heap.ctx.page);
  if (f.mutex)
    mutexTable(e, ARENA_MUTEX_NAMES, (n) => a.mutexes[n as (typeof ARENA_MUTEX_NAMES)[number]], a.uptimeNs);
  if (f.bins) binsPrint(e, heap, a, f.mutex);
  if (f.large) lextentsPrint(e, heap, a);
  if (f.extents) extentsPrint(e, heap, a);
  if (f.hpa) hpaPrint(e, a);
}
