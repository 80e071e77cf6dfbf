/**
 * exhaustion: drives a heap to out-of-memory and keeps going (tests only). A client ledger maps every
 * live block's offset to its requested size and fill seed; a ClaimMap catches any block handed out
 * while another live block covers one of its bytes; patterns catch anything written into a live block.
 * Every operation kind that can fail for lack of memory is exercised: malloc, calloc, aligned
 * allocation, realloc grow/shrink, mallocx through an explicit cache and a new arena, a second thread
 * attaching (its cache stacks), arenas.create and tcache.create. Throws a message on the first fault.
 */
import { ENOMEM, Heap, MALLOCX_ALIGN, MALLOCX_ARENA, MALLOCX_TCACHE, MallctlError } from "../../src/index.js";
import { ClaimMap, fillPattern, findNonZero, findPatternMismatch, prng } from "./ledger.js";
import { auditCaches } from "./ledger-tc.js";

export type SizeMix = "issue" | "small" | "large" | "huge" | "tiny";
export const SIZE_MIXES: readonly SizeMix[] = ["issue", "small", "large", "huge", "tiny"];

export interface ExhaustionOptions {
  seed: number;
  mix: SizeMix;
  tcache: boolean;
  /** Operations after the first failed allocation. */
  opsAfterOom?: number;
  /** Debugging: check() after every operation (slow). */
  checkEach?: boolean;
}

export interface ExhaustionResult {
  failures: number;
  ops: number;
}

const MAX_BYTES = 8 << 20;

function pickSize(mix: SizeMix, r: () => number): number {
  const u = r() / 2 ** 32;
  const v = r();
  if (mix === "tiny") return 1 + (v % 128);
  if (mix === "small") return 1 + (v % (14 << 10));
  if (mix === "large") return (16 << 10) + (v % (1 << 20));
  if (mix === "huge") return (1 << 20) + (v % (3 << 20));
  if (u < 0.8) return 8 + (v % 2041);
  if (u < 0.97) return (4 << 10) + (v % (60 << 10));
  return (1 << 20) + (v % (3 << 20));
}

interface Block {
  size: number;
  /** Allocated with an alignment: freed with free (sized deallocation would need the flags too). */
  aligned: boolean;
  seed: number;
  heap: Heap;
}

class Ledger {
  readonly live = new Map<number, Block>();
  readonly claims: ClaimMap;
  #nextSeed = 1;
  constructor(readonly heap: Heap) {
    this.claims = new ClaimMap({ heapBytes: heap.buffer.byteLength, lgPage: 12, largeMin: 16 << 10 });
  }

  /** Records a block just returned by `what`; zeroed: verify it reads as zeros first. */
  add(h: Heap, p: number, size: number, what: string, zeroed = false, aligned = false): void {
    if (this.live.has(p))
      throw new Error(`${what} returned ${p}, a live block (${this.live.get(p)!.size} B)`);
    const usable = h.mallocUsableSize(p);
    if (usable < size) throw new Error(`${what} returned ${p} with usable ${usable} < ${size}`);
    const at = this.claims.claim(p, usable);
    if (at >= 0) throw new Error(`${what}(${size}) returned ${p}, overlapping a live block at byte ${at}`);
    if (zeroed && findNonZero(h.u8, p, size) >= 0) throw new Error(`${what}(${size}) at ${p}: not zeroed`);
    const seed = this.#nextSeed++;
    fillPattern(h.u8, p, size, seed);
    this.live.set(p, { size, seed, heap: h, aligned });
  }

  verify(p: number, what: string): Block {
    const b = this.live.get(p)!;
    const at = findPatternMismatch(this.heap.u8, p, b.size, b.seed);
    if (at >= 0) throw new Error(`${what}: live block ${p} (${b.size} B) overwritten at byte ${at}`);
    return b;
  }

  release(p: number, what: string): Block {
    const b = this.verify(p, what);
    const at = this.claims.release(p, this.heap.mallocUsableSize(p));
    if (at >= 0) throw new Error(`${what}: ${p} was not claimed at byte ${at}`);
    this.live.delete(p);
    return b;
  }

  verifyAll(what: string): void {
    for (const p of this.live.keys()) this.verify(p, what);
  }

  any(r: () => number): number {
    const n = this.live.size;
    if (n === 0) return 0;
    let i = r() % n;
    for (const p of this.live.keys()) if (i-- === 0) return p;
    return 0;
  }
}

function expectOom(h: Heap, what: string): void {
  if (h.lastError !== ENOMEM) throw new Error(`${what} returned 0 with lastError ${h.lastError}, not ENOMEM`);
}

/** A mallctl that may fail for lack of memory: its value, or null on EAGAIN. */
function ctlMayFail(h: Heap, name: string): number | null {
  try {
    return Number(h.mallctl(name));
  } catch (e) {
    if (e instanceof MallctlError && e.code === "EAGAIN") return null;
    throw e;
  }
}

/** Every live block intact, check() clean, and no cached region is a block the client holds (C5). */
function checkpoint(heap: Heap, L: Ledger): void {
  L.verifyAll("checkpoint");
  heap.check();
  const audit = auditCaches(heap, new Set(L.live.keys()));
  if (audit.problems.length > 0) throw new Error(`cache audit: ${audit.problems.join("; ")}`);
}

/** Runs one exhaustion scenario; throws on the first fault. */
export function runExhaustion(o: ExhaustionOptions): ExhaustionResult {
  const heap = Heap.create({ maxBytes: MAX_BYTES, envConf: null, conf: o.tcache ? "" : "tcache:false" });
  const L = new Ledger(heap);
  const r = prng(o.seed * 7919 + SIZE_MIXES.indexOf(o.mix));
  let failures = 0;
  let ops = 0;
  let lastOp = "";
  let after = 0;
  let other: Heap | null = null;
  let tcFlags = 0;
  let arenaFlags = 0;
  let tcInd = -1;
  let arenaInd = -1;
  const limit = o.opsAfterOom ?? 1500;
  const alloc = (h: Heap, size: number, flags: number, kind: number): void => {
    let p = 0;
    let what = "malloc";
    if (kind === 0 || flags !== 0) {
      what = flags !== 0 ? "mallocx" : "malloc";
      p = flags !== 0 ? h.mallocx(size, flags) : h.malloc(size);
      lastOp = `${what}(${size}, ${flags}) = ${p}`;
    } else if (kind === 1) {
      what = "calloc";
      p = h.calloc(1 + (size & 3), Math.ceil(size / 4));
      size = (1 + (size & 3)) * Math.ceil(size / 4);
    } else {
      what = "alignedAlloc";
      p = h.alignedAlloc(2 ** (4 + (r() % 13)), size);
    }
    ops++;
    if (p === 0) {
      expectOom(h, what);
      failures++;
      return;
    }
    L.add(h, p, size, what, what === "calloc", what === "alignedAlloc" || (flags & 63) !== 0);
  };
  const free = (p: number): void => {
    const b = L.release(p, "free");
    if (b.aligned || (r() & 1) === 0) b.heap.free(p);
    else b.heap.sdallocx(p, b.size);
    ops++;
  };
  const realloc = (p: number): void => {
    const b = L.verify(p, "realloc");
    const size = (r() & 1) === 0 ? pickSize(o.mix, r) : 1 + (r() % (2 * b.size));
    const usable = heap.mallocUsableSize(p);
    L.release(p, "realloc");
    const q = b.heap.realloc(p, size);
    lastOp = `realloc(${p} of ${b.size}, ${size}) = ${q}`;
    ops++;
    if (q === 0) {
      expectOom(b.heap, "realloc");
      failures++;
      const at = L.claims.claim(p, usable);
      if (at >= 0) throw new Error(`realloc failed but ${p} overlaps a live block at ${at}`);
      L.live.set(p, b);
      L.verify(p, "failed realloc");
      return;
    }
    const keep = Math.min(size, b.size);
    const at = findPatternMismatch(heap.u8, q, keep, b.seed);
    if (at >= 0) throw new Error(`realloc(${p}, ${size}) = ${q}: contents lost at byte ${at}`);
    L.add(b.heap, q, size, "realloc");
  };
  const extras = (): void => {
    const k = r() % 4;
    if (k === 0 && tcFlags === 0 && o.tcache) {
      const t = ctlMayFail(heap, "tcache.create");
      if (t !== null) {
        tcInd = t;
        tcFlags = MALLOCX_TCACHE(t);
      }
    } else if (k === 1 && arenaFlags === 0) {
      const a = ctlMayFail(heap, "arenas.create");
      if (a !== null) {
        arenaInd = a;
        arenaFlags = MALLOCX_ARENA(a);
      }
    } else if (k === 2 && other === null) {
      other = Heap.attach(heap.buffer);
    } else if (k === 3) {
      heap.check();
    }
  };
  for (let step = 0; after < limit && step < 200_000; step++) {
    if (failures > 0) after++;
    const u = r() % 100;
    const freeRate = failures > 0 ? 25 : 3;
    if (u < freeRate && L.live.size > 0) free(L.any(r));
    else if (u < freeRate + 5 && L.live.size > 0) realloc(L.any(r));
    else if (u < freeRate + 6 && failures > 0) extras();
    else {
      const h = other !== null && (r() & 3) === 0 ? other : heap;
      const which = r() % 10;
      const flags =
        which === 0
          ? tcFlags
          : which === 1
            ? arenaFlags
            : which === 2
              ? MALLOCX_ALIGN(2 ** (3 + (r() % 10)))
              : 0;
      alloc(h, pickSize(o.mix, r), h === heap ? flags : 0, which < 6 ? 0 : which < 8 ? 1 : 2);
    }
    if (failures > 0 && after % 250 === 0) checkpoint(heap, L);
    if (o.checkEach === true) {
      try {
        heap.check();
      } catch (e) {
        throw new Error(`step ${step} (${lastOp}): ${(e as Error).message}`);
      }
    }
  }
  if (failures === 0) throw new Error("the heap never ran out of memory");
  checkpoint(heap, L);
  for (const p of [...L.live.keys()]) free(p);
  heap.check();
  // Memory freed is usable again.
  if (other !== null) (other as Heap).detach();
  if (o.tcache) heap.mallctl("thread.tcache.flush");
  if (tcInd >= 0) heap.mallctl("tcache.destroy", tcInd);
  if (arenaInd >= 0) heap.mallctl(`arena.${arenaInd}.destroy`);
  heap.mallctl("arena.4096.purge");
  heap.check();
  const p = heap.malloc(1 << 20);
  if (p === 0) {
    heap.mallctl("epoch", 1);
    const stat = (n: string) => `${n.slice(6)} ${heap.mallctl(n)}`;
    const stats = ["stats.allocated", "stats.metadata", "stats.mapped", "stats.retained"].map(stat);
    throw new Error(`after freeing everything malloc(1 MiB) still fails (${stats.join(", ")})`);
  }
  heap.free(p);
  return { failures, ops };
}
