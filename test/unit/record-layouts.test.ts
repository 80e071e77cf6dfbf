/**
 * Layout self-test of every record in the heap buffer (STYLE.md §3.2 point 5, issue 12): for each record
 * the fields, built from the module's exported constants, are in order, do not overlap, are aligned to
 * their width and fit the record size; the diagram in the module's comment states the same offsets
 * (a stale diagram fails); words used with Atomics sit in aligned 4-byte slots; and the layouts computed
 * at creation (header regions, arena record) hold for several configurations.
 */
import { readdirSync, readFileSync, statSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import * as ARENA from "../../src/arena/layout.js";
import * as BG from "../../src/background/layout.js";
import * as HDR from "../../src/ctx/header.js";
import * as DECAY from "../../src/decay/decay.js";
import { SMOOTHSTEP_NSTEPS } from "../../src/decay/smoothstep.js";
import * as EDATA from "../../src/extent/edata.js";
import { esetBytes } from "../../src/extent/eset.js";
import * as PAC from "../../src/extent/pac_layout.js";
import * as PROF from "../../src/prof/layout.js";
import { SizeClasses } from "../../src/sizeclass/index.js";
import * as LOCK from "../../src/sync/layout.js";
import * as SLOTS from "../../src/sync/slots.js";
import * as TCACHE from "../../src/tcache/layout.js";
import {
  atomicsCalls,
  atomicsProblems,
  bitRange,
  type DiagramRow,
  diagramProblems,
  diagramRows,
  type Field,
  type KnownField,
  masksProblems,
  ROW_AFTER_LOCK,
  ROW_BYTES,
  ROW_OFFSET_SIZE,
  ROW_WORD_BYTES,
  ROW_WORDS,
  recordProblems,
  section,
  sectionTitle,
  srcText,
} from "../helpers/record-layout.js";

type Mod = Readonly<Record<string, unknown>>;
/** [diagram name, exported constant, width in bytes, alignment (default: width up to 8)]. */
type Spec = readonly [name: string, constant: string, widthBytes: number, alignBytes?: number];

/** Every constant used in a field below → its record and width, for the Atomics scan. */
const byConstant = new Map<string, KnownField>();

function constant(mod: Mod, name: string): number {
  const v = mod[name];
  if (typeof v !== "number") throw new Error(`${name} is not an exported number`);
  return v;
}

/** Fields of `record` from constants of `mod`; `unit` 4 when the constants are word indexes. */
function fields(record: string, mod: Mod, specs: readonly Spec[], unit = 1): Field[] {
  return specs.map(([name, c, width, align]) => {
    const offsetB = constant(mod, c) * unit;
    byConstant.set(c, { record, offsetB, widthB: width });
    return align === undefined ? ([name, offsetB, width] as const) : ([name, offsetB, width, align] as const);
  });
}

function expectRecord(
  record: string,
  fs: readonly Field[],
  sizeBytes: number,
  rows: DiagramRow[],
  reserved?: string[],
) {
  expect(recordProblems(record, fs, sizeBytes)).toEqual([]);
  expect(diagramProblems(record, rows, fs, reserved)).toEqual([]);
}

/** The byte count a diagram title states ("Lock record: 64 bytes = 16 × i32"). */
function titleBytes(text: string, marker: string): number {
  const m = /(\d+) bytes|_BYTES = (\d+)\)/.exec(sectionTitle(text, marker));
  if (!m) throw new Error(`no byte count in the title at ${marker}`);
  return Number(m[1] ?? m[2]);
}

const L = HDR.LOCK_BYTES;
const HEADER_SRC = srcText("ctx/header.ts");

// ───────────────────────── header ─────────────────────────

const HEADER_SPECS: Spec[] = [
  ["magic", "HDR_MAGIC_B", 4],
  ["layoutVersion", "HDR_VERSION_B", 4],
  ["lgQuantum", "HDR_LG_QUANTUM_B", 4],
  ["lgPage", "HDR_LG_PAGE_B", 4],
  ["lgHugepage", "HDR_LG_HUGEPAGE_B", 4],
  ["lgVaddr", "HDR_LG_VADDR_B", 4],
  ["maxBytes", "HDR_MAX_BYTES_B", 8],
  ["top", "HDR_TOP_B", 8],
  ["headerBytes", "HDR_HEADER_BYTES_B", 4],
  ["nslots", "HDR_NSLOTS_B", 4],
  ["poison", "HDR_POISON_B", 4],
  ["shared", "HDR_SHARED_B", 4],
  ["narenasAuto", "HDR_NARENAS_AUTO_B", 4],
  ["narenasTotal", "HDR_NARENAS_TOTAL_B", 4],
  ["hugeArena", "HDR_HUGE_ARENA_B", 4],
  ["epoch", "HDR_EPOCH_B", 8],
  ["clockOriginMs", "HDR_CLOCK_ORIGIN_B", 8],
  ["zeroReallocs", "HDR_ZERO_REALLOCS_B", 8],
  ["confEmbedLen", "HDR_CONF_EMBED_LEN_B", 4],
  ["confEnvLen", "HDR_CONF_ENV_LEN_B", 4],
  ["virtualNowNs", "HDR_VIRTUAL_NOW_B", 8],
  ["base0", "HDR_BASE0_B", 4],
  ["lastDestroyed", "HDR_LAST_DESTROYED_B", 4],
  ["arenasDirtyMs", "HDR_ARENAS_DIRTY_MS_B", 8],
  ["arenasMuzzyMs", "HDR_ARENAS_MUZZY_MS_B", 8],
  ["bgThreads", "HDR_BG_THREADS_B", 4],
  ["maxBgThreads", "HDR_MAX_BG_THREADS_B", 4],
  ["ncpus", "HDR_NCPUS_B", 4],
  ["bgRegion", "HDR_BG_REGION_B", 4],
  ["bgNthreads", "HDR_BG_NTHREADS_B", 4],
  ["bgNinfo", "HDR_BG_NINFO_B", 4],
  ["mapFloor", "HDR_MAP_FLOOR_B", 4],
  ["mapGapTop", "HDR_MAP_GAP_TOP_B", 4],
  ["flags", "HDR_FLAGS_B", 4],
  ["profRegion", "HDR_PROF_REGION_B", 4],
  ["confExt", "HDR_CONF_EXT_B", 4],
  ["statsIntervalAccum", "HDR_STATS_INTERVAL_ACCUM_B", 8],
  ["locks/map", "HDR_LOCK_MAP_B", L, 8],
  ["locks/ctl", "HDR_LOCK_CTL_B", L, 8],
  ["locks/arenas", "HDR_LOCK_ARENAS_B", L, 8],
  ["tcachesTable", "HDR_TCACHES_TABLE_B", 4],
  ["tcachesPast", "HDR_TCACHES_PAST_B", 4],
  ["tcachesAvail", "HDR_TCACHES_AVAIL_B", 4],
  ["tcaches", "HDR_LOCK_TCACHES_B", L, 8],
  ["confEmbed", "HDR_CONF_EMBED_B", HDR.HDR_CONF_MAX_BYTES, 8],
  ["confEnv", "HDR_CONF_ENV_B", HDR.HDR_CONF_MAX_BYTES, 8],
];

const THREAD_SPECS: Spec[] = [
  ["arena", "THREAD_ARENA_B", 4],
  ["tcache", "THREAD_TCACHE_B", 4],
  ["allocated", "THREAD_ALLOCATED_B", 8],
  ["deallocated", "THREAD_DEALLOCATED_B", 8],
  ["lastError", "THREAD_LAST_ERROR_B", 4],
  ["tcacheOn", "THREAD_TCACHE_ON_B", 4],
  ["binshardSel", "THREAD_BINSHARD_B", 4],
  ["gcAllocNext", "THREAD_GC_ALLOC_NEXT_B", 8],
  ["gcDallocNext", "THREAD_GC_DALLOC_NEXT_B", 8],
  ["nodeThreadId", "THREAD_NODE_TID_B", 4],
  ["tcacheTransit", "THREAD_TCACHE_TRANSIT_B", 4],
  ["internalBlock", "THREAD_INTERNAL_BLOCK_B", 4],
];

describe("heap header", () => {
  const fs = fields("header", HDR, HEADER_SPECS);

  it("fixed part: fields in order, aligned, inside HDR_FIXED_BYTES, as the diagram says", () => {
    const rows = diagramRows(section(HEADER_SRC, "Fixed part", "╘"), ROW_BYTES);
    expectRecord("header", fs, HDR.HDR_FIXED_BYTES, rows);
    const last = rows[rows.length - 1]!;
    expect(last.endB, "the diagram's last row ends at HDR_FIXED_BYTES").toBe(HDR.HDR_FIXED_BYTES);
    expect(HDR.HDR_FIXED_BYTES % 8).toBe(0);
  });

  it("flags are distinct single bits", () => {
    const flags = Object.entries(HDR).filter(([k]) => k.startsWith("HDR_FLAG_")) as [string, number][];
    expect(flags.length).toBeGreaterThanOrEqual(3);
    expect(masksProblems("header.flags", Object.fromEntries(flags))).toEqual([]);
    for (const [k, v] of flags) expect((v & (v - 1)) === 0 && v > 0, `${k} is one bit`).toBe(true);
  });

  const tfs = fields("thread", HDR, THREAD_SPECS);
  it("per-thread record: fields as the diagram says, inside THREAD_BYTES", () => {
    const rows = diagramRows(section(HEADER_SRC, "Per-thread record", "The fast paths"), ROW_BYTES);
    expectRecord("thread", tfs, HDR.THREAD_BYTES, rows);
    expect(rows[rows.length - 1]!.endB, "diagram covers the whole record").toBe(HDR.THREAD_BYTES);
  });

  const CONFIGS = [12, 14, 16].flatMap((lgPage) =>
    [30, 32].flatMap((lgVaddr) => [1, 2, 7, 64, 1000].map((nslots) => ({ lgPage, lgVaddr, nslots }))),
  );

  it.each(CONFIGS)(
    "regions for lg_page $lgPage, lg_vaddr $lgVaddr, $nslots slots",
    ({ lgPage, lgVaddr, nslots }) => {
      const h = HDR.headerLayout(lgPage, lgVaddr, nslots);
      expect(h.rtreeRootEntries).toBe(2 ** Math.max(0, lgVaddr - lgPage - HDR.RTREE_LEAF_BITS));
      const regions: Field[] = [
        ["fixed", 0, HDR.HDR_FIXED_BYTES, 8],
        ["arenaTable", h.arenaTableB, HDR.ARENAS_MAX * 4, 8],
        ["rtreeRoot", h.rtreeRootB, h.rtreeRootEntries * 4, 8],
        ["slots", h.slotsB, SLOTS.slotsRegionWords(nslots) * 4, 8],
        ["threads", h.threadsB, nslots * HDR.THREAD_BYTES, HDR.THREAD_ALIGN],
      ];
      expect(recordProblems("header regions", regions, h.headerBytes)).toEqual([]);
      // In the documented order.
      const starts = regions.map((r) => r[1]);
      expect(starts).toEqual([...starts].sort((a, b) => a - b));
      expect(h.headerBytes % 2 ** lgPage, "header is a page multiple").toBe(0);
      expect(
        h.headerBytes - 2 ** lgPage < h.threadsB + nslots * HDR.THREAD_BYTES,
        "no whole spare page",
      ).toBe(true);
      // The slot registry's lock record needs 8-byte alignment in the i32 view.
      expect(((h.slotsB >>> 2) + SLOTS.SLOTS_HDR_W_LOCK) % 2).toBe(0);
    },
  );

  it.each([
    [12, 2],
    [12, 64],
    [16, 7],
    [16, 64],
  ])("lg_page %i, %i slots: no two threads' records share a 128-byte block", (lgPage, nslots) => {
    const h = HDR.headerLayout(lgPage, 32, nslots);
    const owner = new Map<number, number>();
    for (let s = 0; s < nslots; s++) {
      for (const [name, off, width] of tfs) {
        const first = h.threadsB + s * HDR.THREAD_BYTES + off;
        for (const b of [Math.floor(first / 128), Math.floor((first + width - 1) / 128)]) {
          const o = owner.get(b);
          expect(o === undefined || o === s, `slot ${s} ${name} shares block ${b} with slot ${o}`).toBe(true);
          owner.set(b, s);
        }
      }
    }
    expect(owner.size, "each thread's hot words use their own blocks").toBeGreaterThanOrEqual(nslots);
    expect(HDR.THREAD_BYTES % 128).toBe(0);
    expect(HDR.THREAD_ALIGN % 128).toBe(0);
  });
});

// ───────────────────────── sync: lock, thread registry, slot ─────────────────────────

describe("lock record and thread slots", () => {
  const lockSrc = srcText("sync/layout.ts");
  const slotsSrc = srcText("sync/slots.ts");

  // Diagram names are the constants' without LOCK_W_ and the Atomics marker X_ (STATE, NUM_OPS, ...).
  const lockSpecs = Object.keys(LOCK)
    .filter((k) => k.startsWith("LOCK_W_"))
    .map((k) => {
      const f = LOCK.LOCK_FIELDS.find(([, w]) => w === constant(LOCK, k));
      if (!f) throw new Error(`${k} is not in LOCK_FIELDS`);
      return [k.replace(/^LOCK_W_(X_)?/, ""), k, f[2] * 4, f[2] === 2 ? 8 : 4] as const;
    });
  const lockFs = fields("lock", LOCK, lockSpecs, 4);
  it("lock record matches its diagram and title size", () => {
    expect(lockSpecs.length).toBe(LOCK.LOCK_FIELDS.length);
    const rows = diagramRows(section(lockSrc, "Lock record:", "╘"), ROW_WORD_BYTES);
    expectRecord("lock", lockFs, LOCK.LOCK_BYTES, rows);
    expect(titleBytes(lockSrc, "Lock record:")).toBe(LOCK.LOCK_BYTES);
  });

  const hfs = fields(
    "slots header",
    SLOTS,
    [
      ["LOCK", "SLOTS_HDR_W_LOCK", L, 8],
      ["NSLOTS", "SLOTS_HDR_W_NSLOTS", 4],
      ["NEXT_THREAD_ID", "SLOTS_HDR_W_X_NEXT_THREAD_ID", 4],
      ["LIVE", "SLOTS_HDR_W_X_LIVE", 4],
      ["MAGIC", "SLOTS_HDR_W_MAGIC", 4],
    ],
    4,
  );
  const sfs = fields(
    "slot",
    SLOTS,
    [
      ["STATE_GEN", "SLOT_W_X_STATE_GEN", 4],
      ["THREAD_ID", "SLOT_W_X_THREAD_ID", 4],
      ["HEARTBEAT", "SLOT_W_X_HEARTBEAT", 4],
      ["RESERVED", "SLOT_W_RESERVED", 4],
    ],
    4,
  );
  it("registry header and slot match their diagrams", () => {
    const hrows = diagramRows(section(slotsSrc, "Registry header", "╘"), ROW_WORD_BYTES);
    expectRecord("slots header", hfs, SLOTS.SLOTS_HEADER_WORDS * 4, hrows);
    expect(titleBytes(slotsSrc, "Registry header")).toBe(SLOTS.SLOTS_HEADER_WORDS * 4);
    const srows = diagramRows(section(slotsSrc, "Slot: ", "╘"), ROW_WORD_BYTES);
    expectRecord("slot", sfs, SLOTS.SLOT_WORDS * 4, srows);
    expect(titleBytes(slotsSrc, "Slot: ")).toBe(SLOTS.SLOT_WORDS * 4);
  });
});

// ───────────────────────── edata ─────────────────────────

describe("extent record (edata)", () => {
  const src = srcText("extent/edata.ts");
  const WORD_FIELDS: Spec[] = [
    ["addr", "EDATA_W_ADDR", 4],
    ["base", "EDATA_W_BASE", 4],
    ["size", "EDATA_W_SIZE", 4],
    ["bits", "EDATA_W_BITS", 4],
    ["szind", "EDATA_W_SZIND", 4],
    ["arena", "EDATA_W_ARENA", 4],
    ["sn", "EDATA_W_SN", 4],
    ["nfree", "EDATA_W_NFREE", 4],
    ["binshard", "EDATA_W_BINSHARD", 4],
    ["phParent", "EDATA_W_PH_PARENT", 4],
    ["phNext", "EDATA_W_PH_NEXT", 4],
    ["phChild", "EDATA_W_PH_CHILD", 4],
    ["listPrev", "EDATA_W_LIST_PREV", 4],
    ["listNext", "EDATA_W_LIST_NEXT", 4],
    ["bmHint", "EDATA_W_BM_HINT", 4],
    ["check", "EDATA_W_CHECK", 4],
  ];

  fields("edata", EDATA, WORD_FIELDS, 4);
  it.each([12, 14, 16])("words and bitmap for lg_page %i match the diagram", (lgPage) => {
    const slabMaxRegs = 2 ** (lgPage - 3); // as boot.ts: the smallest region is 8 bytes
    const bitmapBytes = EDATA.edataBytes(slabMaxRegs) - EDATA.EDATA_HEADER_BYTES;
    expect(bitmapBytes * 8).toBeGreaterThanOrEqual(slabMaxRegs);
    const fs = fields("edata", EDATA, [...WORD_FIELDS, ["bitmap", "EDATA_W_BITMAP", bitmapBytes, 8]], 4);
    const rows = diagramRows(section(src, "Extent record:", "bits legend"), ROW_WORD_BYTES);
    expectRecord("edata", fs, EDATA.edataBytes(slabMaxRegs), rows);
    expect(EDATA.edataBytes(slabMaxRegs) % 8, "records stay 8-byte aligned").toBe(0);
    expect(EDATA.EDATA_W_BITMAP * 4).toBe(EDATA.EDATA_HEADER_BYTES);
  });

  it("packed bits: disjoint masks that match the legend's letters and bit numbers", () => {
    const masks = {
      state: EDATA.EDATA_BITS_STATE_MASK,
      slab: EDATA.EDATA_BITS_SLAB_MASK,
      committed: EDATA.EDATA_BITS_COMMITTED_MASK,
      zeroed: EDATA.EDATA_BITS_ZEROED_MASK,
      head: EDATA.EDATA_BITS_HEAD_MASK,
      prof: EDATA.EDATA_BITS_PROF_MASK,
    };
    expect(masksProblems("edata.bits", masks)).toEqual([]);
    const states = Object.entries(EDATA).filter(([k]) => k.startsWith("EXTENT_STATE_")) as [string, number][];
    for (const [k, v] of states) expect(v & ~masks.state, `${k} fits the state field`).toBe(0);
    const legend = section(src, "bits legend", "Synchronization").join("\n");
    // "state  bits 0..2", "slab bit 3", "committed bit 4", ...
    const stated = new Map<string, number>();
    for (const m of legend.matchAll(/(\w+)\s+bits?\s+(\d+)(?:\.\.(\d+))?/g)) {
      stated.set(m[1]!, bitRange(Number(m[2]), Number(m[3] ?? m[2])));
    }
    for (const [name, mask] of Object.entries(masks))
      expect(stated.get(name), `legend for ${name}`).toBe(mask >>> 0);
    // The letter picture, bit 15 first: p prof, h head, z zeroed, c committed, S slab, s state.
    const picture = /bits legend[^:]*:\s*([^\n(]*)/.exec(src)![1]!.replace(/\s/g, "");
    expect(picture.length).toBe(16);
    const letters: Record<string, keyof typeof masks> = {
      p: "prof",
      h: "head",
      z: "zeroed",
      c: "committed",
      S: "slab",
      s: "state",
    };
    const drawn: Record<string, number> = {};
    [...picture].forEach((ch, i) => {
      const name = letters[ch];
      if (name) drawn[name] = (drawn[name] ?? 0) | (1 << (15 - i));
      else expect(ch, `picture bit ${15 - i}`).toBe(".");
    });
    for (const [name, mask] of Object.entries(masks)) expect(drawn[name], `picture for ${name}`).toBe(mask);
  });
});

// ───────────────────────── arena: PAC part, fields, large stats, bins ─────────────────────────

describe("arena record", () => {
  const arenaSrc = srcText("arena/layout.ts");
  const pacSrc = srcText("extent/pac_layout.ts");

  const pacFs = fields("pac", PAC, [
    ["lock", "PAC_LOCK_B", L, 8],
    ["arenaInd", "PAC_ARENA_IND_B", 4],
    ["snNext", "PAC_SN_NEXT_B", 4],
    ["expGrowNext", "PAC_EXP_GROW_NEXT_B", 4],
    ["expGrowLimit", "PAC_EXP_GROW_LIMIT_B", 4],
    ["edataAvailHead", "PAC_EDATA_AVAIL_HEAD_B", 4],
    ["edataAvailCount", "PAC_EDATA_AVAIL_COUNT_B", 4],
    ["baseB", "PAC_BASE_B", 4],
    ["oversizeThreshold", "PAC_OVERSIZE_THRESHOLD_B", 4],
    ["pacMapped", "PAC_MAPPED_B", 8],
    ["abandonedVm", "PAC_ABANDONED_VM_B", 8],
    ["nactive", "PAC_NACTIVE_B", 8],
    ["offsetState", "PAC_OFFSET_STATE_B", 4],
    ["hooksVersion", "PAC_HOOKS_VERSION_B", 4],
    ["intent", "PAC_INTENT_B", 24],
  ]);
  it("PAC part matches its diagram", () => {
    const rows = diagramRows(section(pacSrc, "PAC record", "╘"), ROW_AFTER_LOCK, L);
    expectRecord("pac", pacFs, PAC.PAC_FIXED_BYTES, rows);
    expect(PAC.PAC_FIXED_BYTES % 8).toBe(0);
  });

  const arenaFs = fields("arena", ARENA, [
    ["isAuto", "ARENA_IS_AUTO_B", 4],
    ["nthreads", "ARENA_NTHREADS_B", 4],
    ["nthreadsInt", "ARENA_NTHREADS_INT_B", 4],
    ["binshardNext", "ARENA_BINSHARD_NEXT_B", 4],
    ["largeHead", "ARENA_LARGE_HEAD_B", 4],
    ["largeTail", "ARENA_LARGE_TAIL_B", 4],
    ["state", "ARENA_STATE_B", 4],
    ["tcacheHead", "ARENA_TCACHE_HEAD_B", 4],
    ["internal", "ARENA_INTERNAL_B", 8],
    ["createTimeNs", "ARENA_CREATE_TIME_B", 8],
  ]);
  it("arena fields match their diagram", () => {
    const rows = diagramRows(section(arenaSrc, "Arena fields", "╘"), ROW_BYTES);
    // dirtyDecayMsOpt is documented as reserved space (no constant).
    expectRecord("arena", arenaFs, ARENA.ARENA_FIELDS_BYTES, rows, ["dirtyDecayMsOpt"]);
    expect(ARENA.ARENA_FIELDS_BYTES % 8).toBe(0);
  });

  /** Counter indexes of a stats block in value order, as lower-case names (BSTATS_NONFULL_SLABS → nonfull_slabs). */
  function counterNames(prefix: string): string[] {
    return (Object.entries(ARENA) as [string, unknown][])
      .filter(([k, v]) => k.startsWith(prefix) && !/_(COUNT|BYTES)$/.test(k) && typeof v === "number")
      .sort((a, b) => (a[1] as number) - (b[1] as number))
      .map(([k, v], i) => {
        expect(v, `${k} is counter ${i}`).toBe(i);
        return k.slice(prefix.length).toLowerCase();
      });
  }

  it("large stats: counters in the diagram's order, f64 each, inside LSTATS_BYTES", () => {
    const names = counterNames("LSTATS_");
    const listed = /Large-class statistics[^:]*:\s*([^(]*)\(f64\)/
      .exec(arenaSrc)![1]!
      .split(/[,\s]+/)
      .filter(Boolean);
    expect(names).toEqual(listed);
    expect(names.length * 8).toBeLessThanOrEqual(ARENA.LSTATS_BYTES);
    expect(ARENA.LSTATS_BYTES % 8).toBe(0);
  });

  const binFs = fields("bin", ARENA, [
    ["lock", "BIN_LOCK_B", L, 8],
    ["slabcur", "BIN_SLABCUR_B", 4],
    ["nonfullRoot", "BIN_NONFULL_ROOT_B", 4],
    ["fullHead", "BIN_FULL_HEAD_B", 4],
    ["fullTail", "BIN_FULL_TAIL_B", 4],
  ]);
  it("bin record matches its diagram; stats counters in the diagram's order", () => {
    const statNames = counterNames("BSTATS_");
    expect(statNames.length).toBe(ARENA.BSTATS_COUNT);
    const binLines = section(arenaSrc, "Bin record", "╘");
    const statsText = binLines.join(" ").split("stats (f64)")[1]!.replace(/\*/g, " ");
    expect(statNames).toEqual(statsText.split(/\s+/).filter(Boolean));
    for (const [i, n] of statNames.entries()) binFs.push([`stats/${n}`, ARENA.BIN_STATS_B + i * 8, 8]);
    const rows = diagramRows(binLines, ROW_AFTER_LOCK, L);
    expectRecord("bin", binFs, ARENA.BIN_BYTES, rows);
    expect(ARENA.BIN_BYTES % 8).toBe(0);
  });

  const CONFIGS = [12, 14, 16].flatMap((lgPage) =>
    [3, 4].flatMap((lgQuantum) => [30, 32].map((lgVaddr) => ({ lgPage, lgQuantum, lgVaddr }))),
  );

  it.each(CONFIGS)("computed layout for lg_page $lgPage, lg_quantum $lgQuantum, lg_vaddr $lgVaddr", (cfg) => {
    for (const binShards of [undefined, [{ start: 1, end: 128, nshards: 4 }]]) {
      const sc = new SizeClasses({ ...cfg, lgHugepage: 21 }, binShards ? { binShards } : undefined);
      const a = ARENA.arenaLayoutCompute(sc);
      expect(a.esetBytes).toBe(esetBytes(a.esetNbins));
      const parts: Field[] = [
        ["pac", 0, PAC.PAC_FIXED_BYTES, 8],
        ["ecacheDirty", a.ecacheDirtyB, a.esetBytes, 8],
        ["ecacheMuzzy", a.ecacheMuzzyB, a.esetBytes, 8],
        ["ecacheRetained", a.ecacheRetainedB, a.esetBytes, 8],
        ["decayDirty", a.decayDirtyB, DECAY.DECAY_BYTES, 8],
        ["decayMuzzy", a.decayMuzzyB, DECAY.DECAY_BYTES, 8],
        ["fields", a.arenaFieldsB, ARENA.ARENA_FIELDS_BYTES, 8],
        ["lstats", a.lstatsB, a.nlextentsAddr * ARENA.LSTATS_BYTES, 8],
        ["bins", a.binsB, a.nbinRecords * a.binBytes, 8],
      ];
      expect(recordProblems("arena record", parts, a.arenaBytes)).toEqual([]);
      const starts = parts.map((p) => p[1]);
      expect(starts, "in the documented order").toEqual([...starts].sort((x, y) => x - y));
      expect(a.arenaBytes % 64).toBe(0);
      expect(a.binBytes).toBe(ARENA.BIN_BYTES);
      let next = 0;
      for (let i = 0; i < sc.nbins; i++) {
        expect(a.binFirst[i], `bin ${i} first record`).toBe(next);
        next += sc.binNshards[i]!;
      }
      expect(a.nbinRecords).toBe(next);
      if (binShards) expect(a.nbinRecords).toBeGreaterThan(sc.nbins);
      expect(a.nlextentsAddr).toBe(sc.maxClassIndex - sc.nbins + 1);
    }
  });
});

// ───────────────────────── decay ─────────────────────────

describe("decay record", () => {
  const fs = fields("decay", DECAY, [
    ["decay_ms", "DECAY_B_DECAY_MS", 8],
    ["interval", "DECAY_B_INTERVAL_NS", 8],
    ["epoch", "DECAY_B_EPOCH_NS", 8],
    ["deadline", "DECAY_B_DEADLINE_NS", 8],
    ["jitter", "DECAY_B_JITTER_STATE", 8, 4],
    ["nunpurged", "DECAY_B_NUNPURGED_PAGES", 8],
    ["npages_limit", "DECAY_B_NPAGES_LIMIT", 8],
    ["ceil_npages", "DECAY_B_CEIL_NPAGES", 8],
    ["npurge", "DECAY_B_NPURGE", 8],
    ["nmadvise", "DECAY_B_NMADVISE", 8],
    ["purged", "DECAY_B_PURGED_PAGES", 8],
    ["mode", "DECAY_B_MODE", 4],
    ["purging", "DECAY_B_PURGING", 4],
    ["seed", "DECAY_B_SEED", 8, 4],
    [`backlog[${SMOOTHSTEP_NSTEPS}]`, "DECAY_B_BACKLOG", SMOOTHSTEP_NSTEPS * 8, 8],
  ]);
  it("matches its diagram and its stated size", () => {
    const src = srcText("decay/decay.ts");
    const rows = diagramRows(section(src, "Decay record:", "╘"), ROW_OFFSET_SIZE);
    expectRecord("decay", fs, DECAY.DECAY_BYTES, rows);
    expect(rows[rows.length - 1]!.endB).toBe(DECAY.DECAY_BYTES);
    expect(titleBytes(src, "Decay record:")).toBe(DECAY.DECAY_BYTES);
    expect(DECAY.DECAY_BYTES % 8).toBe(0);
  });
});

// ───────────────────────── tcache ─────────────────────────

describe("tcache record", () => {
  const src = srcText("tcache/layout.ts");

  const tcacheFs = fields("tcache", TCACHE, [
    ["arena", "TCACHE_ARENA_B", 4],
    ["block", "TCACHE_BLOCK_B", 4],
    ["nextGcBin", "TCACHE_NEXT_GC_BIN_B", 4],
    ["state", "TCACHE_STATE_B", 4],
    ["gcAllocNext", "TCACHE_GC_ALLOC_NEXT_B", 8],
    ["gcDallocNext", "TCACHE_GC_DALLOC_NEXT_B", 8],
    ["nhbins", "TCACHE_NHBINS_B", 4],
    ["kind", "TCACHE_KIND_B", 4],
  ]);
  it("header matches its diagram", () => {
    const rows = diagramRows(section(src, "Tcache record", "per bin i"), ROW_BYTES);
    expectRecord("tcache", tcacheFs, TCACHE.TCACHE_HDR_BYTES, rows);
    expect(rows[rows.length - 1]!.endB).toBe(TCACHE.TCACHE_HDR_BYTES);
    expect(TCACHE.TCACHE_HDR_BYTES % 8).toBe(0);
  });

  const tbinFs = fields(
    "tbin",
    TCACHE,
    [
      ["head", "TBIN_W_HEAD", 4],
      ["lowWater", "TBIN_W_LOW_WATER", 4],
      ["cap", "TBIN_W_CAP", 4],
      ["slotsW", "TBIN_W_SLOTS", 4],
      ["nrequests", "TBIN_W_NREQUESTS", 8],
      ["packed", "TBIN_W_PACKED", 4],
      ["nstashed", "TBIN_W_NSTASHED", 4],
    ],
    4,
  );
  it("cache-bin record matches its diagram; packed word fields are disjoint and as described", () => {
    const lines = section(srcText("cache_bin/layout.ts"), "word  field", "╘");
    expectRecord("tbin", tbinFs, TCACHE.TBIN_BYTES, diagramRows(lines, ROW_WORDS));
    expect(TCACHE.TBIN_BYTES).toBe(TCACHE.TBIN_WORDS * 4);
    expect(TCACHE.TBIN_BYTES % 8, "nrequests stays 8-byte aligned in every bin").toBe(0);
    const masks = {
      lgFillDiv: TCACHE.TBIN_FILL_DIV_MASK,
      refilled: TCACHE.TBIN_REFILLED_BIT,
      flushDelay: TCACHE.TBIN_FLUSH_DELAY_MASK,
    };
    expect(masksProblems("tbin.packed", masks)).toEqual([]);
    const packedLine = lines.find((l) => l.includes("packed"))!;
    for (const [name, mask] of Object.entries(masks)) {
      const m = new RegExp(String.raw`${name} \((?:bits? )?(\d+)(?:\.\.(\d+))?\)`).exec(packedLine);
      expect(m, `packed legend names ${name}`).not.toBeNull();
      // The legend gives the bits the field may use; the mask must lie inside them and start at the low bit.
      const stated = bitRange(Number(m![1]), Number(m![2] ?? m![1]));
      expect(mask & ~stated, `${name} inside bits ${m![1]}..${m![2] ?? m![1]}`).toBe(0);
      expect(mask & (1 << Number(m![1])), `${name} starts at bit ${m![1]}`).not.toBe(0);
    }
  });
});

// ───────────────────────── background threads ─────────────────────────

describe("background thread region and info record", () => {
  const src = srcText("background/layout.ts");

  const ninfo = 3;
  const rfs = fields("bg region", BG, [
    ["globalLock", "REGION_GLOBAL_LOCK_B", L, 8],
    ["info[ninfo]", "REGION_HEADER_BYTES", ninfo * BG.INFO_BYTES, 8],
  ]);
  const fs = fields("bg info", BG, [
    ["lock", "INFO_LOCK_B", L, 8],
    ["state", "INFO_STATE_B", 4],
    ["wakeSeq", "INFO_WAKE_SEQ_B", 4],
    ["indefiniteSleep", "INFO_INDEFINITE_B", 4],
    ["alive", "INFO_ALIVE_B", 4],
    ["nextWakeupNs", "INFO_NEXT_WAKEUP_NS_B", 8],
    ["npagesPurgeNew", "INFO_NPAGES_PURGE_NEW_B", 8],
    ["totNRuns", "INFO_TOT_N_RUNS_B", 8],
    ["totSleepNs", "INFO_TOT_SLEEP_NS_B", 8],
    ["workerSlot", "INFO_WORKER_SLOT_B", 4],
  ]);
  it("region and info record match their diagrams", () => {
    const rrows = diagramRows(section(src, "Region (", "╘"), ROW_BYTES);
    expectRecord("bg region", rfs, BG.regionBytes(ninfo), rrows);
    expect(BG.infoB(1000, 2)).toBe(1000 + BG.REGION_HEADER_BYTES + 2 * BG.INFO_BYTES);
    const rows = diagramRows(section(src, "Info record", "╘"), ROW_BYTES);
    expectRecord("bg info", fs, BG.INFO_BYTES, rows);
    expect(rows[rows.length - 1]!.endB).toBe(BG.INFO_BYTES);
    expect(titleBytes(src, "Info record")).toBe(BG.INFO_BYTES);
    expect(BG.INFO_BYTES % 8).toBe(0);
  });
});

// ───────────────────────── profiling ─────────────────────────

describe("profiling region and records", () => {
  const src = srcText("prof/layout.ts");

  const nslots = 5;
  const profFs = fields("prof region", PROF, [
    ["lock", "PROF_LOCK_B", L, 8],
    ["active", "PROF_ACTIVE_B", 4],
    ["gdump", "PROF_GDUMP_B", 4],
    ["threadActInit", "PROF_THREAD_ACTIVE_INIT_B", 4],
    ["lgSample", "PROF_LG_SAMPLE_B", 4],
    ["dumpSeq", "PROF_DUMP_SEQ_B", 4],
    ["dumpMseq", "PROF_DUMP_MSEQ_B", 4],
    ["dumpIseq", "PROF_DUMP_ISEQ_B", 4],
    ["dumpUseq", "PROF_DUMP_USEQ_B", 4],
    ["strBuckets", "PROF_STR_BUCKETS_B", 4],
    ["stackBuckets", "PROF_STACK_BUCKETS_B", 4],
    ["tctxBuckets", "PROF_TCTX_BUCKETS_B", 4],
    ["allocBuckets", "PROF_ALLOC_BUCKETS_B", 4],
    ["allocFree", "PROF_ALLOC_FREE_B", 4],
    ["tctxList", "PROF_TCTX_LIST_B", 4],
    ["nstrings", "PROF_NSTRINGS_B", 4],
    ["unbias", "PROF_UNBIAS_B", 4],
    ["recentMax", "PROF_RECENT_MAX_B", 4],
    ["prefixLen", "PROF_PREFIX_LEN_B", 4],
    ["intervalAcc", "PROF_INTERVAL_ACC_B", 8],
    ["gdumpPeak", "PROF_GDUMP_PEAK_B", 8],
    ["statsTable", "PROF_STATS_TABLE_B", 4],
    ["tdataList", "PROF_TDATA_LIST_B", 4],
    ["prefix", "PROF_PREFIX_B", PROF.PROF_PREFIX_MAX, 8],
    ["threads[nslots]", "PROF_THREADS_B", nslots * PROF.PT_BYTES, 8],
  ]);
  it("region matches its diagram", () => {
    const rows = diagramRows(section(src, "Region (", "╘"), ROW_BYTES);
    expectRecord("prof region", profFs, PROF.PROF_REGION_BYTES + nslots * PROF.PT_BYTES, rows);
  });

  const ptFs = fields("prof thread", PROF, [
    ["sampleNext", "PT_SAMPLE_NEXT_B", 8],
    ["prng", "PT_PRNG_B", 8, 4],
    ["active", "PT_ACTIVE_B", 4],
    ["tid", "PT_TID_B", 4],
    ["lastEvent", "PT_LAST_EVENT_B", 8],
    ["spares", "PT_SPARES_B", PROF.PT_NSPARES * 4, 4],
  ]);
  it("per-slot sampling state matches its diagram", () => {
    const rows = diagramRows(section(src, "Per-slot sampling state", "*/"), ROW_BYTES);
    expectRecord("prof thread", ptFs, PROF.PT_BYTES, rows);
    expect(rows[rows.length - 1]!.endB).toBe(PROF.PT_BYTES);
    expect(PROF.PT_BYTES % 8).toBe(0);
  });

  it("tctx, allocation and thread-name records tile without overlap", () => {
    const tctx: Spec[] = [
      ["next", "TCTX_NEXT_B", 4],
      ["stack", "TCTX_STACK_B", 4],
      ["tid", "TCTX_TID_B", 4],
      ["allNext", "TCTX_ALL_NEXT_B", 4],
      ...(
        [
          "CUROBJS",
          "CUROBJS_SHIFTED",
          "CURBYTES",
          "CURBYTES_UNBIASED",
          "ACCUMOBJS",
          "ACCUMOBJS_SHIFTED",
          "ACCUMBYTES",
          "ACCUMBYTES_UNBIASED",
        ] as const
      ).map((n) => [n, `TCTX_${n}_B`, 8] as const),
    ];
    expect(recordProblems("tctx", fields("tctx", PROF, tctx), PROF.TCTX_BYTES)).toEqual([]);
    const alloc: Spec[] = [
      ["next", "ALLOC_NEXT_B", 4],
      ["ptr", "ALLOC_PTR_B", 4],
      ["tctx", "ALLOC_TCTX_B", 4],
      ["usize", "ALLOC_USIZE_B", 4],
      ["size", "ALLOC_SIZE_B", 4],
    ];
    expect(recordProblems("prof alloc", fields("prof alloc", PROF, alloc), PROF.ALLOC_BYTES)).toEqual([]);
    const tdata: Spec[] = [
      ["next", "TDATA_NEXT_B", 4],
      ["tid", "TDATA_TID_B", 4],
      ["name", "TDATA_NAME_B", 4],
    ];
    expect(recordProblems("tdata", fields("tdata", PROF, tdata), PROF.TDATA_BYTES)).toEqual([]);
    for (const b of [PROF.TCTX_BYTES, PROF.ALLOC_BYTES, PROF.TDATA_BYTES, PROF.PSTATS_BYTES])
      expect(b % 8).toBe(0);
  });
});

// ───────────────────────── Atomics ─────────────────────────

/** Every .ts file under src/. */
function srcFiles(dir: string): string[] {
  return readdirSync(dir).flatMap((n) => {
    const p = join(dir, n);
    return statSync(p).isDirectory() ? srcFiles(p) : p.endsWith(".ts") ? [p] : [];
  });
}

describe("words accessed with Atomics", () => {
  it("every record field named in an Atomics call is one aligned 4-byte slot", () => {
    // The record tests above register their constants in byConstant (vitest runs a file's tests in order).
    const srcDir = fileURLToPath(new URL("../../src", import.meta.url));
    const calls = srcFiles(srcDir).flatMap((f) => atomicsCalls(readFileSync(f, "utf8")));
    const { checked, problems } = atomicsProblems(calls, byConstant);
    // The scan must find the known Atomics words, or it checks nothing.
    for (const c of [
      "HDR_POISON_B",
      "LOCK_W_X_STATE",
      "SLOT_W_X_STATE_GEN",
      "DECAY_B_MODE",
      "INFO_ALIVE_B",
    ]) {
      expect(checked, `scan finds ${c}`).toContain(c);
    }
    expect(problems).toEqual([]);
  });
});

// ───────────────────────── the checks can fail ─────────────────────────

describe("the layout checks catch mistakes (fixtures)", () => {
  it("overlap, misalignment, a field past the size, a duplicate name", () => {
    const bad: Field[] = [
      ["a", 0, 4],
      ["b", 2, 4],
      ["c", 4, 8],
      ["d", 16, 8],
      ["a", 20, 4],
    ];
    const p = recordProblems("fixture", bad, 20);
    expect(p).toContain("fixture: b at 2 overlaps a (0..3)");
    expect(p).toContain("fixture.b: offset 2 not 4-aligned");
    expect(p).toContain("fixture.c: offset 4 not 8-aligned");
    expect(p).toContain("fixture.d: 16..23 past the size 20");
    expect(p).toContain("fixture: field a listed twice");
    expect(
      recordProblems(
        "fixture",
        [
          ["a", 0, 4],
          ["b", 8, 8],
        ],
        16,
      ),
    ).toEqual([]);
  });

  const fs = fields("header", HDR, HEADER_SPECS);
  it("a stale header diagram fails: a moved row, a missing row, a field in reserved space", () => {
    const moved = HEADER_SRC.replace(" * 164..167   mapFloor", " * 168..171   mapFloor");
    expect(
      diagramProblems("header", diagramRows(section(moved, "Fixed part", "╘"), ROW_BYTES), fs),
    ).toContain("header: mapFloor is at 164, diagram says 168");
    const dropped = HEADER_SRC.replace(/^ \* 172\.\.175 {3}flags.*\n/m, "");
    expect(dropped).not.toBe(HEADER_SRC);
    expect(
      diagramProblems("header", diagramRows(section(dropped, "Fixed part", "╘"), ROW_BYTES), fs),
    ).toContain("header: field flags is not in the diagram");
    const reserved = HEADER_SRC.replace(" * 176..179   profRegion", " * 176..179   (reserved)");
    expect(
      diagramProblems("header", diagramRows(section(reserved, "Fixed part", "╘"), ROW_BYTES), fs),
    ).toContain("header: profRegion lies in reserved row (reserved)");
    const wide = HEADER_SRC.replace(" *  44..47    nslots", " *  44..51    nslots");
    const p = diagramProblems("header", diagramRows(section(wide, "Fixed part", "╘"), ROW_BYTES), fs);
    expect(p).toContain("header: nslots ends at 47, diagram says 51");
    expect(p).toContain("header: diagram row poison overlaps/precedes nslots");
  });

  it("a word index that disagrees with its bytes, and an L+ row", () => {
    const rows = diagramRows([" *   2    12..15   bits   packed"], ROW_WORD_BYTES);
    expect(diagramProblems("fixture", rows, [["bits", 12, 4]])).toEqual([
      "fixture: diagram row bits: word 2 is not byte 12",
      "fixture: field bits is not in the diagram",
    ]);
    const lrows = diagramRows([" *   0..L-1   lock", " *   L+4      next"], ROW_AFTER_LOCK, 64);
    expect(lrows.map((r) => [r.name, r.startB, r.endB])).toEqual([
      ["lock", 0, 64],
      ["next", 68, undefined],
    ]);
  });

  it("overlapping packed masks and an 8-byte word used with Atomics", () => {
    expect(masksProblems("fixture", { a: 0b0110, b: 0b0100 })).toEqual([
      "fixture: b mask overlaps an earlier field",
    ]);
    const known = new Map<string, KnownField>([
      ["X_WIDE_B", { record: "fixture", offsetB: 8, widthB: 8 }],
      ["X_OK_B", { record: "fixture", offsetB: 4, widthB: 4 }],
    ]);
    const calls = atomicsCalls(
      "Atomics.add(v.i32, (r + X_WIDE_B) >>> 2, f(1));\nAtomics.load(v.i32, (r + X_OK_B) >>> 2)",
    );
    expect(calls).toEqual(["v.i32, (r + X_WIDE_B) >>> 2, f(1)", "v.i32, (r + X_OK_B) >>> 2"]);
    expect(atomicsProblems(calls, known)).toEqual({
      checked: ["X_OK_B", "X_WIDE_B"],
      problems: ["X_WIDE_B (fixture): 8 bytes at 8"],
    });
  });
});
