/**
 * The leaves that depend on jemalloc's thread events behave as jemalloc documents them:
 * thread.peak.read / reset, experimental.thread.activity_callback, opt.stats_interval, and
 * experimental.hooks.install / remove (issue 14).
 */
import { describe, expect, it } from "vitest";
import { HOOK_MAX } from "../../src/ctx/alloc_hooks.js";
import { Heap } from "../../src/index.js";

const KiB = 1024;
const MiB = 1024 * KiB;

function fresh(conf = "tcache:false", writer?: (s: string) => void): Heap {
  return Heap.create({ maxBytes: 64 * MiB, conf, envConf: null, writer });
}

describe("thread.peak", () => {
  it("keeps the peak of a 10 MiB block after it is freed, and reset restarts it", () => {
    const heap = fresh();
    const p = heap.malloc(10 * MiB);
    expect(p).not.toBe(0);
    heap.free(p);
    const peak = Number(heap.mallctl("thread.peak.read"));
    expect(peak).toBeGreaterThanOrEqual(10 * MiB);
    expect(peak).toBeLessThan(10 * MiB + 100 * KiB);
    heap.mallctl("thread.peak.reset");
    expect(Number(heap.mallctl("thread.peak.read"))).toBe(0);
    const q = heap.malloc(1000);
    // Below the 64 KiB event wait: the read itself updates the peak.
    expect(Number(heap.mallctl("thread.peak.read"))).toBe(heap.mallocUsableSize(q));
    heap.free(q);
    heap.detach();
  });

  it("is sampled at the 64 KiB peak events, not only at reads", () => {
    const heap = fresh("narenas:1");
    heap.mallctl("thread.peak.reset");
    const ps: number[] = [];
    for (let i = 0; i < 1000; i++) ps.push(heap.malloc(100)); // 112-byte class: 112000 bytes
    for (const p of ps) heap.free(p);
    const peak = Number(heap.mallctl("thread.peak.read"));
    // The last alloc event fired within 64 KiB of the true peak.
    expect(peak).toBeGreaterThan(112_000 - 64 * KiB);
    expect(peak).toBeLessThanOrEqual(112_000);
    heap.detach();
  });
});

describe("experimental.thread.activity_callback", () => {
  it("is called from the peak events with the thread's counters, until turned off", () => {
    const heap = fresh();
    const calls: [unknown, number, number][] = [];
    const uctx = { tag: "mine" };
    const old = heap.mallctl("experimental.thread.activity_callback", {
      callback: (u: unknown, a: number, d: number) => calls.push([u, a, d]),
      uctx,
    }) as { callback: unknown };
    expect(old.callback).toBeNull();
    const ps: number[] = [];
    for (let i = 0; i < 200; i++) ps.push(heap.malloc(KiB)); // 200 KiB: 3 alloc events
    expect(calls.length).toBe(3);
    for (const [u, a, d] of calls) {
      expect(u).toBe(uctx);
      expect(d).toBe(0);
      expect(a % (64 * KiB)).toBe(0); // 1 KiB steps land exactly on each 64 KiB threshold
    }
    expect(calls.map((c) => c[1])).toEqual([64 * KiB, 128 * KiB, 192 * KiB]);
    for (const p of ps) heap.free(p); // 200 KiB freed: 3 dalloc events
    expect(calls.length).toBe(6);
    expect(calls[5]).toEqual([uctx, 200 * KiB, 192 * KiB]);
    expect(Number(heap.mallctl("thread.allocated"))).toBe(200 * KiB);
    heap.mallctl("experimental.thread.activity_callback", { callback: null });
    for (let i = 0; i < 200; i++) heap.free(heap.malloc(KiB));
    expect(calls.length).toBe(6);
    expect(() => heap.mallctl("experimental.thread.activity_callback", { callback: 3 })).toThrow(/EINVAL/);
    heap.detach();
  });
});

describe("opt.stats_interval", () => {
  it("prints the report through the heap's writer each time the interval is crossed", () => {
    const out: string[] = [];
    const heap = fresh("tcache:false,stats_interval:1048576", (s) => out.push(s));
    expect(out.length).toBe(0);
    const ps: number[] = [];
    for (let i = 0; i < 56; i++) ps.push(heap.malloc(64 * KiB)); // 3.5 MiB
    const reports = out.filter((s) => s.includes("___ Begin jemalloc statistics ___"));
    expect(reports.length).toBe(3);
    expect(reports[0]).toContain("--- End jemalloc statistics ---");
    // Frees are not allocation activity.
    for (const p of ps) heap.free(p);
    expect(out.filter((s) => s.includes("Begin jemalloc statistics")).length).toBe(3);
    heap.detach();
  });

  it("uses opt.stats_interval_opts, and -1 (the default) prints nothing", () => {
    const out: string[] = [];
    const heap = fresh("tcache:false,stats_interval:65536,stats_interval_opts:J", (s) => out.push(s));
    heap.free(heap.malloc(100 * KiB));
    expect(out.length).toBe(1);
    expect(JSON.parse(out[0]!).jemalloc).toBeDefined();
    const quiet: string[] = [];
    const h2 = fresh("tcache:false", (s) => quiet.push(s));
    for (let i = 0; i < 40; i++) h2.free(h2.malloc(MiB));
    expect(quiet).toEqual([]);
    heap.detach();
    h2.detach();
  });
});

describe("experimental.hooks", () => {
  type Call = unknown[];
  function install(heap: Heap, calls: Call[], extra: unknown): unknown {
    return heap.mallctl("experimental.hooks.install", {
      alloc: (...a: unknown[]) => calls.push(["alloc", ...a]),
      dalloc: (...a: unknown[]) => calls.push(["dalloc", ...a]),
      expand: (...a: unknown[]) => calls.push(["expand", ...a]),
      extra,
    });
  }

  it("calls alloc, dalloc and expand hooks with jemalloc's types and arguments", () => {
    const heap = fresh("narenas:1");
    const calls: Call[] = [];
    const x = { id: 1 };
    const handle = install(heap, calls, x);
    const p = heap.malloc(100);
    expect(calls.pop()).toEqual(["alloc", x, 0, p, p, [100]]);
    const q = heap.posixMemalign(64, 200);
    expect(calls.pop()).toEqual(["alloc", x, 1, q.ptr, 0, [0, 64, 200]]);
    const r = heap.alignedAlloc(256, 300);
    expect(calls.pop()).toEqual(["alloc", x, 2, r, r, [256, 300]]);
    const c = heap.calloc(3, 40);
    expect(calls.pop()).toEqual(["alloc", x, 3, c, c, [3, 40]]);
    const m = heap.mallocx(50, 0);
    expect(calls.pop()).toEqual(["alloc", x, 6, m, m, [50, 0]]);
    // realloc that moves: alloc (realloc) then dalloc (realloc).
    const p2 = heap.realloc(p, 5000);
    expect(p2).not.toBe(p);
    expect(calls.splice(0)).toEqual([
      ["alloc", x, 7, p2, p2, [p, 5000, 0]],
      ["dalloc", x, 3, p, [p, 5000, 0]],
    ]);
    // realloc in place (same class): expand (realloc).
    expect(heap.realloc(p2, 4500)).toBe(p2);
    expect(calls.pop()).toEqual(["expand", x, 0, p2, 5120, 5120, p2, [p2, 4500, 0, 0]]);
    const big = heap.malloc(64 * KiB);
    calls.length = 0;
    const grown = heap.xallocx(big, 80 * KiB);
    expect(grown).toBe(80 * KiB);
    expect(calls.pop()).toEqual(["expand", x, 2, big, 64 * KiB, 80 * KiB, 80 * KiB, [big, 80 * KiB, 0, 0]]);
    const moved = heap.rallocx(m, 9000, 0);
    expect(calls.splice(0)).toEqual([
      ["alloc", x, 8, moved, moved, [m, 9000, 0]],
      ["dalloc", x, 4, m, [m, 9000, 0]],
    ]);
    heap.free(r);
    expect(calls.pop()).toEqual(["dalloc", x, 0, r, [r]]);
    heap.dallocx(c, 0);
    expect(calls.pop()).toEqual(["dalloc", x, 1, c, [c, 0]]);
    heap.sdallocx(q.ptr, 256, 0); // posix_memalign(64, 200) is in the 256-byte class
    expect(calls.pop()).toEqual(["dalloc", x, 2, q.ptr, [q.ptr, 256, 0]]);
    expect(heap.realloc(p2, 0)).toBe(0);
    expect(calls.pop()).toEqual(["dalloc", x, 3, p2, [p2, 0]]);
    heap.free(0); // free(NULL) calls no hook
    expect(calls).toEqual([]);
    // Removed: never called again, and the handle's own methods are gone (back to the fast paths).
    heap.mallctl("experimental.hooks.remove", handle);
    expect(heap.malloc).toBe(Heap.prototype.malloc);
    expect(heap.free).toBe(Heap.prototype.free);
    heap.free(heap.malloc(10));
    heap.free(moved);
    heap.free(big);
    expect(calls).toEqual([]);
    heap.check();
    heap.detach();
  });

  it("allows HOOK_MAX sets, refuses more with EAGAIN, and rejects bad input", () => {
    const heap = fresh();
    const handles: unknown[] = [];
    for (let i = 0; i < HOOK_MAX; i++) handles.push(heap.mallctl("experimental.hooks.install", {}));
    expect(() => heap.mallctl("experimental.hooks.install", {})).toThrow(/EAGAIN/);
    expect(() => heap.mallctl("experimental.hooks.remove", { hookId: 1 })).toThrow(/EINVAL/);
    expect(() => heap.mallctl("experimental.hooks.install", { alloc: 5 })).toThrow(/EINVAL/);
    expect(() => heap.mallctl("experimental.hooks.install")).toThrow(/EINVAL/);
    for (const h of handles) heap.mallctl("experimental.hooks.remove", h);
    expect(() => heap.mallctl("experimental.hooks.remove", handles[0])).toThrow(/EINVAL/);
    // A hook that allocates does not re-enter the hooks.
    let n = 0;
    const h = heap.mallctl("experimental.hooks.install", {
      alloc: () => {
        n++;
        heap.free(heap.malloc(8));
      },
    });
    heap.free(heap.malloc(8));
    expect(n).toBe(1);
    heap.mallctl("experimental.hooks.remove", h);
    heap.detach();
  });
});
