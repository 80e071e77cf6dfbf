// A sample's stack is cut at the public method the user called (malloc, calloc, mallocx, the aligned
// ones, realloc of NULL) or, for the resizes, below the allocator's own frames: either way the
// recorded stack starts at the caller and the frames below it are the same, frame for frame.
import { gunzipSync } from "node:zlib";
import { Profile } from "pprof-format";
import { describe, expect, it } from "vitest";
import { MALLOCX_ALIGN, MALLOCX_TCACHE_NONE } from "../../src/flags.js";
import { Heap } from "../../src/heap.js";

/** Every sample's stack, innermost first, as "function@file:line". */
function stacks(gz: Uint8Array): string[][] {
  const p = Profile.decode(gunzipSync(gz));
  const str = (i: number | bigint) => p.stringTable.strings[Number(i)]!;
  const fn = new Map(p.function.map((f) => [Number(f.id), `${str(f.name)}@${str(f.filename)}`]));
  const loc = new Map(
    p.location.map((l) => [Number(l.id), `${fn.get(Number(l.line[0]!.functionId))}:${l.line[0]!.line}`]),
  );
  return p.sample.map((s) => s.locationId.map((id) => loc.get(Number(id))!));
}

describe("prof: the stack of a sampled allocation", () => {
  it("is the same below the caller whichever entry point allocated", () => {
    const heap = Heap.create({ conf: "prof:true,lg_prof_sample:0", envConf: null });
    const viaMalloc = () => heap.malloc(100);
    const viaCalloc = () => heap.calloc(2, 50);
    const viaMallocx = () => heap.mallocx(100);
    const viaAligned = () => heap.alignedAlloc(64, 100);
    const outer = (f: () => number) => f();
    const leaves = ["viaMalloc", "viaCalloc", "viaMallocx", "viaAligned"];
    for (const f of [viaMalloc, viaCalloc, viaMallocx, viaAligned]) outer(f);
    const all = stacks(heap.profile({ format: "pprof" }));
    expect(all.length).toBe(4);
    const byLeaf = new Map(all.map((s) => [s[0]!.slice(0, s[0]!.indexOf("@")), s]));
    expect([...byLeaf.keys()].sort()).toEqual([...leaves].sort());
    const below = byLeaf.get("viaMalloc")!.slice(1);
    expect(below[0]).toMatch(/^outer@.*prof-stack\.test\.ts:\d+$/);
    for (const leaf of leaves) {
      expect(byLeaf.get(leaf)![0]).toMatch(/prof-stack\.test\.ts:\d+$/);
      expect(byLeaf.get(leaf)!.slice(1)).toEqual(below);
    }
    heap.detach();
  });

  it("starts at the caller when an allocation hook wraps malloc and calloc", () => {
    const heap = Heap.create({ conf: "prof:true,lg_prof_sample:0", envConf: null });
    const calls: unknown[] = [];
    heap.mallctl("experimental.hooks.install", { alloc: (...a: unknown[]) => calls.push(a) });
    const hookedMalloc = () => heap.malloc(100);
    const hookedCalloc = () => heap.calloc(2, 50);
    hookedMalloc();
    hookedCalloc();
    expect(calls.length).toBe(2);
    const leaves = stacks(heap.profile({ format: "pprof" })).map((s) => s[0]!);
    expect(leaves.map((f) => f.slice(0, f.indexOf("@"))).sort()).toEqual(["hookedCalloc", "hookedMalloc"]);
    for (const f of leaves) expect(f).toMatch(/prof-stack\.test\.ts:\d+$/);
    heap.detach();
  });

  it("has none of the allocator's frames when no JavaScript function called malloc", async () => {
    const heap = Heap.create({ conf: "prof:true,lg_prof_sample:0", envConf: null });
    const p = await Promise.resolve(100).then(heap.malloc.bind(heap));
    expect(p).toBeGreaterThan(0);
    const all = stacks(heap.profile({ format: "pprof" }));
    expect(all.length).toBe(1);
    expect(all[0]!.length).toBeGreaterThan(0);
    for (const frame of all[0]!) expect(frame).not.toMatch(/\/src\/(heap|prof)\//);
    heap.detach();
  });

  // Each entry point, each way a sampled block comes about (new, aligned, moved, resized in place):
  // the one live sample's innermost frame is the function that called the heap, and the next one is
  // the test's frame that called that function.
  const seed = (heap: Heap, size: number) => heap.malloc(size);
  const cases: Record<string, (heap: Heap) => number> = {
    viaMalloc: (heap) => heap.malloc(100),
    viaMallocLarge: (heap) => heap.malloc(20_000),
    viaCalloc: (heap) => heap.calloc(3, 40),
    viaMallocx: (heap) => heap.mallocx(100),
    viaMallocxNoCache: (heap) => heap.mallocx(100, MALLOCX_TCACHE_NONE),
    viaMallocxAligned: (heap) => heap.mallocx(100, MALLOCX_ALIGN(256)),
    viaMallocxAlignedLarge: (heap) => heap.mallocx(20_000, MALLOCX_ALIGN(8192)),
    viaAlignedAlloc: (heap) => heap.alignedAlloc(64, 100),
    viaPosixMemalign: (heap) => heap.posixMemalign(64, 100).ptr,
    viaReallocNull: (heap) => heap.realloc(0, 100),
    viaReallocMove: (heap) => heap.realloc(seed(heap, 100), 3000),
    viaReallocInPlace: (heap) => heap.realloc(seed(heap, 20_000), 40_000),
    viaRallocx: (heap) => heap.rallocx(seed(heap, 100), 3000),
    viaRallocxAligned: (heap) => heap.rallocx(seed(heap, 100), 300, MALLOCX_ALIGN(512)),
    viaXallocx: (heap) => {
      const p = seed(heap, 20_000);
      expect(heap.xallocx(p, 40_000)).toBeGreaterThanOrEqual(40_000);
      return p;
    },
  };
  for (const [name, allocate] of Object.entries(cases)) {
    it(`starts at the function that called the heap: ${name}`, () => {
      const heap = Heap.create({ conf: "prof:true,lg_prof_sample:0", envConf: null });
      const outerFrame = (f: (heap: Heap) => number) => f(heap);
      expect(outerFrame(allocate)).toBeGreaterThan(0);
      const all = stacks(heap.profile({ format: "pprof" }));
      expect(all.length).toBe(1);
      const [top, next] = all[0]!;
      // V8 names an arrow function by the property it was defined as.
      expect(top).toMatch(new RegExp(`^${name}@.*prof-stack\\.test\\.ts:\\d+$`));
      expect(next).toMatch(/^outerFrame@.*prof-stack\.test\.ts:\d+$/);
      heap.detach();
    });
  }
});
