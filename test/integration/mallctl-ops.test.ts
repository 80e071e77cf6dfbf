// What the writable and action leaves do to a heap, and how stats.* behave
// (snapshot semantics, merged records, real lock counts).
import { afterEach, describe, expect, it } from "vitest";
import { MALLOCX_ARENA, MALLOCX_TCACHE_NONE } from "../../src/flags.js";
import { mallctlByMib, mallctlNameToMib } from "../../src/heap/mallctl.js";
import { Heap } from "../../src/heap.js";
import { DEFAULT_EXTENT_HOOKS, MallctlError } from "../../src/mallctl/index.js";

const heaps: Heap[] = [];
afterEach(() => {
  for (const h of heaps.splice(0)) h.detach();
});

function make(conf = "tcache:false"): Heap {
  const h = Heap.create({ ncpus: 2, conf, envConf: null, writer: () => {} });
  heaps.push(h);
  return h;
}

const num = (v: unknown): number => Number(v as number | bigint);

describe("epoch and the statistics snapshot", () => {
  it("stats.* stay as they were until epoch is written", () => {
    const heap = make();
    const e0 = heap.mallctl("epoch") as bigint;
    expect(e0).toBe(1n);
    const before = heap.mallctl("stats.allocated");
    const p = heap.malloc(1000);
    expect(heap.mallctl("stats.allocated")).toBe(before);
    expect(heap.mallctl("epoch", 1n)).toBe(2n);
    expect(heap.mallctl("stats.allocated")).toBe(num(before) + 1024);
    heap.free(p);
    expect(heap.mallctl("stats.allocated")).toBe(num(before) + 1024);
  });

  it("the epoch is shared: a write from one thread refreshes what another reads", () => {
    const heap = make();
    const other = Heap.attach(heap.buffer);
    try {
      const a0 = other.mallctl("stats.allocated");
      heap.malloc(5000);
      expect(other.mallctl("stats.allocated")).toBe(a0);
      heap.mallctl("epoch", 0n);
      expect(num(other.mallctl("stats.allocated")) - num(a0)).toBe(5120);
      expect(other.mallctl("epoch")).toBe(heap.mallctl("epoch"));
    } finally {
      other.detach();
    }
  });

  it("merged (4096) is the sum over initialized arenas; i == narenas is its alias", () => {
    const heap = make("tcache:false,narenas:2");
    heap.malloc(100);
    heap.mallctl("thread.arena", 1);
    heap.malloc(3000);
    heap.malloc(20000);
    heap.mallctl("epoch", 1n);
    const n = heap.mallctl("arenas.narenas") as number;
    for (const leaf of ["small.allocated", "large.allocated", "pactive", "small.nmalloc", "bins.3.curregs"]) {
      const sum = num(heap.mallctl(`stats.arenas.0.${leaf}`)) + num(heap.mallctl(`stats.arenas.1.${leaf}`));
      expect(num(heap.mallctl(`stats.arenas.4096.${leaf}`)), leaf).toBe(sum);
      expect(heap.mallctl(`stats.arenas.${n}.${leaf}`)).toEqual(heap.mallctl(`stats.arenas.4096.${leaf}`));
    }
    const allocated =
      num(heap.mallctl("stats.arenas.4096.small.allocated")) +
      num(heap.mallctl("stats.arenas.4096.large.allocated"));
    expect(heap.mallctl("stats.allocated")).toBe(allocated);
    expect(heap.mallctl("stats.active")).toBe(num(heap.mallctl("stats.arenas.4096.pactive")) * 4096);
    expect(heap.mallctl("stats.arenas.4096.dirty_decay_ms")).toBe(-1);
    expect(heap.mallctl("stats.arenas.4096.dss")).toBe("N/A");
    expect(heap.mallctl("stats.arenas.0.dss")).toBe("disabled");
    expect(heap.mallctl("stats.arenas.4096.uptime")).toBe(heap.mallctl("stats.arenas.0.uptime"));
  });

  it("stats.zero_reallocs reads the live counter", () => {
    const heap = make();
    heap.realloc(heap.malloc(10), 0);
    expect(heap.mallctl("stats.zero_reallocs")).toBe(1);
  });
});

describe("lock statistics are the buffer's lock counters", () => {
  it("bin and extent locks count acquisitions; stats.mutexes.reset zeroes them", () => {
    const heap = make();
    const ps = Array.from({ length: 50 }, () => heap.malloc(48));
    for (const p of ps) heap.free(p);
    heap.mallctl("epoch", 1n);
    const bin = num(heap.mallctl("stats.arenas.0.bins.3.mutex.num_ops"));
    expect(bin).toBeGreaterThanOrEqual(100);
    expect(num(heap.mallctl("stats.arenas.0.mutexes.extents_dirty.num_ops"))).toBeGreaterThan(0);
    expect(heap.mallctl("stats.arenas.0.mutexes.extents_dirty.num_ops")).toBe(
      heap.mallctl("stats.arenas.0.mutexes.decay_dirty.num_ops"),
    );
    expect(num(heap.mallctl("stats.mutexes.ctl.num_ops"))).toBeGreaterThan(0);
    expect(heap.mallctl("stats.mutexes.prof.num_ops")).toBe(0n);
    expect(heap.mallctl("stats.arenas.0.mutexes.hpa_shard.num_ops")).toBe(0n);
    heap.mallctl("stats.mutexes.reset");
    heap.mallctl("epoch", 1n);
    // The refresh itself takes each bin lock once.
    expect(num(heap.mallctl("stats.arenas.0.bins.3.mutex.num_ops"))).toBeLessThanOrEqual(2);
    expect(typeof heap.mallctl("stats.arenas.0.bins.3.mutex.max_num_thds")).toBe("number");
  });
});

describe("arenas.create, arenas.lookup, arena.<i>.initialized", () => {
  it("a manual arena is initialized in the stats after the next epoch", () => {
    const heap = make();
    const n = heap.mallctl("arenas.narenas") as number;
    const ind = heap.mallctl("arenas.create") as number;
    expect(ind).toBe(n);
    expect(heap.mallctl("arenas.narenas")).toBe(n + 1);
    expect(heap.mallctl(`arena.${ind}.initialized`)).toBe(false);
    heap.mallctl("epoch", 1n);
    expect(heap.mallctl(`arena.${ind}.initialized`)).toBe(true);
    const p = heap.mallocx(100, MALLOCX_ARENA(ind) | MALLOCX_TCACHE_NONE);
    expect(heap.mallctl("arenas.lookup", p)).toBe(ind);
    expect(heap.mallctl("arenas.lookup", heap.malloc(100))).toBe(0);
    heap.mallctl("epoch", 1n);
    expect(heap.mallctl(`stats.arenas.${ind}.small.nmalloc`)).toBe(1n);
    expect(heap.mallctl(`arena.${ind}.dirty_decay_ms`)).toBe(heap.mallctl("arenas.dirty_decay_ms"));
  });

  it("new arenas take arenas.dirty_decay_ms / muzzy_decay_ms", () => {
    const heap = make();
    expect(heap.mallctl("arenas.dirty_decay_ms", 1234)).toBe(10000);
    expect(heap.mallctl("arenas.muzzy_decay_ms", 55)).toBe(0);
    const ind = heap.mallctl("arenas.create") as number;
    expect(heap.mallctl(`arena.${ind}.dirty_decay_ms`)).toBe(1234);
    expect(heap.mallctl(`arena.${ind}.muzzy_decay_ms`)).toBe(55);
    expect(heap.mallctl("arena.0.dirty_decay_ms")).toBe(10000);
  });

  it("extent hooks: written with arenas.create, read back, used when the arena grows", () => {
    const heap = make();
    const calls: number[] = [];
    const hooks = {
      alloc: (size: number): null => {
        calls.push(size);
        return null;
      },
    };
    const ind = heap.mallctl("arenas.create", hooks) as number;
    expect(heap.mallctl(`arena.${ind}.extent_hooks`)).toBe(hooks);
    expect(heap.mallocx(1 << 20, MALLOCX_ARENA(ind) | MALLOCX_TCACHE_NONE)).toBe(0);
    expect(calls.length).toBeGreaterThan(0);
    expect(heap.mallctl(`arena.${ind}.extent_hooks`, DEFAULT_EXTENT_HOOKS)).toBe(hooks);
    expect(heap.mallctl(`arena.${ind}.extent_hooks`)).toBe(DEFAULT_EXTENT_HOOKS);
    expect(heap.mallocx(1 << 20, MALLOCX_ARENA(ind) | MALLOCX_TCACHE_NONE)).not.toBe(0);
  });

  it("extent hooks written for an automatic arena not created yet create it", () => {
    const heap = make();
    heap.mallctl("epoch", 1n);
    expect(heap.mallctl("arena.3.extent_hooks")).toBe(DEFAULT_EXTENT_HOOKS);
    expect(heap.mallctl("arena.3.extent_hooks", {})).toBe(DEFAULT_EXTENT_HOOKS);
    heap.mallctl("epoch", 1n);
    expect(heap.mallctl("arena.3.initialized")).toBe(true);
  });

  it("experimental.arenas_create_ext takes an arena config", () => {
    const heap = make();
    const ind = heap.mallctl("experimental.arenas_create_ext", { metadata_use_hooks: false }) as number;
    expect(ind).toBe((heap.mallctl("arenas.narenas") as number) - 1);
  });
});

describe("arena.<i>.reset and arena.<i>.destroy", () => {
  it("reset discards every allocation of a manual arena", () => {
    const heap = make();
    const ind = heap.mallctl("arenas.create") as number;
    for (let i = 0; i < 20; i++) heap.mallocx(100 + i * 500, MALLOCX_ARENA(ind) | MALLOCX_TCACHE_NONE);
    heap.mallctl("epoch", 1n);
    expect(num(heap.mallctl(`stats.arenas.${ind}.small.allocated`))).toBeGreaterThan(0);
    heap.mallctl(`arena.${ind}.reset`);
    heap.mallctl("epoch", 1n);
    expect(heap.mallctl(`stats.arenas.${ind}.small.allocated`)).toBe(0);
    expect(heap.mallctl(`stats.arenas.${ind}.large.allocated`)).toBe(0);
  });

  it("destroy: stats move to the destroyed record (4097), the index is reused by arenas.create", () => {
    const heap = make();
    const ind = heap.mallctl("arenas.create") as number;
    for (let i = 0; i < 10; i++) heap.mallocx(64, MALLOCX_ARENA(ind) | MALLOCX_TCACHE_NONE);
    heap.mallocx(50000, MALLOCX_ARENA(ind) | MALLOCX_TCACHE_NONE);
    expect(heap.mallctl("arena.4097.initialized")).toBe(false);
    heap.mallctl("epoch", 1n);
    expect(heap.mallctl(`arena.${ind}.initialized`)).toBe(true);
    heap.mallctl(`arena.${ind}.destroy`);
    // As in jemalloc: the destroyed record is initialized and the arena is not, at once.
    expect(heap.mallctl("arena.4097.initialized")).toBe(true);
    expect(heap.mallctl(`arena.${ind}.initialized`)).toBe(false);
    heap.mallctl("epoch", 1n);
    expect(heap.mallctl(`arena.${ind}.initialized`)).toBe(false);
    expect(() => heap.mallctl(`stats.arenas.${ind}.pactive`)).toThrow(MallctlError);
    expect(heap.mallctl("stats.arenas.4097.small.nmalloc")).toBe(10n);
    expect(heap.mallctl("stats.arenas.4097.large.nmalloc")).toBe(1n);
    expect(heap.mallctl("stats.arenas.4097.small.allocated")).toBe(0);
    expect(heap.mallctl("stats.arenas.4096.small.nmalloc")).toBe(
      heap.mallctl("stats.arenas.0.small.nmalloc"),
    );
    // A destroyed arena no longer exists for the per-arena leaves.
    expect(() => heap.mallctl(`arena.${ind}.dirty_decay_ms`)).toThrow(/EFAULT/);
    expect(() => heap.mallctl(`arena.${ind}.destroy`)).toThrow(/EFAULT/);
    expect(heap.mallctl("arenas.create")).toBe(ind);
    heap.mallctl("epoch", 1n);
    expect(heap.mallctl(`stats.arenas.${ind}.small.nmalloc`)).toBe(0n);
    expect(heap.mallctl("arena.4097.initialized")).toBe(true);
  });

  it("destroy refuses an arena with a thread bound to it", () => {
    const heap = make();
    const ind = heap.mallctl("arenas.create") as number;
    heap.mallctl("thread.arena", ind);
    expect(() => heap.mallctl(`arena.${ind}.destroy`)).toThrow(/EFAULT/);
    heap.mallctl("thread.arena", 0);
    expect(heap.mallctl(`arena.${ind}.destroy`)).toBeUndefined();
  });
});

describe("per-arena settings", () => {
  it("thread.arena moves the thread", () => {
    const heap = make();
    expect(heap.mallctl("thread.arena")).toBe(0);
    expect(heap.mallctl("thread.arena", 2)).toBe(0);
    expect(heap.mallctl("thread.arena")).toBe(2);
    expect(heap.arenaOf(heap.malloc(64))).toBe(2);
  });

  it("dirty_decay_ms 0 purges at once; arena.<i>.purge purges everything", () => {
    const heap = make();
    const p = heap.malloc(200000);
    heap.free(p);
    heap.mallctl("epoch", 1n);
    expect(num(heap.mallctl("stats.arenas.0.pdirty"))).toBeGreaterThan(0);
    heap.mallctl("arena.0.purge");
    heap.mallctl("epoch", 1n);
    expect(heap.mallctl("stats.arenas.0.pdirty")).toBe(0);
    expect(heap.mallctl("arena.0.dirty_decay_ms", 0)).toBe(10000);
    heap.free(heap.malloc(200000));
    heap.mallctl("arena.4096.decay");
    heap.mallctl("epoch", 1n);
    expect(heap.mallctl("stats.arenas.0.pdirty")).toBe(0);
    expect(num(heap.mallctl("stats.arenas.0.dirty_npurge"))).toBeGreaterThan(0);
  });

  it("oversize_threshold and retain_grow_limit read back what was written", () => {
    const heap = make();
    expect(heap.mallctl("arena.0.oversize_threshold", 1 << 20)).toBe(8 << 20);
    expect(heap.mallctl("arena.0.oversize_threshold")).toBe(1 << 20);
    expect(heap.mallctl("arena.0.retain_grow_limit")).toBe(num(7n << 60n));
    heap.mallctl("arena.0.retain_grow_limit", (1 << 20) + 5);
    expect(heap.mallctl("arena.0.retain_grow_limit")).toBe(1 << 20);
    heap.mallctl("arena.0.retain_grow_limit", 2n ** 64n - 1n);
    expect(heap.mallctl("arena.0.retain_grow_limit")).toBe(num(7n << 60n));
  });
});

describe("thread.* counters and caches", () => {
  it("allocated / deallocated and their pointers (byte offsets of f64 counters)", () => {
    const heap = make();
    const a0 = heap.mallctl("thread.allocated") as bigint;
    const p = heap.malloc(100);
    expect(heap.mallctl("thread.allocated")).toBe(a0 + 112n);
    heap.free(p);
    const off = heap.mallctl("thread.deallocatedp") as number;
    expect(BigInt(heap.f64[off / 8]!)).toBe(heap.mallctl("thread.deallocated"));
    expect(BigInt(heap.f64[(heap.mallctl("thread.allocatedp") as number) / 8]!)).toBe(a0 + 112n);
  });

  it("thread.peak.read / reset", () => {
    const heap = make();
    heap.mallctl("thread.peak.reset");
    const p = heap.malloc(4096);
    expect(heap.mallctl("thread.peak.read")).toBe(4096n);
    heap.free(p);
    expect(heap.mallctl("thread.peak.read")).toBe(4096n);
    heap.mallctl("thread.peak.reset");
    expect(heap.mallctl("thread.peak.read")).toBe(0n);
  });

  it("thread.tcache.enabled; thread.tcache.flush without a cache is EFAULT", () => {
    const heap = make();
    expect(heap.mallctl("thread.tcache.enabled")).toBe(false);
    expect(() => heap.mallctl("thread.tcache.flush")).toThrow(MallctlError);
    const cached = make("");
    expect(cached.mallctl("thread.tcache.enabled", false)).toBe(true);
    expect(cached.mallctl("thread.tcache.enabled")).toBe(false);
  });

  it("background_thread and max_background_threads", () => {
    const heap = make();
    expect(heap.mallctl("background_thread")).toBe(false);
    expect(heap.mallctl("stats.mutexes.background_thread.num_ops")).toBe(0n);
    expect(heap.mallctl("max_background_threads", 2)).toBe(4);
    expect(heap.mallctl("max_background_threads")).toBe(2);
    // That write took the background threads' global lock: its counters are reported.
    heap.mallctl("epoch", 1n);
    expect(num(heap.mallctl("stats.mutexes.background_thread.num_ops"))).toBeGreaterThan(0);
  });
});

describe("experimental.*", () => {
  it("utilization.query and batch_query describe the extent of a pointer", () => {
    const heap = make();
    const p = heap.malloc(48);
    const q = heap.malloc(48);
    const u = heap.mallctl("experimental.utilization.query", p) as Record<string, number>;
    expect(u.nregs).toBe(256);
    expect(u.size).toBe(3 * 4096);
    expect(u.nfree).toBe(254);
    expect(u.bin_nregs).toBe(256);
    expect(u.bin_nfree).toBe(254);
    expect(u.slabcur_addr).toBeGreaterThan(0);
    const big = heap.malloc(100000);
    expect(heap.mallctl("experimental.utilization.batch_query", [q, big, 8])).toEqual([
      { nfree: 254, nregs: 256, size: 3 * 4096 },
      { nfree: 0, nregs: 1, size: heap.mallocUsableSize(big) + 4096 },
      { nfree: 0, nregs: 0, size: 0 },
    ]);
  });

  it("batch_alloc fills the pointer array", () => {
    const heap = make();
    const ptrs = new Uint32Array(5);
    expect(heap.mallctl("experimental.batch_alloc", { ptrs, num: 5, size: 24 })).toBe(5);
    expect(new Set(ptrs).size).toBe(5);
    for (const p of ptrs) expect(heap.mallocUsableSize(p)).toBe(32);
  });

  it("arenas.<i>.pactivep is the offset of the active-page counter", () => {
    const heap = make();
    heap.malloc(50000);
    heap.mallctl("epoch", 1n);
    const off = heap.mallctl("experimental.arenas.0.pactivep") as number;
    expect(heap.f64[off / 8]).toBe(heap.mallctl("stats.arenas.0.pactive"));
  });

  it("hooks.safety_check_abort replaces the corruption handler", () => {
    const heap = make();
    const messages: string[] = [];
    heap.mallctl("experimental.hooks.safety_check_abort", (m: string) => messages.push(m));
    const p = heap.malloc(16);
    heap.free(p);
    heap.free(p);
    expect(messages.length).toBe(1);
    expect(messages[0]).toMatch(/double free|not allocated/);
    heap.mallctl("experimental.hooks.safety_check_abort", null);
    expect(() => heap.free(p)).toThrow();
  });
});

describe("name → MIB → value", () => {
  it("mallctlnametomib and mallctlbymib reach the same leaf as the name", () => {
    const heap = make();
    const mib = mallctlNameToMib(heap, "arenas.bin.3.size");
    expect(mib).toEqual([9, 8, 3, 0]);
    expect(mallctlByMib(heap, mib)).toBe(48);
    mib[2] = 4;
    expect(mallctlByMib(heap, mib)).toBe(64);
    expect(mallctlNameToMib(heap, "stats.arenas.0.bins", 3)).toEqual([11, 9, 0]);
  });
});
