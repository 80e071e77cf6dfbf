/**
 * Worker for test/integration/scribble.test.ts: for each seed, builds a small heap with live, freed
 * and cached blocks of several classes, writes random words over one random allocator record (header,
 * arena, bin, extent record, page-map leaf, thread cache), then runs heap.check() and a few
 * operations. Replies per seed with what each step threw (error name and message), so the test can
 * require that only HeapCorruptionError / HeapPoisonedError escape — and a hang is caught by the test's
 * watchdog, which terminates this worker and names the seed.
 */
import { parentPort, workerData } from "node:worker_threads";
import { binRecord } from "../../src/arena/bin.js";
import { HDR_FIXED_BYTES, RTREE_LEAF_BITS } from "../../src/ctx/header.js";
import { emapRead } from "../../src/extent/emap.js";
import { Heap } from "../../src/heap.js";
import { TBIN_BYTES, TCACHE_HDR_BYTES } from "../../src/tcache/layout.js";

const d = workerData as { from: number; to: number; progress: SharedArrayBuffer };
const progress = new Int32Array(d.progress);

function rng(seed: number): () => number {
  let x = (seed * 2654435761) >>> 0 || 1;
  return () => {
    x ^= x << 13;
    x >>>= 0;
    x ^= x >>> 17;
    x ^= x << 5;
    x >>>= 0;
    return x;
  };
}

const SIZES = [8, 16, 48, 128, 512, 3072, 20000, 100000];

/** A random record: [first byte, bytes] of one allocator structure. */
function pickRecord(h: Heap, live: number[], r: () => number): [string, number, number] {
  const ctx = h.ctx;
  const arena = h.arenaRecord(0);
  switch (r() % 6) {
    case 0:
      return ["header", 0, HDR_FIXED_BYTES];
    case 1:
      return ["arena", arena, ctx.arenaLayout.binsB];
    case 2: {
      const ind = r() % ctx.sc.nbins;
      const b = binRecord(ctx, arena, ind, 0);
      return ["bin", b, ctx.arenaLayout.binBytes];
    }
    case 3: {
      const e = emapRead(ctx, live[r() % live.length]!);
      return ["extent", e, ctx.edataBytes];
    }
    case 4: {
      const page = Math.floor(live[r() % live.length]! / ctx.page);
      const leaf = ctx.u32[(ctx.hdr.rtreeRootB >>> 2) + (page >>> RTREE_LEAF_BITS)]!;
      return ["page map", leaf, 4 << RTREE_LEAF_BITS];
    }
    default: {
      const tc = ctx.u32[(ctx.threadB + 4) >>> 2]!;
      return ["tcache", tc, TCACHE_HDR_BYTES + 8 * TBIN_BYTES];
    }
  }
}

function word(r: () => number, near: number): number {
  switch (r() % 5) {
    case 0:
      return 0;
    case 1:
      return 0xffffffff;
    case 2:
      return r() % 64;
    case 3:
      return (near + (r() % 4096) - 2048) >>> 0;
    default:
      return r();
  }
}

const outcomes: string[] = [];
function step(what: string, f: () => unknown): void {
  try {
    f();
  } catch (e) {
    const err = e as Error;
    outcomes.push(`${what}: ${err?.name} ${String(err?.message).split("\n")[0]}`);
  }
}

for (let seed = d.from; seed < d.to; seed++) {
  const r = rng(seed);
  const h = Heap.create({ maxBytes: 64 << 20, envConf: null, lockTimeoutMs: 100 });
  const live: number[] = [];
  for (let i = 0; i < 60; i++) live.push(h.malloc(SIZES[r() % SIZES.length]!));
  for (let i = 0; i < 25; i++) h.free(live.splice(r() % live.length, 1)[0]!);
  const [kind, at, bytes] = pickRecord(h, live, r);
  outcomes.length = 0;
  if (at !== 0) {
    const n = 1 + (r() % 3);
    for (let k = 0; k < n; k++) {
      const off = (r() % Math.max(1, bytes >>> 2)) * 4;
      h.u32[(at + off) >>> 2] = word(r, at);
    }
  }
  step("check", () => h.check());
  for (let i = 0; i < 6; i++) {
    const size = SIZES[r() % SIZES.length]!;
    step("malloc", () => h.malloc(size));
    if (live.length > 0) {
      const p = live.splice(r() % live.length, 1)[0]!;
      step(i % 2 === 0 ? "free" : "realloc", () => (i % 2 === 0 ? h.free(p) : h.realloc(p, size)));
    }
  }
  step("mallctl", () => h.mallctl("thread.tcache.flush"));
  step("stats", () => h.statsPrint());
  parentPort?.postMessage({ seed, kind, outcomes: [...outcomes] });
  Atomics.store(progress, 0, seed + 1);
}
parentPort?.postMessage({ done: true });
