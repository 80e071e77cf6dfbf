import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { acceptedConfKeys, optDefaults } from "../../src/conf/conf.js";
import {
  BUILD_FEATURES,
  DOCUMENTED_OPT_DIFFERENCES,
  diffOptAgainstReference,
  featureBuilt,
  OPT_TABLE,
  type OptValues,
} from "../../src/conf/opt.js";

// `opt` of shared/reference/tables/debian-q4-p12-h21.json: Debian's libjemalloc 5.3.0
// read on a 2-CPU machine (utrace, xmalloc and lg_san_uaf_align answered ENOENT there; the last two
// are served here: DOCUMENTED_OPT_DIFFERENCES).
const DEBIAN_OPT: Readonly<Record<string, unknown>> = {
  abort: false,
  abort_conf: false,
  cache_oblivious: true,
  trust_madvise: false,
  confirm_conf: false,
  hpa: false,
  hpa_slab_max_alloc: 65536,
  hpa_hugification_threshold: 1992294,
  hpa_hugify_delay_ms: 10000,
  hpa_min_purge_interval_ms: 5000,
  hpa_dirty_mult: 16384,
  hpa_sec_nshards: 4,
  hpa_sec_max_alloc: 32768,
  hpa_sec_max_bytes: 262144,
  hpa_sec_bytes_after_flush: 131072,
  hpa_sec_batch_fill_extra: 0,
  metadata_thp: "disabled",
  retain: true,
  dss: "secondary",
  narenas: 8,
  percpu_arena: "disabled",
  oversize_threshold: 8388608,
  mutex_max_spin: 600,
  background_thread: false,
  max_background_threads: 4,
  dirty_decay_ms: 10000,
  muzzy_decay_ms: 0,
  stats_print: false,
  stats_print_opts: "",
  stats_interval: -1,
  stats_interval_opts: "",
  junk: "false",
  zero: false,
  experimental_infallible_new: false,
  tcache: true,
  tcache_max: 32768,
  tcache_nslots_small_min: 20,
  tcache_nslots_small_max: 200,
  tcache_nslots_large: 20,
  lg_tcache_nslots_mul: 1,
  tcache_gc_incr_bytes: 65536,
  tcache_gc_delay_bytes: 0,
  lg_tcache_flush_small_div: 1,
  lg_tcache_flush_large_div: 1,
  thp: "default",
  lg_extent_max_active_fit: 6,
  prof: false,
  prof_prefix: "jeprof",
  prof_active: true,
  prof_thread_active_init: true,
  lg_prof_sample: 19,
  lg_prof_interval: -1,
  prof_gdump: false,
  prof_final: false,
  prof_leak: false,
  prof_leak_error: false,
  prof_accum: false,
  prof_recent_alloc_max: 0,
  prof_stats: false,
  prof_sys_thread_name: false,
  prof_time_resolution: "default",
  zero_realloc: "free",
};

interface TsvRow {
  name: string;
  ctype: string;
  mode: string;
  mib: string;
}

function readTsv(): TsvRow[] {
  const text = readFileSync(new URL("../fixtures/mallctl-5.3.tsv", import.meta.url), "utf8");
  return text
    .split("\n")
    .filter((line) => line.length > 0 && !line.startsWith("#") && !line.startsWith("name\t"))
    .map((line) => {
      const [name = "", ctype = "", mode = "", , , mib = ""] = line.split("\t");
      return { name, ctype, mode, mib };
    });
}

describe("opt defaults", () => {
  it("equal the reference build's on 2 CPUs except the documented differences", () => {
    const diff = diffOptAgainstReference(optDefaults(2), DEBIAN_OPT);
    expect(diff.map((d) => d.name).sort()).toEqual(Object.keys(DOCUMENTED_OPT_DIFFERENCES).sort());
    expect(diff.find((d) => d.name === "thp")).toEqual({
      name: "thp",
      ours: "not supported",
      reference: "default",
    });
    expect(diff.find((d) => d.name === "xmalloc")).toEqual({
      name: "xmalloc",
      ours: false,
      reference: "ENOENT",
    });
  });

  it("match the reference for every option this build reads the same way", () => {
    const opt = optDefaults(2) as unknown as Record<string, unknown>;
    for (const spec of OPT_TABLE) {
      if (!featureBuilt(spec.feature) || spec.name in DOCUMENTED_OPT_DIFFERENCES) continue;
      const ours = opt[spec.name];
      const ref = DEBIAN_OPT[spec.name];
      if (typeof ours === "bigint") expect(ours).toBe(BigInt(ref as number));
      else expect(ours).toBe(ref);
    }
  });

  it("derive narenas from the CPU count", () => {
    expect(optDefaults(1).narenas).toBe(1);
    expect(optDefaults(2).narenas).toBe(8);
    expect(optDefaults(3).narenas).toBe(12);
    expect(optDefaults(16).narenas).toBe(64);
  });

  it("follow the page and huge page sizes where jemalloc's do", () => {
    expect(optDefaults(2, 16).hpa_sec_max_alloc).toBe(65536); // tables/q4-p16-h21.json
    expect(optDefaults(2, 12, 22).hpa_hugification_threshold).toBe(Math.floor((4194304 * 95) / 100));
  });
});

describe("option table", () => {
  const rows = readTsv().filter((r) => r.name.startsWith("opt."));

  it("has one entry per opt leaf of the TSV, in MIB order, with the TSV's C type", () => {
    expect(OPT_TABLE.map((o) => `opt.${o.name}`)).toEqual(rows.map((r) => r.name));
    OPT_TABLE.forEach((spec, k) => {
      const row = rows[k] as TsvRow;
      expect(row.mib).toBe(`6.${k}`);
      expect(row.ctype.split(" (")[0]).toBe(spec.ctype);
      expect(row.mode).toBe("r-");
    });
  });

  it("gives each option a JS value of its C type", () => {
    const opt = optDefaults(2) as unknown as Record<string, unknown>;
    const jsType: Record<string, string> = {
      bool: "boolean",
      unsigned: "number",
      size_t: "number",
      ssize_t: "number",
      fxp_t: "number",
      uint64_t: "bigint",
      int64_t: "bigint",
      "const char *": "string",
    };
    for (const spec of OPT_TABLE)
      expect([spec.name, typeof opt[spec.name]]).toEqual([spec.name, jsType[spec.ctype]]);
  });

  it("accepts exactly the keys of built features, and a few that are not opt leaves", () => {
    const keys = acceptedConfKeys();
    expect(keys).toContain("narenas_ratio");
    expect(keys).toContain("lg_tcache_max");
    expect(keys).toContain("slab_sizes");
    expect(keys).toContain("bin_shards");
    expect(keys).not.toContain("cache_oblivious");
    expect(keys.includes("prof")).toBe(BUILD_FEATURES.prof);
    expect(keys).not.toContain("utrace");
    expect(keys).toContain("xmalloc");
  });

  it("defaults are fresh objects", () => {
    const a: OptValues = optDefaults(2);
    a.narenas = 99;
    expect(optDefaults(2).narenas).toBe(8);
  });
});
