/**
 * attach_check: a buffer handed to Heap.attach is input. Before anything is derived from it, its
 * header is checked against the buffer's length and the layout's invariants — geometry (lg_quantum,
 * lg_page, lg_hugepage, lg_vaddr within the accepted ranges), every offset and size word in range
 * and consistent (the header tiles [0, headerBytes), top lies between the header and both maxBytes
 * and the buffer's end, counts within their limits), and every pointer the header and the page map
 * hold (base b0, arena records, page-map leaves and the extents they name, explicit cache table, conf
 * strings) inside [headerBytes, top). A truncated copy or a garbage word is a TypeError naming the
 * field and its value, at attach, instead of a raw RangeError/TypeError later.
 */

import {
  ARENAS_MAX,
  HDR_ARENAS_DIRTY_MS_B,
  HDR_ARENAS_MUZZY_MS_B,
  HDR_BASE0_B,
  HDR_BG_REGION_B,
  HDR_CONF_EMBED_LEN_B,
  HDR_CONF_EXT_B,
  HDR_CONF_MAX_BYTES,
  HDR_FIXED_BYTES,
  HDR_HEADER_BYTES_B,
  HDR_HUGE_ARENA_B,
  HDR_LAST_DESTROYED_B,
  HDR_LG_HUGEPAGE_B,
  HDR_LG_PAGE_B,
  HDR_LG_QUANTUM_B,
  HDR_LG_VADDR_B,
  HDR_MAX_BYTES_B,
  HDR_NARENAS_AUTO_B,
  HDR_NARENAS_TOTAL_B,
  HDR_NCPUS_B,
  HDR_NSLOTS_B,
  HDR_SHARED_B,
  HDR_TCACHES_PAST_B,
  HDR_TCACHES_TABLE_B,
  HDR_TOP_B,
  headerLayout,
  RTREE_LEAF_BITS,
} from "../ctx/header.js";
import { edataBase, edataIsRecord, edataSize } from "../extent/edata.js";
import { MALLOCX_TCACHE_MAX } from "../flags.js";
import { sizeClassConfig } from "../sizeclass/index.js";
import { SLOTS_MAX } from "../sync/index.js";
import { CONF_ENV_ABSENT, confLocate } from "./conf_store.js";

const MAX_BYTES_LIMIT = 2 ** 32;

function bad(field: string, value: number | string, why: string): never {
  throw new TypeError(`Heap.attach: header field ${field} = ${value} ${why}`);
}

function intIn(field: string, v: number, lo: number, hi: number): number {
  if (!Number.isInteger(v) || v < lo || v > hi) bad(field, v, `is not an integer in [${lo}, ${hi}]`);
  return v;
}

interface Bounds {
  lo: number;
  top: number;
  page: number;
  /** The buffer's length now: other threads may map (and link new records) while this one attaches. */
  liveEnd: () => number;
}

/**
 * A pointer field: 0 when `optional`, else 8-aligned with [p, p + bytes) inside [lo, top) — or inside
 * the buffer as it is now, since the top read first may be stale by the time a new record is read.
 */
function ptrIn(field: string, p: number, bytes: number, b: Bounds, optional: boolean): void {
  if (p === 0 && optional) return;
  if (p % 8 !== 0 || p < b.lo || (p + bytes > b.top && p + bytes > b.liveEnd()))
    bad(field, p, `does not point inside the mapped heap [${b.lo}, ${Math.max(b.top, b.liveEnd())})`);
}

/** Geometry and the fixed words. Returns the bounds pointers must respect. */
function checkFixed(buf: SharedArrayBuffer | ArrayBuffer, u32: Uint32Array, f64: Float64Array): Bounds {
  const i32 = new Int32Array(u32.buffer, u32.byteOffset, u32.length);
  const end = () => buf.byteLength - u32.byteOffset; // heap offsets; a WebAssembly.Memory heap starts at its base
  const cfg = { lgQuantum: 0, lgPage: 0, lgHugepage: 0, lgVaddr: 0 };
  const fields = [
    ["lgQuantum", HDR_LG_QUANTUM_B],
    ["lgPage", HDR_LG_PAGE_B],
    ["lgHugepage", HDR_LG_HUGEPAGE_B],
    ["lgVaddr", HDR_LG_VADDR_B],
  ] as const;
  for (const [name, b] of fields) cfg[name] = u32[b >>> 2]!;
  try {
    sizeClassConfig(cfg);
  } catch (err) {
    const [name, b] = fields.find(([n]) => (err as Error).message.includes(n)) ?? fields[0];
    bad(name, u32[b >>> 2]!, `is out of range (${(err as Error).message})`);
  }
  const page = 2 ** cfg.lgPage;
  const maxBytes = intIn(
    "maxBytes",
    f64[HDR_MAX_BYTES_B >>> 3]!,
    1 << 16,
    Math.min(MAX_BYTES_LIMIT, 2 ** cfg.lgVaddr),
  );
  const nslots = intIn("nslots", u32[HDR_NSLOTS_B >>> 2]!, 1, SLOTS_MAX);
  const layout = headerLayout(cfg.lgPage, cfg.lgVaddr, nslots);
  const lo = u32[HDR_HEADER_BYTES_B >>> 2]!;
  if (lo % page !== 0 || lo < layout.headerBytes || lo > maxBytes)
    bad("headerBytes", lo, `is not a page multiple in [${layout.headerBytes}, maxBytes ${maxBytes}]`);
  const top = f64[HDR_TOP_B >>> 3]!;
  if (!Number.isInteger(top) || top % page !== 0 || top < lo || top > maxBytes)
    bad("top", top, `is not a page multiple in [headerBytes ${lo}, maxBytes ${maxBytes}]`);
  if (top > end())
    bad("top", top, `lies past the buffer's end (${end()} bytes): a truncated copy of a heap?`);
  const shared = u32[HDR_SHARED_B >>> 2]!;
  if (shared !== (buf instanceof SharedArrayBuffer ? 1 : 0))
    bad("shared", shared, `does not match the buffer (a ${buf.constructor.name})`);
  const nauto = intIn("narenasAuto", u32[HDR_NARENAS_AUTO_B >>> 2]!, 1, ARENAS_MAX - 2);
  const ntotal = intIn("narenasTotal", i32[HDR_NARENAS_TOTAL_B >>> 2]!, nauto, ARENAS_MAX - 1);
  const huge = i32[HDR_HUGE_ARENA_B >>> 2]!;
  if (huge !== -1 && huge !== nauto) bad("hugeArena", huge, `is neither -1 nor narenasAuto (${nauto})`);
  if (huge >= ntotal) bad("hugeArena", huge, `is not below narenasTotal (${ntotal})`);
  intIn("lastDestroyed", i32[HDR_LAST_DESTROYED_B >>> 2]!, -1, ntotal - 1);
  intIn("ncpus", u32[HDR_NCPUS_B >>> 2]!, 1, 4096);
  for (const [name, b] of [
    ["arenasDirtyMs", HDR_ARENAS_DIRTY_MS_B],
    ["arenasMuzzyMs", HDR_ARENAS_MUZZY_MS_B],
  ] as const)
    intIn(name, f64[b >>> 3]!, -1, Number.MAX_SAFE_INTEGER);
  return { lo, top, page, liveEnd: end };
}

function checkConf(u32: Uint32Array, b: Bounds): void {
  const ext = u32[HDR_CONF_EXT_B >>> 2]!;
  const loc = confLocate(u32);
  for (const [field, where] of [
    ["confEmbedLen", loc.embedded],
    ["confEnvLen", loc.env],
  ] as const) {
    if (where === null) continue;
    const [at, len] = where;
    if (len <= HDR_CONF_MAX_BYTES) continue;
    // A long string lives in the extension area, which lies inside the header.
    if (ext < HDR_FIXED_BYTES || at + len > b.lo)
      bad(field, len, `needs the conf extension (confExt ${ext}) inside the header (${b.lo} bytes)`);
  }
  if (u32[HDR_CONF_EMBED_LEN_B >>> 2] === CONF_ENV_ABSENT)
    bad("confEmbedLen", CONF_ENV_ABSENT, "is not a length");
}

/** Arena table, page-map root and leaves, and the extents the leaves name. */
function checkPointers(
  u32: Uint32Array,
  b: Bounds,
  lgPage: number,
  lgVaddr: number,
  nslots: number,
  liveEnd: () => number,
): void {
  const hdr = headerLayout(lgPage, lgVaddr, nslots);
  ptrIn("base0", u32[HDR_BASE0_B >>> 2]!, 8, b, false);
  for (let i = 0; i < ARENAS_MAX; i++)
    ptrIn(`arenaTable[${i}]`, u32[(hdr.arenaTableB >>> 2) + i]!, 8, b, true);
  const tcTable = u32[HDR_TCACHES_TABLE_B >>> 2]!;
  ptrIn("tcachesTable", tcTable, (MALLOCX_TCACHE_MAX + 1) * 8, b, true);
  intIn("tcachesPast", u32[HDR_TCACHES_PAST_B >>> 2]!, 0, MALLOCX_TCACHE_MAX + 1);
  ptrIn("bgRegion", u32[HDR_BG_REGION_B >>> 2]!, 8, b, true);
  const leafEntries = 2 ** RTREE_LEAF_BITS;
  for (let r = 0; r < hdr.rtreeRootEntries; r++) {
    const leaf = u32[(hdr.rtreeRootB >>> 2) + r]!;
    if (leaf === 0) continue;
    ptrIn(`pageMapRoot[${r}]`, leaf, leafEntries * 4, b, false);
    for (let k = 0; k < leafEntries; k++) {
      const e = u32[(leaf >>> 2) + k]!;
      if (e === 0) continue;
      const page = r * leafEntries + k;
      ptrIn(`pageMap[page ${page}]`, e, 16, b, false);
      // Stale entries may name a recycled record; a live one must lie inside [headerBytes, top).
      if (!edataIsRecord(u32, e)) continue;
      const base = edataBase(u32, e);
      // Other threads may be mapping while this one attaches: the top read earlier can be stale,
      // so an extent past it is judged against the buffer's length now (the most the heap has mapped).
      if (base < b.lo || (base + edataSize(u32, e) > b.top && base + edataSize(u32, e) > liveEnd()))
        bad(
          `extent ${e} (page ${page})`,
          `[${base}, +${edataSize(u32, e)})`,
          `is not inside [${b.lo}, ${Math.max(b.top, liveEnd())})`,
        );
    }
  }
}

/** Throws a TypeError naming the first header field that is out of range or inconsistent. */
export function attachCheckHeader(buf: SharedArrayBuffer | ArrayBuffer, baseB = 0): void {
  if (buf.byteLength - baseB < HDR_FIXED_BYTES)
    throw new TypeError(`Heap.attach: a ${buf.byteLength}-byte buffer cannot hold a heap header`);
  const u32 = new Uint32Array(buf, baseB, Math.floor((buf.byteLength - baseB) / 4));
  const f64 = new Float64Array(buf, baseB, Math.floor((buf.byteLength - baseB) / 8));
  const b = checkFixed(buf, u32, f64);
  checkConf(u32, b);
  const liveEnd = () => buf.byteLength - baseB;
  checkPointers(
    u32,
    b,
    u32[HDR_LG_PAGE_B >>> 2]!,
    u32[HDR_LG_VADDR_B >>> 2]!,
    u32[HDR_NSLOTS_B >>> 2]!,
    liveEnd,
  );
}
