/**
 * gen-struct-fixture: random struct layouts checked against gcc.
 *
 *   node --import tsx scripts/gen-struct-fixture.ts      (writes test/fixtures/struct-layouts.json)
 *
 * Makes a few hundred random layouts (fast-check, fixed seed), writes each as C on its own (this file's own
 * type mapping, not the library's: pointers and strings as uint32_t, bool as _Bool, atomics as _Atomic T),
 * compiles a program printing sizeof, _Alignof and every offsetof with gcc, and stores the answers. The
 * unit test compares the library with the fixture always, and with gcc directly when gcc is installed.
 * The arbitrary and the gcc runner are exported for that test.
 */
import { C_SCALARS as C_SCALAR_TYPES } from "../src/struct/c-decl.js";
import { spawnSync } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import fc from "fast-check";

/** A field type: a scalar name, "bool", "string", or a pointer/atomic/array/nested struct. */
export type TypeDesc =
  | string
  | { ptr: string }
  | { atomic: string }
  | { array: TypeDesc; length: number }
  | { struct: string };

export interface StructDesc {
  name: string;
  fields: [string, TypeDesc][];
}

/** Structs of one case, in declaration order: a struct nests only earlier ones, points to any. */
export type CaseDesc = StructDesc[];

export interface Measured {
  name: string;
  sizeof: number;
  alignof: number;
  offsets: number[];
}

const SCALARS = ["u8", "i8", "u16", "i16", "u32", "i32", "f32", "f64", "u64", "i64", "bool", "string"];
const INTEGERS = ["u8", "i8", "u16", "i16", "u32", "i32", "u64", "i64"];
const C_SCALARS: Record<string, string> = { ...C_SCALAR_TYPES, bool: "_Bool", string: "uint32_t" };

function typeArb(names: string[], k: number, depth: number): fc.Arbitrary<TypeDesc> {
  const options: fc.Arbitrary<TypeDesc>[] = [
    fc.constantFrom(...SCALARS),
    fc.constantFrom(...SCALARS),
    fc.constantFrom(...names).map((target) => ({ ptr: target })),
    fc.constantFrom(...INTEGERS).map((base) => ({ atomic: base })),
  ];
  if (k > 0) options.push(fc.constantFrom(...names.slice(0, k)).map((s) => ({ struct: s })));
  if (depth > 0) {
    // Zero-length arrays (a GNU C extension gcc accepts) are rarer: they add alignment but no size.
    const length = fc.oneof(
      { arbitrary: fc.integer({ min: 1, max: 5 }), weight: 5 },
      { arbitrary: fc.constant(0), weight: 1 },
    );
    options.push(fc.record({ array: typeArb(names, k, depth - 1), length }));
  }
  return fc.oneof(...options);
}

/** Random cases of 1-4 structs, each with 0-8 fields. */
export function caseArb(prefix = "S"): fc.Arbitrary<CaseDesc> {
  return fc.integer({ min: 1, max: 4 }).chain((n) => {
    const names = Array.from({ length: n }, (_, k) => `${prefix}${k}`);
    const structs = names.map((name, k) =>
      fc.array(typeArb(names, k, 2), { minLength: 0, maxLength: 8 }).map(
        (types): StructDesc => ({ name, fields: types.map((t, i): [string, TypeDesc] => [`f${i}`, t]) }),
      ),
    );
    return fc.tuple(...structs);
  });
}

function cField(name: string, t: TypeDesc): string {
  let dims = "";
  let e = t;
  while (typeof e === "object" && "array" in e) {
    dims += `[${e.length}]`;
    e = e.array;
  }
  let ctype: string;
  if (typeof e === "string") ctype = C_SCALARS[e]!;
  else if ("ptr" in e) ctype = "uint32_t";
  else if ("atomic" in e) ctype = `_Atomic ${C_SCALARS[e.atomic]!}`;
  else ctype = `struct ${e.struct}`;
  return `${ctype} ${name}${dims};`;
}

/** Renames every struct of case `i` with a unique prefix, so many cases fit in one C file. */
export function renameCase(c: CaseDesc, prefix: string): CaseDesc {
  const rename = (t: TypeDesc): TypeDesc => {
    if (typeof t === "string") return t;
    if ("ptr" in t) return { ptr: `${prefix}${t.ptr}` };
    if ("struct" in t) return { struct: `${prefix}${t.struct}` };
    if ("array" in t) return { array: rename(t.array), length: t.length };
    return t;
  };
  return c.map((s) => ({ name: `${prefix}${s.name}`, fields: s.fields.map(([f, t]) => [f, rename(t)]) }));
}

export function cProgram(cases: CaseDesc[]): string {
  const out = ["#include <stdint.h>", "#include <stddef.h>", "#include <stdio.h>", ""];
  for (const c of cases) {
    for (const s of c) out.push(`struct ${s.name} {`, ...s.fields.map(([f, t]) => `  ${cField(f, t)}`), "};");
  }
  out.push("int main(void) {");
  for (const c of cases) {
    for (const s of c) {
      const offs = s.fields.map(([f]) => ` printf(" %zu", offsetof(struct ${s.name}, ${f}));`).join("");
      out.push(
        `  printf("${s.name} %zu %zu", sizeof(struct ${s.name}), _Alignof(struct ${s.name}));${offs} printf("\\n");`,
      );
    }
  }
  out.push("  return 0;", "}");
  return out.join("\n");
}

export function gccAvailable(): boolean {
  const r = spawnSync("gcc", ["--version"], { encoding: "utf8" });
  return r.status === 0;
}

/** Compiles and runs `source` with gcc in a temporary directory; returns its standard output. */
export function runC(source: string): string {
  const dir = mkdtempSync(join(tmpdir(), "struct-gcc-"));
  try {
    const c = join(dir, "layouts.c");
    const bin = join(dir, "layouts");
    writeFileSync(c, source);
    const cc = spawnSync("gcc", ["-std=c11", "-O0", "-w", "-o", bin, c], { encoding: "utf8" });
    if (cc.status !== 0) throw new Error(`gcc failed:\n${cc.stderr}`);
    const run = spawnSync(bin, [], { encoding: "utf8", maxBuffer: 64 << 20 });
    if (run.status !== 0) throw new Error(`layout program failed: ${run.stderr}`);
    return run.stdout;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** Compiles `source` (syntax and static assertions only). */
export function checkC(source: string): void {
  const dir = mkdtempSync(join(tmpdir(), "struct-gcc-"));
  try {
    const c = join(dir, "decls.c");
    writeFileSync(c, source);
    const cc = spawnSync("gcc", ["-std=c11", "-fsyntax-only", "-w", c], { encoding: "utf8" });
    if (cc.status !== 0) throw new Error(`gcc failed:\n${cc.stderr}`);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** gcc's sizeof, alignof and offsets for every struct of `cases` (which must have unique names). */
export function measureWithGcc(cases: CaseDesc[]): Map<string, Measured> {
  const out = new Map<string, Measured>();
  for (const line of runC(cProgram(cases)).trim().split("\n")) {
    const [name, sizeof, alignof, ...offsets] = line.trim().split(" ");
    out.set(name!, { name: name!, sizeof: Number(sizeof), alignof: Number(alignof), offsets: offsets.map(Number) });
  }
  return out;
}

export const FIXTURE_SEED = 20261126;
export const FIXTURE_CASES = 300;

function main(): void {
  if (!gccAvailable()) throw new Error("gen-struct-fixture needs gcc");
  const cases = fc
    .sample(caseArb(), { seed: FIXTURE_SEED, numRuns: FIXTURE_CASES })
    .map((c, i) => renameCase(c, `C${i}_`));
  const measured = measureWithGcc(cases);
  const version = spawnSync("gcc", ["-dumpfullversion"], { encoding: "utf8" }).stdout.trim();
  const entries = cases.map((c) => ({
    structs: c.map((s) => {
      const { sizeof, alignof, offsets } = measured.get(s.name)!;
      return { ...s, gcc: { sizeof, alignof, offsets } };
    }),
  }));
  const lines = entries.map((e) => `    ${JSON.stringify(e)}`);
  const header = {
    about: "Random struct layouts with gcc's sizeof/_Alignof/offsetof (x86-64, pointers and strings as uint32_t)",
    generator: "scripts/gen-struct-fixture.ts",
    gcc: version,
    seed: FIXTURE_SEED,
  };
  const json = `${JSON.stringify(header, null, 2).slice(0, -2)},\n  "cases": [\n${lines.join(",\n")}\n  ]\n}\n`;
  const target = fileURLToPath(new URL("../test/fixtures/struct-layouts.json", import.meta.url));
  writeFileSync(target, json);
  const nstructs = entries.reduce((n, e) => n + e.structs.length, 0);
  console.log(`wrote ${target}: ${entries.length} cases, ${nstructs} structs`);
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) main();
