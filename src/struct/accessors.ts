/**
 * Raw field accessors: `rawAccessor(type, offset, …)` makes the get/set/plain closures of one field, taking
 * a StructMemory and the record's offset. They implement every field kind (strings, arrays and nested
 * structs only here); for numbers, bools, pointers and atomics the views, static and bound accessors use
 * specialized code (specialize.ts) and come here only on their slow path (past the end of their views) or
 * where code generation is not allowed.
 *
 * Rules: no allocation except for values that are objects (strings, arrays, nested views); the range test
 * `!(ptr + end <= memory.end)` also catches a NaN pointer and sends growth to `ensure`. Pointers are not
 * checked for liveness here: that is `Layout.at`'s job.
 *
 * Errors: TypeError for a value of the wrong JS type, RangeError for a pointer or string out of its range;
 * messages name the field as `Layout.field`.
 */
import { MALLOCX_ZERO } from "../flags.js";
import type { StructMemory } from "./memory.js";
import type { AnyLayout, ArrayType, AtomicType, FieldType, ScalarType, StructArray } from "./types.js";
import { describeType, isLayout } from "./types.js";
import { utf8Length, utf8Read, utf8Write } from "./utf8.js";

export interface RawAccessor {
  get(m: StructMemory, p: number): unknown;
  set(m: StructMemory, p: number, value: unknown): void;
  /** A plain-object copy (differs from `get` for arrays and nested structs). */
  plain(m: StructMemory, p: number): unknown;
}

/** What an accessor needs from the layout that owns the field. */
export interface FieldContext {
  /** `Layout.field`, for messages. */
  readonly label: string;
  /** The layout that declares the field (resolves `ptr("self")`). */
  readonly owner: AnyLayout;
}

export function rawAccessor(t: FieldType, off: number, ctx: FieldContext): RawAccessor {
  switch (t.kind) {
    case "scalar":
      return scalarAccessor(t, off, ctx.label);
    case "bool":
      return boolAccessor(off, ctx.label);
    case "ptr":
      return ptrAccessor(t.target, off, ctx);
    case "string":
      return stringAccessor(off, t.maxBytes, ctx.label);
    case "atomic":
      return atomicAccessor(t, off, ctx.label);
    case "array":
      return arrayAccessor(t, off, ctx);
    case "struct":
      return nestedAccessor(t, off);
  }
}

function withPlain(get: RawAccessor["get"], set: RawAccessor["set"]): RawAccessor {
  return { get, set, plain: get };
}

/** What a field of this type accepts, for messages. */
export function expectedValue(t: FieldType): string {
  switch (t.kind) {
    case "scalar":
      return t.name === "u64" || t.name === "i64" ? "a bigint" : "a number";
    case "atomic":
      return t.base.name === "u64" || t.base.name === "i64" ? "a bigint" : "a number";
    case "bool":
      return "a boolean";
    case "ptr":
      return "a pointer (number)";
    case "string":
      return "a string";
    case "array":
      return `an array of ${describeType(t.element)}`;
    case "struct":
      return `an object of ${t.name} fields`;
  }
}

export function badValue(label: string, expected: string, v: unknown): never {
  const shown = typeof v === "bigint" ? `${v}n` : typeof v === "string" ? JSON.stringify(v) : String(v);
  throw new TypeError(`${label}: expected ${expected}, got ${typeof v} ${shown}`);
}

/**
 * A plain number or bigint field. The same closure serves every field of a kind, so this is the slow path:
 * hot fields get specialized code (specialize.ts) and use this only past the end of their views or where
 * code generation is not allowed.
 */
function scalarAccessor(t: ScalarType, off: number, label: string): RawAccessor {
  const end = off + t.size;
  const view = scalarView(t.name) as (m: StructMemory) => { [index: number]: unknown };
  const shift = Math.log2(t.size);
  const kind = t.name === "u64" || t.name === "i64" ? "bigint" : "number";
  return withPlain(
    (m, p) => {
      if (!(p + end <= m.end)) m.ensure(p + end);
      return view(m)[(p + off) >>> shift];
    },
    (m, p, v) => {
      if (typeof v !== kind) badValue(label, `a ${kind}`, v);
      if (!(p + end <= m.end)) m.ensure(p + end);
      view(m)[(p + off) >>> shift] = v;
    },
  );
}

function boolAccessor(off: number, label: string): RawAccessor {
  const end = off + 1;
  return withPlain(
    (m, p) => {
      if (!(p + end <= m.end)) m.ensure(p + end);
      return m.u8[p + off] !== 0;
    },
    (m, p, v) => {
      // C's conversion to _Bool: 1 unless the value compares equal to 0 (so NaN is true).
      let byte: number;
      if (typeof v === "boolean") byte = v ? 1 : 0;
      else if (typeof v === "number") byte = v !== 0 ? 1 : 0;
      else badValue(label, "a boolean", v);
      if (!(p + end <= m.end)) m.ensure(p + end);
      m.u8[p + off] = byte;
    },
  );
}

/** Resolves a pointer field's target layout on first use (targets may be declared later). */
export function resolvePointee(target: (() => AnyLayout) | "self", ctx: FieldContext): AnyLayout {
  const l = target === "self" ? ctx.owner : target();
  if (!isLayout(l)) throw new TypeError(`${ctx.label}: types.ptr target returned ${String(l)}, not a layout`);
  return l;
}

/** The check a pointer field applies to a written value: a u32 offset aligned for the target layout. */
export function makePtrCheck(target: (() => AnyLayout) | "self", ctx: FieldContext): (v: unknown) => number {
  let alignMask = -1; // -1 until the target is resolved (it may be declared after this layout)
  return (v: unknown): number => {
    if (typeof v !== "number") badValue(ctx.label, "a pointer (number)", v);
    if (v !== v >>> 0) {
      throw new RangeError(`${ctx.label}: a pointer must be an integer in [0, 2^32), got ${String(v)}`);
    }
    if (alignMask < 0) alignMask = resolvePointee(target, ctx).align - 1;
    if ((v & alignMask) !== 0) {
      throw new RangeError(`${ctx.label}: pointer ${v} is not aligned to ${alignMask + 1}`);
    }
    return v;
  };
}

function ptrAccessor(target: (() => AnyLayout) | "self", off: number, ctx: FieldContext): RawAccessor {
  const end = off + 4;
  const checkPtr = makePtrCheck(target, ctx);
  return withPlain(
    (m, p) => {
      if (!(p + end <= m.end)) m.ensure(p + end);
      return m.u32[(p + off) >>> 2];
    },
    (m, p, v) => {
      const q = checkPtr(v);
      if (!(p + end <= m.end)) m.ensure(p + end);
      m.u32[(p + off) >>> 2] = q;
    },
  );
}

function stringAccessor(off: number, maxBytes: number, label: string): RawAccessor {
  const end = off + 4;
  return withPlain(
    (m, p) => {
      if (!(p + end <= m.end)) m.ensure(p + end);
      const s = m.u32[(p + off) >>> 2]!;
      return s === 0 ? "" : readCString(m, s, maxBytes, label);
    },
    (m, p, v) => {
      if (typeof v !== "string") badValue(label, "a string", v);
      if (!(p + end <= m.end)) m.ensure(p + end);
      writeStringField(m, p + off, v, maxBytes, label);
    },
  );
}

/** Reads the NUL-terminated UTF-8 string at `s`, scanning at most `maxBytes + 1` bytes. */
function readCString(m: StructMemory, s: number, maxBytes: number, label: string): string {
  const limit = Math.min(s + maxBytes + 1, m.buffer.byteLength);
  if (limit > m.end) m.ensure(limit);
  const u8 = m.u8;
  let e = s;
  while (e < limit && u8[e] !== 0) e++;
  if (e === limit) {
    throw new RangeError(
      `${label}: string at ${s} has no NUL terminator within ${maxBytes} bytes (corrupt?)`,
    );
  }
  return utf8Read(u8, s, e);
}

/**
 * Stores `v` in the string field at byte `at`: "" stores NULL; otherwise the old block is reused when it is
 * big enough, else a new block is allocated and the old one freed. Throws before changing anything.
 */
function writeStringField(m: StructMemory, at: number, v: string, maxBytes: number, label: string): void {
  const bytes = utf8Length(v);
  if (bytes < 0) throw new TypeError(`${label}: a C string cannot contain U+0000, got ${JSON.stringify(v)}`);
  if (bytes > maxBytes) {
    throw new RangeError(`${label}: string of ${bytes} UTF-8 bytes is over the field's limit of ${maxBytes}`);
  }
  const heap = m.heap;
  const old = m.u32[at >>> 2]!;
  if (bytes === 0) {
    m.u32[at >>> 2] = 0;
    if (old !== 0) heap.dallocx(old, 0);
    return;
  }
  let s = old;
  if (old === 0 || heap.mallocUsableSize(old) < bytes + 1) {
    s = heap.mallocx(bytes + 1, 0);
    if (s === 0) throw new RangeError(`${label}: out of memory allocating ${bytes + 1} bytes for a string`);
  }
  if (!(s + bytes + 1 <= m.end)) m.ensure(s + bytes + 1);
  m.u8[utf8Write(m.u8, s, v)] = 0;
  m.u32[at >>> 2] = s;
  if (old !== 0 && old !== s) heap.dallocx(old, 0);
}

/** Frees the string owned by the field at byte `at` (no-op for NULL) and clears the field. */
export function freeStringAt(m: StructMemory, at: number): void {
  const s = m.u32[at >>> 2]!;
  if (s !== 0) {
    m.u32[at >>> 2] = 0;
    m.heap.dallocx(s, 0);
  }
}

function atomicAccessor(t: AtomicType, off: number, label: string): RawAccessor {
  const end = off + t.size;
  const big = t.base.name === "u64" || t.base.name === "i64";
  const view = atomicView(t.base.name);
  const shift = Math.log2(t.size);
  return withPlain(
    (m, p) => {
      if (!(p + end <= m.end)) m.ensure(p + end);
      return Atomics.load(view(m) as Int32Array, (p + off) >>> shift);
    },
    (m, p, v) => {
      if (typeof v !== (big ? "bigint" : "number")) badValue(label, big ? "a bigint" : "a number", v);
      if (!(p + end <= m.end)) m.ensure(p + end);
      Atomics.store(view(m) as Int32Array, (p + off) >>> shift, v as number);
    },
  );
}

export type IntegerView = Int8Array | Uint8Array | Int16Array | Uint16Array | Int32Array | Uint32Array;
export type AnyIntegerView = IntegerView | BigInt64Array | BigUint64Array;

/** The view a field of scalar type `name` is read through. */
function scalarView(name: string): (m: StructMemory) => AnyIntegerView | Float32Array | Float64Array {
  if (name === "f32") return (m) => m.f32;
  if (name === "f64") return (m) => m.f64;
  return atomicView(name);
}

/** The view an atomic (integer) field of this type is accessed through. */
export function atomicView(name: string): (m: StructMemory) => AnyIntegerView {
  switch (name) {
    case "u8":
      return (m) => m.u8;
    case "i8":
      return (m) => m.i8;
    case "u16":
      return (m) => m.u16;
    case "i16":
      return (m) => m.i16;
    case "u32":
      return (m) => m.u32;
    case "i32":
      return (m) => m.i32;
    case "u64":
      return (m) => m.u64;
    case "i64":
      return (m) => m.i64;
  }
  throw new TypeError(`struct: no atomic view for ${name}`);
}

function arrayAccessor(t: ArrayType, off: number, ctx: FieldContext): RawAccessor {
  const { element, length } = t;
  const es = element.size;
  const end = off + t.size;
  const elem = rawAccessor(element, 0, { label: `${ctx.label}[]`, owner: ctx.owner });
  const set = (m: StructMemory, p: number, v: unknown): void => {
    if (typeof v !== "object" || v === null || typeof (v as ArrayLike<unknown>).length !== "number") {
      badValue(ctx.label, `an array of ${describeType(element)}`, v);
    }
    const src = v as ArrayLike<unknown>;
    if (src.length > length) {
      throw new RangeError(`${ctx.label}: ${src.length} values do not fit in ${describeType(t)}`);
    }
    if (!(p + end <= m.end)) m.ensure(p + end);
    for (let i = 0; i < src.length; i++) elem.set(m, p + off + i * es, src[i]);
  };
  const plain = (m: StructMemory, p: number): unknown[] => {
    if (!(p + end <= m.end)) m.ensure(p + end);
    const out = new Array<unknown>(length);
    for (let i = 0; i < length; i++) out[i] = elem.plain(m, p + off + i * es);
    return out;
  };
  if (element.kind === "scalar") {
    const make = typedArrayMaker(element.name);
    return {
      get: (m, p) => {
        if (!(p + end <= m.end)) m.ensure(p + end);
        return make(m.buffer, p + off, length);
      },
      set,
      plain,
    };
  }
  return {
    get: (m, p) => {
      if (!(p + end <= m.end)) m.ensure(p + end);
      return new StructArrayView(m, p + off, length, es, elem, ctx.label);
    },
    set,
    plain,
  };
}

type TypedArrayMaker = (b: ArrayBufferLike, byteOffset: number, length: number) => unknown;

function typedArrayMaker(name: string): TypedArrayMaker {
  switch (name) {
    case "u8":
      return (b, o, n) => new Uint8Array(b, o, n);
    case "i8":
      return (b, o, n) => new Int8Array(b, o, n);
    case "u16":
      return (b, o, n) => new Uint16Array(b, o, n);
    case "i16":
      return (b, o, n) => new Int16Array(b, o, n);
    case "u32":
      return (b, o, n) => new Uint32Array(b, o, n);
    case "i32":
      return (b, o, n) => new Int32Array(b, o, n);
    case "f32":
      return (b, o, n) => new Float32Array(b, o, n);
    case "f64":
      return (b, o, n) => new Float64Array(b, o, n);
    case "u64":
      return (b, o, n) => new BigUint64Array(b, o, n);
    default:
      return (b, o, n) => new BigInt64Array(b, o, n);
  }
}

/** An array field whose elements are not plain numbers: reads and writes go through the element accessor. */
class StructArrayView implements StructArray<unknown> {
  constructor(
    private readonly m: StructMemory,
    private readonly base: number,
    readonly length: number,
    private readonly stride: number,
    private readonly elem: RawAccessor,
    private readonly label: string,
  ) {}

  private at(index: number): number {
    if (!Number.isInteger(index) || index < 0 || index >= this.length) {
      throw new RangeError(`${this.label}: index ${String(index)} is outside [0, ${this.length})`);
    }
    return this.base + index * this.stride;
  }

  get(index: number): unknown {
    return this.elem.get(this.m, this.at(index));
  }

  set(index: number, value: unknown): void {
    this.elem.set(this.m, this.at(index), value);
  }

  toArray(): unknown[] {
    const out = new Array<unknown>(this.length);
    for (let i = 0; i < this.length; i++) out[i] = this.elem.get(this.m, this.base + i * this.stride);
    return out;
  }

  *[Symbol.iterator](): Iterator<unknown> {
    for (let i = 0; i < this.length; i++) yield this.elem.get(this.m, this.base + i * this.stride);
  }
}

/** What a nested layout offers its enclosing layout's accessors. */
export interface NestedLayout {
  viewAt(m: StructMemory, p: number): unknown;
  writeInit(m: StructMemory, p: number, init: unknown): void;
  toPlain(m: StructMemory, p: number): unknown;
  readonly size: number;
}

function nestedAccessor(l: AnyLayout, off: number): RawAccessor {
  const nested = l as unknown as NestedLayout;
  const end = off + l.size;
  return {
    get: (m, p) => {
      if (!(p + end <= m.end)) m.ensure(p + end);
      return nested.viewAt(m, p + off);
    },
    set: (m, p, v) => nested.writeInit(m, p + off, v),
    plain: (m, p) => nested.toPlain(m, p + off),
  };
}

/** `MALLOCX_ZERO` plus the alignment flag jemalloc expects for `align`. */
export function allocFlags(align: number): number {
  return MALLOCX_ZERO | (31 - Math.clz32(align));
}
