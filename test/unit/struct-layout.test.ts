/**
 * Struct layouts against gcc: sizeof, _Alignof and every offsetof, for random layouts. The committed fixture
 * (scripts/gen-struct-fixture.ts) always runs; fresh random layouts are compiled with gcc when it is present.
 */
import { readFileSync } from "node:fs";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import {
  type CaseDesc,
  caseArb,
  checkC,
  gccAvailable,
  type Measured,
  measureWithGcc,
  renameCase,
  type TypeDesc,
} from "../../scripts/gen-struct-fixture.js";
import { type AnyLayout, cDeclaration, type FieldType, struct, types } from "../../src/struct/index.js";

type ScalarKey = "u8" | "i8" | "u16" | "i16" | "u32" | "i32" | "f32" | "f64" | "u64" | "i64";
type IntegerKey = Exclude<ScalarKey, "f32" | "f64">;

function toType(t: TypeDesc, self: string, layouts: Map<string, AnyLayout>): FieldType {
  if (typeof t === "string") {
    if (t === "string") return types.string();
    if (t === "bool") return types.bool;
    return types[t as ScalarKey];
  }
  if ("ptr" in t) return t.ptr === self ? types.ptr("self") : types.ptr((): AnyLayout => layouts.get(t.ptr)!);
  if ("atomic" in t) return types.atomic(types[t.atomic as IntegerKey]);
  if ("array" in t) return types.array(toType(t.array, self, layouts), t.length);
  return layouts.get(t.struct)!;
}

function buildCase(c: CaseDesc): Map<string, AnyLayout> {
  const layouts = new Map<string, AnyLayout>();
  for (const s of c) {
    const fields = Object.fromEntries(s.fields.map(([f, t]) => [f, toType(t, s.name, layouts)]));
    layouts.set(s.name, struct(s.name, fields));
  }
  return layouts;
}

function measured(l: AnyLayout): Measured {
  return { name: l.name, sizeof: l.size, alignof: l.align, offsets: Object.values(l.offsets) as number[] };
}

/** Every struct whose layout differs from gcc's, as "ours vs gcc" lines (empty when all agree). */
function mismatches(cases: CaseDesc[], gcc: (name: string) => Omit<Measured, "name">): string[] {
  const out: string[] = [];
  for (const c of cases) {
    for (const l of buildCase(c).values()) {
      const ours = measured(l);
      const theirs = { name: l.name, ...gcc(l.name) };
      if (JSON.stringify(ours) !== JSON.stringify(theirs)) {
        out.push(`${JSON.stringify(c)}: ${JSON.stringify(ours)} vs gcc ${JSON.stringify(theirs)}`);
      }
    }
  }
  return out;
}

interface FixtureStruct {
  name: string;
  fields: [string, TypeDesc][];
  gcc: Omit<Measured, "name">;
}
const fixture = JSON.parse(
  readFileSync(new URL("../fixtures/struct-layouts.json", import.meta.url), "utf8"),
) as { cases: { structs: FixtureStruct[] }[] };

describe("struct layout vs gcc", () => {
  it("matches every layout of the committed fixture", () => {
    const cases = fixture.cases.map((c) => c.structs.map(({ name, fields }) => ({ name, fields })));
    const gcc = new Map(fixture.cases.flatMap((c) => c.structs.map((s) => [s.name, s.gcc] as const)));
    expect(cases.length).toBeGreaterThanOrEqual(300);
    expect(mismatches(cases, (n) => gcc.get(n)!)).toEqual([]);
  });

  it.skipIf(!gccAvailable())("matches gcc on fresh random layouts", () => {
    // Each run compiles one program for a batch of layouts (one gcc call), so a batch is the unit.
    const batch = fc.array(caseArb(), { minLength: 20, maxLength: 60 });
    fc.assert(
      fc.property(batch, (raw) => {
        const cases = raw.map((c, i) => renameCase(c, `R${i}_`));
        const gcc = measureWithGcc(cases);
        expect(mismatches(cases, (n) => gcc.get(n)!)).toEqual([]);
      }),
      { numRuns: 4 },
    );
  });

  it.skipIf(!gccAvailable())("cDeclaration output compiles to the same layout", () => {
    const cases = fc.sample(caseArb(), { seed: 7, numRuns: 40 }).map((c, i) => renameCase(c, `D${i}_`));
    const src = ["#include <stdint.h>", "#include <stddef.h>"];
    for (const c of cases) {
      const layouts = buildCase(c);
      const root = [...layouts.values()].at(-1)!;
      src.push(cDeclaration(root));
      const checks = [
        `sizeof(struct ${root.name}) == ${root.size}`,
        `_Alignof(struct ${root.name}) == ${root.align}`,
      ];
      for (const [f, off] of Object.entries(root.offsets as Record<string, number>)) {
        checks.push(`offsetof(struct ${root.name}, ${f}) == ${off}`);
      }
      src.push(`_Static_assert(${checks.join(" && ")}, "${root.name}");`);
    }
    expect(() => checkC(src.join("\n"))).not.toThrow();
  });
});

describe("struct layout rules (pinned)", () => {
  it("pads to natural alignment and rounds sizeof up", () => {
    const A = struct("A", { a: types.u8, b: types.f64, c: types.u16 });
    expect([A.size, A.align, A.offsets]).toEqual([24, 8, { a: 0, b: 8, c: 16 }]);
    const B = struct("B", { flag: types.bool, next: types.ptr("self"), name: types.string(), n: types.i16 });
    expect([B.size, B.align, B.offsets]).toEqual([16, 4, { flag: 0, next: 4, name: 8, n: 12 }]);
  });

  it("lays out nested structs and arrays by their own alignment", () => {
    const V = struct("V", { x: types.f32, y: types.f32 });
    const W = struct("W", {
      tag: types.u8,
      v: V,
      list: types.array(types.u16, 3),
      big: types.atomic(types.u64),
    });
    expect([W.size, W.align, W.offsets]).toEqual([32, 8, { tag: 0, v: 4, list: 12, big: 24 }]);
  });

  it("gives an empty struct size 0 and alignment 1, as gcc does", () => {
    const E = struct("E", {});
    expect([E.size, E.align]).toEqual([0, 1]);
  });
});
