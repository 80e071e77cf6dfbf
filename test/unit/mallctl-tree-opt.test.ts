import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { mallocConfSources, parseMallocConf } from "../../src/conf/conf.js";
import { BUILD_CONFIG, featureBuilt, OPT_TABLE, type OptValues } from "../../src/conf/opt.js";
import { MallctlError } from "../../src/errors.js";
import {
  buildOptSubtree,
  CONFIG_LEAF_NAMES,
  type CtlLeaf,
  configSubtree,
  constLeaf,
  leaf,
  mallctlCall,
  named,
  nodeByMib,
  resolveName,
  VERSION,
  versionLeaf,
} from "../../src/mallctl/tree.js";

interface Row {
  name: string;
  ctype: string;
  mode: string;
  mib: string;
}

const ROWS: Row[] = readFileSync(new URL("../fixtures/mallctl-5.3.tsv", import.meta.url), "utf8")
  .split("\n")
  .filter((line) => line.length > 0 && !line.startsWith("#") && !line.startsWith("name\t"))
  .map((line) => {
    const [name = "", ctype = "", mode = "", , , mib = ""] = line.split("\t");
    return { name, ctype, mode, mib };
  });

/** A heap stand-in: the options in effect and the embedded conf string. */
interface FakeHeap {
  opt: OptValues;
  embedded: string;
}

function heapWith(embedded: string): FakeHeap {
  const { opt } = parseMallocConf(mallocConfSources(embedded, null), { ncpus: 2, writer: () => {} });
  return { opt, embedded };
}

const placeholder = constLeaf<FakeHeap>("bool", false);
const ROOT = named<FakeHeap>([
  ["version", versionLeaf<FakeHeap>()],
  ["epoch", placeholder],
  ["background_thread", placeholder],
  ["max_background_threads", placeholder],
  ["thread", named<FakeHeap>([["arena", placeholder]])],
  ["config", configSubtree<FakeHeap>((h) => h.embedded)],
  ["opt", buildOptSubtree<FakeHeap>((h) => h.opt)],
]);

const OURS = ROWS.filter(
  (r) => r.name === "version" || r.name.startsWith("config.") || r.name.startsWith("opt."),
);

function codeOf(fn: () => unknown): string {
  try {
    fn();
  } catch (err) {
    if (err instanceof MallctlError) return err.code;
    throw err;
  }
  return "ok";
}

describe("version, config.* and opt.* subtrees", () => {
  it("serve every TSV leaf of theirs at the TSV's MIB, typed and read-only", () => {
    expect(OURS).toHaveLength(1 + 12 + 65);
    const heap = heapWith("");
    for (const row of OURS) {
      const mib = row.mib.split(".").map(Number);
      expect([row.name, resolveName(ROOT, row.name, heap)]).toEqual([row.name, mib]);
      const node = nodeByMib(ROOT, mib, heap) as CtlLeaf<FakeHeap>;
      expect(node.kind).toBe("leaf");
      expect([row.name, node.type]).toEqual([row.name, row.ctype.split(" (")[0]]);
      expect(node.access).toBe("r");
    }
  });

  it("read opt values of the context, ENOENT for options of features not built", () => {
    const heap = heapWith("narenas:3,dirty_decay_ms:-1,junk:free,mutex_max_spin:7,xmalloc:true");
    expect(mallctlCall(ROOT, heap, "opt.narenas")).toBe(3);
    expect(mallctlCall(ROOT, heap, "opt.dirty_decay_ms")).toBe(-1);
    expect(mallctlCall(ROOT, heap, "opt.junk")).toBe("free");
    expect(mallctlCall(ROOT, heap, "opt.mutex_max_spin")).toBe(7n);
    expect(mallctlCall(ROOT, heap, "opt.xmalloc")).toBe(true);
    expect(mallctlCall(ROOT, heap, "opt.thp")).toBe("not supported");
    expect(mallctlCall(ROOT, heap, [6, 19])).toBe(3);
    for (const spec of OPT_TABLE) {
      const name = `opt.${spec.name}`;
      if (featureBuilt(spec.feature)) expect(mallctlCall(ROOT, heap, name)).toEqual(heap.opt[spec.name]);
      else expect([name, codeOf(() => mallctlCall(ROOT, heap, name))]).toEqual([name, "ENOENT"]);
    }
    heap.opt.narenas = 5;
    expect(mallctlCall(ROOT, heap, "opt.narenas")).toBe(5);
  });

  it("refuse writes: EPERM, or ENOENT first for options not built", () => {
    const heap = heapWith("");
    expect(codeOf(() => mallctlCall(ROOT, heap, "opt.narenas", 4))).toBe("EPERM");
    expect(codeOf(() => mallctlCall(ROOT, heap, "opt.prof", true))).toBe("EPERM");
    expect(codeOf(() => mallctlCall(ROOT, heap, "opt.utrace", true))).toBe("ENOENT");
    expect(codeOf(() => mallctlCall(ROOT, heap, "config.debug", true))).toBe("EPERM");
    expect(codeOf(() => mallctlCall(ROOT, heap, "version", "x"))).toBe("EPERM");
  });

  it("config.* reports this build; config.malloc_conf is the embedded string", () => {
    const heap = heapWith("narenas:2");
    expect(mallctlCall(ROOT, heap, "config.malloc_conf")).toBe("narenas:2");
    expect(mallctlCall(ROOT, heap, "config.stats")).toBe(true);
    expect(mallctlCall(ROOT, heap, "config.fill")).toBe(true);
    expect(mallctlCall(ROOT, heap, "config.prof")).toBe(true);
    expect(mallctlCall(ROOT, heap, "config.xmalloc")).toBe(true);
    expect(mallctlCall(ROOT, heap, "config.cache_oblivious")).toBe(true);
    for (const name of CONFIG_LEAF_NAMES) {
      if (name !== "malloc_conf") expect(mallctlCall(ROOT, heap, `config.${name}`)).toBe(BUILD_CONFIG[name]);
    }
  });

  it("configSubtree takes other build flags", () => {
    const root = named<FakeHeap>([
      ["config", configSubtree<FakeHeap>(() => "", { ...BUILD_CONFIG, debug: true })],
    ]);
    expect(mallctlCall(root, heapWith(""), "config.debug")).toBe(true);
  });

  it("version keeps jemalloc's x.y.z-n- prefix and names the port", () => {
    expect(mallctlCall(ROOT, heapWith(""), "version")).toBe(VERSION);
    expect(VERSION).toMatch(/^5\.3\.0-0-jemalloc-ts-\d+\.\d+\.\d+$/);
  });

  it("every opt leaf is a leaf() with the table's type", () => {
    const opt = buildOptSubtree<FakeHeap>((h) => h.opt);
    expect(opt.children.map((c) => c.name)).toEqual(OPT_TABLE.map((o) => o.name));
    const sample = leaf<FakeHeap>({ type: "bool", access: "r", read: () => true });
    expect(sample.kind).toBe("leaf");
  });
});
