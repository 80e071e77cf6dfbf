/**
 * The heap's clock (Heap.create's `clock` option: milliseconds, "for decay and tests"): the default wall
 * clock must work, and decay must follow a test clock that starts at 0 and is advanced by hand, as it
 * follows the wall clock.
 */
import { describe, expect, it } from "vitest";
import { Heap } from "../../src/heap.js";

const CONF = "tcache:false,narenas:1,dirty_decay_ms:1000,muzzy_decay_ms:0";

/** Frees 1 MiB of dirty pages, then advances the clock three times by a minute, decaying each time. */
function dirtyAfterAMinute(h: Heap, advance: (ms: number) => void): { before: number; after: number } {
  h.free(h.malloc(1 << 20));
  h.mallctl("epoch", 1);
  const before = h.mallctl("stats.arenas.0.pdirty") as number;
  for (let i = 0; i < 3; i++) {
    advance(60_000);
    h.mallctl("arena.0.decay");
  }
  h.mallctl("epoch", 1);
  return { before, after: h.mallctl("stats.arenas.0.pdirty") as number };
}

describe("heap clock", () => {
  it("Heap.create() with the default wall clock works (time in ns must be an integer)", () => {
    const h = Heap.create({ envConf: null });
    const p = h.malloc(100);
    expect(p).not.toBe(0);
    h.free(p);
    const a = Heap.attach(h.buffer);
    a.free(a.malloc(100 * 1024));
    h.check();
  });

  it("a clock offset from the wall clock drives decay", () => {
    let t = 0;
    const h = Heap.create({ envConf: null, conf: CONF, clock: () => Date.now() + t });
    const r = dirtyAfterAMinute(h, (ms) => {
      t += ms;
    });
    expect(r.before).toBeGreaterThan(0);
    expect(r.after).toBe(0);
  });

  it("a test clock starting at 0 drives decay the same way", () => {
    let t = 0;
    const h = Heap.create({ envConf: null, conf: CONF, clock: () => t });
    const r = dirtyAfterAMinute(h, (ms) => {
      t += ms;
    });
    expect(r.before).toBeGreaterThan(0);
    expect(r.after, "dirty pages left after 3 minutes of a 1 s decay").toBe(0);
  });
});
