// Error codes of mallctl misuse, each as jemalloc answers it (test/unit/mallctl.c,
// src/ctl.c handlers; RELIABILITY.md B14).
import { afterAll, describe, expect, it } from "vitest";
import { mallctlByMib, mallctlNameToMib } from "../../src/heap/mallctl.js";
import { Heap } from "../../src/heap.js";
import { MallctlError } from "../../src/mallctl/index.js";

const heap = Heap.create({ ncpus: 2, envConf: null });
afterAll(() => heap.detach());

function errOf(fn: () => unknown): MallctlError {
  try {
    fn();
  } catch (e) {
    if (e instanceof MallctlError) return e;
    throw e;
  }
  throw new Error("expected a MallctlError, the call succeeded");
}

const code = (fn: () => unknown): string => errOf(fn).code;

describe("ENOENT: no such name, index out of range, feature not built", () => {
  it.each([
    "no_such_name",
    "arenas", // an inner node called as a leaf
    "stats.arenas.0", // partial path
    "opt.narenas.x", // continues past a leaf
    "",
    ".epoch",
    "a.b.c.d.e.f.g.h",
  ])("mallctl(%j)", (name) => {
    expect(code(() => heap.mallctl(name))).toBe("ENOENT");
  });

  it("an arena index above arenas.narenas (arena.999.purge)", () => {
    expect(heap.mallctl("arenas.narenas")).toBe(9);
    expect(code(() => heap.mallctl("arena.999.purge"))).toBe("ENOENT");
    expect(code(() => heap.mallctl("arena.10.decay"))).toBe("ENOENT");
    // i == narenas is jemalloc's deprecated alias of MALLCTL_ARENAS_ALL.
    expect(heap.mallctl("arena.9.decay")).toBeUndefined();
  });

  it("class indices out of range", () => {
    expect(code(() => heap.mallctl("arenas.bin.36.size"))).toBe("ENOENT");
    expect(code(() => heap.mallctl("arenas.lextent.196.size"))).toBe("ENOENT");
    expect(code(() => heap.mallctl("stats.arenas.0.bins.36.nmalloc"))).toBe("ENOENT");
    expect(code(() => heap.mallctl("stats.arenas.0.extents.199.ndirty"))).toBe("ENOENT");
    expect(code(() => heap.mallctl("stats.arenas.0.hpa_shard.nonfull_slabs.64.nactive_huge"))).toBe("ENOENT");
  });

  it("stats of an arena that is not initialized, and of destroyed arenas before any destroy", () => {
    heap.mallctl("epoch", 1n);
    expect(code(() => heap.mallctl("stats.arenas.5.pactive"))).toBe("ENOENT");
    expect(code(() => heap.mallctl("stats.arenas.4097.pactive"))).toBe("ENOENT");
    expect(heap.mallctl("arena.4097.initialized")).toBe(false);
    expect(typeof heap.mallctl("stats.arenas.4096.pactive")).toBe("number");
  });

  it("stats of a destroyed arena", () => {
    const h = Heap.create({ ncpus: 2, envConf: null, conf: "tcache:false" });
    const ind = h.mallctl("arenas.create") as number;
    h.mallctl("epoch", 1n);
    expect(typeof h.mallctl(`stats.arenas.${ind}.pactive`)).toBe("number");
    h.mallctl(`arena.${ind}.destroy`);
    h.mallctl("epoch", 1n);
    expect(code(() => h.mallctl(`stats.arenas.${ind}.pactive`))).toBe("ENOENT");
    expect(code(() => h.mallctl(`experimental.arenas.${ind}.pactivep`))).toBe("ENOENT");
    expect(code(() => h.mallctl(`arena.${ind}.reset`))).toBe("EFAULT");
    h.detach();
  });

  it("profiling leaves of a heap without opt.prof (as jemalloc built with prof, run without it)", () => {
    expect(heap.mallctl("opt.prof")).toBe(false);
    expect(heap.mallctl("prof.active")).toBe(false);
    expect(heap.mallctl("prof.active", false)).toBe(false);
    expect(code(() => heap.mallctl("prof.active", true))).toBe("ENOENT");
    expect(code(() => heap.mallctl("prof.gdump", true))).toBe("ENOENT");
    expect(code(() => heap.mallctl("prof.dump"))).toBe("ENOENT");
    expect(code(() => heap.mallctl("prof.reset", 3))).toBe("ENOENT");
    expect(heap.mallctl("prof.interval")).toBe(0n);
    // lg_prof_sample is set from the option only when profiling starts (prof_boot2).
    expect(heap.mallctl("prof.lg_sample")).toBe(0);
    expect(heap.mallctl("opt.lg_prof_sample")).toBe(19);
    expect(code(() => heap.mallctl("thread.prof.name", "x"))).toBe("ENOENT");
    expect(heap.mallctl("thread.prof.active")).toBe(false);
    expect(code(() => heap.mallctl("thread.prof.active", true))).toBe("ENOENT");
    expect(code(() => heap.mallctl("prof.stats.bins.0.live"))).toBe("ENOENT");
    expect(code(() => heap.mallctl("experimental.prof_recent.alloc_max"))).toBe("ENOENT");
    expect(code(() => heap.mallctl("experimental.hooks.prof_backtrace", () => {}))).toBe("ENOENT");
  });

  it("retain_grow_limit without opt.retain", () => {
    const h = Heap.create({ ncpus: 2, envConf: null, conf: "retain:false" });
    expect(code(() => h.mallctl("arena.0.retain_grow_limit"))).toBe("ENOENT");
    h.detach();
  });

  it("by name and by MIB, with the target in the error", () => {
    const e = errOf(() => mallctlNameToMib(heap, "no_such_name"));
    expect([e.code, e.errno, e.target]).toEqual(["ENOENT", 2, "no_such_name"]);
    const m = errOf(() => mallctlByMib(heap, [99]));
    expect([m.code, m.target]).toEqual(["ENOENT", [99]]);
    expect(code(() => mallctlByMib(heap, [8, 999, 2]))).toBe("ENOENT");
  });
});

describe("EPERM: write to a read-only leaf, a value for a void leaf", () => {
  it.each([
    ["version", "x"],
    ["stats.allocated", 1],
    ["arenas.narenas", 1],
    ["opt.narenas", 1],
    ["config.debug", true],
    ["arena.0.initialized", true],
    ["tcache.create", 1],
  ])("mallctl(%j, %j)", (name, v) => {
    const e = errOf(() => heap.mallctl(name, v));
    expect([e.code, e.errno]).toEqual(["EPERM", 1]);
  });

  it.each(["arena.0.purge", "arena.0.decay", "thread.tcache.flush", "thread.idle", "stats.mutexes.reset"])(
    "a value for %s",
    (name) => {
      expect(code(() => heap.mallctl(name, 1))).toBe("EPERM");
    },
  );
});

describe("EINVAL: a value of the wrong type or out of the C type's range", () => {
  it.each([
    ["epoch", "1"],
    ["epoch", -1],
    ["thread.tcache.enabled", 1],
    ["thread.arena", -1],
    ["thread.arena", 1.5],
    ["arena.0.dirty_decay_ms", "10"],
    ["arenas.dirty_decay_ms", 2 ** 63],
    ["arena.0.oversize_threshold", -1],
    ["background_thread", "yes"],
    ["arena.0.extent_hooks", 5],
    ["arena.0.extent_hooks", { notAHook: () => false }],
    ["arena.0.dss", "bogus"],
    ["arenas.create", { alloc: 3 }],
  ])("mallctl(%j, %j)", (name, v) => {
    const e = errOf(() => heap.mallctl(name, v));
    expect([e.code, e.errno]).toEqual(["EINVAL", 22]);
  });

  it("a write-only leaf called without its value", () => {
    expect(code(() => heap.mallctl("tcache.flush"))).toBe("EINVAL");
    expect(code(() => heap.mallctl("tcache.destroy"))).toBe("EINVAL");
  });

  it("leaves that take an input and return a result need both", () => {
    expect(code(() => heap.mallctl("arenas.lookup"))).toBe("EINVAL");
    expect(code(() => heap.mallctl("arenas.lookup", 8))).toBe("EINVAL"); // maps to no extent
    expect(code(() => heap.mallctl("experimental.utilization.query"))).toBe("EINVAL");
    expect(code(() => heap.mallctl("experimental.utilization.batch_query", []))).toBe("EINVAL");
    expect(code(() => heap.mallctl("experimental.batch_alloc"))).toBe("EINVAL");
  });

  it("max_background_threads above opt.max_background_threads", () => {
    expect(code(() => heap.mallctl("max_background_threads", 5))).toBe("EINVAL");
  });
});

describe("EFAULT: the operation failed", () => {
  it("reset / destroy of an automatic arena", () => {
    expect(code(() => heap.mallctl("arena.0.reset"))).toBe("EFAULT");
    expect(code(() => heap.mallctl("arena.0.destroy"))).toBe("EFAULT");
    expect(code(() => heap.mallctl("arena.4096.reset"))).toBe("EFAULT");
  });

  it("invalid tcache ids", () => {
    expect(code(() => heap.mallctl("tcache.flush", 4000))).toBe("EFAULT");
    expect(code(() => heap.mallctl("tcache.destroy", 4000))).toBe("EFAULT");
  });

  it("thread.arena beyond arenas.narenas", () => {
    expect(code(() => heap.mallctl("thread.arena", 100))).toBe("EFAULT");
  });

  it("invalid decay times", () => {
    expect(code(() => heap.mallctl("arena.0.dirty_decay_ms", -2))).toBe("EFAULT");
    expect(code(() => heap.mallctl("arena.0.muzzy_decay_ms", -2))).toBe("EFAULT");
    expect(code(() => heap.mallctl("arenas.dirty_decay_ms", -2))).toBe("EFAULT");
  });

  it("per-arena leaves of arenas that do not exist", () => {
    expect(code(() => heap.mallctl("arena.7.dirty_decay_ms"))).toBe("EFAULT");
    expect(code(() => heap.mallctl("arena.4096.oversize_threshold"))).toBe("EFAULT");
    expect(code(() => heap.mallctl("arena.7.retain_grow_limit"))).toBe("EFAULT");
  });

  it("dss other than disabled (no sbrk), retain_grow_limit below a page", () => {
    expect(code(() => heap.mallctl("arena.0.dss", "primary"))).toBe("EFAULT");
    expect(code(() => heap.mallctl("arena.4096.dss", "secondary"))).toBe("EFAULT");
    expect(heap.mallctl("arena.0.dss", "disabled")).toBe("disabled");
    expect(code(() => heap.mallctl("arena.0.retain_grow_limit", 100))).toBe("EFAULT");
  });
});

describe("EAGAIN: resources exhausted", () => {
  it("tcache.create once every explicit cache id is taken", () => {
    let last = "OK";
    for (let i = 0; i < 5000 && last === "OK"; i++) {
      try {
        heap.mallctl("tcache.create");
      } catch (e) {
        if (!(e instanceof MallctlError)) throw e;
        last = e.code;
      }
    }
    expect(last).toBe("EAGAIN");
  });
});

describe("bad arguments of our own functions", () => {
  it("throw TypeError", () => {
    expect(() => heap.mallctl(42 as unknown as string)).toThrow(TypeError);
    expect(() => mallctlNameToMib(heap, null as unknown as string)).toThrow(TypeError);
    expect(() => mallctlByMib(heap, "8.0.2" as unknown as number[])).toThrow(TypeError);
  });
});
