/**
 * specialize: fresh functions per field, with the field's offset written into their code, for the hot
 * fields (numbers, bools, pointers, atomics). V8 then inlines a whole field access into the caller's loop.
 * Shared closures instead (one function literal serving every field) make V8's feedback polymorphic and
 * field access 2-6x slower than hand-written code.
 *
 * Two shapes of generated code:
 * - "memory" style, the general static accessors: the views are read from the heap's StructMemory `m`.
 * - "bound" style: the views are constants of the generated closures, made anew for each generation of a
 *   StructMemory's views (each growth of the buffer). V8 folds such constants into the code, as it keeps a
 *   hand-written loop's DataView in a register, while a view read from an object field must be re-read
 *   after every store. Bound accessors (`Layout.bind`), static accessors once a layout adopted a heap, and
 *   object views use it; bench/struct.ts measures the difference.
 *
 * The code is built from fixed templates, field offsets and sizes; no user text reaches it. Where
 * `new Function` is forbidden (a Content-Security-Policy without 'unsafe-eval') every accessor falls back to
 * the closures from accessors.ts: correct, only slower.
 */
import type { RawAccessor } from "./accessors.js";
import type { StructMemory } from "./memory.js";
import type { FieldType } from "./types.js";

let codegenAllowed: boolean | undefined;

/** Whether `new Function` works here (probed once). */
export function canGenerate(): boolean {
  if (codegenAllowed === undefined) {
    try {
      codegenAllowed = new Function("return 1")() === 1;
    } catch {
      codegenAllowed = false;
    }
  }
  return codegenAllowed;
}

/** How to read and write one field given `p` (record offset) and `v` (value). */
interface AccessCode {
  /** Expression reading the field. */
  read: string;
  /** Statement writing the already checked `v`. */
  write: string;
  /** Statement throwing (through `bad`) when `v` has the wrong JS type; empty when any value converts. */
  check: string;
  /** Byte just past the field, relative to `p`. */
  end: number;
}

const VIEW_SHIFT: Readonly<Record<string, number>> = {
  u8: 0,
  i8: 0,
  u16: 1,
  i16: 1,
  u32: 2,
  i32: 2,
  f32: 2,
  f64: 3,
  u64: 3,
  i64: 3,
};

/** DataView method suffix per scalar. */
const DATAVIEW_KIND: Readonly<Record<string, string>> = {
  u8: "Uint8",
  i8: "Int8",
  u16: "Uint16",
  i16: "Int16",
  u32: "Uint32",
  i32: "Int32",
  f32: "Float32",
  f64: "Float64",
  u64: "BigUint64",
  i64: "BigInt64",
};

type Style = "memory" | "bound";

/** A typed-array element: `m.f64[(p + 8) >>> 3]` (memory style) or `f64[(p + 8) >>> 3]` (bound). */
function cell(style: Style, view: string, off: number): string {
  const v = style === "memory" ? `m.${view}` : view;
  const shift = VIEW_SHIFT[view]!;
  return shift === 0 ? `${v}[p + ${off}]` : `${v}[(p + ${off}) >>> ${shift}]`;
}

/**
 * A plain scalar, storing the expression `value`: typed arrays in memory style; in bound style the
 * DataView, as hand-written code does.
 */
function scalarCode(style: Style, name: string, off: number, value = "v"): { read: string; write: string } {
  if (style === "memory") {
    const c = cell(style, name, off);
    return { read: c, write: `${c} = ${value};` };
  }
  const kind = DATAVIEW_KIND[name]!;
  const le = name === "u8" || name === "i8" ? "" : ", true";
  return { read: `dv.get${kind}(p + ${off}${le})`, write: `dv.set${kind}(p + ${off}, ${value}${le});` };
}

function isBig(name: string): boolean {
  return name === "u64" || name === "i64";
}

/** Source for the fields that get specialized copies; null for strings, arrays and nested structs. */
function accessCode(style: Style, t: FieldType, off: number): AccessCode | null {
  const checkNumber = `if (typeof v !== "number") bad(v);`;
  const checkBig = `if (typeof v !== "bigint") bad(v);`;
  switch (t.kind) {
    case "scalar": {
      const { read, write } = scalarCode(style, t.name, off);
      return { read, write, check: isBig(t.name) ? checkBig : checkNumber, end: off + t.size };
    }
    case "bool": {
      const byte = `(typeof v === "boolean" ? (v ? 1 : 0) : v !== 0 ? 1 : 0)`;
      const { read, write } = scalarCode(style, "u8", off, byte);
      return {
        read: `${read} !== 0`,
        write,
        check: `if (typeof v !== "boolean" && typeof v !== "number") bad(v);`,
        end: off + 1,
      };
    }
    case "ptr": {
      const { read, write } = scalarCode(style, "u32", off, "checkPtr(v)");
      return { read, write, check: "", end: off + 4 };
    }
    case "atomic": {
      const name = t.base.name;
      const view = style === "memory" ? `m.${name}` : name;
      const args = `${view}, (p + ${off}) >>> ${VIEW_SHIFT[name]!}`;
      const check = isBig(name) ? checkBig : checkNumber;
      return { read: `Atomics.load(${args})`, write: `Atomics.store(${args}, v);`, check, end: off + t.size };
    }
    default:
      return null;
  }
}

/** Helpers the generated code calls (each a per-field closure, so the calls stay monomorphic). */
export interface FieldHelpers {
  /** Throws the field's TypeError for a wrongly typed value. */
  bad: (v: unknown) => never;
  /** Validates a pointer value and returns it (pointer fields only). */
  checkPtr: (v: unknown) => number;
  /** The heap -> StructMemory lookup, and its one-entry cache. */
  memoryOf: (heap: never) => unknown;
  cache: { heap: unknown; memory: unknown };
}

export interface SpecializedAccessors {
  viewGet: () => unknown;
  viewSet: (v: unknown) => void;
  staticGet: (heap: never, p: number) => unknown;
  staticSet: (heap: never, p: number, v: unknown) => void;
}

const HELPER_NAMES = ["bad", "checkPtr", "memoryOf", "cache", "slowGet", "slowSet"] as const;

/** Specialized copies for one field, or null when the field has none (use `generic`). */
export function specialize(
  t: FieldType,
  off: number,
  raw: RawAccessor,
  h: FieldHelpers,
): SpecializedAccessors | null {
  const code = accessCode("memory", t, off);
  if (code === null || !canGenerate()) return null;
  // Views check the record's range when their offset is set (see view.ts), so their accessors need no test.
  // Static accessors test here; a miss (the buffer grew, or a bad pointer) goes to the raw closure, which
  // re-makes the views or throws.
  const inRange = `p + ${code.end} <= m.end`;
  const lookup = "const m = heap === cache.heap ? cache.memory : memoryOf(heap);";
  const source = `"use strict"; return {
    viewGet: function () { const m = this.$m, p = this.$p; return ${code.read}; },
    viewSet: function (v) { ${code.check} const m = this.$m, p = this.$p; ${code.write} },
    staticGet: function (heap, p) { ${lookup} if (${inRange}) return ${code.read}; return slowGet(m, p); },
    staticSet: function (heap, p, v) { ${code.check} ${lookup} if (${inRange}) { ${code.write} } else slowSet(m, p, v); },
  };`;
  const make = new Function(...HELPER_NAMES, source);
  return make(h.bad, h.checkPtr, h.memoryOf, h.cache, raw.get, raw.set) as SpecializedAccessors;
}

/** The same four functions from the raw closures (strings, arrays, structs, or no code generation). */
export function generic(raw: RawAccessor, memoryOf: (heap: never) => unknown): SpecializedAccessors {
  const { get, set } = raw;
  type Self = { $m: never; $p: number };
  return {
    viewGet(this: Self) {
      return get(this.$m, this.$p);
    },
    viewSet(this: Self, v: unknown) {
      set(this.$m, this.$p, v);
    },
    staticGet: (heap, p) => get(memoryOf(heap) as never, p),
    staticSet: (heap, p, v) => set(memoryOf(heap) as never, p, v),
  };
}

/** One field as `boundFactory` needs it. */
export interface BindField {
  readonly name: string;
  readonly type: FieldType;
  readonly offset: number;
  readonly raw: RawAccessor;
  readonly bad: (v: unknown) => never;
  readonly checkPtr: (v: unknown) => number;
}

export interface BoundPair {
  get(p: number): unknown;
  set(p: number, v: unknown): void;
}

/** Makes get/set pairs for every field of a layout over the current views of `m`. */
export type BoundFactory = (m: StructMemory) => BoundPair[];

const BOUND_VIEWS = ["dv", "u8", "i8", "u16", "i16", "u32", "i32", "u64", "i64"] as const;

/**
 * The factory of bound accessors for a layout. Each call closes over the views `m` has *now*, as constants:
 * V8 folds a closure variable that is never reassigned into the code, so the access costs what a
 * hand-written one does; a variable reassigned on growth would cost twice that. So growth makes new pairs
 * (the caller re-runs the factory from `m.onRemake`), and a pair kept from before growth stays correct: a
 * record past its `end` goes to the raw closure.
 */
export function boundFactory(fields: readonly BindField[]): BoundFactory {
  const generated = canGenerate() ? generateFactory(fields, "bound") : null;
  return (m) => {
    const pairs = generated?.(m, null) as (BoundPair | null)[] | undefined;
    return fields.map((f, i) => {
      const g = pairs?.[i];
      if (g) return g;
      const { get, set } = f.raw;
      return { get: (p: number) => get(m, p), set: (p: number, v: unknown) => set(m, p, v) };
    });
  };
}

export interface StaticPair {
  get(heap: unknown, p: number): unknown;
  set(heap: unknown, p: number, v: unknown): void;
}

/**
 * Static accessors `(heap, p)` specialized the same way for one heap `h`: the views are constants, and a
 * call with another heap (or past `end`) goes to the field's general static accessor. Null entries are
 * fields without specialized code (and all of them without code generation).
 */
export type StaticFactory = (m: StructMemory, h: unknown) => (StaticPair | null)[];

export function staticFactory(
  fields: readonly (BindField & { fast: SpecializedAccessors })[],
): StaticFactory {
  if (!canGenerate()) return () => fields.map(() => null);
  return generateFactory(fields, "static") as StaticFactory;
}

/** Getter/setter pair of a view's field (`this` is the view). */
export interface ViewPair {
  get(this: { $p: number }): unknown;
  set(this: { $p: number }, v: unknown): void;
}

/**
 * View field accessors specialized the same way, for one generation of `m`'s views: they read `this.$p`
 * unchecked, since a view's offset is range-checked when it is set (see view.ts). Null entries are fields
 * without specialized code (and all of them without code generation).
 */
export type ViewFactory = (m: StructMemory) => (ViewPair | null)[];

export function viewFactory(fields: readonly BindField[]): ViewFactory {
  if (!canGenerate()) return () => fields.map(() => null);
  return generateFactory(fields, "view") as ViewFactory;
}

function generateFactory(
  fields: readonly (BindField & { fast?: SpecializedAccessors })[],
  flavor: "bound" | "static" | "view",
): (m: StructMemory, h: unknown) => unknown[] {
  const pairs = fields.map((f, i) => {
    const code = accessCode("bound", f.type, f.offset);
    if (code === null) return "null";
    const check = code.check.replace("bad(", `bad${i}(`);
    const write = code.write.replace("checkPtr(", `checkPtr${i}(`);
    if (flavor === "view") {
      return `{ get: function () { const p = this.$p; return ${code.read}; },
        set: function (v) { ${check} const p = this.$p; ${write} } }`;
    }
    if (flavor === "bound") {
      const inRange = `p + ${code.end} <= end`;
      return `{ get: (p) => ${inRange} ? ${code.read} : slowGet${i}(m, p),
        set: (p, v) => { ${check} if (${inRange}) { ${write} } else slowSet${i}(m, p, v); } }`;
    }
    const hit = `heap === h && p + ${code.end} <= end`;
    return `{ get: (heap, p) => ${hit} ? ${code.read} : slowGet${i}(heap, p),
      set: (heap, p, v) => { ${check} if (${hit}) { ${write} } else slowSet${i}(heap, p, v); } }`;
  });
  const names = fields.flatMap((_, i) => [`bad${i}`, `checkPtr${i}`, `slowGet${i}`, `slowSet${i}`]);
  const deps = fields.flatMap((f) =>
    flavor === "static"
      ? [f.bad, f.checkPtr, f.fast!.staticGet, f.fast!.staticSet]
      : [f.bad, f.checkPtr, f.raw.get, f.raw.set],
  );
  const source = `"use strict"; return (m, h) => {
    const ${BOUND_VIEWS.map((v) => `${v} = m.${v}`).join(", ")}, end = m.end;
    return [${pairs.join(",\n")}];
  };`;
  return new Function(...names, source)(...deps) as (m: StructMemory, h: unknown) => unknown[];
}
