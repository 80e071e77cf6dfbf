/**
 * A worker dies inside a critical section (issue 4 "Done when"; RELIABILITY.md §5.3, §6.3 F2, F4):
 * deterministic, through the test-only failpoints. A "parker" worker arms `heap.ctx.failpoint` and
 * allocates; inside the critical section ("bin.locked": a bin lock held, in the thread cache's fill or in
 * arena_malloc_small; "extent.locked": the arena's extent lock held, in pa_alloc during a fill that needs
 * a fresh slab) it parks for good. Other workers then allocate the same size class and block on that
 * lock. The supervisor terminates the parker and reclaims it (heap.watch, or heap.reclaim); the slot is
 * marked dead, so a waiter takes the lock over within one wait slice, and every allocator finishes within
 * TAKEOVER_BOUND_MS of the termination. Afterwards heap.check() passes, the caches pass C5, and once
 * everything is freed stats.allocated is 0. Without a supervisor a waiter ends with LockTimeoutError
 * (naming the holder) within its bound — never a silent hang — and succeeds once the holder is reclaimed.
 */
import type { Worker } from "node:worker_threads";
import { afterEach, describe, expect, it } from "vitest";
import { arenaRecordByInd } from "../../src/arena/arena.js";
import { binRecord } from "../../src/arena/bin.js";
import { BIN_LOCK_B } from "../../src/arena/layout.js";
import { PAC_LOCK_B } from "../../src/extent/pac_layout.js";
import { Heap } from "../../src/heap.js";
import { lockIsHeld, lockOwner } from "../../src/sync/index.js";
import { auditCaches, statNum } from "../helpers/ledger-tc.js";
import { spawnTsWorker } from "../helpers/spawn.js";
import {
  type FailpointWorkerData,
  FP_GO,
  FP_PARKED,
  FP_RETRY,
  FP_START,
  FP_STARTED,
  FP_WORDS,
} from "../workers/tc-common.js";

const ENTRY = new URL("../workers/tc-failpoint.ts", import.meta.url);
const LOCK_TIMEOUT_MS = 3000;
/** Termination → every blocked allocator done (the lock's wait slice is 50 ms; generous for CI). */
const TAKEOVER_BOUND_MS = 2000;
const SIZE = 64;
const COUNT = 300;

const live: Worker[] = [];
afterEach(async () => {
  await Promise.all(live.splice(0).map((w) => w.terminate()));
});

interface Msg {
  index: number;
  kind: "attached" | "timeout" | "done" | "error";
  threadId?: number;
  slot?: number;
  ownerTag?: number;
  name?: string;
  message?: string;
  ownerSlot?: number;
  after?: number;
  doneAt?: number;
  distinct?: number;
  broken?: string[];
}

/** A worker's messages, taken in order by kind; an error message (or event) fails the take. */
class Inbox {
  readonly msgs: Msg[] = [];
  constructor(w: Worker) {
    w.on("message", (m: Msg) => this.msgs.push(m));
    w.on("error", (e: Error) => this.msgs.push({ index: -1, kind: "error", message: String(e) }));
  }
  has(kind: Msg["kind"]): boolean {
    return this.msgs.some((m) => m.kind === kind);
  }
  async take(kind: Msg["kind"], timeoutMs = 30_000): Promise<Msg> {
    const t0 = Date.now();
    for (;;) {
      const err = this.msgs.find((m) => m.kind === "error");
      if (err !== undefined && kind !== "error")
        throw new Error(`worker ${err.index}: ${err.name ?? ""} ${err.message}`);
      const i = this.msgs.findIndex((m) => m.kind === kind);
      if (i >= 0) return this.msgs.splice(i, 1)[0]!;
      if (Date.now() - t0 > timeoutMs) throw new Error(`no "${kind}" message within ${timeoutMs} ms`);
      await sleep(5);
    }
  }
}

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

async function waitWord(ctl: Int32Array, w: number, atLeast: number, timeoutMs = 30_000): Promise<void> {
  const t0 = Date.now();
  while (Atomics.load(ctl, w) < atLeast) {
    if (Date.now() - t0 > timeoutMs)
      throw new Error(`ctl word ${w} did not reach ${atLeast} within ${timeoutMs} ms`);
    await sleep(2);
  }
}

function signal(ctl: Int32Array, w: number): void {
  Atomics.store(ctl, w, 1);
  Atomics.notify(ctl, w);
}

interface Scenario {
  point: "bin.locked" | "extent.locked";
  /** How the parker allocates (where the failpoint fires). */
  parkerVia: "tcache" | "arena";
  /** One allocator per entry, each allocating this way. */
  allocators: ("tcache" | "arena")[];
  reclaim: "watch" | "call";
}

interface Started {
  heap: Heap;
  ctl: Int32Array;
  parker: Worker;
  parkerExit: Promise<number>;
  parkerMsg: Msg;
  allocators: Worker[];
  inboxes: Inbox[];
  exits: Promise<number>[];
}

/** Spawns the parker and the allocators, waits until the parker is parked with the lock held. */
async function startParked(s: Scenario, allocatorTimeoutMs: number, retry: boolean): Promise<Started> {
  const heap = Heap.create({
    envConf: null,
    conf: "narenas:1",
    maxBytes: 64 << 20,
    lockTimeoutMs: LOCK_TIMEOUT_MS,
  });
  const ctlBuf = new SharedArrayBuffer(FP_WORDS * 4);
  const ctl = new Int32Array(ctlBuf);
  const base = {
    buffer: heap.buffer as SharedArrayBuffer,
    ctl: ctlBuf,
    point: s.point,
    size: SIZE,
    count: COUNT,
  };
  const spawn = (data: FailpointWorkerData) => {
    const w = spawnTsWorker(ENTRY, data as unknown as Record<string, unknown>);
    live.push(w);
    return w;
  };
  const parker = spawn({
    ...base,
    index: 0,
    role: "parker",
    via: s.parkerVia,
    lockTimeoutMs: LOCK_TIMEOUT_MS,
    retryAfterTimeout: false,
  });
  if (s.reclaim === "watch") heap.watch(parker);
  const parkerExit = new Promise<number>((r) => parker.once("exit", r));
  const parkerInbox = new Inbox(parker);
  const allocators = s.allocators.map((via, i) =>
    spawn({
      ...base,
      index: i + 1,
      role: "allocator",
      via,
      lockTimeoutMs: allocatorTimeoutMs,
      retryAfterTimeout: retry,
    }),
  );
  const inboxes = allocators.map((w) => new Inbox(w));
  const exits = allocators.map((w) => new Promise<number>((r) => w.once("exit", r)));
  const parkerMsg = await parkerInbox.take("attached");
  await Promise.all(inboxes.map((b) => b.take("attached")));
  signal(ctl, FP_START);
  await waitWord(ctl, FP_PARKED, 1);
  // The parker really holds the lock of the critical section it parked in.
  const arena = arenaRecordByInd(heap.ctx, 0);
  const lockW =
    s.point === "bin.locked"
      ? (binRecord(heap.ctx, arena, heap.ctx.sc.size2index(SIZE), 0) + BIN_LOCK_B) >>> 2
      : (arena + PAC_LOCK_B) >>> 2;
  expect(lockIsHeld(heap.i32, lockW)).toBe(true);
  expect(lockOwner(heap.i32, lockW)).toBe(parkerMsg.ownerTag);
  return { heap, ctl, parker, parkerExit, parkerMsg, allocators, inboxes, exits };
}

/** Terminates the parker and reclaims it as the scenario says. */
async function killAndReclaim(st: Started, how: Scenario["reclaim"]): Promise<number> {
  const tTerm = Date.now();
  await st.parker.terminate();
  await st.parkerExit;
  const tid = st.parkerMsg.threadId!;
  if (how === "watch") {
    expect(st.heap.reclaim(tid), "heap.watch did not reclaim the parker").toBeNull();
  } else {
    const report = st.heap.reclaim(tid);
    expect(report).toEqual({
      slot: st.parkerMsg.slot,
      threadId: tid,
      badCacheEntries: 0,
      cacheRecordBad: false,
    });
  }
  return tTerm;
}

/** After the allocators are done and gone: the heap is sound and nothing is allocated. */
async function finish(st: Started, tTerm: number): Promise<void> {
  const dones = await Promise.all(st.inboxes.map((b) => b.take("done")));
  for (const d of dones) {
    expect(d.distinct, `allocator ${d.index}: distinct blocks`).toBe(COUNT);
    expect(d.broken, `allocator ${d.index}: blocks overwritten`).toEqual([]);
    expect(
      d.doneAt! - tTerm,
      `allocator ${d.index}: done ${d.doneAt! - tTerm} ms after the termination`,
    ).toBeLessThan(TAKEOVER_BOUND_MS);
  }
  expect(await Promise.all(st.exits)).toEqual(st.exits.map(() => 0));
  const heap = st.heap;
  heap.check();
  expect(auditCaches(heap).problems).toEqual([]);
  expect(auditCaches(heap).caches).toBe(0);
  heap.mallctl("epoch", 1);
  expect(statNum(heap, "stats.allocated")).toBe(0);
  // The heap still serves the size class whose lock was taken over.
  const p = heap.malloc(SIZE);
  expect(p).not.toBe(0);
  heap.free(p);
  heap.mallctl("thread.tcache.enabled", false);
  heap.check();
  heap.mallctl("epoch", 1);
  expect(statNum(heap, "stats.allocated")).toBe(0);
}

async function scenario(s: Scenario): Promise<void> {
  const st = await startParked(s, LOCK_TIMEOUT_MS, false);
  signal(st.ctl, FP_GO);
  await waitWord(st.ctl, FP_STARTED, s.allocators.length);
  await sleep(300);
  // Blocked on the parked worker's lock: nobody got through.
  for (const b of st.inboxes) expect(b.has("done")).toBe(false);
  const tTerm = await killAndReclaim(st, s.reclaim);
  await finish(st, tTerm);
}

describe("a worker terminated inside a critical section (failpoints)", () => {
  it("bin lock held in the thread cache's fill; reclaimed by heap.watch", () =>
    scenario({
      point: "bin.locked",
      parkerVia: "tcache",
      allocators: ["tcache", "tcache"],
      reclaim: "watch",
    }));

  it("bin lock held in arena_malloc_small (MALLOCX_TCACHE_NONE); reclaimed by heap.reclaim", () =>
    scenario({ point: "bin.locked", parkerVia: "arena", allocators: ["tcache", "arena"], reclaim: "call" }));

  it("arena extent lock held in pa_alloc (fill needing a fresh slab); reclaimed by heap.watch", () =>
    scenario({
      point: "extent.locked",
      parkerVia: "tcache",
      allocators: ["tcache", "arena"],
      reclaim: "watch",
    }));

  it("without a supervisor a waiter gets LockTimeoutError within its bound, then succeeds after reclaim", async () => {
    const timeoutMs = 600;
    const s: Scenario = { point: "bin.locked", parkerVia: "tcache", allocators: ["tcache"], reclaim: "call" };
    const st = await startParked(s, timeoutMs, true);
    signal(st.ctl, FP_GO);
    const t = await st.inboxes[0]!.take("timeout", 10_000);
    expect(t.name).toBe("LockTimeoutError");
    expect(t.ownerSlot).toBe(st.parkerMsg.slot);
    expect(t.after!).toBeGreaterThanOrEqual(timeoutMs - 50);
    expect(t.after!).toBeLessThan(timeoutMs + 1500);
    const tTerm = await killAndReclaim(st, "call");
    signal(st.ctl, FP_RETRY);
    await finish(st, tTerm);
  });
});
