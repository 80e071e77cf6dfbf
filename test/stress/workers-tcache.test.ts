/**
 * Workers with thread caches on one heap (issue 4 "Done when"; RELIABILITY.md §6.4 load shape, §6.5):
 * 2 and 4 workers, random power-of-two sizes (~1% large, a few huge), every block stamped with a
 * per-allocation pattern checked on free, cross-worker frees through a shared transfer table
 * (Atomics.exchange). Churn: each iteration's workers end — by detach() in one variant, by terminate()
 * in the other (reclaimed through heap.watch or heap.reclaim) — and new workers replace them, while
 * half of the transfer table survives into the next iteration. In the mixed variant the terminated
 * workers are reclaimed while the next generation runs (their caches flushed into busy bins).
 *
 * At every quiescent checkpoint (after the workers finished, and again after terminated ones were
 * reclaimed): every block the ledger holds is intact, heap.check() passes (C1–C4, C6, C7), the caches
 * pass C5 (tcache audit), and stats.allocated = ledger bytes + cached bytes + one stack block per cache.
 * After all frees and reclaims: allocated == 0, Σ nmalloc == Σ ndalloc, nothing claimed.
 *
 * Quick by default (3 iterations × 2000 ops per worker); JEMALLOC_TS_LONG=1 runs long (8 × 60000, and
 * 4- and 8-worker variants too). Prints its seed; SEED=<n> replays the workers' random choices (thread
 * interleavings are not replayable). TC_OPS / TC_ITERS override the sizes.
 */
import type { Worker } from "node:worker_threads";
import { afterEach, describe, expect, it } from "vitest";
import { THREAD_ARENA_B } from "../../src/ctx/header.js";
import { MALLOCX_TCACHE_NONE } from "../../src/flags.js";
import { Heap } from "../../src/heap.js";
import { ClaimMap, prng, seedFromEnv } from "../helpers/ledger.js";
import {
  arenaStatSum,
  auditCaches,
  expectedAllocated,
  statNum,
  usableBytes,
  verifyBlock,
} from "../helpers/ledger-tc.js";
import { firstMessage, spawnTsWorker } from "../helpers/spawn.js";
import {
  CTL_ATTACH,
  CTL_GO,
  CTL_READY,
  CTL_WORDS,
  type EndMode,
  OWNED_FIRST,
  readOwned,
  type StressWorkerData,
  type StressWorkerReply,
} from "../workers/tc-common.js";

const LONG = process.env.JEMALLOC_TS_LONG === "1";

function envCount(name: string, dflt: number): number {
  const v = process.env[name];
  if (v === undefined || v === "") return dflt;
  const n = Number(v);
  if (!Number.isInteger(n) || n < 1)
    throw new RangeError(`${name} must be a positive integer, got ${JSON.stringify(v)}`);
  return n;
}
/** Ops per worker per iteration, and iterations (TC_OPS / TC_ITERS override them, for hunting a failure). */
const OPS = envCount("TC_OPS", LONG ? 60_000 : 2_000);
const ITERS = envCount("TC_ITERS", LONG ? 8 : 3);
const MAX_LIVE = 300;
const TRANSFER_SLOTS = 1000;
const MAX_BYTES = 512 * 1024 * 1024;
const ENTRY = new URL("../workers/tc-stress.ts", import.meta.url);

const live: Worker[] = [];
afterEach(async () => {
  await Promise.all(live.splice(0).map((w) => w.terminate()));
});

interface RunOptions {
  nworkers: number;
  /** How worker i of an iteration ends. */
  end: (i: number) => EndMode;
  label: string;
  /** Terminated workers are reclaimed while the next generation runs (else at quiescence). */
  overlap: boolean;
  conf: string;
  seed: number;
}

interface Generation {
  ctl: Int32Array;
  ws: Worker[];
  owned: SharedArrayBuffer[];
  ends: EndMode[];
  watched: boolean[];
  replies: Promise<StressWorkerReply>[];
  exits: Promise<number>[];
  /** What went wrong with workers that died on their own ('error', or exit before replying). */
  died: string[];
}

interface Tally {
  loopMs: number;
  allocs: number;
  crossFrees: number;
  exchanges: number;
  reclaimedByWatch: number;
  reclaimedByCall: number;
  supervisorFrees: number;
}

function transferBlocks(transfer: Int32Array): number[] {
  const out: number[] = [];
  for (let i = 0; i < transfer.length; i++) {
    const p = transfer[i]! >>> 0;
    if (p !== 0) out.push(p);
  }
  return out;
}

/**
 * Quiescent checkpoint: `ledger` is every block a client holds. Checks bytes, the heap, the caches and
 * the statistics; `threads` is how many worker threads are still bound to arenas. Returns the audit.
 */
function checkpoint(
  heap: Heap,
  ledger: number[],
  threads: number,
  what: string,
): ReturnType<typeof auditCaches> {
  const set = new Set(ledger);
  expect(set.size, `${what}: a block is held twice`).toBe(ledger.length);
  const broken = ledger.map((p) => verifyBlock(heap, p)).filter((r) => typeof r === "string");
  expect(broken, `${what}: blocks not intact`).toEqual([]);
  heap.check();
  const audit = auditCaches(heap, set);
  expect(audit.problems, `${what}: C5`).toEqual([]);
  heap.mallctl("epoch", 1);
  const allocated = statNum(heap, "stats.allocated");
  expect(allocated, `${what}: stats.allocated`).toBe(
    expectedAllocated(heap, audit, usableBytes(heap, ledger)),
  );
  expect(arenaStatSum(heap, "tcache_bytes"), `${what}: Σ tcache_bytes`).toBe(audit.bytes);
  expect(allocated).toBeLessThanOrEqual(statNum(heap, "stats.active"));
  expect(statNum(heap, "stats.active")).toBeLessThanOrEqual(statNum(heap, "stats.mapped"));
  // Arena bindings: each live worker thread, plus the supervisor once it allocated or freed.
  const mainBound = heap.i32[(heap.ctx.threadB + THREAD_ARENA_B) >>> 2]! >= 0 ? 1 : 0;
  expect(arenaStatSum(heap, "nthreads"), `${what}: Σ nthreads`).toBe(threads + mainBound);
  return audit;
}

/** The supervisor frees `p` (verified, claim released), alternating its cache and none. */
function supervisorFree(heap: Heap, claims: ClaimMap, p: number, k: number): void {
  expect(claims.release(p, heap.mallocUsableSize(p)), `claim of ${p}`).toBe(-1);
  if (k % 3 === 0) heap.dallocx(p, MALLOCX_TCACHE_NONE);
  else heap.free(p);
}

function exitOf(w: Worker): Promise<number> {
  return new Promise((resolve) => w.once("exit", resolve));
}

/** Waits until `n` workers attached; fails at once if one of them died first. */
async function waitReady(g: Generation, n: number): Promise<void> {
  const t0 = Date.now();
  while (Atomics.load(g.ctl, CTL_READY) < n) {
    if (g.died.length > 0) throw new Error(`a worker died before attaching: ${g.died.join("; ")}`);
    if (Date.now() - t0 > 60_000)
      throw new Error(`workers did not attach within 60 s (${Atomics.load(g.ctl, CTL_READY)} of ${n})`);
    await new Promise((r) => setTimeout(r, 5));
  }
}

async function run(o: RunOptions): Promise<void> {
  console.log(
    `workers-tcache: ${o.nworkers} workers, ${o.label}, conf "${o.conf}", ${ITERS} iterations × ${OPS} ops, SEED=${o.seed}`,
  );
  const t0 = Date.now();
  const heap = Heap.create({ envConf: null, conf: o.conf, maxBytes: MAX_BYTES });
  const claims = new ClaimMap({
    heapBytes: MAX_BYTES,
    lgPage: heap.ctx.lgPage,
    largeMin: heap.ctx.sc.largeMinclass,
  });
  const transferBuf = new SharedArrayBuffer(TRANSFER_SLOTS * 4);
  const transfer = new Int32Array(transferBuf);
  const rnd = prng(o.seed ^ 0x5bd1e995);
  const tally: Tally = {
    loopMs: 0,
    allocs: 0,
    crossFrees: 0,
    exchanges: 0,
    reclaimedByWatch: 0,
    reclaimedByCall: 0,
    supervisorFrees: 0,
  };
  let uid = 0;

  /** One iteration's workers, spawned ahead: they load their modules, then wait for ATTACH. */
  const spawnGeneration = (): Generation => {
    const ctlBuf = new SharedArrayBuffer(CTL_WORDS * 4);
    const g: Generation = {
      ctl: new Int32Array(ctlBuf),
      ws: [],
      owned: [],
      ends: [],
      watched: [],
      replies: [],
      exits: [],
      died: [],
    };
    for (let i = 0; i < o.nworkers; i++) {
      const own = new SharedArrayBuffer((OWNED_FIRST + MAX_LIVE) * 4);
      uid++;
      const data: StressWorkerData = {
        buffer: heap.buffer as SharedArrayBuffer,
        claims: claims.shared,
        transfer: transferBuf,
        ctl: ctlBuf,
        owned: own,
        uid: uid & 0xff,
        seed: (o.seed + Math.imul(uid, 0x9e3779b9)) >>> 0,
        ops: OPS,
        maxLive: MAX_LIVE,
        hugeEvery: OPS,
        end: o.end(i),
      };
      const w = spawnTsWorker(ENTRY, data as unknown as Record<string, unknown>);
      live.push(w);
      // Terminated workers: half are reclaimed by heap.watch (on 'exit'), half by an explicit reclaim.
      const watch = data.end === "park" && g.ends.filter((e) => e === "park").length % 2 === 0;
      if (watch) heap.watch(w);
      g.ws.push(w);
      g.owned.push(own);
      g.ends.push(data.end);
      g.watched.push(watch);
      const reply = firstMessage<StressWorkerReply>(w);
      reply.catch(() => {}); // a generation spawned ahead may never run if the test fails first
      g.replies.push(reply);
      g.exits.push(exitOf(w)); // registered after watch(): its reclaim runs first
      w.on("error", (e: Error) => g.died.push(`uid ${data.uid}: ${e.stack ?? String(e)}`));
    }
    return g;
  };

  /** Terminates a generation's parked workers and checks they were (or now are) reclaimed. */
  const killParked = async (g: Generation, results: StressWorkerReply[], what: string): Promise<void> => {
    for (const [i, w] of g.ws.entries()) {
      if (g.ends[i] !== "park") continue;
      await w.terminate();
      await g.exits[i];
      live.splice(live.indexOf(w), 1);
      const tid = results[i]!.threadId;
      if (g.watched[i]) {
        expect(heap.reclaim(tid), `${what}: watch() left thread ${tid} unreclaimed`).toBeNull();
        tally.reclaimedByWatch++;
      } else {
        const report = heap.reclaim(tid);
        expect(report).not.toBeNull();
        expect(report!.threadId).toBe(tid);
        expect(report!.badCacheEntries).toBe(0);
        expect(report!.cacheRecordBad).toBe(false);
        tally.reclaimedByCall++;
      }
    }
  };

  let pending: { g: Generation; results: StressWorkerReply[]; what: string } | null = null;
  let next = spawnGeneration();
  for (let iter = 0; iter < ITERS; iter++) {
    const g = next;
    const { ws, ends, exits } = g;
    // The previous workers are gone: these claim slots (reusing theirs) and start together.
    Atomics.store(g.ctl, CTL_ATTACH, 1);
    Atomics.notify(g.ctl, CTL_ATTACH);
    await waitReady(g, o.nworkers);
    Atomics.store(g.ctl, CTL_GO, 1);
    Atomics.notify(g.ctl, CTL_GO);
    if (iter + 1 < ITERS) next = spawnGeneration();
    if (pending !== null) {
      // The previous generation's parked workers die and are reclaimed while this one runs.
      await killParked(pending.g, pending.results, pending.what);
      pending = null;
    }
    const results = await Promise.all(g.replies);
    const what = `SEED=${o.seed} iteration ${iter}`;
    expect(
      results.flatMap((r) => r.violations),
      what,
    ).toEqual([]);
    expect(
      results.reduce((s, r) => s + r.failures, 0),
      `${what}: allocation failures`,
    ).toBe(0);
    for (const r of results) {
      tally.allocs += r.allocs;
      tally.crossFrees += r.crossFrees;
      tally.exchanges += r.exchanges;
      tally.loopMs = Math.max(tally.loopMs, r.ms);
    }
    for (const [i, e] of ends.entries())
      if (e === "detach") expect(await exits[i], `${what}: exit code`).toBe(0);

    // Checkpoint: the workers are gone (detach) or parked with full caches (park).
    const left = g.owned.flatMap(readOwned);
    const parkedNow = ends.filter((e) => e === "park").length;
    const audit = checkpoint(
      heap,
      [...transferBlocks(transfer), ...left],
      parkedNow,
      `${what}, workers done`,
    );
    expect(audit.caches, `${what}: caches of parked workers (+ the supervisor's)`).toBeLessThanOrEqual(
      parkedNow + 1,
    );

    if (ends.includes("park")) {
      if (o.overlap && iter + 1 < ITERS) pending = { g, results, what };
      else {
        await killParked(g, results, what);
        // F4: the dead workers' caches are flushed, and their blocks still intact.
        const audit = checkpoint(heap, [...transferBlocks(transfer), ...left], 0, `${what}, after reclaim`);
        expect(audit.caches).toBeLessThanOrEqual(1); // only the supervisor's own cache remains
      }
    }
    for (const w of ws) if (ends[ws.indexOf(w)] === "detach") live.splice(live.indexOf(w), 1);

    // The supervisor takes over what the departed workers left, and half of the transfer table.
    for (const p of left) supervisorFree(heap, claims, p, tally.supervisorFrees++);
    for (let i = 0; i < transfer.length; i++) {
      if (rnd() % 2 !== 0 && iter + 1 < ITERS) continue;
      const p = Atomics.exchange(transfer, i, 0) >>> 0;
      if (p !== 0) supervisorFree(heap, claims, p, tally.supervisorFrees++);
    }
    checkpoint(
      heap,
      transferBlocks(transfer),
      pending === null ? 0 : parkedNow,
      `${what}, after supervisor frees`,
    );
  }

  expect(transferBlocks(transfer)).toEqual([]);
  expect(claims.claimed(), "granules still claimed after every block was freed").toBe(0);
  heap.mallctl("thread.tcache.enabled", false);
  const report = heap.check();
  expect(report.liveRegions).toBe(0);
  expect(auditCaches(heap).caches).toBe(0);
  heap.mallctl("epoch", 1);
  expect(statNum(heap, "stats.allocated")).toBe(0);
  const nmalloc = arenaStatSum(heap, "small.nmalloc") + arenaStatSum(heap, "large.nmalloc");
  const ndalloc = arenaStatSum(heap, "small.ndalloc") + arenaStatSum(heap, "large.ndalloc");
  expect(ndalloc).toBe(nmalloc);
  expect(tally.crossFrees, "frees of blocks another worker allocated").toBeGreaterThan(0);
  expect(tally.supervisorFrees).toBeGreaterThan(0);
  const parked = Array.from({ length: o.nworkers }, (_, i) => o.end(i)).filter((e) => e === "park").length;
  expect(tally.reclaimedByWatch + tally.reclaimedByCall).toBe(parked * ITERS);
  // The heap still serves.
  const p = heap.malloc(1000);
  expect(p).not.toBe(0);
  heap.free(p);
  heap.check();
  console.log(
    `workers-tcache: ${Date.now() - t0} ms (longest op loop ${tally.loopMs} ms); ${tally.allocs} allocs, ${tally.crossFrees} cross frees, ${tally.exchanges} exchanges, ${tally.supervisorFrees} supervisor frees, reclaimed ${tally.reclaimedByWatch} by watch / ${tally.reclaimedByCall} by call`,
  );
}

const DETACH = (): EndMode => "detach";
const PARK = (): EndMode => "park";
const MIXED = (i: number): EndMode => (i % 2 === 0 ? "detach" : "park");

describe("workers with thread caches on one heap (churn)", () => {
  const seed = seedFromEnv();
  const timeout = LONG ? 1_800_000 : 120_000;
  const run2 = (end: (i: number) => EndMode, label: string, n: number, conf: string, s: number) =>
    run({ nworkers: n, end, label, overlap: end === MIXED, conf, seed: seed + s });
  it(
    "2 workers, one arena, end by detach()",
    () => run2(DETACH, "end by detach()", 2, "narenas:1", 0),
    timeout,
  );
  it(
    "2 workers, one arena, end by terminate()",
    () => run2(PARK, "end by terminate()", 2, "narenas:1", 1),
    timeout,
  );
  it(
    "4 workers, default arenas, half end by detach(), half by terminate()",
    () => run2(MIXED, "half detach(), half terminate() reclaimed while the next generation runs", 4, "", 2),
    timeout,
  );
  it.runIf(LONG)(
    "4 workers, default arenas, end by detach()",
    () => run2(DETACH, "end by detach()", 4, "", 3),
    timeout,
  );
  it.runIf(LONG)(
    "4 workers, default arenas, end by terminate()",
    () => run2(PARK, "end by terminate()", 4, "", 4),
    timeout,
  );
  it.runIf(LONG)(
    "8 workers, 2 arenas, mixed ends",
    () =>
      run2(
        MIXED,
        "half detach(), half terminate() reclaimed while the next generation runs",
        8,
        "narenas:2",
        5,
      ),
    timeout,
  );
});
