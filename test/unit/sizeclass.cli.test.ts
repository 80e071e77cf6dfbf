// `jemalloc-ts sizeclasses`: JSON output against the reference table, the readable
// table, and exit code 2 with a message naming the bad flag or value.

import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { main } from "../../src/cli/main.js";
import { parseSizeclassesArgs, runSizeclasses } from "../../src/cli/sizeclasses.js";

function run(argv: string[]): { code: number; text: string } {
  const lines: string[] = [];
  const code = runSizeclasses(argv, (s) => lines.push(s));
  return { code, text: lines.join("\n") };
}

function loadRef(name: string) {
  return JSON.parse(readFileSync(new URL(`../fixtures/tables/${name}.json`, import.meta.url), "utf8"));
}

describe("sizeclasses --json", () => {
  it.each([
    [["--lg-page", "16", "--json"], "q4-p16-h21"],
    [["--json"], "debian-q4-p12-h21"],
    [["--lg-quantum=3", "--json"], "q3-p12-h21"],
  ])("%j matches the reference table %s", (argv, name) => {
    const { code, text } = run(argv);
    expect(code).toBe(0);
    const got = JSON.parse(text);
    const ref = loadRef(name);
    expect(got.lg).toMatchObject({ lg_quantum: ref.lg.lg_quantum, lg_page: ref.lg.lg_page });
    expect(got.bins).toEqual(ref.bins);
    const below = ref.lextents.filter((v: number | string) => BigInt(v) < 2n ** 32n);
    expect(got.lextents).toEqual(below);
    expect(got.lextents_omitted).toBe(ref.lextents.length - below.length);
    expect(got.nallocx_align).toEqual(ref.nallocx_align);
    for (const f of ["quantum", "page", "tcache_max", "nbins", "nhbins", "nlextents"]) {
      expect([f, got.arenas[f]]).toEqual([f, ref.arenas[f]]);
    }
  });
});

describe("sizeclasses table", () => {
  it("lists every servable class with slab pages, regions and tcache slots", () => {
    const { code, text } = run([]);
    expect(code).toBe(0);
    const rows = text.split("\n").filter((l) => /^\s*\d/.test(l));
    expect(rows.length).toBe(108); // indexes 0..107: up to 3.5 GiB
    expect(rows[0]!.trim().split(/\s+/)).toEqual(["0", "8", "small", "1", "512", "200"]);
    expect(rows[35]!.trim().split(/\s+/)).toEqual(["35", "14336", "small", "7", "2", "20"]);
    expect(rows[40]!.trim().split(/\s+/)).toEqual(["40", "32768", "large", "-", "-", "20"]);
    expect(rows[41]!.trim().split(/\s+/)).toEqual(["41", "40960", "large", "-", "-", "-"]);
    expect(rows[107]!.trim().split(/\s+/)[1]).toBe("3758096384");
    expect(text).toMatch(/124 larger classes/);
  });

  it("with 64 KiB pages small classes above tcache_max are not cached", () => {
    const rows = run(["--lg-page", "16"])
      .text.split("\n")
      .filter((l) => /^\s*\d/.test(l));
    expect(rows[41]!.trim().split(/\s+/)).toEqual(["41", "40960", "small", "5", "8", "-"]);
  });
});

describe("sizeclasses bad usage", () => {
  it.each([
    [["--lg-page", "abc"], /--lg-page expects an integer, got "abc"/],
    [["--lg-page=1.5"], /--lg-page expects an integer, got "1.5"/],
    [["--lg-page"], /--lg-page needs a value/],
    [["--lg-page", "11"], /lg_page \(lgPage\) must be in 12\.\.29.*got 11/],
    [["--lg-quantum", "2"], /lg_quantum .*got 2/],
    [["--lg-vaddr", "33"], /lg_vaddr .*got 33/],
    [["--bogus"], /unknown option "--bogus"/],
  ])("%j exits 2", (argv, message) => {
    const { code, text } = run(argv);
    expect(code).toBe(2);
    expect(text).toMatch(message);
    expect(text).toMatch(/usage: jemalloc-ts sizeclasses/);
  });

  it("--help prints usage and exits 0", () => {
    expect(run(["--help"])).toEqual({ code: 0, text: expect.stringMatching(/^usage:/) });
  });

  it("parses both flag forms", () => {
    expect(
      parseSizeclassesArgs(["--lg-page=14", "--lg-hugepage", "22", "--lg-vaddr", "30", "--json"]),
    ).toEqual({
      config: { lgPage: 14, lgHugepage: 22, lgVaddr: 30 },
      json: true,
      help: false,
    });
  });

  it("through the CLI: the table ends with a newline; an error goes to stderr, on its own line", async () => {
    const streams = async (argv: string[]) => {
      const o: string[] = [];
      const e: string[] = [];
      const code = await main(
        argv,
        (s) => o.push(s),
        (s) => e.push(s),
      );
      return { code, out: o.join(""), err: e.join("") };
    };
    const ok = await streams(["sizeclasses", "--lg-page", "16"]);
    expect(ok.code).toBe(0);
    expect(ok.err).toBe("");
    expect(ok.out).toMatch(/^# lg_quantum 4 {2}lg_page 16/);
    expect(ok.out.endsWith("\n")).toBe(true);
    expect(JSON.parse((await streams(["sizeclasses", "--json"])).out).lg.lg_page).toBe(12);
    const bad = await streams(["sizeclasses", "--lg-page", "11"]);
    expect(bad.code).toBe(2);
    expect(bad.out).toBe("");
    expect(bad.err.split("\n")).toEqual([
      expect.stringMatching(/^jemalloc-ts sizeclasses: lg_page \(lgPage\) must be in 12\.\.29.*got 11$/),
      expect.stringMatching(/^usage: jemalloc-ts sizeclasses/),
      "",
    ]);
  });
});
