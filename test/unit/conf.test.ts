import { describe, expect, it } from "vitest";
import {
  CONF_SOURCE_LABEL_EMBEDDED,
  CONF_SOURCE_LABEL_ENV,
  type ConfResult,
  MallocConfAbortError,
  mallocConfSources,
  parseMallocConf,
} from "../../src/conf/conf.js";

const J = "<jemalloc>: ";
const ABORT_LINE = `${J}Abort (abort_conf:true) on invalid conf value (see above).\n`;

interface Run {
  result: ConfResult;
  out: string[];
}

/** Parses embedded then env (jemalloc's order), capturing every message. */
function run(embedded: string, env: string | null = null, ncpus = 2): Run {
  const out: string[] = [];
  const result = parseMallocConf(mallocConfSources(embedded, env), { ncpus, writer: (m) => out.push(m) });
  return { result, out };
}

/** Runs expecting an abort; returns the error and what was written. */
function runAbort(embedded: string, env: string | null = null): { err: MallocConfAbortError; out: string[] } {
  const out: string[] = [];
  try {
    parseMallocConf(mallocConfSources(embedded, env), { ncpus: 2, writer: (m) => out.push(m) });
  } catch (err) {
    if (err instanceof MallocConfAbortError) return { err, out };
    throw err;
  }
  throw new Error("expected MallocConfAbortError");
}

describe("malloc_conf per-pair messages", () => {
  it("reports an unknown key as Invalid conf pair", () => {
    const { result, out } = run("foo:1");
    expect(out).toEqual([`${J}Invalid conf pair: foo:1\n`]);
    expect(result.errors).toBe(1);
    expect(result.hadConfError).toBe(true);
  });

  it.each([
    ["narenas:abc"],
    ["tcache:yes"],
    ["tcache:TRUE"],
    ["junk:maybe"],
    ["zero_realloc:never"],
    ["dirty_decay_ms:1.5"],
    ["tcache_max:"],
    ["narenas_ratio:x"],
    ["hpa_dirty_mult:abc"],
    ["metadata_thp:sometimes"],
    ["percpu_arena:yes"],
    ["thp:madvise"],
  ])("reports %s as Invalid conf value", (pair) => {
    const { result, out } = run(pair);
    expect(out).toEqual([`${J}Invalid conf value: ${pair}\n`]);
    expect(result.errors).toBe(1);
  });

  it.each([
    ["narenas:0"],
    ["dirty_decay_ms:-2"],
    ["muzzy_decay_ms:18446744073001"],
    ["oversize_threshold:8070450532247928833"],
    ["lg_extent_max_active_fit:65"],
    ["lg_tcache_nslots_mul:17"],
    ["lg_tcache_nslots_mul:-17"],
    ["mutex_max_spin:-2"],
    ["stats_interval:-2"],
  ])("reports %s as Out-of-range conf value and keeps the old value", (pair) => {
    const { result, out } = run(pair);
    expect(out).toEqual([`${J}Out-of-range conf value: ${pair}\n`]);
    const key = pair.slice(0, pair.indexOf(":")) as keyof typeof result.opt;
    const fresh = run("").result.opt;
    expect(result.opt[key]).toEqual(fresh[key]);
  });

  it("accepts the largest values at the edge of the range", () => {
    const { result, out } = run(
      "dirty_decay_ms:18446744073000,oversize_threshold:8070450532247928832,lg_extent_max_active_fit:64",
    );
    expect(out).toEqual([]);
    expect(result.opt.dirty_decay_ms).toBe(18446744073000);
    expect(result.opt.oversize_threshold).toBe(7 * 2 ** 60);
    expect(result.hugeArena).toBe(true);
    expect(result.opt.lg_extent_max_active_fit).toBe(64);
  });

  it("accepts keys of features built in (fill, xmalloc, C++, prof, uaf detection) and rejects the others as Invalid conf pair", () => {
    const ok = run("junk:alloc,zero:true,xmalloc:true,experimental_infallible_new:true");
    expect(ok.out).toEqual([]);
    expect(ok.result.opt.junk).toBe("alloc");
    expect(ok.result.opt.zero).toBe(true);
    expect(ok.result.opt.xmalloc).toBe(true);
    expect(ok.result.opt.experimental_infallible_new).toBe(true);
    const prof = run("prof:true,prof_prefix:x,lg_prof_sample:3,prof_unbias:false,prof_time_resolution:high");
    expect(prof.out).toEqual([]);
    expect([prof.result.opt.prof, prof.result.opt.prof_prefix, prof.result.opt.lg_prof_sample]).toEqual([
      true,
      "x",
      3,
    ]);
    expect(prof.result.profUnbias).toBe(false);
    expect(prof.result.opt.prof_time_resolution).toBe("high");
    expect(run("lg_san_uaf_align:12").result.opt.lg_san_uaf_align).toBe(12);
    const bad = "utrace:true,log:x,cache_oblivious:false";
    const r = run(bad);
    expect(r.out).toEqual(bad.split(",").map((p) => `${J}Invalid conf pair: ${p}\n`));
    expect(r.result.errors).toBe(3);
  });

  it("lg_san_uaf_align: -1 or clipped to [LG_PAGE, 63]; a value below -1 or unreadable is reported, then stored as jemalloc stores it", () => {
    const v = (c: string) => run(c).result.opt.lg_san_uaf_align;
    expect(v("")).toBe(-1);
    expect(v("lg_san_uaf_align:-1")).toBe(-1);
    expect(v("lg_san_uaf_align:3")).toBe(12);
    expect(v("lg_san_uaf_align:16")).toBe(16);
    expect(v("lg_san_uaf_align:99")).toBe(63);
    const low = run("lg_san_uaf_align:-2");
    expect(low.out).toEqual([`${J}Invalid conf value: lg_san_uaf_align:-2\n`]);
    expect(low.result.opt.lg_san_uaf_align).toBe(12);
    const junk = run("lg_san_uaf_align:x");
    expect(junk.out).toEqual([`${J}Invalid conf value: lg_san_uaf_align:x\n`]);
    // malloc_strtoumax answers UINTMAX_MAX for no digits: -1 as an ssize_t, so the option is off.
    expect(junk.result.opt.lg_san_uaf_align).toBe(-1);
  });

  it("prof_time_resolution takes default or high; prof_leak turns prof on; prof_leak_error needs prof_final", () => {
    expect(run("prof_time_resolution:hi").out).toEqual([`${J}Invalid conf value: prof_time_resolution:hi\n`]);
    const leak = run("prof_leak:true,prof_gdump:true");
    expect([leak.result.opt.prof, leak.result.opt.prof_gdump]).toEqual([true, false]);
    const both = run("prof_final:true,prof_leak_error:true");
    expect([both.result.opt.prof, both.result.opt.prof_leak]).toEqual([true, true]);
    expect(() => run("prof_leak_error:true")).toThrow(/prof_leak_error is set w\/o prof_final/);
  });

  it("reports experimental_ keys without counting them as errors", () => {
    const { result, out } = run("experimental_foo:1,experimental_infallible_new:maybe");
    expect(out).toEqual([
      `${J}Invalid conf pair: experimental_foo:1\n`,
      `${J}Invalid conf value: experimental_infallible_new:maybe\n`,
    ]);
    expect(result.errors).toBe(0);
    expect(result.hadConfError).toBe(false);
  });

  it("cannot set dss without sbrk: Error setting dss, then Invalid conf value", () => {
    for (const v of ["primary", "secondary", "s", "p"]) {
      const { result, out } = run(`dss:${v}`);
      expect(out).toEqual([`${J}Error setting dss: dss:${v}\n`, `${J}Invalid conf value: dss:${v}\n`]);
      expect(result.errors).toBe(2);
      expect(result.opt.dss).toBe("secondary");
    }
    const off = run("dss:disabled");
    expect(off.out).toEqual([]);
    expect(off.result.opt.dss).toBe("disabled");
  });

  it("reports No getcpu support for every percpu_arena value, then disables it at boot", () => {
    const { result, out } = run("percpu_arena:percpu");
    expect(out).toEqual([
      `${J}No getcpu support: percpu_arena:percpu\n`,
      `${J}perCPU arena getcpu() not available. Setting narenas to 8.\n`,
    ]);
    expect(result.opt.percpu_arena).toBe("disabled");
    expect(result.opt.narenas).toBe(8);
    const phy = run("narenas:3,percpu_arena:phycpu");
    expect(phy.out[1]).toBe(`${J}perCPU arena getcpu() not available. Setting narenas to 3.\n`);
    const disabled = run("percpu_arena:disabled");
    expect(disabled.out).toEqual([`${J}No getcpu support: percpu_arena:disabled\n`]);
    expect(disabled.result.errors).toBe(1);
  });

  it("reports No THP support for every thp value; opt.thp reads 'not supported'", () => {
    for (const v of ["default", "always", "never", "", "a"]) {
      const { result, out } = run(`thp:${v}`);
      expect(out).toEqual([`${J}No THP support: thp:${v}\n`]);
      expect(result.opt.thp).toBe("not supported");
    }
  });

  it("disables hpa at boot with jemalloc's (newline-less) notice", () => {
    const { result, out } = run("hpa:true");
    expect(out).toEqual([`${J}HPA not supported in the current configuration; disabling.`]);
    expect(result.opt.hpa).toBe(false);
    expect(result.errors).toBe(0);
  });

  it("reduces narenas to the MALLOCX_ARENA limit at boot but opt.narenas keeps the setting", () => {
    const { result, out } = run("narenas:5000");
    expect(out).toEqual([`${J}Reducing narenas to limit (4094)\n`]);
    expect(result.opt.narenas).toBe(5000);
    expect(result.narenasAuto).toBe(4094);
    expect(run("narenas:4094").out).toEqual([]);
  });
});

describe("malloc_conf structural messages (printed by both passes)", () => {
  it("Conf string ends with key", () => {
    const { result, out } = run("abc");
    expect(out).toEqual([`${J}Conf string ends with key\n`, `${J}Conf string ends with key\n`]);
    expect(result.errors).toBe(1);
  });

  it("Conf string ends with comma, and the pair before it still applies", () => {
    const { result, out } = run("narenas:3,");
    expect(out).toEqual([`${J}Conf string ends with comma\n`, `${J}Conf string ends with comma\n`]);
    expect(result.opt.narenas).toBe(3);
  });

  it("Malformed conf string stops that source; earlier pairs apply, later ones do not", () => {
    const { result, out } = run("tcache:false,a-b:1,narenas:2");
    expect(out).toEqual([`${J}Malformed conf string\n`, `${J}Malformed conf string\n`]);
    expect(result.opt.tcache).toBe(false);
    expect(result.opt.narenas).toBe(8);
  });

  it.each([[","], [" narenas:1"], ["narenas :1"], ["nar.enas:1"], ["é:1"]])("%j is malformed", (text) => {
    expect(run(text).out).toEqual([`${J}Malformed conf string\n`, `${J}Malformed conf string\n`]);
  });

  it("prints the comma message before the pair's own message", () => {
    const { out } = run("narenas:0,");
    expect(out).toEqual([
      `${J}Conf string ends with comma\n`,
      `${J}Conf string ends with comma\n`,
      `${J}Out-of-range conf value: narenas:0\n`,
    ]);
  });

  it("runs the whole first pass over every source before the second", () => {
    const { result, out } = run("abc", "narenas:0,x-");
    expect(out).toEqual([
      `${J}Conf string ends with key\n`,
      `${J}Malformed conf string\n`,
      `${J}Conf string ends with key\n`,
      `${J}Out-of-range conf value: narenas:0\n`,
      `${J}Malformed conf string\n`,
    ]);
    expect(result.errors).toBe(3);
  });

  it("treats the text after a NUL as absent (C string) and an empty string as no pairs", () => {
    expect(run("narenas:3\0foo:1").result.opt.narenas).toBe(3);
    expect(run("narenas:3\0foo:1").out).toEqual([]);
    expect(run("").out).toEqual([]);
  });

  it("takes values up to the next comma, with any characters", () => {
    const { result, out } = run("stats_print_opts:J g:m,narenas:2");
    expect(out).toEqual([]);
    expect(result.opt.stats_print_opts).toBe("Jgm");
    expect(result.opt.narenas).toBe(2);
  });
});

describe("malloc_conf integers (malloc_strtoumax base 0, whole value)", () => {
  it.each([
    ["010", 8],
    ["0x10", 16],
    ["0X1f", 31],
    [" 7", 7],
    ["\t+3", 3],
    ["4294967297", 1], // (unsigned) cast
    ["4294967298", 2],
  ])("narenas:%s → %i", (v, expected) => {
    const { result, out } = run(`narenas:${v}`);
    expect(out).toEqual([]);
    expect(result.opt.narenas).toBe(expected);
  });

  it.each([["0"], ["00"], ["-0"], ["0x0"]])("lg_extent_max_active_fit:%s → 0", (v) => {
    const { result, out } = run(`lg_extent_max_active_fit:${v}`);
    expect(out).toEqual([]);
    expect(result.opt.lg_extent_max_active_fit).toBe(0);
  });

  it("narenas:4294967296 casts to 0, which means the default", () => {
    expect(run("narenas:4294967296").result.opt.narenas).toBe(8);
  });

  it.each([["08"], ["0x"], ["0xg"], ["1k"], ["12 "], [""], ["-"], ["18446744073709551616"], ["1e3"]])(
    "narenas:%s is an Invalid conf value",
    (v) => {
      expect(run(`narenas:${v}`).out).toEqual([`${J}Invalid conf value: narenas:${v}\n`]);
    },
  );

  it("reads negative values as intmax for signed options", () => {
    const { result, out } = run("dirty_decay_ms:-1,muzzy_decay_ms:-1,mutex_max_spin:-1,stats_interval:-1");
    expect(out).toEqual([]);
    expect(result.opt.dirty_decay_ms).toBe(-1);
    expect(result.opt.muzzy_decay_ms).toBe(-1);
    expect(result.opt.mutex_max_spin).toBe(-1n);
    expect(result.opt.stats_interval).toBe(-1n);
  });

  it("wraps 2^64−1 to −1 for intmax options, as the C cast does", () => {
    const { result, out } = run("mutex_max_spin:18446744073709551615,stats_interval:0x7fffffffffffffff");
    expect(out).toEqual([]);
    expect(result.opt.mutex_max_spin).toBe(-1n);
    expect(result.opt.stats_interval).toBe(9223372036854775807n);
  });

  it("reads uint64 options exactly", () => {
    const { result } = run("hpa_hugify_delay_ms:18446744073709551615,hpa_min_purge_interval_ms:0x10");
    expect(result.opt.hpa_hugify_delay_ms).toBe(18446744073709551615n);
    expect(result.opt.hpa_min_purge_interval_ms).toBe(16n);
  });

  it("keeps a size_t beyond 2^53 as the nearest double not above it", () => {
    const { result } = run("tcache_gc_delay_bytes:-1");
    expect(result.opt.tcache_gc_delay_bytes).toBeLessThan(2 ** 64);
    expect(BigInt(result.opt.tcache_gc_delay_bytes)).toBeLessThanOrEqual(2n ** 64n - 1n);
    expect(result.opt.tcache_gc_delay_bytes).toBeGreaterThan(2 ** 63);
  });
});

describe("malloc_conf precedence", () => {
  it("reads the embedded string first and the environment second: later wins", () => {
    const { result, out } = run("narenas:2,dirty_decay_ms:5000", "narenas:3");
    expect(out).toEqual([]);
    expect(result.opt.narenas).toBe(3);
    expect(result.opt.dirty_decay_ms).toBe(5000);
  });

  it("reports errors of each source in source order", () => {
    const { result, out } = run("narenas:0,tcache:false", "foo:1,tcache:true");
    expect(out).toEqual([`${J}Out-of-range conf value: narenas:0\n`, `${J}Invalid conf pair: foo:1\n`]);
    expect(result.errors).toBe(2);
    expect(result.opt.tcache).toBe(true);
  });

  it("a bad later value leaves the earlier one in place", () => {
    expect(run("narenas:5", "narenas:0").result.opt.narenas).toBe(5);
  });

  it("narenas:default undoes an earlier setting", () => {
    expect(run("narenas:3", "narenas:default").result.opt.narenas).toBe(8);
  });

  it("builds the two sources with jemalloc's labels", () => {
    expect(mallocConfSources("a:1", undefined)).toEqual([
      { label: CONF_SOURCE_LABEL_EMBEDDED, text: "a:1" },
      { label: CONF_SOURCE_LABEL_ENV, text: null },
    ]);
  });
});

describe("abort_conf", () => {
  it("aborts after the source with the error, before reading later sources", () => {
    const { err, out } = runAbort("abort_conf:true,narenas:0", "foo:1");
    expect(out).toEqual([`${J}Out-of-range conf value: narenas:0\n`, ABORT_LINE]);
    expect(err.reason).toBe("abort_conf");
    expect(err.messages).toEqual(out);
  });

  it("aborts after a later source when abort_conf came earlier", () => {
    const { out } = runAbort("abort_conf:true", "foo:1");
    expect(out).toEqual([`${J}Invalid conf pair: foo:1\n`, ABORT_LINE]);
  });

  it("counts a structural error of the first pass, even in a later source (jemalloc's global flag)", () => {
    const { out } = runAbort("abort_conf:true", "abc");
    expect(out).toEqual([`${J}Conf string ends with key\n`, ABORT_LINE]);
  });

  it("does not abort for experimental_ keys or when abort_conf is false", () => {
    expect(run("abort_conf:true,experimental_foo:1").result.errors).toBe(0);
    expect(run("abort_conf:false,foo:1").result.errors).toBe(1);
    // The check runs after each source, so a later abort_conf:false comes too late.
    expect(runAbort("abort_conf:true,foo:1", "abort_conf:false").out.at(-1)).toBe(ABORT_LINE);
    expect(run("foo:1", "abort_conf:false").result.errors).toBe(1);
  });

  it("aborts on hpa:true, where jemalloc would disable it", () => {
    const { out } = runAbort("abort_conf:true,hpa:true");
    expect(out).toEqual([`${J}HPA not supported in the current configuration; aborting.`, ABORT_LINE]);
  });

  it("abort:true with metadata_thp on a build without THP aborts at boot", () => {
    const { err, out } = runAbort("abort:true,metadata_thp:auto");
    expect(out).toEqual([`${J}no MADV_HUGEPAGE support\n`]);
    expect(err.reason).toBe("abort");
    expect(run("metadata_thp:auto").result.opt.metadata_thp).toBe("auto");
  });

  it("abort:true with percpu_arena aborts after the getcpu notice", () => {
    const { err, out } = runAbort("abort:true,percpu_arena:percpu");
    expect(out.at(-1)).toBe(`${J}perCPU arena getcpu() not available. Setting narenas to 8.\n`);
    expect(err.reason).toBe("abort");
  });
});

describe("confirm_conf", () => {
  it("prints each source and every accepted pair", () => {
    const { out } = run("confirm_conf:true,narenas:3,foo:1,tcache:x");
    expect(out).toEqual([
      `${J}malloc_conf #1 (string specified via --with-malloc-conf): "confirm_conf:true,narenas:3,foo:1,tcache:x"\n`,
      `${J}-- Set conf value: confirm_conf:true\n`,
      `${J}-- Set conf value: narenas:3\n`,
      `${J}Invalid conf pair: foo:1\n`,
      `${J}Invalid conf value: tcache:x\n`,
      `${J}malloc_conf #2 (value of the environment variable JEMALLOC_TS_MALLOC_CONF): ""\n`,
    ]);
  });

  it("is read in the first pass, so a later source's confirm_conf prints the first header too", () => {
    const { out } = run("narenas:3", "confirm_conf:true");
    expect(out[0]).toBe(`${J}malloc_conf #1 (string specified via --with-malloc-conf): "narenas:3"\n`);
    expect(out[1]).toBe(`${J}-- Set conf value: narenas:3\n`);
    expect(out[2]).toBe(
      `${J}malloc_conf #2 (value of the environment variable JEMALLOC_TS_MALLOC_CONF): "confirm_conf:true"\n`,
    );
    expect(out).toHaveLength(4);
  });

  it("follows the value as the second pass sets and clears it (first pass left it false)", () => {
    const { out } = run("confirm_conf:true,narenas:2", "confirm_conf:false,narenas:3");
    expect(out).toEqual([
      `${J}-- Set conf value: confirm_conf:true\n`,
      `${J}-- Set conf value: narenas:2\n`,
      `${J}malloc_conf #2 (value of the environment variable JEMALLOC_TS_MALLOC_CONF): "confirm_conf:false,narenas:3"\n`,
    ]);
  });

  it("follows the value as the second pass clears and sets it (first pass left it true)", () => {
    const { out } = run("confirm_conf:false,narenas:2", "confirm_conf:true");
    expect(out).toEqual([
      `${J}malloc_conf #1 (string specified via --with-malloc-conf): "confirm_conf:false,narenas:2"\n`,
      `${J}-- Set conf value: confirm_conf:true\n`,
    ]);
  });
});

describe("key and value prefix quirks (strncmp with the key's length)", () => {
  it("matches metadata_thp, dss and percpu_arena by key prefix", () => {
    expect(run("m:auto").result.opt.metadata_thp).toBe("auto");
    expect(run("meta:al").result.opt.metadata_thp).toBe("always");
    expect(run("d:disabled").result.opt.dss).toBe("disabled");
    expect(run("ds:").result.opt.dss).toBe("disabled");
    expect(run("p:disabled").out).toEqual([`${J}No getcpu support: p:disabled\n`]);
    expect(run("per:x").out).toEqual([`${J}Invalid conf value: per:x\n`]);
  });

  it("an empty key selects metadata_thp", () => {
    expect(run(":always").result.opt.metadata_thp).toBe("always");
    expect(run(":").out).toEqual([]);
    expect(run(":x").out).toEqual([`${J}Invalid conf value: :x\n`]);
  });

  it("a longer key is not a prefix", () => {
    expect(run("metadata_thpx:auto").out).toEqual([`${J}Invalid conf pair: metadata_thpx:auto\n`]);
    expect(run("dsss:disabled").out).toEqual([`${J}Invalid conf pair: dsss:disabled\n`]);
  });

  it("matches values of metadata_thp by prefix, an empty value giving the first name", () => {
    expect(run("metadata_thp:").result.opt.metadata_thp).toBe("disabled");
    expect(run("metadata_thp:a").result.opt.metadata_thp).toBe("auto");
  });
});

describe("other options", () => {
  it("narenas_ratio sets the default narenas = round(ncpus × ratio)", () => {
    expect(run("narenas_ratio:1").result.opt.narenas).toBe(2);
    expect(run("narenas_ratio:2.5", null, 3).result.opt.narenas).toBe(8); // 7.5 rounds up
    expect(run("narenas_ratio:0.1").result.opt.narenas).toBe(1); // 0.2 → 0 → 1
    expect(run("narenas_ratio:3", null, 1).result.opt.narenas).toBe(1);
    expect(run("narenas_ratio:0.5").result.narenasRatio).toBe(32768);
  });

  it("narenas_ratio with trailing text is reported but still applied (as in jemalloc)", () => {
    const { result, out } = run("narenas_ratio:2x");
    expect(out).toEqual([`${J}Invalid conf value: narenas_ratio:2x\n`]);
    expect(result.opt.narenas).toBe(4);
    expect(run("narenas_ratio:65536").result.opt.narenas).toBe(8);
  });

  it("lg_tcache_max sets tcache_max = 2^v, clipped at 2^23", () => {
    expect(run("lg_tcache_max:10").result.opt.tcache_max).toBe(1024);
    expect(run("lg_tcache_max:30").result.opt.tcache_max).toBe(8 * 1024 * 1024);
    expect(run("lg_tcache_max:x").out).toEqual([`${J}Invalid conf value: lg_tcache_max:x\n`]);
  });

  it("stats_*_opts keep valid letters once and accumulate over settings", () => {
    const { result } = run("stats_print_opts:Jzg,stats_interval_opts:abc", "stats_print_opts:gmJ");
    expect(result.opt.stats_print_opts).toBe("Jgm");
    expect(result.opt.stats_interval_opts).toBe("ab");
  });

  it("junk and zero_realloc accept exactly their names", () => {
    for (const v of ["true", "false", "alloc", "free"]) expect(run(`junk:${v}`).result.opt.junk).toBe(v);
    for (const v of ["alloc", "free", "abort"]) {
      expect(run(`zero_realloc:${v}`).result.opt.zero_realloc).toBe(v);
    }
    expect(run("junk:fre").out).toEqual([`${J}Invalid conf value: junk:fre\n`]);
  });

  it("hpa_dirty_mult: -1 or a fixed-point number", () => {
    expect(run("hpa_dirty_mult:-1").result.opt.hpa_dirty_mult).toBe(0xffffffff);
    expect(run("hpa_dirty_mult:0.5").result.opt.hpa_dirty_mult).toBe(32768);
    expect(run("hpa_dirty_mult:-2").out).toEqual([`${J}Invalid conf value: hpa_dirty_mult:-2\n`]);
  });

  it("hpa_hugification_threshold_ratio sets the threshold from HUGEPAGE", () => {
    expect(run("hpa_hugification_threshold_ratio:0.5").result.opt.hpa_hugification_threshold).toBe(1048576);
    expect(run("hpa_hugification_threshold_ratio:1").result.opt.hpa_hugification_threshold).toBe(2097152);
    expect(run("hpa_hugification_threshold_ratio:1.5").out).toEqual([
      `${J}Invalid conf value: hpa_hugification_threshold_ratio:1.5\n`,
    ]);
  });

  it("oversize_threshold outside the large classes turns the huge arena off", () => {
    const off = run("oversize_threshold:4096").result;
    expect(off.opt.oversize_threshold).toBe(0);
    expect(off.hugeArena).toBe(false);
    expect(off.oversizeThresholdEffective).toBe(Number((7n << 60n) + 4096n));
    const on = run("oversize_threshold:16384").result;
    expect(on.hugeArena).toBe(true);
    expect(on.oversizeThresholdEffective).toBe(16384);
  });

  it("max_background_threads clips to its current value; the unset value becomes 4 at boot", () => {
    expect(
      run("max_background_threads:10", "max_background_threads:20").result.opt.max_background_threads,
    ).toBe(10);
    expect(run("max_background_threads:4095").result.opt.max_background_threads).toBe(4095);
    expect(run("max_background_threads:5000").result.opt.max_background_threads).toBe(4);
    expect(run("max_background_threads:0").result.opt.max_background_threads).toBe(1);
  });

  it("accepts the remaining plain options", () => {
    const { result, out } = run(
      "background_thread:true,retain:false,trust_madvise:true,abort:false,stats_print:true,tcache:false,san_guard_small:5,san_guard_large:7",
    );
    expect(out).toEqual([]);
    expect(result.opt.background_thread).toBe(true);
    expect(result.opt.retain).toBe(false);
    expect(result.opt.trust_madvise).toBe(true);
    expect(result.opt.stats_print).toBe(true);
    expect(result.opt.tcache).toBe(false);
    expect(result.sanGuardSmall).toBe(5);
    expect(result.sanGuardLarge).toBe(7);
  });
});

describe("parseMallocConf argument checks", () => {
  it("rejects bad options and sources with errors naming the value", () => {
    const sources = mallocConfSources("", null);
    expect(() => parseMallocConf(sources, { ncpus: 0 })).toThrow(RangeError);
    expect(() => parseMallocConf(sources, { ncpus: 1.5 })).toThrow(/ncpus.*1\.5/);
    expect(() => parseMallocConf(sources, { ncpus: 2, lgPage: 11 })).toThrow(/lgPage.*11/);
    expect(() => parseMallocConf(sources, { ncpus: 2, lgHugepage: 40 })).toThrow(/lgHugepage/);
    expect(() => parseMallocConf([{ label: "x", text: 3 as unknown as string }], { ncpus: 2 })).toThrow(
      TypeError,
    );
  });

  it("writes to stderr by default", () => {
    const writes: string[] = [];
    const orig = process.stderr.write.bind(process.stderr);
    process.stderr.write = ((s: string) => {
      writes.push(s);
      return true;
    }) as typeof process.stderr.write;
    try {
      parseMallocConf(mallocConfSources("foo:1", null), { ncpus: 2 });
    } finally {
      process.stderr.write = orig;
    }
    expect(writes).toEqual([`${J}Invalid conf pair: foo:1\n`]);
  });
});
