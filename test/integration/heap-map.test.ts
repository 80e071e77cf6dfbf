/**
 * heap.map() and heapMapSvg: the snapshot covers every arena's extents (states, slab counts agree with
 * the allocator's own stats and with check()), and the SVG, read back as text, has one band per arena and
 * rectangles that account for every extent with the right state (tiny neighbours of one state merged).
 */
import { describe, expect, it } from "vitest";
import { Heap, heapMapSvg, MALLOCX_ARENA } from "../../src/index.js";

/** Three arenas: 0 with live small and large blocks, 1 with dirty pages, 2 with muzzy and retained. */
function populated(): { heap: Heap; live: number[] } {
  const heap = Heap.create({
    maxBytes: 1 << 26,
    envConf: null,
    conf: "narenas:3,dirty_decay_ms:-1,muzzy_decay_ms:-1,tcache:false",
  });
  const live: number[] = [];
  for (let i = 0; i < 300; i++) live.push(heap.mallocx(16 + ((i * 37) % 2000), MALLOCX_ARENA(0)));
  live.push(heap.mallocx(100_000, MALLOCX_ARENA(0)));
  heap.free(heap.mallocx(200_000, MALLOCX_ARENA(1)));
  live.push(heap.mallocx(64, MALLOCX_ARENA(1)));
  const a2 = heap.mallocx(300_000, MALLOCX_ARENA(2));
  const b2 = heap.mallocx(300_000, MALLOCX_ARENA(2));
  heap.free(a2);
  heap.mallctl("arena.2.dirty_decay_ms", 0); // dirty → muzzy at once (muzzy never decays)
  heap.free(b2);
  heap.mallctl("arena.2.decay");
  return { heap, live };
}

function attrs(tag: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const m of tag.matchAll(/([\w-]+)="([^"]*)"/g)) out[m[1]!] = m[2]!;
  return out;
}

describe("heap.map", () => {
  it("lists every extent of every arena, consistent with stats and check()", () => {
    const { heap } = populated();
    const m = heap.map();
    expect(m.arenas.map((a) => a.index)).toEqual([0, 1, 2]);
    expect(m.pageBytes).toBe(heap.ctx.page);
    // Address order, page aligned, no overlap, inside [header, top).
    let end = m.headerBytes;
    for (const x of m.extents) {
      expect(x.address % m.pageBytes).toBe(0);
      expect(x.size % m.pageBytes).toBe(0);
      expect(x.address).toBeGreaterThanOrEqual(end);
      end = x.address + x.size;
      expect(["active", "dirty", "muzzy", "retained"]).toContain(x.state);
      if (x.nregs !== undefined) {
        expect(x.state).toBe("active");
        expect(x.nfree).toBeGreaterThanOrEqual(0);
        expect(x.nfree).toBeLessThanOrEqual(x.nregs);
        expect(x.sizeClass).toBeGreaterThan(0);
      } else expect(x.nfree).toBeUndefined();
    }
    expect(end).toBeLessThanOrEqual(m.topBytes);
    const report = heap.check();
    expect(m.extents.length).toBe(report.extents);
    expect(m.extents.filter((x) => x.nregs !== undefined).length).toBe(report.slabs);
    // Per-arena state totals agree with the arena's own statistics.
    heap.mallctl("epoch", 1);
    for (const a of m.arenas) {
      const page = m.pageBytes;
      expect(a.totals.active).toBe((heap.mallctl(`stats.arenas.${a.index}.pactive`) as number) * page);
      expect(a.totals.dirty).toBe((heap.mallctl(`stats.arenas.${a.index}.pdirty`) as number) * page);
      expect(a.totals.muzzy).toBe((heap.mallctl(`stats.arenas.${a.index}.pmuzzy`) as number) * page);
    }
    expect(m.arenas[1]!.totals.dirty).toBeGreaterThan(0);
    expect(m.arenas[2]!.totals.muzzy).toBeGreaterThan(0);
    // Slab regions in use = live small allocations (tcache off).
    const usedRegs = m.extents.reduce((s, x) => s + (x.nregs === undefined ? 0 : x.nregs - x.nfree!), 0);
    const smallLive =
      (heap.mallctl("stats.arenas.4096.small.nmalloc") as number) -
      (heap.mallctl("stats.arenas.4096.small.ndalloc") as number);
    expect(usedRegs).toBe(Number(smallLive));
  });

  it("renders one band per arena; its rectangles cover every extent, with its state", () => {
    const { heap } = populated();
    const m = heap.map();
    const svg = heapMapSvg(m, { title: "test map" });
    expect(svg.startsWith("<svg")).toBe(true);
    expect(svg.trimEnd().endsWith("</svg>")).toBe(true);
    const bands = [...svg.matchAll(/<g class="band" [^>]*>/g)].map((t) => attrs(t[0]!)["data-arena"]);
    expect(bands).toEqual(["0", "1", "2"]);
    const rects = [...svg.matchAll(/<rect class="extent" [^>]*>/g)].map((t) => attrs(t[0]!));
    // Each rectangle is a run of `data-count` consecutive extents of its arena, all of its state.
    let covered = 0;
    for (const arena of m.arenas) {
      const mine = m.extents.filter((x) => x.arena === arena.index);
      let next = 0;
      for (const r of rects.filter((r) => Number(r["data-arena"]) === arena.index)) {
        const run = mine.slice(next, next + Number(r["data-count"]));
        expect(run.length).toBe(Number(r["data-count"]));
        expect(run[0]!.address).toBe(Number(r["data-address"]));
        expect(run.reduce((s, x) => s + x.size, 0)).toBe(Number(r["data-size"]));
        for (const x of run) expect(x.state).toBe(r["data-state"]);
        next += run.length;
      }
      expect(next).toBe(mine.length);
      covered += next;
    }
    expect(covered).toBe(m.extents.length);
    const statesOf = (arena: string) =>
      new Set(rects.filter((r) => r["data-arena"] === arena).map((r) => r["data-state"]));
    expect(statesOf("0").has("active")).toBe(true);
    expect(statesOf("1").has("dirty")).toBe(true);
    expect(statesOf("2").has("muzzy")).toBe(true);
    // A slab fill for every rectangle that contains a slab, none for the others.
    const fills = (svg.match(/<rect class="slab-fill"/g) ?? []).length;
    expect(fills).toBeGreaterThan(0);
    expect(fills).toBeLessThanOrEqual(rects.filter((r) => r["data-state"] === "active").length);
    for (const s of ["active", "dirty", "muzzy", "retained", "total:"]) expect(svg).toContain(s);
    expect(svg).toContain("test map");
  });

  it("rejects what is not a snapshot", () => {
    expect(() => heapMapSvg(null as never)).toThrow(/snapshot from heap\.map/);
    expect(() => heapMapSvg({ extents: [], arenas: [] } as never, { widthPx: 10 })).toThrow(/widthPx/);
  });
});

describe("heapMapSvg at scale", () => {
  it("merges tiny neighbours: 40 000 slabs give a bounded SVG that still accounts for each", () => {
    const heap = Heap.create({ maxBytes: 1 << 30, envConf: null, conf: "narenas:1,tcache:false" });
    // Many small slabs (2048-byte regions), every other block freed: slabs half full.
    const ps: number[] = [];
    for (let i = 0; i < 40_000; i++) ps.push(heap.malloc(2048));
    for (let i = 0; i < ps.length; i += 2) heap.free(ps[i]!);
    const m = heap.map();
    expect(m.extents.length).toBeGreaterThan(10_000);
    const svg = heapMapSvg(m);
    const rects = [...svg.matchAll(/<rect class="extent" [^>]*>/g)].map((t) => attrs(t[0]!));
    expect(rects.length).toBeLessThan(2_000);
    expect(rects.reduce((s, r) => s + Number(r["data-count"]), 0)).toBe(m.extents.length);
  });
});
