/**
 * arena.<i>.destroy / reset while thread caches hold the arena's blocks (issue 11). The calling
 * thread's cache and explicit caches are flushed of them first; another thread's cache holding some
 * makes the call fail with EFAULT (nothing changed) until that thread flushes. Afterwards no
 * allocation ever returns memory of the discarded arena.
 */
import { describe, expect, it } from "vitest";
import { edataArena } from "../../src/extent/edata.js";
import { lookupLive } from "../../src/heap/ops.js";
import { Heap, MALLOCX_ARENA, MALLOCX_TCACHE, MALLOCX_TCACHE_NONE, MallctlError } from "../../src/index.js";
import { auditCaches } from "../helpers/ledger-tc.js";

const SIZES = [8, 100, 1536, 3000, 20000];

function newHeap(): Heap {
  return Heap.create({ maxBytes: 64 << 20, envConf: null, conf: "narenas:1" });
}

/** Allocates blocks of every size in arena `a` (through `flags`) and frees them into the cache. */
function cacheArenaBlocks(h: Heap, a: number, flags = 0): number[] {
  const ptrs: number[] = [];
  for (const size of SIZES) for (let i = 0; i < 5; i++) ptrs.push(h.mallocx(size, MALLOCX_ARENA(a) | flags));
  for (const p of ptrs) h.dallocx(p, flags);
  return ptrs;
}

/** Nothing `h` hands out (through `flags`) is memory of the old arena's blocks. */
function expectNoneFrom(h: Heap, old: Set<number>, flags = 0): void {
  const got: number[] = [];
  for (const size of SIZES) {
    for (let i = 0; i < 40; i++) {
      const p = h.mallocx(size, flags);
      expect(p).not.toBe(0);
      expect(old.has(p), `mallocx(${size}) returned ${p}, a block of the discarded arena`).toBe(false);
      got.push(p);
    }
  }
  for (const p of got) h.dallocx(p, flags);
}

function ctlCode(f: () => unknown): string | null {
  try {
    f();
    return null;
  } catch (e) {
    if (e instanceof MallctlError) return e.code;
    throw e;
  }
}

describe("arena destroy/reset with cached blocks", () => {
  for (const op of ["destroy", "reset"] as const) {
    it(`${op}: the calling thread's cache is flushed; malloc never returns the arena's memory`, () => {
      const h = newHeap();
      const a = Number(h.mallctl("arenas.create"));
      const old = new Set(cacheArenaBlocks(h, a));
      expect(auditCaches(h).entries).toBeGreaterThan(0);
      h.mallctl(`arena.${a}.${op}`);
      expect(auditCaches(h).problems).toEqual([]);
      h.check();
      expectNoneFrom(h, old);
      // malloc(100) in particular (the class whose cache bin held them).
      for (let i = 0; i < 20; i++) {
        const p = h.malloc(100);
        expect(old.has(p)).toBe(false);
        if (op === "destroy") expect(edataArena(h.ctx.u32, lookupLive(h.ctx, p))).not.toBe(a);
      }
      h.check();
    });

    it(`${op}: explicit caches holding the arena's blocks are flushed`, () => {
      const h = newHeap();
      const a = Number(h.mallctl("arenas.create"));
      const tc = Number(h.mallctl("tcache.create"));
      const old = new Set(cacheArenaBlocks(h, a, MALLOCX_TCACHE(tc)));
      h.mallctl(`arena.${a}.${op}`);
      h.check();
      expectNoneFrom(h, old, MALLOCX_TCACHE(tc));
      expect(auditCaches(h).problems).toEqual([]);
    });

    it(`${op}: another thread's cache holding the arena's blocks gives EFAULT until it flushes`, () => {
      const h = newHeap();
      const other = Heap.attach(h.buffer);
      const a = Number(h.mallctl("arenas.create"));
      const old = new Set(cacheArenaBlocks(other, a));
      const live = h.mallocx(5000, MALLOCX_ARENA(a));
      h.u8.fill(0x5a, live, live + 5000);
      expect(ctlCode(() => h.mallctl(`arena.${a}.${op}`))).toBe("EFAULT");
      // Refused means untouched: the arena's live block is still there and intact.
      expect(h.mallocUsableSize(live)).toBeGreaterThanOrEqual(5000);
      expect(h.u8[live + 4999]).toBe(0x5a);
      h.check();
      other.mallctl("thread.tcache.flush");
      expect(ctlCode(() => h.mallctl(`arena.${a}.${op}`))).toBe(null);
      expectNoneFrom(other, old);
      expectNoneFrom(h, old);
      h.check();
      other.detach();
    });
  }

  it("destroy with no cached blocks anywhere still works, and the index is reused", () => {
    const h = newHeap();
    const a = Number(h.mallctl("arenas.create"));
    const p = h.mallocx(100, MALLOCX_ARENA(a) | MALLOCX_TCACHE_NONE);
    h.dallocx(p, MALLOCX_TCACHE_NONE);
    h.mallctl(`arena.${a}.destroy`);
    expect(Number(h.mallctl("arenas.create"))).toBe(a);
    h.check();
  });
});
