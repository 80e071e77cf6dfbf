/**
 * A worker terminated at each step of each lock class (issue 11; RELIABILITY.md §5.3), made
 * deterministic with the test-only failpoints: a parker parks inside a critical section (bin fill and
 * flush half done, extent cache half updated, decay with extents stashed, page-map growth, base,
 * ctl, arenas, thread-cache list) or holding a slab between locks; a waiter runs a loop that needs every
 * lock; the supervisor terminates the parker and heap.watch reclaims it.
 * Asserted for every point: no lock is left without a named owner; the waiter gets through (or is told
 * the heap is poisoned) within the bound — never a timeout or a hang; afterwards heap.check() passes,
 * or the heap is poisoned and every call throws HeapPoisonedError naming the cause — never a check
 * failure on an unpoisoned heap. Where recovery can repair (bins, slabs in flight, an extent lock
 * taken before any change) the heap must come out consistent, not poisoned.
 */
import type { Worker } from "node:worker_threads";
import { afterEach, describe, expect, it } from "vitest";
import { HeapPoisonedError } from "../../src/errors.js";
import { heapLockSites } from "../../src/heap/recover.js";
import { Heap } from "../../src/heap.js";
import { ownerTagIsValid } from "../../src/sync/index.js";
import { LOCK_STATE_FREE, LOCK_STATE_OWNER_MASK, LOCK_W_X_STATE } from "../../src/sync/layout.js";
import { spawnTsWorker } from "../helpers/spawn.js";
import { FP_CTL_BYTES, FP_GO, FP_PARKED, TAKER_PAUSED, TAKER_SLEEP_MS } from "../workers/fp-common.js";
import type { FpStepData } from "../workers/fp-step.js";

const ENTRY = new URL("../workers/fp-step.ts", import.meta.url);
/** Termination → the waiter done or told "poisoned" (wait slices are 50 ms; generous for CI). */
const TAKEOVER_BOUND_MS = 15_000;

const live: Worker[] = [];
afterEach(async () => {
  await Promise.all(live.splice(0).map((w) => w.terminate()));
});

interface Msg {
  kind: "attached" | "done" | "poisoned" | "error";
  name?: string;
  message?: string;
  ownerTag?: number;
}

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

function spawn(data: FpStepData, msgs: Msg[]): Worker {
  const w = spawnTsWorker(ENTRY, data as unknown as Record<string, unknown>);
  live.push(w);
  w.on("message", (m: Msg) => msgs.push(m));
  w.on("error", (e: Error) => msgs.push({ kind: "error", name: e.name, message: e.message }));
  return w;
}

async function take(msgs: Msg[], kinds: Msg["kind"][], timeoutMs: number): Promise<Msg> {
  const t0 = Date.now();
  for (;;) {
    const i = msgs.findIndex((m) => kinds.includes(m.kind) || m.kind === "error");
    if (i >= 0) return msgs.splice(i, 1)[0]!;
    if (Date.now() - t0 > timeoutMs) throw new Error(`none of ${kinds.join("/")} within ${timeoutMs} ms`);
    await sleep(5);
  }
}

/**
 * Every held lock names a live or dead owner: never an anonymous holder. One read of each state word:
 * the waiter may take and drop a lock between two reads (held, then free: owner 0).
 */
function assertNoAnonymousLock(heap: Heap): void {
  for (const s of heapLockSites(heap.ctx)) {
    const state = Atomics.load(heap.i32, (s.lockB >>> 2) + LOCK_W_X_STATE);
    if (state !== LOCK_STATE_FREE) expect(ownerTagIsValid(state & LOCK_STATE_OWNER_MASK)).toBe(true);
  }
}

type Expect = "consistent" | "either";

/**
 * A heap (one arena) and a parker parked at `point` inside `action`; watched by the heap (reclaimed
 * when it exits) unless `watch` is false. Returns what the caller needs to drive the rest.
 */
async function parkedHeap(point: string, action: string, conf: string, watch: boolean) {
  const heap = Heap.create({
    envConf: null,
    conf: `narenas:1${conf}`,
    maxBytes: 256 << 20,
    lockTimeoutMs: 8000,
  });
  const ctlBuf = new SharedArrayBuffer(FP_CTL_BYTES);
  const ctl = new Int32Array(ctlBuf);
  const base = { buffer: heap.buffer as SharedArrayBuffer, ctl: ctlBuf, point, action };
  const pmsgs: Msg[] = [];
  const parker = spawn({ ...base, role: "parker" }, pmsgs);
  if (watch) heap.watch(parker);
  const parkerExit = new Promise<number>((r) => parker.once("exit", r));
  const pa = (await take(pmsgs, ["attached"], 30_000)) as Msg & { threadId?: number };
  expect(pa.kind, `${pa.name ?? ""} ${pa.message ?? ""}`).toBe("attached");
  const t0 = Date.now();
  while (Atomics.load(ctl, FP_PARKED) === 0) {
    const err = pmsgs.find((m) => m.kind === "error");
    if (err !== undefined) throw new Error(err.message);
    if (Date.now() - t0 > 30_000) throw new Error(`${point}: parker never parked`);
    await sleep(5);
  }
  return { heap, ctl, base, parker, parkerExit, parkerThreadId: pa.threadId! };
}

async function step(point: string, action: string, conf: string, want: Expect): Promise<string> {
  const { heap, ctl, base, parker, parkerExit } = await parkedHeap(point, action, conf, true);
  assertNoAnonymousLock(heap);
  const wmsgs: Msg[] = [];
  spawn({ ...base, role: "waiter" }, wmsgs);
  const wa = await take(wmsgs, ["attached"], 30_000);
  expect(wa.kind, `${wa.name ?? ""} ${wa.message ?? ""}`).toBe("attached");
  Atomics.store(ctl, FP_GO, 1);
  Atomics.notify(ctl, FP_GO);
  await sleep(200);
  const tTerm = Date.now();
  await parker.terminate();
  await parkerExit; // heap.watch has reclaimed the parker (its locks taken over and recovered)
  assertNoAnonymousLock(heap);
  const res = await take(wmsgs, ["done", "poisoned"], TAKEOVER_BOUND_MS + 30_000);
  expect(res.kind, `${point}: waiter ${res.name ?? ""} ${res.message ?? ""}`).not.toBe("error");
  expect(
    Date.now() - tTerm,
    `${point}: waiter finished ${Date.now() - tTerm} ms after the kill`,
  ).toBeLessThan(TAKEOVER_BOUND_MS);
  let outcome: string;
  try {
    heap.check();
    outcome = "consistent";
  } catch (e) {
    expect(e, `${point}: check() failed on a heap that is not poisoned`).toBeInstanceOf(HeapPoisonedError);
    outcome = (e as Error).message;
    expect(() => heap.malloc(8)).toThrow(HeapPoisonedError);
    expect(() => heap.mallctl("epoch", 1)).toThrow(/poisoned: .*dead thread slot/);
  }
  if (res.kind === "poisoned") expect(outcome).not.toBe("consistent");
  if (want === "consistent") expect(outcome).toBe("consistent");
  if (outcome === "consistent") {
    const p = heap.malloc(96);
    expect(p).not.toBe(0);
    heap.free(p);
  }
  return outcome;
}

const steps: [string, string, string, Expect][] = [
  ["slab.fresh", "fill", "", "consistent"],
  ["bin.fill.partial", "fill", "", "consistent"],
  ["bin.flush.partial", "flush", "", "consistent"],
  ["slab.emptied", "flush", "", "consistent"],
  ["extent.locked", "fill", "", "consistent"],
  ["extent.dalloc.mid", "large-free", "", "consistent"],
  ["extent.split.mid", "fill", "", "consistent"],
  ["extent.neighbor", "large-free2", "", "consistent"],
  ["extent.merge.mid", "large-free2", "", "consistent"],
  ["decay.stashed", "large-free", ",dirty_decay_ms:0", "consistent"],
  ["map.locked", "grow", "", "consistent"],
  ["base.locked", "fill", "", "consistent"],
  ["base.locked", "arena-create-direct", "", "consistent"],
  ["base.locked", "arenas.create", "", "either"],
  ["arenas.locked", "arena-create-direct", "", "consistent"],
  ["arenas.locked", "arenas.create", "", "either"],
  ["ctl.locked", "arenas.create", "", "either"],
  ["tcaches.locked", "tcache.create", "", "either"],
];

describe("a worker terminated at each step of each lock class", () => {
  for (const [point, action, conf, want] of steps) {
    it(`${point} (${action}): waiters get through, then consistent${want === "either" ? " or poisoned" : ""}`, async () => {
      const outcome = await step(point, action, conf, want);
      console.log(`[lock-failpoints] ${point}: ${outcome}`);
    }, 90_000);
  }
});

/**
 * The race behind extent.dalloc.mid's old flaky poisoning, made deterministic: the parker dies with a
 * large extent claimed for freeing (extent.dalloc.mid); the reclaim marks its slot dead, and at that
 * moment (failpoint reclaim.marked) a live thread takes the extent lock over and pauses before its
 * repair (failpoint lock.takeover). The reclaim's finishing of the claimed free must wait for that
 * lock: the repair counts the claimed extent by its in-flight mark, which the finish clears.
 */
describe("a reclaim racing a thread that took the extent lock over", () => {
  it("finishes the dead thread's claimed free only under the lock: the repair succeeds, the heap is consistent", async () => {
    const { heap, ctl, base, parker, parkerExit, parkerThreadId } = await parkedHeap(
      "extent.dalloc.mid",
      "large-free",
      "",
      false,
    );
    await parker.terminate();
    await parkerExit;
    const tmsgs: Msg[] = [];
    spawn({ ...base, role: "taker" }, tmsgs);
    expect((await take(tmsgs, ["attached"], 30_000)).kind).toBe("attached");
    let paused = false;
    heap.ctx.failpoint = (name) => {
      if (name !== "reclaim.marked") return;
      heap.ctx.failpoint = null;
      Atomics.store(ctl, FP_GO, 1);
      Atomics.notify(ctl, FP_GO);
      // Until the taker holds the lock it took over (its repair waits TAKER_SLEEP_MS).
      Atomics.wait(ctl, TAKER_PAUSED, 0, 20_000);
      paused = Atomics.load(ctl, TAKER_PAUSED) === 1;
    };
    const tReclaim = Date.now();
    const report = heap.reclaim(parkerThreadId);
    expect(paused, "the taker took the extent lock over while the reclaim ran").toBe(true);
    expect(report).not.toBeNull();
    // The reclaim waited for the taker's repair (it needs the extent lock the taker holds).
    expect(Date.now() - tReclaim).toBeGreaterThanOrEqual(TAKER_SLEEP_MS / 2);
    const res = await take(tmsgs, ["done", "poisoned"], 30_000);
    expect(res.kind, `taker: ${res.name ?? ""} ${res.message ?? ""}`).toBe("done");
    expect(() => heap.check()).not.toThrow();
    const p = heap.malloc(1 << 20);
    expect(p).not.toBe(0);
    heap.free(p);
    expect(() => heap.check()).not.toThrow();
  }, 90_000);
});
