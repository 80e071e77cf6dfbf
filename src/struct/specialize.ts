/**
 * specialize: a fresh function per field, with the field's offset written into its code, for the accessors
 * of hot fields (numbers, bools, pointers, atomics). V8 then inlines the whole access into the caller's loop
 * as it would hand-written typed-array code. Shared closures instead (one function literal serving every
 * field) make V8's feedback polymorphic and field access 2-6x slower than hand-written code.
 *
 * The code is built from fixed templates and integers only (offsets, ends, shifts); no user text reaches
 * it. Where `new Function` is forbidden (a Content-Security-Policy without 'unsafe-eval') every accessor
 * falls back to its closure from accessors.ts: correct, only slower.
 */
import type { RawAccessor } from "./accessors.js";
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

/** How to read and write one field given `m` (StructMemory), `p` (record offset) and `v` (value). */
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

/** DataView method suffix per scalar: in V8 11 DataView access beats typed arrays over a growable buffer. */
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

function index(view: string, off: number): string {
  const shift = VIEW_SHIFT[view]!;
  return shift === 0 ? `m.${view}[p + ${off}]` : `m.${view}[(p + ${off}) >>> ${shift}]`;
}

function isBig(name: string): boolean {
  return name === "u64" || name === "i64";
}

/** Source for the fields that get specialized copies; null for strings, arrays and nested structs. */
function accessCode(t: FieldType, off: number): AccessCode | null {
  const checkNumber = `if (typeof v !== "number") bad(v);`;
  switch (t.kind) {
    case "scalar": {
      const check = isBig(t.name) ? `if (typeof v !== "bigint") bad(v);` : checkNumber;
      if (process.env.STRUCT_TA) {
        const cell = index(t.name, off);
        return { read: cell, write: `${cell} = v;`, check, end: off + t.size };
      }
      const kind = DATAVIEW_KIND[t.name]!;
      const le = t.size > 1 ? ", true" : "";
      return {
        read: `m.dv.get${kind}(p + ${off}${le})`,
        write: `m.dv.set${kind}(p + ${off}, v${le});`,
        check,
        end: off + t.size,
      };
    }
    case "bool": {
      const cell = index("u8", off);
      return {
        read: `${cell} !== 0`,
        write: `${cell} = typeof v === "boolean" ? (v ? 1 : 0) : v !== 0 ? 1 : 0;`,
        check: `if (typeof v !== "boolean" && typeof v !== "number") bad(v);`,
        end: off + 1,
      };
    }
    case "ptr": {
      const cell = index("u32", off);
      return { read: cell, write: `${cell} = checkPtr(v);`, check: "", end: off + 4 };
    }
    case "atomic": {
      const name = t.base.name;
      const args = `m.${name}, (p + ${off}) >>> ${VIEW_SHIFT[name]!}`;
      const check = isBig(name) ? `if (typeof v !== "bigint") bad(v);` : checkNumber;
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

const HELPER_NAMES = ["bad", "checkPtr", "memoryOf", "cache"] as const;

/** Specialized copies for one field, or null when the field has none (use the raw closures). */
export function specialize(
  t: FieldType,
  off: number,
  raw: RawAccessor,
  h: FieldHelpers,
): SpecializedAccessors | null {
  const code = accessCode(t, off);
  if (code === null || !canGenerate()) return null;
  // Views check the record's range when their offset is set (see view.ts), so their accessors need no test.
  // Static accessors test here; the rare miss (the buffer grew, or a bad pointer) goes to the raw closure,
  // which re-makes the views or throws. Keeping that call off the fast path lets V8 reuse loads.
  const inRange = `p + ${code.end} <= m.end`;
  const lookup = "const m = heap === cache.heap ? cache.memory : memoryOf(heap);";
  const source = `"use strict"; return {
    viewGet: function () { const m = this.$m, p = this.$p; return ${code.read}; },
    viewSet: function (v) { ${code.check} const m = this.$m, p = this.$p; ${code.write} },
    staticGet: function (heap, p) { ${lookup} if (${inRange}) return ${code.read}; return slowGet(m, p); },
    staticSet: function (heap, p, v) { ${code.check} ${lookup} if (${inRange}) { ${code.write} } else slowSet(m, p, v); },
  };`;
  const make = new Function(...HELPER_NAMES, "slowGet", "slowSet", source);
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
