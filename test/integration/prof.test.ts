// Heap profiling (src/prof): with lg_prof_sample:0 every allocation is sampled, so the profile must
// hold exactly the live usable bytes of each allocating function — in the pprof profile, in the
// heap_v2 dump that jeprof reads, for the main thread and for a worker (also after it exited); freed
// blocks leave; the leak summary is printed at exit; and at the default rate the estimate of a large
// allocation mix is within 10 % of the truth.
import { spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, readdirSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { gunzipSync } from "node:zlib";
import { Profile } from "pprof-format";
import { describe, expect, it } from "vitest";
import { main } from "../../src/cli/main.js";
import { Heap } from "../../src/heap.js";
import { firstMessage, spawnTsWorker } from "../helpers/spawn.js";

const dir = mkdtempSync(join(tmpdir(), "jemalloc-ts-prof-"));
const hasJeprof = spawnSync("sh", ["-c", "command -v jeprof"], { encoding: "utf8" }).status === 0;

/** inuse (objects, bytes) and alloc (objects, bytes) per innermost function of a pprof profile. */
function byLeafFunction(gz: Uint8Array): Map<string, number[]> {
  const p = Profile.decode(gunzipSync(gz));
  const str = (i: number | bigint) => p.stringTable.strings[Number(i)]!;
  expect(p.sampleType.map((t) => `${str(t.type)}/${str(t.unit)}`)).toEqual([
    "alloc_objects/count",
    "alloc_space/bytes",
    "inuse_objects/count",
    "inuse_space/bytes",
  ]);
  const fnName = new Map(p.function.map((f) => [Number(f.id), str(f.name)]));
  const locFn = new Map(p.location.map((l) => [Number(l.id), fnName.get(Number(l.line[0]!.functionId))!]));
  const out = new Map<string, number[]>();
  for (const s of p.sample) {
    const leaf = locFn.get(Number(s.locationId[0]))!;
    const acc = out.get(leaf) ?? [0, 0, 0, 0];
    s.value.forEach((v, i) => {
      acc[i] = acc[i]! + Number(v);
    });
    out.set(leaf, acc);
  }
  return out;
}

function jeprofText(file: string): string {
  const r = spawnSync("jeprof", ["--text", "--show_bytes", file], { encoding: "utf8", timeout: 60_000 });
  expect(r.status, r.stderr).toBe(0);
  return r.stdout;
}

describe("prof:true,lg_prof_sample:0 — every allocation sampled", () => {
  it("profiles exactly the live usable bytes per function, in pprof and in a jeprof dump", () => {
    const heap = Heap.create({ conf: "prof:true,lg_prof_sample:0,prof_accum:true", envConf: null });
    function profAllocSmall(): number {
      return heap.malloc(100);
    }
    function profAllocLarge(): number {
      return heap.malloc(20000);
    }
    function profCallocSome(): number {
      return heap.calloc(4, 25);
    }
    const small = Array.from({ length: 30 }, profAllocSmall);
    const large = Array.from({ length: 3 }, profAllocLarge);
    const zeroed = [profCallocSome(), profCallocSome()];
    for (const p of small.slice(0, 10)) heap.free(p);
    heap.free(large[0]!);
    const us = heap.mallocUsableSize(small[10]!);
    const ul = heap.mallocUsableSize(large[1]!);
    const uc = heap.mallocUsableSize(zeroed[0]!);

    const prof = byLeafFunction(heap.profile({ format: "pprof" }));
    expect(prof.get("profAllocSmall")).toEqual([30, 30 * us, 20, 20 * us]);
    expect(prof.get("profAllocLarge")).toEqual([3, 3 * ul, 2, 2 * ul]);
    expect(prof.get("profCallocSome")).toEqual([2, 2 * uc, 2, 2 * uc]);

    const file = join(dir, "main.heap");
    heap.mallctl("prof.dump", file);
    const text = readFileSync(file, "utf8");
    expect(text.startsWith("--- symbol\nbinary=")).toBe(true);
    expect(text).toMatch(/^heap_v2\/1\n {2}t\*: 24: \d+ \[35: \d+\]$/m);
    expect(text).toContain(`  t*: 20: ${20 * us} [30: ${30 * us}]`);
    if (!hasJeprof) {
      console.warn(
        "jeprof is not installed (apt-get install libjemalloc-dev): skipping the jeprof --text check",
      );
      return;
    }
    const out = jeprofText(file);
    const line = (fn: string) => out.split("\n").find((l) => l.includes(`${fn}@`)) ?? "";
    // flat bytes: the first column of jeprof --text --show_bytes.
    expect(Number(line("profAllocSmall").trim().split(/\s+/)[0])).toBe(20 * us);
    expect(Number(line("profAllocLarge").trim().split(/\s+/)[0])).toBe(2 * ul);
    expect(line("profCallocSome")).toContain("prof.test.ts:");
    heap.detach();
  });

  it("a worker's samples are in every thread's profile, named, and stay after it exits until freed", async () => {
    const heap = Heap.create({ conf: "prof:true,lg_prof_sample:0", envConf: null });
    const w = spawnTsWorker(new URL("../workers/prof-worker.ts", import.meta.url), {
      buffer: heap.buffer,
      size: 3000,
      count: 7,
    });
    heap.watch(w);
    const reply = await firstMessage<{ ptrs: number[]; threadId: number }>(w);
    await new Promise((r) => w.once("exit", r));
    const u = heap.mallocUsableSize(reply.ptrs[0]!);
    const prof = byLeafFunction(heap.profile({ format: "pprof" }));
    expect(prof.get("workerProfAlloc")?.slice(2)).toEqual([7, 7 * u]);
    const text = heap.profile({ format: "jeprof" }) as string;
    expect(text).toContain(`  t${reply.threadId}: 7: ${7 * u} [0: 0] prof-worker`);
    if (hasJeprof) {
      const file = join(dir, "worker.heap");
      heap.mallctl("prof.dump", file);
      const line = jeprofText(file)
        .split("\n")
        .find((l) => l.includes("workerProfAlloc@"));
      expect(Number(line?.trim().split(/\s+/)[0])).toBe(7 * u);
    }
    for (const p of reply.ptrs) heap.free(p);
    expect(byLeafFunction(heap.profile({ format: "pprof" })).get("workerProfAlloc")).toBeUndefined();
    heap.detach();
  }, 30_000);

  it("realloc moves the sample to the new block; prof.reset forgets every sample", () => {
    const heap = Heap.create({ conf: "prof:true,lg_prof_sample:0", envConf: null });
    function growMe(): number {
      return heap.malloc(64);
    }
    function resize(p: number): number {
      return heap.realloc(p, 5000);
    }
    const p = resize(growMe());
    const prof = byLeafFunction(heap.profile({ format: "pprof" }));
    expect(prof.get("growMe")).toBeUndefined();
    expect(prof.get("resize")?.slice(2)).toEqual([1, heap.mallocUsableSize(p)]);
    heap.check();
    heap.mallctl("prof.reset", 4);
    expect(heap.mallctl("prof.lg_sample")).toBe(4);
    expect(byLeafFunction(heap.profile({ format: "pprof" })).size).toBe(0);
    heap.free(p);
    heap.check();
    heap.detach();
  });
});

describe("sampled small blocks are promoted, as jemalloc does", () => {
  it("to a page-aligned extent of their own, keeping their small usable size; free and arena reset undo it", () => {
    const heap = Heap.create({ conf: "prof:true,lg_prof_sample:0", envConf: null });
    const page = heap.mallctl("arenas.page") as number;
    const ps = [heap.malloc(24), heap.calloc(3, 10), heap.mallocx(40, 0), heap.alignedAlloc(64, 64)];
    for (const p of ps) expect(p % page).toBe(0);
    expect(ps.map((p) => heap.mallocUsableSize(p))).toEqual([24, 30, 40, 64].map((n) => heap.nallocx(n)));
    expect(heap.realloc(ps[0]!, 20)).toBe(ps[0]); // same class: stays in place
    heap.check();
    for (const p of ps) heap.free(p);
    heap.check();
    const arena = heap.mallctl("arenas.create") as number;
    for (let i = 0; i < 20; i++) heap.mallocx(100, (arena + 1) << 20);
    heap.mallctl(`arena.${arena}.reset`);
    expect(byLeafFunction(heap.profile({ format: "pprof" })).size).toBe(0);
    heap.check();
    heap.detach();
  });
});

describe("jemalloc-ts prof <dump>", () => {
  it("prints the top sites (function, file:line, live bytes, objects) and writes a flame graph", async () => {
    const heap = Heap.create({ conf: "prof:true,lg_prof_sample:0", envConf: null });
    function cliSite(): number {
      return heap.malloc(700);
    }
    for (let i = 0; i < 5; i++) cliSite();
    const u = heap.mallocUsableSize(cliSite());
    const file = join(dir, "cli.heap");
    heap.mallctl("prof.dump", file);
    heap.detach();
    const svg = join(dir, "cli.svg");
    let out = "";
    const code = await main(
      ["prof", file, "--svg", svg],
      (t) => (out += t),
      (t) => (out += t),
    );
    expect(code).toBe(0);
    const row = out.split("\n").find((l) => l.startsWith("cliSite "))!;
    expect(row.trim().split(/\s+/)).toEqual([
      "cliSite",
      expect.stringMatching(/prof\.test\.ts:\d+$/),
      String(6 * u),
      "100.0",
      "6",
    ]);
    const flame = readFileSync(svg, "utf8");
    expect(flame.startsWith("<svg")).toBe(true);
    expect(flame).toContain(`<title>cliSite@`);
    expect(flame).toContain(`data-bytes="${6 * u}"`);
    expect(
      await main(
        ["prof"],
        () => {},
        () => {},
      ),
    ).toBe(2);
    expect(
      await main(
        ["prof", join(dir, "missing.heap")],
        () => {},
        () => {},
      ),
    ).toBe(1);
  });
});

describe("switches, automatic dumps and bad input", () => {
  it("prof.active / thread.prof.active stop sampling; thread.prof.name is checked", () => {
    const heap = Heap.create({ conf: "prof:true,lg_prof_sample:0", envConf: null });
    function quiet(): number {
      return heap.malloc(200);
    }
    expect(heap.mallctl("prof.active", false)).toBe(true);
    quiet();
    heap.mallctl("prof.active", true);
    heap.mallctl("thread.prof.active", false);
    quiet();
    heap.mallctl("thread.prof.active", true);
    expect(byLeafFunction(heap.profile({ format: "pprof" })).get("quiet")).toBeUndefined();
    quiet();
    expect(
      byLeafFunction(heap.profile({ format: "pprof" }))
        .get("quiet")
        ?.slice(2),
    ).toEqual([1, heap.nallocx(200)]);
    expect(() => heap.mallctl("thread.prof.name", "bad\nname")).toThrow(/EFAULT/);
    expect(heap.mallctl("thread.prof.name", "main loop")).toBe("main loop");
    expect(heap.mallctl("thread.prof.name")).toBe("main loop");
    expect(heap.profile()).toMatch(/^ {2}t\d+: 1: \d+ \[0: 0\] main loop$/m);
    heap.mallctl("epoch", 1n);
    expect(heap.mallctl("stats.mutexes.prof.num_ops") as bigint).toBeGreaterThan(0n);
    expect(() => heap.profile({ format: "svg" as "jeprof" })).toThrow(
      /format must be "pprof" or "jeprof", got "svg"/,
    );
    let dumped = "";
    heap.mallctl("experimental.prof_recent.alloc_max", -1);
    heap.mallctl("experimental.prof_recent.alloc_dump", (t: string) => {
      dumped = t;
    });
    expect(JSON.parse(dumped).recent_alloc[0].alloc_trace[0]).toMatch(/^quiet \(/);
    expect(() => heap.mallctl("experimental.prof_recent.alloc_max", -2)).toThrow(/EINVAL/);
    heap.detach();
    const off = Heap.create({ envConf: null });
    expect(() => off.profile()).toThrow(/created without opt.prof/);
    off.detach();
  });

  it("lg_prof_interval writes .i<n>.heap dumps; prof_gdump writes .u<n>.heap at new highs", () => {
    const prefix = join(dir, "auto");
    const heap = Heap.create({
      conf: `prof:true,lg_prof_interval:20,prof_gdump:true,prof_prefix:${prefix}`,
      envConf: null,
    });
    expect(heap.mallctl("prof.interval")).toBe(1n << 20n);
    for (let i = 0; i < 40; i++) heap.malloc(100_000);
    const files = readdirSync(dir).filter((f) => f.startsWith(`auto.${process.pid}.`));
    expect(files.some((f) => /\.i0\.heap$/.test(f))).toBe(true);
    expect(files.some((f) => /\.u0\.heap$/.test(f))).toBe(true);
    heap.detach();
  });
});

describe("the prof.* switches as the real library reads them after boot", () => {
  // Each row checked against Debian's libjemalloc 5.3.0 (built with profiling) under the same MALLOC_CONF.
  it.each([
    ["", [false, false, false, 0n, 0]],
    ["prof:true", [true, true, false, 0n, 19]],
    [
      "prof:true,lg_prof_interval:20,prof_active:false,lg_prof_sample:12,prof_gdump:true,prof_thread_active_init:false",
      [false, false, true, 1n << 20n, 12],
    ],
    ["prof_leak:true", [true, true, false, 0n, 19]],
    ["prof:true,lg_prof_interval:-1", [true, true, false, 0n, 19]],
    // prof_leak turns profiling on without automatic dumps: no interval, gdump off.
    ["prof_leak:true,prof_gdump:true,lg_prof_interval:20", [true, true, false, 0n, 19]],
  ] as const)("%j", (conf, expected) => {
    const heap = Heap.create({ conf, envConf: null, maxBytes: 64 << 20 });
    const names = ["thread_active_init", "active", "gdump", "interval", "lg_sample"];
    expect(names.map((n) => heap.mallctl(`prof.${n}`))).toEqual(expected);
    heap.detach();
  });

  it("prof_leak with lg_prof_interval writes no interval dumps", () => {
    const prefix = join(dir, "leakonly");
    const heap = Heap.create({
      conf: `prof_leak:true,lg_prof_interval:20,prof_prefix:${prefix}`,
      envConf: null,
    });
    for (let i = 0; i < 40; i++) heap.malloc(100_000);
    expect(readdirSync(dir).filter((f) => f.startsWith(`leakonly.${process.pid}.`))).toEqual([]);
    heap.detach();
  });
});

describe("prof.dump file names", () => {
  it("names dumps <prefix>.<pid>.<seq>.m<mseq>.heap; an empty prefix is EFAULT", () => {
    const prefix = join(dir, "named");
    const heap = Heap.create({ conf: `prof:true,prof_prefix:${prefix}`, envConf: null });
    heap.mallctl("prof.dump");
    heap.mallctl("prof.dump");
    expect(existsSync(`${prefix}.${process.pid}.0.m0.heap`)).toBe(true);
    expect(existsSync(`${prefix}.${process.pid}.1.m1.heap`)).toBe(true);
    heap.mallctl("prof.prefix", "");
    expect(() => heap.mallctl("prof.dump")).toThrow(/EFAULT/);
    heap.detach();
  });
});

describe("prof_final and the leak summary at exit (child process)", () => {
  const script = new URL("../workers/prof-exit.ts", import.meta.url).pathname;
  const run = (conf: string) =>
    spawnSync(process.execPath, ["--import", "tsx", script, conf], { encoding: "utf8", timeout: 60_000 });

  it("prints jemalloc's two lines and writes <prefix>.<pid>.<seq>.f.heap", () => {
    const prefix = join(dir, "leak");
    const r = run(`prof:true,lg_prof_sample:0,prof_final:true,prof_leak:true,prof_prefix:${prefix}`);
    expect(r.status, r.stderr).toBe(0);
    expect(r.stderr).toBe(
      "<jemalloc>: Leak approximation summary: ~10240 bytes, ~10 objects, >= 1 context\n" +
        "<jemalloc>: Run jeprof on dump output for leak detail\n",
    );
    const finals = readdirSync(dir).filter((f) => /^leak\.\d+\.0\.f\.heap$/.test(f));
    expect(finals.length).toBe(1);
    expect(readFileSync(join(dir, finals[0]!), "utf8")).toContain("leakyAlloc@");
  }, 60_000);

  it("prof_leak_error makes the exit status 1", () => {
    const r = run(`prof_final:true,prof_leak_error:true,lg_prof_sample:0,prof_prefix:${join(dir, "err")}`);
    expect(r.status).toBe(1);
    expect(r.stderr).toContain("<jemalloc>: Exiting with error code because memory leaks were detected\n");
  }, 60_000);
});

describe("the default sample rate (lg_prof_sample:19)", () => {
  it("estimates the bytes of a large allocation mix within 10 %", () => {
    const heap = Heap.create({ conf: "prof:true,prof_accum:true", envConf: null });
    // A deterministic mix (xorshift) of small, medium and large requests, freed as it goes so the
    // heap stays small: 1 GiB allocated in total, about 2000 samples at one per 512 KiB, so the
    // estimate's standard error is ~3 % (object counts, dominated by rarely sampled small blocks,
    // are far noisier and are not asserted).
    let x = 0x9e3779b9;
    const rnd = () => {
      x ^= x << 13;
      x ^= x >>> 17;
      x ^= x << 5;
      return (x >>> 0) / 2 ** 32;
    };
    let trueBytes = 0;
    let trueObjects = 0;
    const live: number[] = [];
    function mixAlloc(size: number): number {
      return heap.malloc(size);
    }
    while (trueBytes < 2 ** 30) {
      const r = rnd();
      const size =
        r < 0.8 ? 8 + Math.floor(rnd() * 1024) : r < 0.98 ? 4096 + Math.floor(rnd() * 60000) : 300000;
      const p = mixAlloc(size);
      trueBytes += heap.mallocUsableSize(p);
      trueObjects++;
      live.push(p);
      if (live.length > 256) heap.free(live.splice(Math.floor(rnd() * live.length), 1)[0]!);
    }
    const got = byLeafFunction(heap.profile({ format: "pprof" })).get("mixAlloc")!;
    expect(Math.abs(got[1]! / trueBytes - 1)).toBeLessThan(0.1);
    expect(got[0]! / trueObjects).toBeGreaterThan(0.5);
    heap.detach();
  }, 60_000);
});
