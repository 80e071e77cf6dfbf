/**
 * Never two owners (issue 13): a double free is reported through the corruption handler no later than
 * the next malloc that would hand the block out again — at any depth in the thread cache, for small
 * sizes (below and above the 4 KiB lookup table), cached and uncached large sizes, through free, sdallocx,
 * dallocx and realloc(p, 0), and across workers (including two workers racing to free the same
 * block). Live blocks are never handed out twice.
 */
import { describe, expect, it } from "vitest";
import { HeapCorruptionError } from "../../src/errors.js";
import { Heap } from "../../src/heap.js";
import { firstMessage, spawnTsWorker } from "../helpers/spawn.js";

type Freer = (h: Heap, p: number, size: number) => void;
const FREERS: [string, Freer][] = [
  ["free", (h, p) => h.free(p)],
  ["sdallocx", (h, p, size) => h.sdallocx(p, size)],
  ["dallocx", (h, p) => h.dallocx(p)],
  ["realloc(p, 0)", (h, p) => void h.realloc(p, 0)],
];

/** Mallocs until a report or `n` calls; returns the blocks and whether the handler fired. */
function mallocs(h: Heap, size: number, n: number): { got: number[]; reported: boolean } {
  const got: number[] = [];
  try {
    for (let i = 0; i < n; i++) got.push(h.malloc(size));
  } catch (e) {
    expect(e).toBeInstanceOf(HeapCorruptionError);
    expect((e as Error).message).toMatch(/freed twice|double free/);
    return { got, reported: true };
  }
  return { got, reported: false };
}

describe("double free, one thread, thread cache on", () => {
  for (const [via, fr] of FREERS)
    for (const size of [16, 96, 3072, 8000, 20000, 100000])
      for (const depth of [0, 1, 7, 40]) {
        it(`${via}, ${size} B, ${depth} frees between: reported before the block is handed out twice`, () => {
          const h = Heap.create();
          const a = h.malloc(size);
          const others = Array.from({ length: depth }, () => h.malloc(size));
          fr(h, a, size);
          for (const o of others) fr(h, o, size);
          let reported = false;
          try {
            fr(h, a, size);
          } catch (e) {
            expect(e).toBeInstanceOf(HeapCorruptionError);
            reported = true;
          }
          const live = new Set<number>();
          for (let round = 0; round < 3 && !reported; round++) {
            const r = mallocs(h, size, depth + 4);
            for (const p of r.got) {
              expect(live.has(p), `block ${p} handed out twice`).toBe(false);
              live.add(p);
            }
            reported = r.reported;
          }
          expect(reported).toBe(true);
          // The heap stays usable and consistent: later mallocs never return a live block.
          for (let i = 0; i < depth + 10; i++) {
            const p = h.malloc(size);
            expect(live.has(p)).toBe(false);
            live.add(p);
          }
          expect(() => h.check()).not.toThrow();
        });
      }

  it("a cached block whose first word was overwritten is refused when it would be handed out", () => {
    const h = Heap.create();
    const a = h.malloc(64);
    h.free(a);
    h.u32[a >>> 2] = 0x12345678; // use after free
    expect(() => h.check()).toThrow(/cached mark/);
    expect(() => h.malloc(64)).toThrow(HeapCorruptionError);
  });
});

describe("double free across workers", () => {
  it("freed by the main thread, then by a worker: the main thread's malloc reports it", async () => {
    const h = Heap.create();
    for (const size of [64, 20000]) {
      const a = h.malloc(size);
      h.free(a);
      const w = spawnTsWorker(new URL("../workers/df-second.ts", import.meta.url), {
        buffer: h.buffer,
        ptr: a,
        size,
      });
      const { got } = await firstMessage<{ got: number }>(w);
      await new Promise((r) => w.once("exit", r));
      expect(got).toBe(a);
      const r = mallocs(h, size, 4);
      expect(r.reported).toBe(true);
      expect(r.got).not.toContain(a);
    }
  });

  it("two workers racing to free the same block never both get it back", async () => {
    const rounds = 200;
    // A worker that never runs a line of its own (its TypeScript loader did not start) is a harness
    // failure, not the allocator's: start afresh once. (This test timed out at 60 s twice under load,
    // where is not known; the watchdog now names the step each worker is at.)
    let run = await raceOnce(rounds);
    if (run === "not started") run = await raceOnce(rounds);
    if (run === "not started") throw new Error("a racer worker did not start in 20 s, twice");
    const { h, ctl, replies } = run;
    const got = new Int32Array(ctl);
    for (let r = 0; r < rounds; r++) {
      expect(got[4 + 2 * r], `round ${r}: both workers got the same block`).not.toBe(got[5 + 2 * r]);
    }
    // One report per round: the entry whose mark was overwritten is refused.
    expect(replies[0]!.reports + replies[1]!.reports).toBe(rounds);
    expect(() => h.check()).not.toThrow();
  }, 90_000);
});

interface RaceRun {
  h: Heap;
  ctl: SharedArrayBuffer;
  replies: { reports: number }[];
}

/**
 * One race of two df-racer workers on a fresh heap. A watchdog fails it, naming where both workers
 * are, when neither makes a step for 20 s; "not started" when a worker never reached its first step.
 */
async function raceOnce(rounds: number): Promise<RaceRun | "not started"> {
  const h = Heap.create();
  const ctl = new SharedArrayBuffer(4 * (4 + 2 * rounds));
  const ws = [0, 1].map((me) =>
    spawnTsWorker(new URL("../workers/df-racer.ts", import.meta.url), { buffer: h.buffer, ctl, me, rounds }),
  );
  const steps = new Int32Array(ctl);
  const STEPS = ["not started", "malloc", "barrier 1", "free", "barrier 2", "malloc", "free", "detach"];
  const where = (me: number) =>
    steps[2 + me] === -1 ? "attaching" : `round ${steps[2 + me]! >> 3}, at ${STEPS[steps[2 + me]! & 7]}`;
  let last = "";
  let since = Date.now();
  let watchdog: ReturnType<typeof setInterval> | undefined;
  const stuck = new Promise<"not started">((resolve, reject) => {
    watchdog = setInterval(() => {
      const now = `${steps[2]},${steps[3]}`;
      if (now !== last) [last, since] = [now, Date.now()];
      else if (Date.now() - since <= 20_000) return;
      else if (steps[2] === 0 || steps[3] === 0) resolve("not started");
      else reject(new Error(`no progress for 20 s: worker 0 ${where(0)}; worker 1 ${where(1)}`));
    }, 500);
  });
  try {
    const replies = await Promise.race([
      Promise.all(ws.map((w) => firstMessage<{ reports: number }>(w))),
      stuck,
    ]);
    return replies === "not started" ? replies : { h, ctl, replies };
  } finally {
    clearInterval(watchdog);
    for (const w of ws) void w.terminate();
  }
}
