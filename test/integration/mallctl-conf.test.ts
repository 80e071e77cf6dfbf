// malloc_conf through Heap.create: the two sources and their precedence, every
// message kind (through the `writer` option), clamping, and what opt.* reads back.
import { afterEach, describe, expect, it } from "vitest";
import { CONF_ENV_VAR } from "../../src/conf/conf.js";
import { MallocConfAbortError } from "../../src/errors.js";
import { Heap } from "../../src/heap.js";

const J = "<jemalloc>: ";

interface Made {
  heap: Heap;
  out: string[];
}

const heaps: Heap[] = [];
afterEach(() => {
  for (const h of heaps.splice(0)) h.detach();
});

function make(conf: string, envConf: string | null = null): Made {
  const out: string[] = [];
  const heap = Heap.create({ ncpus: 2, conf, envConf, writer: (m) => out.push(m) });
  heaps.push(heap);
  return { heap, out };
}

describe("sources and precedence", () => {
  it("the embedded string is config.malloc_conf and the first source", () => {
    const { heap, out } = make("narenas:3,dirty_decay_ms:5000");
    expect(out).toEqual([]);
    expect(heap.mallctl("config.malloc_conf")).toBe("narenas:3,dirty_decay_ms:5000");
    expect(heap.mallctl("opt.narenas")).toBe(3);
    expect(heap.mallctl("opt.dirty_decay_ms")).toBe(5000);
    expect(heap.mallctl("arenas.dirty_decay_ms")).toBe(5000);
    expect(heap.mallctl("arenas.narenas")).toBe(4); // 3 + the huge arena
  });

  it("the environment's string is read after it: later settings win", () => {
    const { heap } = make("narenas:3,muzzy_decay_ms:100", "narenas:5");
    expect(heap.mallctl("opt.narenas")).toBe(5);
    expect(heap.mallctl("opt.muzzy_decay_ms")).toBe(100);
    expect(heap.mallctl("config.malloc_conf")).toBe("narenas:3,muzzy_decay_ms:100");
  });

  it(`reads ${CONF_ENV_VAR} from process.env when envConf is not given; envConf: null ignores it`, () => {
    const saved = process.env[CONF_ENV_VAR];
    process.env[CONF_ENV_VAR] = "narenas:6,abort:false";
    try {
      const h1 = Heap.create({ ncpus: 2, conf: "narenas:2", writer: () => {} });
      heaps.push(h1);
      expect(h1.mallctl("opt.narenas")).toBe(6);
      const h2 = Heap.create({ ncpus: 2, conf: "narenas:2", envConf: null, writer: () => {} });
      heaps.push(h2);
      expect(h2.mallctl("opt.narenas")).toBe(2);
    } finally {
      if (saved === undefined) delete process.env[CONF_ENV_VAR];
      else process.env[CONF_ENV_VAR] = saved;
    }
  });

  it("a worker attaching later derives the same options from the header, silently", () => {
    const { heap } = make("narenas:3", "tcache_max:4096");
    const out: string[] = [];
    const other = Heap.attach(heap.buffer, { writer: (m) => out.push(m) });
    expect(other.mallctl("opt.narenas")).toBe(3);
    expect(other.mallctl("opt.tcache_max")).toBe(4096);
    expect(other.mallctl("config.malloc_conf")).toBe("narenas:3");
    expect(out).toEqual([]);
    other.detach();
  });

  it("confirm_conf prints both sources and every accepted pair", () => {
    const { out } = make("confirm_conf:true,narenas:2", "retain:true");
    expect(out).toEqual([
      `${J}malloc_conf #1 (string specified via --with-malloc-conf): "confirm_conf:true,narenas:2"\n`,
      `${J}-- Set conf value: confirm_conf:true\n`,
      `${J}-- Set conf value: narenas:2\n`,
      `${J}malloc_conf #2 (value of the environment variable ${CONF_ENV_VAR}): "retain:true"\n`,
      `${J}-- Set conf value: retain:true\n`,
    ]);
  });
});

describe("every message kind", () => {
  it.each([
    ["foo:1", [`${J}Invalid conf pair: foo:1\n`]],
    ["prof_time_resolution:x", [`${J}Invalid conf value: prof_time_resolution:x\n`]],
    ["utrace:true", [`${J}Invalid conf pair: utrace:true\n`]],
    ["narenas:abc", [`${J}Invalid conf value: narenas:abc\n`]],
    ["abort:yes", [`${J}Invalid conf value: abort:yes\n`]],
    ["narenas:0", [`${J}Out-of-range conf value: narenas:0\n`]],
    ["dirty_decay_ms:-2", [`${J}Out-of-range conf value: dirty_decay_ms:-2\n`]],
    ["slab_sizes:1-2", [`${J}Invalid settings for slab_sizes: slab_sizes:1-2\n`]],
    ["bin_shards:1-2:100", [`${J}Invalid settings for bin_shards: bin_shards:1-2:100\n`]],
    ["thp:always", [`${J}No THP support: thp:always\n`]],
    ["dss:primary", [`${J}Error setting dss: dss:primary\n`, `${J}Invalid conf value: dss:primary\n`]],
    [
      "percpu_arena:percpu",
      [
        `${J}No getcpu support: percpu_arena:percpu\n`,
        `${J}perCPU arena getcpu() not available. Setting narenas to 8.\n`,
      ],
    ],
    ["hpa:true", [`${J}HPA not supported in the current configuration; disabling.`]],
    ["narenas:5000", [`${J}Reducing narenas to limit (4094)\n`]],
    ["experimental_foo:1", [`${J}Invalid conf pair: experimental_foo:1\n`]],
  ])("%s", (conf, messages) => {
    expect(make(conf).out).toEqual(messages);
  });

  it.each([
    ["narenas", "Conf string ends with key"],
    ["narenas:2,", "Conf string ends with comma"],
    ["narenas:2,a-b:1", "Malformed conf string"],
  ])("structural %j: %s (printed by both passes)", (conf, msg) => {
    expect(make(conf).out).toEqual([`${J}${msg}\n`, `${J}${msg}\n`]);
  });

  it("abort_conf:true stops Heap.create after the source with an error", () => {
    const out: string[] = [];
    let err: unknown;
    try {
      Heap.create({ ncpus: 2, conf: "abort_conf:true,foo:1", envConf: null, writer: (m) => out.push(m) });
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(MallocConfAbortError);
    expect(out).toEqual([
      `${J}Invalid conf pair: foo:1\n`,
      `${J}Abort (abort_conf:true) on invalid conf value (see above).\n`,
    ]);
  });

  it("abort_conf in the environment aborts on an error of the embedded string only after both are read", () => {
    const out: string[] = [];
    expect(() =>
      Heap.create({ ncpus: 2, conf: "narenas:0", envConf: "abort_conf:true", writer: (m) => out.push(m) }),
    ).toThrow(MallocConfAbortError);
    expect(out.at(-1)).toBe(`${J}Abort (abort_conf:true) on invalid conf value (see above).\n`);
  });
});

describe("clamping and values read back", () => {
  it("clipping options clamp silently; opt.* reads what took effect", () => {
    const { heap, out } = make(
      "tcache_nslots_small_min:0,tcache_nslots_small_max:100000,tcache_max:100000000,lg_tcache_flush_small_div:99,tcache_gc_incr_bytes:1,max_background_threads:2",
    );
    expect(out).toEqual([]);
    expect(heap.mallctl("opt.tcache_nslots_small_min")).toBe(1);
    expect(heap.mallctl("opt.tcache_nslots_small_max")).toBe(2048);
    expect(heap.mallctl("opt.tcache_max")).toBe(8 * 1024 * 1024);
    expect(heap.mallctl("opt.lg_tcache_flush_small_div")).toBe(16);
    expect(heap.mallctl("opt.tcache_gc_incr_bytes")).toBe(1024);
    expect(heap.mallctl("opt.max_background_threads")).toBe(2);
    expect(heap.mallctl("max_background_threads")).toBe(2);
  });

  it("lg_tcache_max, narenas:default, stats letters, numbers in hex and octal", () => {
    const { heap, out } = make(
      "lg_tcache_max:12,narenas:default,stats_print_opts:JJxq,oversize_threshold:0x100000,narenas:010",
    );
    expect(out).toEqual([]);
    expect(heap.mallctl("opt.tcache_max")).toBe(4096);
    expect(heap.mallctl("arenas.tcache_max")).toBe(4096);
    expect(heap.mallctl("opt.stats_print_opts")).toBe("Jx");
    expect(heap.mallctl("opt.oversize_threshold")).toBe(1 << 20);
    expect(heap.mallctl("opt.narenas")).toBe(8);
  });

  it("options of platform features answer as jemalloc without them", () => {
    const { heap } = make("thp:never,metadata_thp:auto,dss:disabled");
    expect(heap.mallctl("opt.thp")).toBe("not supported");
    expect(heap.mallctl("opt.metadata_thp")).toBe("auto");
    expect(heap.mallctl("opt.dss")).toBe("disabled");
    expect(heap.mallctl("opt.percpu_arena")).toBe("disabled");
    expect(heap.mallctl("opt.hpa")).toBe(false);
    expect(heap.mallctl("arena.0.dss")).toBe("disabled");
  });
});
