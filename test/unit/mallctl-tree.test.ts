import { readFileSync } from "node:fs";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { EAGAIN, EFAULT, EINVAL, ENOENT, EPERM, MallctlError } from "../../src/errors.js";
import {
  type Access,
  type CType,
  type CtlNamed,
  type CtlNode,
  clearNameCache,
  coerceNewValue,
  indexed,
  indexedBelow,
  leaf,
  mallctlCall,
  named,
  nodeByMib,
  resolveName,
} from "../../src/mallctl/tree.js";

interface Row {
  name: string;
  ctype: string;
  mode: string;
  mib: string;
}

function readTsv(): Row[] {
  const text = readFileSync(new URL("../fixtures/mallctl-5.3.tsv", import.meta.url), "utf8");
  return text
    .split("\n")
    .filter((line) => line.length > 0 && !line.startsWith("#") && !line.startsWith("name\t"))
    .map((line) => {
      const [name = "", ctype = "", mode = "", , , mib = ""] = line.split("\t");
      return { name, ctype, mode, mib };
    });
}

const ROWS = readTsv();

/** The test context: how many indices the indexed nodes accept, and a log of writes/actions. */
interface Ctx {
  limit: number;
  log: string[];
}

const PRIMITIVE: ReadonlySet<string> = new Set([
  "bool",
  "unsigned",
  "uint32_t",
  "size_t",
  "ssize_t",
  "uint64_t",
  "int64_t",
  "const char *",
  "void",
]);

function cType(tsv: string): CType {
  if (tsv.startsWith("fxp_t")) return "fxp_t";
  return PRIMITIVE.has(tsv) ? (tsv as CType) : "opaque";
}

function access(mode: string): Access {
  if (mode.startsWith("rw")) return "rw";
  return ({ "r-": "r", "-w": "w", "--": "-" } as const)[mode as "r-" | "-w" | "--"];
}

// A prototype tree assembled from the TSV's names and MIB columns.
interface Proto {
  kind?: "named" | "indexed" | "leaf";
  children?: Map<number, { name: string; proto: Proto }>;
  child?: Proto;
  row?: Row;
}

function place(p: Proto, comps: string[], mibs: string[], row: Row): void {
  const [c, ...rest] = comps;
  const [m, ...mrest] = mibs;
  if (c === undefined || m === undefined) {
    p.kind = "leaf";
    p.row = row;
    return;
  }
  if (c.startsWith("<")) {
    p.kind = "indexed";
    p.child ??= {};
    place(p.child, rest, mrest, row);
    return;
  }
  p.kind = "named";
  p.children ??= new Map();
  let entry = p.children.get(Number(m));
  if (entry === undefined) {
    entry = { name: c, proto: {} };
    p.children.set(Number(m), entry);
  }
  if (entry.name !== c) throw new Error(`TSV: position ${m} holds ${entry.name} and ${c}`);
  place(entry.proto, rest, mrest, row);
}

function build(p: Proto): CtlNode<Ctx> {
  if (p.kind === "leaf" && p.row !== undefined) {
    const row = p.row;
    const acc = access(row.mode);
    return leaf<Ctx>({
      type: acc === "-" ? "void" : cType(row.ctype),
      access: acc,
      read: (_ctx, mib) => `${row.name}@${mib.join(".")}`,
      write: (ctx, _mib, v) => {
        ctx.log.push(`write ${row.name} ${typeof v} ${String(v)}`);
      },
      run: (ctx) => {
        ctx.log.push(`run ${row.name}`);
      },
    });
  }
  if (p.kind === "indexed" && p.child !== undefined) {
    const child = build(p.child);
    return indexed<Ctx>((ctx, i) => (i < ctx.limit || i === 4096 || i === 4097 ? child : null));
  }
  const entries = [...(p.children ?? new Map<number, { name: string; proto: Proto }>()).entries()].sort(
    (a, b) => a[0] - b[0],
  );
  entries.forEach(([pos], k) => {
    if (pos !== k) throw new Error(`TSV: positions not contiguous at ${pos}`);
  });
  return named<Ctx>(entries.map(([, e]) => [e.name, build(e.proto)] as const));
}

function tsvRoot(): CtlNamed<Ctx> {
  const proto: Proto = {};
  for (const row of ROWS) place(proto, row.name.split("."), row.mib.split("."), row);
  return build(proto) as CtlNamed<Ctx>;
}

const ROOT = tsvRoot();
const ctx = (): Ctx => ({ limit: 20, log: [] });

function concrete(s: string): string {
  return s.replaceAll("<i>", "3").replaceAll("<j>", "5");
}

function errorOf(fn: () => unknown): MallctlError {
  try {
    fn();
  } catch (err) {
    if (err instanceof MallctlError) return err;
    throw err;
  }
  throw new Error("expected a MallctlError");
}

describe("name → MIB over the whole 5.3 namespace", () => {
  it("resolves every TSV name to the TSV's MIB", () => {
    expect(ROWS.length).toBeGreaterThan(390);
    for (const row of ROWS) {
      const mib = concrete(row.mib).split(".").map(Number);
      expect([row.name, resolveName(ROOT, concrete(row.name), ctx())]).toEqual([row.name, mib]);
    }
  });

  it("reaches the same leaf by name and by MIB", () => {
    for (const row of ROWS.filter((r) => r.mode.startsWith("r"))) {
      const name = concrete(row.name);
      const mib = concrete(row.mib).split(".").map(Number);
      const expected = `${row.name}@${mib.join(".")}`;
      expect(mallctlCall(ROOT, ctx(), name)).toBe(expected);
      expect(mallctlCall(ROOT, ctx(), mib)).toBe(expected);
      expect(nodeByMib(ROOT, mib, ctx()).kind).toBe("leaf");
    }
  });

  it("accepts the special arena indices and any index the validator allows", () => {
    expect(resolveName(ROOT, "arena.4096.purge", ctx())).toEqual([8, 4096, 2]);
    expect(resolveName(ROOT, "stats.arenas.4097.pactive", ctx())).toEqual([11, 9, 4097, 5]);
    fc.assert(
      fc.property(fc.nat({ max: 19 }), fc.nat({ max: 19 }), (i, j) => {
        expect(resolveName(ROOT, `stats.arenas.${i}.bins.${j}.curregs`, ctx())).toEqual([11, 9, i, 27, j, 3]);
      }),
      { numRuns: 50 },
    );
  });

  it("parses numeric components like strtoumax base 10, ignoring trailing text", () => {
    expect(resolveName(ROOT, "arena.0x1.purge", ctx())).toEqual([8, 0, 2]);
    expect(resolveName(ROOT, "arena.08.purge", ctx())).toEqual([8, 0, 2]);
    expect(resolveName(ROOT, "arena.010.purge", ctx())).toEqual([8, 10, 2]);
    expect(resolveName(ROOT, "arena. +3.purge", ctx())).toEqual([8, 3, 2]);
    expect(resolveName(ROOT, "arena.3abc.purge", ctx())).toEqual([8, 3, 2]);
    expect(resolveName(ROOT, "opt.narenas\0.junk", ctx())).toEqual([6, 19]); // C string
  });

  it("stops at inner nodes for nametomib, and at a shorter MIB length", () => {
    expect(resolveName(ROOT, "arenas.bin", ctx())).toEqual([9, 8]);
    expect(resolveName(ROOT, "stats.arenas.2", ctx())).toEqual([11, 9, 2]);
    expect(resolveName(ROOT, "opt.narenas", ctx(), 1)).toEqual([6]);
    expect(resolveName(ROOT, "opt.narenas.x", ctx(), 1)).toEqual([6]);
    expect(resolveName(ROOT, "arenas.bin.2.size", ctx(), 3)).toEqual([9, 8, 2]);
  });
});

describe("ENOENT", () => {
  it.each([
    ["foo"],
    [""],
    ["."],
    [".opt.narenas"],
    ["opt.foo"],
    ["opt."],
    ["opt..narenas"],
    ["opt.narenas."],
    ["opt.narenas.x"],
    ["version.x"],
    ["arena.20.purge"], // out of the validator's range
    ["arena.x.purge"],
    ["arena.-1.purge"],
    ["arena..purge"],
    ["arena.18446744073709551615.purge"],
    ["arena.99999999999999999999.purge"],
    ["arena.3.nothing"],
  ])("name %j", (name) => {
    const err = errorOf(() => mallctlCall(ROOT, ctx(), name));
    expect(err.code).toBe("ENOENT");
    expect(err.errno).toBe(ENOENT);
    expect(err.message).toContain(JSON.stringify(name));
  });

  it.each([["opt"], ["arenas.bin"], ["stats.arenas.3"], ["arena.3"], ["thread.tcache"]])(
    "partial path %j called as a leaf",
    (name) => {
      expect(errorOf(() => mallctlCall(ROOT, ctx(), name)).code).toBe("ENOENT");
    },
  );

  it("names deeper than 7 components", () => {
    // 7 components resolve; an 8th would continue past the leaf.
    expect(resolveName(ROOT, "stats.arenas.1.hpa_shard.nonfull_slabs.2.ndirty_huge", ctx())).toHaveLength(7);
    expect(() => resolveName(ROOT, "stats.arenas.1.hpa_shard.nonfull_slabs.2.ndirty_huge.x", ctx())).toThrow(
      MallctlError,
    );
  });

  it.each([[[]], [[99]], [[6, 999]], [[8, 20, 2]], [[8]], [[8, 3, 2, 0]], [[6, -1]], [[6, 1.5]], [[0, 0]]])(
    "MIB %j",
    (mib) => {
      const err = errorOf(() => mallctlCall(ROOT, ctx(), mib));
      expect(err.code).toBe("ENOENT");
      expect(err.message).toContain(`mib [${mib.join(",")}]`);
    },
  );

  it("re-validates indices of cached names against the current context", () => {
    const c = ctx();
    expect(mallctlCall(ROOT, c, "arena.15.purge")).toBeUndefined();
    c.limit = 10;
    expect(errorOf(() => mallctlCall(ROOT, c, "arena.15.purge")).code).toBe("ENOENT");
    expect(errorOf(() => resolveName(ROOT, "arena.15.purge", c)).code).toBe("ENOENT");
    c.limit = 20;
    expect(resolveName(ROOT, "arena.15.purge", c)).toEqual([8, 15, 2]);
    clearNameCache(ROOT);
    expect(resolveName(ROOT, "arena.15.purge", c)).toEqual([8, 15, 2]);
  });

  it("answers ENOENT for a disabled leaf before looking at the value", () => {
    const root = named<Ctx>([
      ["off", leaf<Ctx>({ type: "bool", access: "r", enabled: () => false, read: () => true })],
    ]);
    expect(errorOf(() => mallctlCall(root, ctx(), "off")).code).toBe("ENOENT");
    expect(errorOf(() => mallctlCall(root, ctx(), "off", 3)).code).toBe("ENOENT");
    expect(resolveName(root, "off", ctx())).toEqual([0]); // nametomib still works, as in jemalloc
  });
});

describe("EPERM", () => {
  it("write to a read-only leaf", () => {
    for (const name of ["version", "opt.narenas", "stats.allocated", "arenas.page"]) {
      const err = errorOf(() => mallctlCall(ROOT, ctx(), name, 1));
      expect(err.code).toBe("EPERM");
      expect(err.errno).toBe(EPERM);
    }
  });

  it("a value given to a void leaf", () => {
    expect(errorOf(() => mallctlCall(ROOT, ctx(), "thread.tcache.flush", true)).code).toBe("EPERM");
    const c = ctx();
    expect(mallctlCall(ROOT, c, "arena.2.purge")).toBeUndefined();
    expect(c.log).toEqual(["run arena.<i>.purge"]);
  });
});

describe("EINVAL and value typing", () => {
  const cases: ReadonlyArray<readonly [string, unknown]> = [
    ["background_thread", 1],
    ["background_thread", "true"],
    ["thread.arena", -1],
    ["thread.arena", 1.5],
    ["thread.arena", 2 ** 32],
    ["thread.arena", Number.NaN],
    ["thread.arena", "3"],
    ["epoch", -1n],
    ["epoch", 2n ** 64n],
    ["epoch", 0.5],
    ["arena.1.dirty_decay_ms", 2n ** 63n],
    ["arena.1.dirty_decay_ms", true],
    ["arena.1.dss", 3],
    ["tcache.flush", -2],
  ];
  it.each(cases)("%s ← %o", (name, value) => {
    const err = errorOf(() => mallctlCall(ROOT, ctx(), name, value));
    expect(err.code).toBe("EINVAL");
    expect(err.errno).toBe(EINVAL);
  });

  it("passes normalised values to the leaf", () => {
    const c = ctx();
    expect(mallctlCall(ROOT, c, "thread.arena", 3n)).toBe("thread.arena@4.0"); // old value first
    mallctlCall(ROOT, c, "epoch", 7);
    mallctlCall(ROOT, c, "arena.1.dirty_decay_ms", -1n);
    mallctlCall(ROOT, c, "arena.1.dss", "disabled");
    mallctlCall(ROOT, c, "prof.dump", null);
    mallctlCall(ROOT, c, "tcache.flush", 5);
    mallctlCall(ROOT, c, "tcache.destroy");
    expect(c.log).toEqual([
      "write thread.arena number 3",
      "write epoch bigint 7",
      "write arena.<i>.dirty_decay_ms number -1",
      "write arena.<i>.dss string disabled",
      "write prof.dump object null",
      "write tcache.flush number 5",
      "write tcache.destroy undefined undefined",
    ]);
  });

  it("coerces each C type", () => {
    expect(coerceNewValue("size_t", 2n ** 64n - 1n, "x")).toBe(2 ** 64 - 2048);
    expect(coerceNewValue("int64_t", -5, "x")).toBe(-5n);
    expect(coerceNewValue("int", -(2 ** 31), "x")).toBe(-(2 ** 31));
    expect(() => coerceNewValue("int", 2 ** 31, "x")).toThrow(MallctlError);
    expect(coerceNewValue("fxp_t", 0xffffffff, "x")).toBe(0xffffffff);
    expect(coerceNewValue("opaque", { any: 1 }, "x")).toEqual({ any: 1 });
    expect(() => coerceNewValue("void", 1, "x")).toThrow(MallctlError);
  });
});

describe("read/write order and leaf construction", () => {
  it("reads the old value before writing, or after with writeFirst", () => {
    let epoch = 1n;
    let decay = 10;
    const root = named<Ctx>([
      [
        "epoch",
        leaf<Ctx>({
          type: "uint64_t",
          access: "rw",
          writeFirst: true,
          read: () => epoch,
          write: () => {
            epoch += 1n;
          },
        }),
      ],
      [
        "decay",
        leaf<Ctx>({
          type: "ssize_t",
          access: "rw",
          read: () => decay,
          write: (_c, _m, v) => {
            decay = v as number;
          },
        }),
      ],
    ]);
    expect(mallctlCall(root, ctx(), "epoch", 1n)).toBe(2n);
    expect(mallctlCall(root, ctx(), "epoch")).toBe(2n);
    expect(mallctlCall(root, ctx(), "decay", 5)).toBe(10);
    expect(mallctlCall(root, ctx(), [1])).toBe(5);
  });

  it("lets leaves raise EFAULT and EAGAIN", () => {
    const root = named<Ctx>([
      [
        "fail",
        leaf<Ctx>({
          type: "unsigned",
          access: "w",
          write: (_c, _m, v) => {
            throw new MallctlError(v === 1 ? "EFAULT" : "EAGAIN", "fail");
          },
        }),
      ],
    ]);
    const efault = errorOf(() => mallctlCall(root, ctx(), "fail", 1));
    expect([efault.code, efault.errno]).toEqual(["EFAULT", EFAULT]);
    const eagain = errorOf(() => mallctlCall(root, ctx(), "fail", 2));
    expect([eagain.code, eagain.errno]).toEqual(["EAGAIN", EAGAIN]);
  });

  it("rejects malformed trees and arguments with TypeError", () => {
    expect(() => leaf<Ctx>({ type: "bool", access: "r" })).toThrow(TypeError);
    expect(() => leaf<Ctx>({ type: "bool", access: "-", run: () => {} })).toThrow(TypeError);
    expect(() => named<Ctx>([])).toThrow(TypeError);
    const child = leaf<Ctx>({ type: "bool", access: "r", read: () => true });
    expect(() =>
      named<Ctx>([
        ["a", child],
        ["a", child],
      ]),
    ).toThrow(/duplicate/);
    expect(() => named<Ctx>([["a.b", child]])).toThrow(TypeError);
    expect(() => mallctlCall(ROOT, ctx(), 5 as unknown as string)).toThrow(TypeError);
    expect(() => mallctlCall({} as CtlNamed<Ctx>, ctx(), "x")).toThrow(TypeError);
    expect(() => resolveName(ROOT, "opt", ctx(), -1)).toThrow(RangeError);
  });

  it("indexedBelow accepts 0 ≤ i < limit", () => {
    const root = named<Ctx>([
      [
        "bin",
        indexedBelow<Ctx>((c) => c.limit, leaf<Ctx>({ type: "size_t", access: "r", read: (_c, m) => m[1] })),
      ],
    ]);
    expect(mallctlCall(root, ctx(), "bin.19")).toBe(19);
    expect(errorOf(() => mallctlCall(root, ctx(), "bin.20")).code).toBe("ENOENT");
  });
});

describe("MallctlError", () => {
  it("carries jemalloc's code, the errno and the target", () => {
    const err = new MallctlError("EINVAL", [6, 19]);
    expect(err).toBeInstanceOf(Error);
    expect(err.name).toBe("MallctlError");
    expect(err.errno).toBe(22);
    expect(err.target).toEqual([6, 19]);
    expect(err.message).toMatch(/^mallctl\(mib \[6,19\]\): EINVAL: /);
    expect(new MallctlError("ENOENT", "opt.x", "nope").message).toBe('mallctl("opt.x"): ENOENT: nope');
  });
});
