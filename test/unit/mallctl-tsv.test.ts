// Walks every row of mallctl-5.3.tsv on a real heap: each leaf is served with
// jemalloc's C type, mode and MIB, or answers ENOENT as a jemalloc built without the
// feature does (and is then listed, with why, in ENOENT_LEAVES).
import { readdirSync, readFileSync } from "node:fs";
import { afterAll, describe, expect, it } from "vitest";
import { mallctlByMib, mallctlNameToMib } from "../../src/heap/mallctl.js";
import { Heap } from "../../src/heap.js";
import { ENOENT_LEAVES, MALLCTL_ROOT, MallctlError, PLATFORM_ANSWERS } from "../../src/mallctl/index.js";
import { type CtlNode, nodeByMib } from "../../src/mallctl/tree.js";

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

// Profiling on (with prof_stats), so every prof.* row is served; test/unit/mallctl-errors covers
// the answers of a heap without it.
const heap = Heap.create({ ncpus: 2, envConf: null, conf: "prof:true,prof_stats:true" });
afterAll(() => heap.detach());

/** The row with its <i>/<j> indices replaced by 0. */
function concrete(s: string): string {
  return s.replace(/<[ij]>/g, "0");
}

/** Our tree's C type for a TSV c_type (pointers, structs and hook tables are "opaque"). */
function treeType(ctype: string): string {
  if (ctype.startsWith("fxp_t")) return "fxp_t";
  if (ctype.startsWith("unsigned (out)")) return "unsigned";
  if (ctype.startsWith("size_t (out count)")) return "size_t";
  const plain = [
    "bool",
    "unsigned",
    "uint32_t",
    "size_t",
    "ssize_t",
    "uint64_t",
    "int64_t",
    "const char *",
    "void",
  ];
  return plain.includes(ctype) ? ctype : "opaque";
}

function treeAccess(mode: string): string {
  if (mode.startsWith("rw")) return "rw";
  return { "r-": "r", "-w": "w", "--": "-" }[mode] ?? `?${mode}`;
}

/** The JS type a read of `ctype` returns. */
function jsTypeOk(ctype: string, v: unknown): boolean {
  switch (treeType(ctype)) {
    case "bool":
      return typeof v === "boolean";
    case "uint64_t":
    case "int64_t":
      return typeof v === "bigint";
    case "const char *":
      return typeof v === "string";
    case "void":
      return v === undefined;
    case "opaque":
      return v === null || typeof v === "number" || typeof v === "object";
    default:
      return typeof v === "number" && Number.isInteger(v);
  }
}

function codeOf(fn: () => unknown): string {
  try {
    fn();
    return "OK";
  } catch (e) {
    if (e instanceof MallctlError) return e.code;
    throw e;
  }
}

/** Inputs for leaves that are written and read in one call. */
function sampleWrite(name: string): unknown {
  const p = heap.malloc(48);
  switch (name) {
    case "arenas.lookup":
    case "experimental.utilization.query":
      return p;
    case "experimental.utilization.batch_query":
      return [p];
    case "experimental.arenas_create_ext":
      return {};
    case "experimental.batch_alloc":
      return { ptrs: new Uint32Array(2), num: 2, size: 16 };
    default:
      return undefined;
  }
}

describe("every row of mallctl-5.3.tsv", () => {
  it("has the TSV's rows (398 lines: 1 header, 2 comments)", () => {
    expect(ROWS.length).toBe(395);
  });

  it("lists only TSV names as ENOENT or platform answers", () => {
    const names = new Set(ROWS.map((r) => r.name));
    for (const n of Object.keys(ENOENT_LEAVES)) expect(names.has(n), n).toBe(true);
    for (const n of Object.keys(PLATFORM_ANSWERS)) {
      const prefix = n.replace(/\*$/, "").replace(/hpa_\*$/, "hpa_");
      expect(
        ROWS.some((r) => r.name === n || r.name.startsWith(prefix)),
        n,
      ).toBe(true);
    }
  });

  for (const row of ROWS) {
    const name = concrete(row.name);
    if (Object.hasOwn(ENOENT_LEAVES, row.name)) {
      it(`${row.name} answers ENOENT (${ENOENT_LEAVES[row.name]!.slice(0, 40)}…)`, () => {
        // The name still resolves to the TSV's MIB (jemalloc's node exists; its handler says ENOENT),
        // except below prof.stats.{bins,lextents}, whose index validator accepts nothing without prof.
        if (!row.name.startsWith("prof.stats.")) {
          expect(mallctlNameToMib(heap, name)).toEqual(concrete(row.mib).split(".").map(Number));
        } else {
          expect(codeOf(() => mallctlNameToMib(heap, name))).toBe("ENOENT");
        }
        expect(codeOf(() => heap.mallctl(name))).toBe("ENOENT");
        expect(codeOf(() => heap.mallctl(name, 1))).toBe("ENOENT");
      });
      continue;
    }
    it(`${row.name}: MIB ${row.mib}, ${row.ctype}, ${row.mode}`, () => {
      const mib = concrete(row.mib).split(".").map(Number);
      expect(mallctlNameToMib(heap, name)).toEqual(mib);
      const node = nodeByMib(MALLCTL_ROOT, mib, heap) as CtlNode<Heap>;
      expect(node.kind).toBe("leaf");
      if (node.kind !== "leaf") return;
      expect(node.access).toBe(treeAccess(row.mode));
      expect(node.type).toBe(treeType(row.ctype));
      const input = sampleWrite(row.name);
      switch (node.access) {
        case "r": {
          const v = heap.mallctl(name);
          expect(jsTypeOk(row.ctype, v), `${name} read ${String(v)}`).toBe(true);
          expect(mallctlByMib(heap, mib) === v || typeof v === "object" || row.name === "tcache.create").toBe(
            true,
          );
          expect(codeOf(() => heap.mallctl(name, v ?? 1))).toBe("EPERM");
          break;
        }
        case "rw": {
          if (input !== undefined) {
            expect(jsTypeOk(row.ctype, heap.mallctl(name, input))).toBe(true);
            break;
          }
          const code = codeOf(() => heap.mallctl(name));
          if (code !== "OK") {
            // Leaves that need an input answer EINVAL when only read.
            expect(code).toBe("EINVAL");
            break;
          }
          expect(jsTypeOk(row.ctype, heap.mallctl(name))).toBe(true);
          break;
        }
        case "-": {
          expect(codeOf(() => heap.mallctl(name, 1))).toBe("EPERM");
          // arena.0.reset / destroy: arena 0 is automatic → EFAULT, as jemalloc answers.
          const code = codeOf(() => heap.mallctl(name));
          // prof.log_stop with no log started: EFAULT, as prof_log_stop fails.
          const fault = /^arena\.0\.(reset|destroy)$/.test(name) || name === "prof.log_stop";
          expect(code).toBe(fault ? "EFAULT" : "OK");
          break;
        }
        default: {
          // Write-only: a wrong type is EINVAL; the leaf exists and is typed.
          const bad = node.type === "const char *" ? 12345 : "not a number";
          if (node.type !== "opaque") expect(codeOf(() => heap.mallctl(name, bad))).toBe("EINVAL");
        }
      }
    });
  }
});

describe("the tree holds nothing the TSV does not list", () => {
  it("every leaf of the tree (index 0 for indexed nodes) is a TSV row", () => {
    const names = new Set(ROWS.map((r) => concrete(r.name)));
    const found: string[] = [];
    const walk = (node: CtlNode<Heap>, path: string[], mib: number[]): void => {
      if (node.kind === "leaf") {
        found.push(path.join("."));
        return;
      }
      if (node.kind === "named") {
        node.children.forEach((c, k) => {
          walk(c.node, [...path, c.name], [...mib, k]);
        });
        return;
      }
      const child = node.index(heap, 0, mib);
      if (child !== null) walk(child, [...path, "0"], [...mib, 0]);
    };
    walk(MALLCTL_ROOT, [], []);
    for (const n of found) expect(names.has(n), n).toBe(true);
    // With prof and prof_stats on, prof.stats.{bins,lextents}.<i> are reached too: every row.
    expect(found.length).toBe(ROWS.length);
  });
});

/**
 * The values jemalloc fixes for a configuration, against the tables the real library dumped for each
 * build (test/fixtures/tables: lg_quantum, lg_page, lg_hugepage; 2 CPUs; no malloc_conf): every opt.*
 * default, every config.*, the arenas.* constants, each bin's and each large class's figures.
 */
type TableVal = string | number | boolean | null;
interface Table {
  lg: { lg_quantum: number; lg_page: number };
  variant: string;
  config: Record<string, TableVal>;
  opt: Record<string, TableVal>;
  unreadable: Record<string, string>;
  arenas: Record<string, TableVal>;
  bins: { size: number; nregs: number; slab_size: number; nshards: number }[];
  lextents: (number | string)[];
}

const TABLES_DIR = new URL("../fixtures/tables/", import.meta.url);
const TABLES = readdirSync(TABLES_DIR)
  .filter((f) => f.endsWith(".json"))
  .sort();

/** Leaves whose value differs by design, and why. */
const BY_DESIGN: Record<string, string> = {
  "config.prof": "profiling is built here (the reference builds lack --enable-prof)",
  "config.prof_libgcc": "no libgcc unwinder: JavaScript stacks are captured by V8",
  "config.xmalloc": "xmalloc is built in (opt.xmalloc is served)",
  "opt.xmalloc": "built in here, so served where a build without --enable-xmalloc answers ENOENT",
  "opt.lg_san_uaf_align":
    "built in here (reads -1, off), where a build without --enable-uaf-detection answers ENOENT",
  "opt.thp": 'no MADV_HUGEPAGE in a buffer: "not supported"',
  "arenas.hugepage": "5.3.0 has no such mallctl (the table says null)",
};

function norm(v: unknown): TableVal {
  return typeof v === "bigint" ? Number(v) : (v as TableVal);
}

describe.each(TABLES)("values fixed by the configuration: %s", (file) => {
  const t = JSON.parse(readFileSync(new URL(file, TABLES_DIR), "utf8")) as Table;
  const lgHugepage = Number(/-h(\d+)/.exec(file)?.[1] ?? 21);
  const h = Heap.create({
    ncpus: 2,
    envConf: null,
    conf: "",
    lgQuantum: t.lg.lg_quantum,
    lgPage: t.lg.lg_page,
    lgHugepage,
    maxBytes: 64 << 20,
  });
  afterAll(() => h.detach());

  function mismatches(prefix: string, want: Record<string, TableVal>): string[] {
    const out: string[] = [];
    for (const [k, v] of Object.entries(want)) {
      const name = `${prefix}.${k}`;
      // Unreadable in that build, by design here, or a leaf this port answers ENOENT for (profiling).
      if (
        Object.hasOwn(BY_DESIGN, name) ||
        Object.hasOwn(t.unreadable, k) ||
        Object.hasOwn(ENOENT_LEAVES, name)
      )
        continue;
      const got = codeOf(() => h.mallctl(name)) === "OK" ? norm(h.mallctl(name)) : "(no such leaf)";
      if (got !== v) out.push(`${name}: jemalloc ${JSON.stringify(v)}, ours ${JSON.stringify(got)}`);
    }
    return out;
  }

  it("every opt.* default", () => {
    expect(mismatches("opt", t.opt)).toEqual([]);
    for (const k of Object.keys(t.unreadable)) {
      // The reference builds lack --enable-prof; this port serves the profiling options.
      if (/^(lg_)?prof/.test(k)) {
        expect(
          codeOf(() => h.mallctl(`opt.${k}`)),
          k,
        ).toBe("OK");
        continue;
      }
      if (!Object.hasOwn(BY_DESIGN, `opt.${k}`))
        expect(
          codeOf(() => h.mallctl(`opt.${k}`)),
          k,
        ).toBe("ENOENT");
    }
  });

  it("every config.*", () => {
    expect(mismatches("config", t.config)).toEqual([]);
  });

  it("the arenas.* constants, every bin and every large class", () => {
    expect(mismatches("arenas", t.arenas)).toEqual([]);
    expect(h.mallctl("arenas.nbins")).toBe(t.bins.length);
    t.bins.forEach((b, i) => {
      expect(
        [
          h.mallctl(`arenas.bin.${i}.size`),
          h.mallctl(`arenas.bin.${i}.nregs`),
          h.mallctl(`arenas.bin.${i}.slab_size`),
          h.mallctl(`arenas.bin.${i}.nshards`),
        ],
        `bin ${i}`,
      ).toEqual([b.size, b.nregs, b.slab_size, b.nshards]);
    });
    expect(h.mallctl("arenas.nlextents")).toBe(t.lextents.length);
    t.lextents.forEach((size, i) => {
      expect(norm(h.mallctl(`arenas.lextent.${i}.size`)), `lextent ${i}`).toBe(Number(size));
    });
  });
});
