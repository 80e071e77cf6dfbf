import type { HeapCtx } from "../ctx/ctx.js";
import { metadataCorrupt } from "../errors.js";
import { alignUp } from "../layout/index.js";
import {
  TBIN_BYTES,
  TBIN_W_CAP,
  TBIN_W_HEAD,
  TBIN_W_NSTASHED,
  TBIN_W_SLOTS,
  TCACHE_BLOCK_B,
  TCACHE_HDR_BYTES,
  tbinW,
} from "./layout.js";

/** Bin geometry shared by every cache of a heap (tcache_bin_info). */
export interface TcacheGeom {
  nhbins: number;
  cap: Uint32Array;
  /** Slot offset (in u32 slots) of each bin's stack within the block. */
  slotOff: Uint32Array;
  totalSlots: number;
  /** jemalloc's stack allocation: 8-byte slots + 2 reserved slots, page aligned. */
  allocSize: number;
  /** Byte offset of the record inside the block. */
  recordOff: number;
  /** Block size actually requested (≥ allocSize when the record needs more room). */
  blockSize: number;
  gcIncrBytes: number;
  lgFlushSmallDiv: number;
  lgFlushLargeDiv: number;
  gcDelayBytes: number;
}

const geoms = new WeakMap<object, TcacheGeom>();

export function tcacheGeom(ctx: HeapCtx): TcacheGeom {
  const c = ctx as HeapCtx & { tcacheGeom?: TcacheGeom };
  if (c.tcacheGeom !== undefined) return c.tcacheGeom;
  const g0 = geoms.get(ctx.sc);
  if (g0 !== undefined) {
    c.tcacheGeom = g0;
    return g0;
  }
  const sc = ctx.sc;
  const o = ctx.optRaw;
  const nhbins = sc.nhbins(o.tcache_max);
  const cap = new Uint32Array(nhbins);
  const slotOff = new Uint32Array(nhbins);
  let total = 0;
  const nslots = {
    nslotsSmallMin: o.tcache_nslots_small_min,
    nslotsSmallMax: o.tcache_nslots_small_max,
    nslotsLarge: o.tcache_nslots_large,
    lgNslotsMul: o.lg_tcache_nslots_mul,
  };
  for (let i = 0; i < nhbins; i++) {
    cap[i] = sc.ncachedMax(i, nslots);
    slotOff[i] = total;
    total += cap[i]!;
  }
  const allocSize = 16 + total * 8;
  const recordOff = alignUp(total * 4, 64);
  const need = recordOff + TCACHE_HDR_BYTES + nhbins * TBIN_BYTES;
  const g: TcacheGeom = {
    nhbins,
    cap,
    slotOff,
    totalSlots: total,
    allocSize,
    recordOff,
    blockSize: Math.max(allocSize, need),
    gcIncrBytes: o.tcache_gc_incr_bytes,
    lgFlushSmallDiv: o.lg_tcache_flush_small_div,
    lgFlushLargeDiv: o.lg_tcache_flush_large_div,
    gcDelayBytes: o.tcache_gc_delay_bytes,
  };
  geoms.set(ctx.sc, g);
  return g;
}

/**
 * Throws (corrupt metadata) unless bin `binind` of cache `tc` still has its geometry — capacity, stack
 * position, head ≤ capacity — so every walk over the bin is bounded by what the bin can hold.
 */
export function tbinAssertSane(ctx: HeapCtx, tc: number, binind: number): void {
  const g = tcacheGeom(ctx);
  const u32 = ctx.u32;
  const w = tbinW(tc, binind);
  const block = u32[(tc + TCACHE_BLOCK_B) >>> 2]!;
  const cap = g.cap[binind];
  if (
    cap === undefined ||
    tc - block !== g.recordOff ||
    u32[w + TBIN_W_CAP] !== cap ||
    u32[w + TBIN_W_HEAD]! > cap ||
    u32[w + TBIN_W_NSTASHED]! > u32[w + TBIN_W_HEAD]! ||
    u32[w + TBIN_W_SLOTS] !== (block >>> 2) + g.slotOff[binind]!
  )
    throw metadataCorrupt(`thread cache ${tc} bin ${binind}: its record does not match the cache geometry`);
}

export function flushDelayItems(ctx: HeapCtx, g: TcacheGeom, binind: number): number {
  const d = Math.floor(g.gcDelayBytes / ctx.sc.index2size(binind));
  return d >= 256 ? 255 : d;
}

/** A statistics counter: not written when the heap keeps no statistics. */
export function statAdd(ctx: HeapCtx, d: number, v: number): void {
  if (ctx.opt.stats) ctx.f64[d] = ctx.f64[d]! + v;
}
