import { describe, expect, it } from "vitest";
import {
  RING_HEAD_W,
  RING_SLOTS_W,
  RING_TAIL_W,
  ringConsume,
  ringCreate,
  ringProduce,
} from "../../src/bench/ring.js";
import { parseStrategy, thingPoolBytes, Uint8ArrayAllocator } from "../../src/bench/strategies.js";
import { WORKLOAD_NAMES } from "../../src/bench/workloads.js";
import { parseBenchArgs, strategiesOf } from "../../src/cli/bench.js";

describe("bench configurations", () => {
  it("lifts lg_quantum / lg_page out of the malloc_conf text", () => {
    expect(parseStrategy("tcache:false,lg_page:16")).toEqual({
      id: "tcache:false,lg_page:16",
      label: "jemalloc-ts tcache:false,lg_page:16",
      kind: "jemalloc-ts",
      conf: "tcache:false",
      lgPage: 16,
    });
    expect(parseStrategy("lg_quantum:3")).toMatchObject({ conf: "", lgQuantum: 3 });
    expect(parseStrategy("")).toMatchObject({ id: "default", conf: "" });
    expect(parseStrategy("default")).toMatchObject({ id: "default", conf: "" });
  });

  it("knows the baselines by several names", () => {
    expect(parseStrategy("@thi.ng/malloc")).toMatchObject({ id: "thi.ng", kind: "thi.ng" });
    expect(parseStrategy("Uint8Array")).toMatchObject({
      id: "uint8array",
      kind: "uint8array",
      label: "new Uint8Array",
    });
    expect(parseStrategy("tlsf")).toMatchObject({ id: "as-tlsf", kind: "as-tlsf", label: "AS TLSF (wasm)" });
  });

  it("rejects malformed configurations with the offending text", () => {
    expect(() => parseStrategy("lg_page:11")).toThrow(/lg_page .* \[12, 16\], got "11"/);
    expect(() => parseStrategy("lg_quantum:x")).toThrow(RangeError);
    expect(() => parseStrategy("tcache")).toThrow(/"tcache" .* is not key:value/);
  });

  it("sizes the thi.ng pool from the workload's peak and caps it", () => {
    expect(thingPoolBytes({ peakLiveBytes: 1000, maxRequest: 256 }) % 65536).toBe(0);
    expect(thingPoolBytes({ peakLiveBytes: 1 << 20, maxRequest: 256 })).toBeGreaterThan(2.5 * (1 << 20));
    expect(thingPoolBytes({ peakLiveBytes: 2 ** 40, maxRequest: 256 })).toBe(2 ** 31);
  });

  it("the Uint8Array baseline reuses freed handles and reports the live lengths", () => {
    const a = new Uint8ArrayAllocator();
    const h1 = a.malloc(10);
    const h2 = a.malloc(20);
    a.free(h1);
    expect(a.malloc(5)).toBe(h1);
    expect(h2).not.toBe(h1);
    expect(a.sample()).toEqual({ inUse: 25, mapped: Number.NaN });
    a.writeRecord(a.malloc(48), 7);
    expect(a.sample().inUse).toBe(73);
  });
});

describe("bench CLI arguments", () => {
  it("defaults to every workload and the full configuration list with both baselines", () => {
    const a = parseBenchArgs([]);
    expect(a.workloads).toEqual([...WORKLOAD_NAMES]);
    const ids = strategiesOf(a).map((s) => s.id);
    expect(ids).toContain("default");
    expect(ids).toContain("tcache:false");
    expect(ids).toContain("narenas:1");
    expect(ids).toContain("dirty_decay_ms:0,muzzy_decay_ms:0");
    expect(ids).toContain("dirty_decay_ms:-1,muzzy_decay_ms:-1");
    expect(ids).toContain("lg_quantum:3");
    expect(ids).toContain("lg_page:16");
    expect(ids.slice(-3)).toEqual(["thi.ng", "uint8array", "as-tlsf"]);
  });

  it("takes several values after --conf and --workload, and --json with or without a file", () => {
    const a = parseBenchArgs([
      "--workload",
      "small-churn,records",
      "mixed",
      "--conf",
      "tcache:false",
      "narenas:1",
      "--json",
      "--quick",
      "--svg",
      "c.svg",
      "--seed",
      "7",
      "--md",
      "t.md",
    ]);
    expect(a.workloads).toEqual(["small-churn", "records", "mixed"]);
    expect(a.confs).toEqual(["tcache:false", "narenas:1"]);
    expect([a.json, a.quick, a.svg, a.seed, a.md]).toEqual(["-", true, "c.svg", 7, "t.md"]);
    expect(parseBenchArgs(["--json", "out.json"]).json).toBe("out.json");
    expect(strategiesOf(a).map((s) => s.id)).toEqual([
      "tcache:false",
      "narenas:1",
      "thi.ng",
      "uint8array",
      "as-tlsf",
    ]);
    expect(strategiesOf(parseBenchArgs(["--conf", "default", "--no-baselines"])).map((s) => s.id)).toEqual([
      "default",
    ]);
  });

  it("rejects unknown flags, missing values and unknown workloads", () => {
    expect(() => parseBenchArgs(["--frobnicate"])).toThrow(/unknown argument "--frobnicate"/);
    expect(() => parseBenchArgs(["--conf"])).toThrow(/--conf needs a value/);
    expect(() => parseBenchArgs(["--svg", "--quick"])).toThrow(/--svg needs a value/);
    expect(() => parseBenchArgs(["--workload", "nope"])).toThrow(/unknown workload "nope"/);
    expect(() => parseBenchArgs(["--seed", "-3"])).toThrow(/--seed/);
  });
});

describe("bench ring (producer → consumer)", () => {
  it("passes offsets in order across the wrap-around, and publishes head and tail", () => {
    const ring = new Int32Array(ringCreate(128));
    const got: number[] = [];
    let next = 0xfffffff0;
    for (let round = 0; round < 5; round++) {
      expect(ringProduce(ring, 100, () => next++ >>> 0)).toBe(100);
      expect(ringConsume(ring, 100, (p) => got.push(p))).toBe(100);
    }
    expect(got.length).toBe(500);
    expect(got[0]).toBe(0xfffffff0);
    expect(got.every((p, i) => p === (0xfffffff0 + i) >>> 0)).toBe(true);
    expect(Atomics.load(ring, RING_HEAD_W)).toBe(500);
    expect(Atomics.load(ring, RING_TAIL_W)).toBe(500);
    expect(ring.length).toBe(RING_SLOTS_W + 128);
    expect(() => ringCreate(100)).toThrow(/power of two/);
  });
});
