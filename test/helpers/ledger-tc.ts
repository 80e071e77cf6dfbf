/**
 * ledger-tc: test helpers for the thread-cache tests (tests only).
 *  - block stamps: every block starts with a header (u32 requested size, u32 seed) and carries the
 *    seed's fill pattern after it, so any block can be verified by whoever holds it;
 *  - auditCaches: RELIABILITY.md §6.5 rule C5 over every cache in the buffer (threads' — dead ones
 *    included — and explicit ones): each cached offset is the start of a live region of its bin's class,
 *    appears once across all caches, and is not a block the client ledger holds;
 *  - statistics shortcuts (mallctl values as numbers, sums over arenas) and the stats.allocated identity
 *    at quiescence: allocated = ledger bytes + cached bytes + one stack block per cache.
 *
 * Block header (HEADER_BYTES):
 *   bytes 0..3  u32  requested size (≥ HEADER_BYTES)
 *   bytes 4..7  u32  seed: (counter << 8) | uid of the allocating worker; the pattern's seed
 */
import { edataSlab, edataSzind } from "../../src/extent/edata.js";
import { lookupLive } from "../../src/heap/ops.js";
import type { Heap } from "../../src/heap.js";
import { tcacheGeom, tcacheRecords } from "../../src/tcache/index.js";
import { TBIN_W_CAP, TBIN_W_HEAD, TBIN_W_SLOTS, tbinW } from "../../src/tcache/layout.js";
import { fillPattern, findPatternMismatch } from "./ledger.js";

export const HEADER_BYTES = 8;

/** Stamps block `p` of `size` requested bytes (≥ HEADER_BYTES) with `seed`. */
export function stampBlock(heap: Heap, p: number, size: number, seed: number): void {
  heap.dv.setUint32(p, size, true);
  heap.dv.setUint32(p + 4, seed >>> 0, true);
  fillPattern(heap.u8, p + HEADER_BYTES, size - HEADER_BYTES, seed);
}

/** The uid of the worker that stamped `p` (low 8 bits of its seed). */
export function blockUid(heap: Heap, p: number): number {
  return heap.dv.getUint32(p + 4, true) & 0xff;
}

/**
 * Verifies block `p`'s header (size within the usable size) and pattern. Returns its requested size,
 * or a message saying what is wrong.
 */
export function verifyBlock(heap: Heap, p: number): number | string {
  const size = heap.dv.getUint32(p, true);
  const seed = heap.dv.getUint32(p + 4, true);
  const usable = heap.mallocUsableSize(p);
  if (size < HEADER_BYTES || size > usable) return `block ${p}: header says ${size} bytes, usable ${usable}`;
  const at = findPatternMismatch(heap.u8, p + HEADER_BYTES, size - HEADER_BYTES, seed);
  if (at >= 0) return `block ${p} (${size} bytes, uid ${seed & 0xff}): byte ${at + HEADER_BYTES} overwritten`;
  return size;
}

/** A mallctl value as a number (u64 leaves are bigints). */
export function statNum(heap: Heap, name: string): number {
  return Number(heap.mallctl(name));
}

/** Σ stats.arenas.<i>.<leaf> over initialised arenas (call heap.mallctl("epoch", 1) first). */
export function arenaStatSum(heap: Heap, leaf: string): number {
  const n = statNum(heap, "arenas.narenas");
  let s = 0;
  for (let i = 0; i < n; i++) {
    try {
      s += statNum(heap, `stats.arenas.${i}.${leaf}`);
    } catch {
      // an arena that was never initialised has no statistics
    }
  }
  return s;
}

export interface CacheAudit {
  /** Live cache records (each owns one stack block). */
  caches: number;
  /** Cached offsets. */
  entries: number;
  /** Usable bytes of the cached regions. */
  bytes: number;
  /** Violations of C5 (empty when the caches are sound). */
  problems: string[];
}

/** C5 over every cache in the heap; `live` holds the client ledger's blocks. Quiescence only. */
export function auditCaches(heap: Heap, live: ReadonlySet<number> = new Set()): CacheAudit {
  const ctx = heap.ctx;
  const u32 = ctx.u32;
  const g = tcacheGeom(ctx);
  const seen = new Set<number>();
  const audit: CacheAudit = { caches: 0, entries: 0, bytes: 0, problems: [] };
  const problem = (m: string) => {
    if (audit.problems.length < 30) audit.problems.push(m);
  };
  for (const tc of tcacheRecords(ctx)) {
    audit.caches++;
    for (let i = 0; i < g.nhbins; i++) {
      const w = tbinW(tc, i);
      const head = u32[w + TBIN_W_HEAD]!;
      const cap = u32[w + TBIN_W_CAP]!;
      const slots = u32[w + TBIN_W_SLOTS]!;
      if (cap !== g.cap[i] || head > cap) {
        problem(`cache ${tc} bin ${i}: head ${head} cap ${cap} (expected cap ${g.cap[i]})`);
        continue;
      }
      for (let k = head; k < cap; k++) {
        const p = u32[slots + k]!;
        audit.entries++;
        audit.bytes += ctx.sc.index2size(i);
        if (seen.has(p)) problem(`cache ${tc} bin ${i}: ${p} is cached twice`);
        seen.add(p);
        if (live.has(p)) problem(`cache ${tc} bin ${i}: ${p} is cached but the ledger holds it live`);
        const e = lookupLive(ctx, p);
        if (e === 0) problem(`cache ${tc} bin ${i}: ${p} is not an allocated region`);
        else if (edataSzind(u32, e) !== i || edataSlab(u32, e) !== i < ctx.sc.nbins) {
          problem(`cache ${tc} bin ${i}: ${p} belongs to class ${edataSzind(u32, e)}`);
        }
      }
    }
  }
  return audit;
}

/** Bytes stats.allocated counts for one cache's own stack block. */
export function cacheBlockBytes(heap: Heap): number {
  return heap.ctx.sc.sa2u(tcacheGeom(heap.ctx).blockSize, heap.ctx.page);
}

/** Σ usable sizes of `blocks` (the client ledger's bytes as the allocator counts them). */
export function usableBytes(heap: Heap, blocks: Iterable<number>): number {
  let s = 0;
  for (const p of blocks) s += heap.mallocUsableSize(p);
  return s;
}

/**
 * What stats.allocated must be at quiescence: the ledger's bytes, plus the regions parked in caches,
 * plus each cache's stack block (jemalloc counts both as allocated).
 */
export function expectedAllocated(heap: Heap, audit: CacheAudit, ledgerBytes: number): number {
  return ledgerBytes + audit.bytes + audit.caches * cacheBlockBytes(heap);
}
