import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { formatReplayCompare, replayCompare } from "../../src/bench/replay_compare.js";
import type { SuiteReport } from "../../src/bench/result.js";
import { parseStrategy } from "../../src/bench/strategies.js";
import { runSuite } from "../../src/bench/suite.js";
import { renderSvg } from "../../src/bench/svg.js";
import { runBenchCli } from "../../src/cli/bench.js";
import { runReplayCli } from "../../src/cli/replay_cli.js";
import { parseTrace } from "../../src/replay/replay.js";

const tiny = { timeMs: 10, minIterations: 2, phaseIterations: 2, warmupMs: 0, budgetMs: 30_000 };

function bars(svg: string): string[] {
  return [...svg.matchAll(/<rect class="bar[^"]*" data-workload="([^"]+)" data-config="([^"]+)"/g)].map(
    (m) => `${m[1]}|${m[2]}`,
  );
}

describe("jemalloc-ts bench (CLI, child process per configuration)", () => {
  it("a quick run of one tiny workload prints well-formed JSON, and writes the SVG", async () => {
    const dir = mkdtempSync(join(tmpdir(), "jts-bench-"));
    const svgPath = join(dir, "chart.svg");
    let out = "";
    let err = "";
    const code = await runBenchCli(
      [
        "--quick",
        "--workload",
        "small-churn",
        "--conf",
        "tcache:false",
        "--no-baselines",
        "--json",
        "--svg",
        svgPath,
      ],
      (s) => {
        out += s;
      },
      (s) => {
        err += s;
      },
    );
    expect(err).toContain("bench [1/1] small-churn × jemalloc-ts tcache:false");
    expect(code).toBe(0);
    const rep = JSON.parse(out) as SuiteReport;
    expect(rep.format).toBe("jemalloc-ts-bench-1");
    expect(rep.quick).toBe(true);
    expect(rep.isolated).toBe(true);
    expect(rep.node).toBe(process.version);
    expect(rep.machine.cpus).toBeGreaterThan(0);
    expect(Number.isNaN(Date.parse(rep.date))).toBe(false);
    expect(rep.results.length).toBe(1);
    const r = rep.results[0]!;
    expect([r.workload, r.strategy, r.status]).toEqual(["small-churn", "tcache:false", "ok"]);
    expect(r.nsPerCall!.median).toBeGreaterThan(0);
    expect(r.nsPerCall!.samples).toBeGreaterThanOrEqual(2);
    expect(r.callsPerIteration).toBe(2048);
    // Size classes round up and slabs hold whole pages: what is in use is at least what is live.
    expect(r.footprint!.ratio).toBeGreaterThanOrEqual(1);
    expect(r.footprint!.mappedHighWater).toBeGreaterThanOrEqual(r.footprint!.inUseHighWater);
    expect(r.footprint!.bufferBytes).toBeGreaterThanOrEqual(r.footprint!.mappedHighWater!);
    expect(err).toContain("small-churn"); // the table went to stderr
    expect(bars(readFileSync(svgPath, "utf8"))).toEqual(["small-churn|tcache:false"]);
  });

  it("reports bad arguments with the usage and exit status 2", async () => {
    let err = "";
    const code = await runBenchCli(
      ["--workload", "nope"],
      () => {},
      (s) => {
        err += s;
      },
    );
    expect(code).toBe(2);
    expect(err).toMatch(/unknown workload "nope"[\s\S]*usage: jemalloc-ts bench/);
  });
});

describe("bench suite in one process (tiny scale)", () => {
  it("runs the single-thread workloads under jemalloc-ts and both baselines", async () => {
    const strategies = ["default", "thi.ng", "uint8array"].map(parseStrategy);
    const workloads = ["small-churn", "mixed", "large", "fragmentation", "records"];
    const lines: string[] = [];
    const rep = await runSuite({
      workloads,
      strategies,
      quick: true,
      seed: 5,
      scale: 0.002,
      cell: tiny,
      isolate: false,
      progress: (l) => lines.push(l),
    });
    expect(rep.results.map((r) => `${r.workload}|${r.strategy}`)).toEqual(
      workloads.flatMap((w) => strategies.map((s) => `${w}|${s.id}`)),
    );
    for (const r of rep.results) {
      expect(r.status, `${r.workload} × ${r.strategy}: ${r.note}`).toBe("ok");
      expect(r.nsPerCall!.median).toBeGreaterThan(0);
      expect(r.footprint!.peakLiveRequested).toBeGreaterThan(0);
      expect(r.nsPerCall!.faultsPerCall).toBeGreaterThanOrEqual(0);
    }
    const frag = rep.results.find((r) => r.workload === "fragmentation" && r.strategy === "default")!;
    expect(frag.footprint!.ratio).toBeGreaterThan(1);
    // Every timed iteration starts a heap in a new buffer, whose pages the OS backs at their first touch.
    expect(frag.nsPerCall!.faultsPerCall).toBeGreaterThan(0);
    const u8 = rep.results.filter((r) => r.kind === "uint8array");
    expect(u8.every((r) => r.footprint!.ratio === 1 && r.footprint!.mappedRatio === null)).toBe(true);
    const thing = rep.results.filter((r) => r.kind === "thi.ng");
    expect(thing.every((r) => r.footprint!.mappedHighWater! >= r.footprint!.inUseHighWater)).toBe(true);
    expect(lines.filter((l) => l.startsWith("bench ["))).toHaveLength(rep.results.length);
    expect(bars(renderSvg(rep))).toHaveLength(rep.results.length);
  });

  it("runs the two worker workloads: workers attach to one heap; baselines skip what they cannot do", async () => {
    const strategies = ["narenas:1", "thi.ng", "uint8array"].map(parseStrategy);
    const rep = await runSuite({
      workloads: ["workers-churn", "producer-consumer"],
      strategies,
      quick: true,
      seed: 9,
      scale: 0.05,
      cell: tiny,
      isolate: false,
    });
    const by = (w: string, s: string) => rep.results.find((r) => r.workload === w && r.strategy === s)!;
    const wc = by("workers-churn", "narenas:1");
    expect(wc.status, wc.note).toBe("ok");
    expect(wc.nsPerCall!.median).toBeGreaterThan(0);
    expect(wc.footprint!.ratio).toBeGreaterThanOrEqual(1);
    // The scaling figure: both workers' throughput ÷ one worker's, measured in the same cell.
    expect(wc.scaling).toBeGreaterThan(0);
    expect(wc.note).toMatch(/2 workers on one heap: \d+\.\d\d× the throughput of one/);
    // And the machine's own figure from a heap-free loop in the same workers, to read it against.
    expect(wc.scalingMachine).toBeGreaterThan(0);
    expect(wc.note).toMatch(/a heap-free loop timed the same way: \d+\.\d\d×/);
    const pc = by("producer-consumer", "narenas:1");
    expect(pc.status, pc.note).toBe("ok");
    expect(pc.callsPerIteration).toBe(Math.round(32768 * 0.05));
    expect(by("workers-churn", "uint8array").status).toBe("ok");
    expect(by("producer-consumer", "uint8array").status).toBe("skipped");
    expect(by("workers-churn", "thi.ng")).toMatchObject({
      status: "skipped",
      note: expect.stringMatching(/Atomics/),
    });
  });
});

describe("jemalloc-ts replay <trace> --compare", () => {
  const text = ["m 1 100", "m 2 5000", "m 3 40000", "f 2", "m 4 24", "t 20000", "E", ""].join("\n");

  it("replays one trace under several configurations side by side", () => {
    const confs = ["tcache:false,narenas:1", "tcache:false,dirty_decay_ms:0,muzzy_decay_ms:0", "lg_page:16"];
    const rows = replayCompare(parseTrace(text), confs);
    expect(rows.map((r) => r.conf)).toEqual(confs);
    for (const r of rows) {
      expect(r.ops).toBe(7);
      expect(r.failed).toBe(0);
      expect(r.liveRequested).toBe(100 + 40000 + 24);
      expect(r.activeRatio).toBeCloseTo(r.active / r.liveRequested, 12);
      expect(r.active).toBeGreaterThanOrEqual(r.allocated);
      expect(r.ms).toBeGreaterThan(0);
    }
    // 100 → 112 and 24 → 32 (quantum 16), 40000 → 40960 + 1 page of pad (large, cache-oblivious).
    expect(rows[0]!.allocated).toBe(112 + 32 + 40960);
    expect(rows[2]!.active % 65536).toBe(0);
    // The emptied 5-page slab of the 5000-byte block stays dirty (less the page the 24-byte slab took)
    // under the default decay, and is purged at once with decay 0.
    expect(rows[0]!.pdirty).toBe(4);
    expect(rows[1]!.pdirty).toBe(0);
    const table = formatReplayCompare("t.txt", rows);
    expect(table).toMatch(/configuration\s+time ms\s+live req\s+allocated\s+active\s+active\/live\s+pdirty/);
    expect(table.split("\n").filter((l) => l.startsWith("lg_page:16"))).toHaveLength(1);
  });

  it("is reachable from the replay command and refuses baselines", () => {
    const dir = mkdtempSync(join(tmpdir(), "jts-replay-"));
    const path = join(dir, "t.txt");
    writeFileSync(path, text);
    let out = "";
    expect(
      runReplayCli(
        [path, "--compare", "default", "narenas:1"],
        (s) => {
          out += s;
        },
        () => {},
      ),
    ).toBe(0);
    expect(out).toMatch(/^replay .*t\.txt: 7 ops under 2 configurations/);
    expect(out).toMatch(/\nnarenas:1 /);
    expect(() => replayCompare(parseTrace(text), ["thi.ng"])).toThrow(/baseline/);
    let err = "";
    expect(
      runReplayCli(
        [path, "--compare"],
        () => {},
        (s) => {
          err += s;
        },
      ),
    ).toBe(2);
    expect(err).toMatch(/--compare needs configurations/);
  });
});

describe("jemalloc-ts replay <trace> --stats-print", () => {
  const text = ["m 1 100", "m 2 5000", "m 3 40000", "f 2", "E", ""].join("\n");
  const run = (args: string[]) => {
    const dir = mkdtempSync(join(tmpdir(), "jts-replay-sp-"));
    const path = join(dir, "t.txt");
    writeFileSync(path, text);
    let out = "";
    let err = "";
    const code = runReplayCli(
      [path, ...args],
      (s) => {
        out += s;
      },
      (s) => {
        err += s;
      },
    );
    return { code, out, err };
  };
  type Arena0 = { large: { nmalloc: number; ndalloc: number }; internal: number };
  const arena0 = (out: string) =>
    (JSON.parse(out) as { jemalloc: { "stats.arenas": Record<string, Arena0> } }).jemalloc["stats.arenas"][
      "0"
    ]!;

  it("prints the report taken after the replay; the N-th report counts the earlier ones' buffers", () => {
    const one = run(["--conf", "narenas:1,tcache:false", "--stats-print", "J"]);
    expect(one.code).toBe(0);
    // 40000 B and the report's own 64 KiB buffer (the thread cache is off: no cache block).
    expect(arena0(one.out).large.nmalloc).toBe(2);
    expect(arena0(one.out).internal).toBe(65536);
    const three = run(["--conf", "narenas:1,tcache:false", "--stats-print", "J", "--reports", "3"]);
    expect(arena0(three.out).large).toMatchObject({ nmalloc: 4, ndalloc: 2 });
    const report = run(["--conf", "narenas:1", "--stats-print", "xh"]);
    expect(report.out.startsWith("___ Begin jemalloc statistics ___\n")).toBe(true);
  });

  it("refuses a missing option string and a report count of 0", () => {
    expect(run(["--stats-print"])).toMatchObject({
      code: 2,
      err: expect.stringMatching(/--stats-print needs/),
    });
    expect(run(["--stats-print", "J", "--reports", "0"])).toMatchObject({
      code: 2,
      err: expect.stringMatching(/--reports needs a positive integer, got 0/),
    });
  });
});
