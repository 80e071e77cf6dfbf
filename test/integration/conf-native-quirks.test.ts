// Two options whose effect the real jemalloc 5.3.0 showed in the differential check
// (scripts/native-replay/diff.mjs with malloc_conf settings outside the reference files), each found
// diverging there and fixed; the fixtures under test/fixtures/native/ replay longer traces of both.
import { afterEach, describe, expect, it } from "vitest";
import { Heap } from "../../src/heap.js";

const heaps: Heap[] = [];
afterEach(() => {
  for (const h of heaps.splice(0)) h.detach();
});

function heap(conf: string): Heap {
  const h = Heap.create({ envConf: null, conf, maxBytes: 256 << 20 });
  heaps.push(h);
  return h;
}

function bin(h: Heap, j: number, leaf: string): bigint {
  h.mallctl("epoch", 1);
  return h.mallctl(`stats.arenas.0.bins.${j}.${leaf}`) as bigint;
}

describe("tcache_max at or below 4 KiB", () => {
  // Native (replay.c, 12 runs): m 2547; m 366 under "narenas:1,tcache_max:4096" fills bin 14 (the
  // 384-byte class) with 32 regions. The port used to send every slow-path malloc to the arena when
  // tcache_max had no class above 4 KiB, so the second class never reached its cache bin.
  it.each([4096, 1024])("a second class after the first still fills its cache bin (tcache_max:%i)", (max) => {
    const h = heap(`narenas:1,tcache_max:${max}`);
    expect(h.malloc(max === 4096 ? 2547 : 700)).not.toBe(0);
    expect(h.malloc(366)).not.toBe(0);
    expect(bin(h, 14, "nfills")).toBe(1n);
    expect(bin(h, 14, "nmalloc")).toBe(32n);
    expect(bin(h, 14, "nrequests")).toBe(0n); // counted into the bin at the next flush or merge
  });

  it("a class above tcache_max bypasses the cache (jemalloc's disabled small bins)", () => {
    const h = heap("narenas:1,tcache_max:1024");
    expect(h.malloc(3000)).not.toBe(0); // 3072-byte class, above 1 KiB
    const j = 26; // 3072
    expect(h.mallctl(`arenas.bin.${j}.size`)).toBe(3072);
    expect(bin(h, j, "nmalloc")).toBe(1n);
    expect(bin(h, j, "nrequests")).toBe(1n);
    expect(bin(h, j, "nfills")).toBe(0n);
  });
});

describe("arena 0's oversize threshold", () => {
  // jemalloc creates arena 0 before arena_init_huge() applies opt.oversize_threshold: arena 0 keeps
  // the 8 MiB default for its eager purge of large dirty extents; arenas created later take the
  // option's value. Native: calloc(1, 2045947); free under oversize_threshold:2097152 leaves 513
  // dirty pages in arena 0.
  it("keeps the 8 MiB default while later arenas take the option", () => {
    const h = heap("tcache:false,narenas:1,oversize_threshold:2097152");
    expect(h.mallctl("opt.oversize_threshold")).toBe(2097152);
    expect(h.mallctl("arena.0.oversize_threshold")).toBe(8 << 20);
    const created = h.mallctl("arenas.create") as number;
    expect(h.mallctl(`arena.${created}.oversize_threshold`)).toBe(2097152);
  });

  it("does not purge at once a freed 2 MiB block in arena 0 under oversize_threshold:2097152", () => {
    const h = heap("tcache:false,narenas:1,oversize_threshold:2097152");
    const p = h.calloc(1, 2045947);
    expect(p).not.toBe(0);
    h.free(p);
    h.mallctl("epoch", 1);
    expect(h.mallctl("stats.arenas.0.pdirty")).toBe(513);
    expect(h.mallctl("stats.arenas.0.dirty_purged")).toBe(0n);
  });

  it("still purges at once a freed block of 8 MiB or more in arena 0 (the default threshold)", () => {
    // Huge requests go to the huge arena: allocate in arena 0 explicitly.
    const h = heap("tcache:false,narenas:1,oversize_threshold:2097152");
    const MALLOCX_ARENA_0 = 1 << 20;
    const p = h.mallocx(9 << 20, MALLOCX_ARENA_0);
    expect(p).not.toBe(0);
    h.free(p);
    h.mallctl("epoch", 1);
    expect(h.mallctl("stats.arenas.0.pdirty")).toBe(0);
    expect(Number(h.mallctl("stats.arenas.0.dirty_purged"))).toBeGreaterThan(0);
  });
});
