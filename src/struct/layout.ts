/**
 * `struct(name, fields)`: a record layout laid out by C's rules for wasm32 (natural alignment, padding,
 * `sizeof` rounded up to `alignof`; pointers and strings are 4-byte offsets), with allocation through the
 * heap, object views (which double as cursors), static accessors `(heap, ptr)`, and accessors bound to a
 * heap (`bind`), the fastest path.
 *
 * Invariants: `size` is a multiple of `align`; every field offset is a multiple of the field's alignment, so
 * a record at an `align`-aligned offset can be read through typed arrays (and Atomics) without tearing.
 * Records are allocated zeroed, so every field starts as 0 / false / "" / null.
 *
 * Errors: declaring — TypeError for a name that is not an identifier or a value that is not a field type;
 * using — TypeError/RangeError naming the value, and a RangeError (with the heap's error as `cause`) when
 * `at`/`free` get an offset the heap does not know as a live block big enough for the record.
 */
import { MALLOCX_ZERO } from "../flags.js";
import type { FieldContext, NestedLayout, RawAccessor } from "./accessors.js";
import { allocFlags, badValue, expectedValue, freeStringAt, makePtrCheck, rawAccessor } from "./accessors.js";
import type { StructHeap } from "./heap-like.js";
import { memoryCache, memoryOf, type StructMemory } from "./memory.js";
import {
  type BindField,
  type BoundFactory,
  type BoundPair,
  boundFactory,
  generic,
  type SpecializedAccessors,
  type StaticFactory,
  specialize,
  staticFactory,
  type ViewFactory,
  viewFactory,
} from "./specialize.js";
import { staticAccessor } from "./static-accessors.js";
import type { AnyLayout, Fields, FieldType, Layout } from "./types.js";
import { isFieldType, STRUCT_MAX_BYTES } from "./types.js";
import {
  checkRecordPtr,
  makeViewClass,
  ptrSetterFactory,
  type ViewClass,
  type ViewField,
  type ViewInternals,
} from "./view.js";

export type { AnyLayout, Layout } from "./types.js";

const IDENTIFIER = /^[\p{ID_Start}$_][\p{ID_Continue}$\u200C\u200D]*$/u;
const RESERVED_FIELD_NAMES = new Set(["constructor", "__proto__", "prototype"]);

/** Declares a layout: `struct("Point", { x: types.f64, y: types.f64 })`. */
export function struct<const F extends Fields>(name: string, fields: F): Layout<F> {
  if (typeof name !== "string" || !IDENTIFIER.test(name)) {
    throw new TypeError(`struct: the layout name must be an identifier, got ${JSON.stringify(name)}`);
  }
  if (typeof fields !== "object" || fields === null || Array.isArray(fields)) {
    throw new TypeError(`struct ${name}: fields must be an object of name -> type, got ${String(fields)}`);
  }
  const names = Object.keys(fields);
  for (const f of names) checkFieldName(name, f, fields[f]);
  return new StructLayout(name, fields) as unknown as Layout<F>;
}

function checkFieldName(layout: string, f: string, t: unknown): void {
  if (!IDENTIFIER.test(f)) {
    throw new TypeError(`struct ${layout}: field name ${JSON.stringify(f)} is not an identifier`);
  }
  if (f.startsWith("$") || RESERVED_FIELD_NAMES.has(f)) {
    throw new TypeError(
      `struct ${layout}: field name ${JSON.stringify(f)} is reserved ($-names belong to views)`,
    );
  }
  if (!isFieldType(t)) {
    throw new TypeError(`struct ${layout}: field ${f} has no field type (got ${String(t)}); use types.*`);
  }
}

interface FieldSlot extends BindField {
  readonly name: string;
  readonly type: FieldType;
  readonly offset: number;
  readonly raw: RawAccessor;
  /** The hot accessors: specialized copies where possible. */
  readonly fast: SpecializedAccessors;
}

class StructLayout implements NestedLayout {
  readonly kind = "struct";
  readonly name: string;
  readonly size: number;
  readonly align: number;
  readonly offsets: Readonly<Record<string, number>>;
  readonly fieldTypes: Readonly<Record<string, FieldType>>;
  readonly fields: Readonly<Record<string, object>>;
  private readonly slots: readonly FieldSlot[];
  private readonly byName: ReadonlyMap<string, FieldSlot>;
  /** The newest view class per heap memory (one per generation of its views). */
  private readonly viewClasses = new WeakMap<StructMemory, ViewClass>();
  private viewMaker: ViewFactory | null = null;
  private ptrSetterMaker: ((end: number) => (p: number) => void) | null = null;
  /** mallocx flags: the layout's alignment, zeroed. */
  private readonly flags: number;
  /** dallocx flags: the same alignment. */
  private readonly freeFlags: number;
  private stringOffsetsCache: number[] | null = null;
  private readonly bound = new WeakMap<StructMemory, object>();
  private boundMaker: BoundFactory | null = null;
  /** The heap the static accessors are specialized for: the first one they are used with. */
  private adopted: StructHeap | null = null;
  private staticMaker: StaticFactory | null = null;

  constructor(name: string, fieldTypes: Fields) {
    this.name = name;
    this.fieldTypes = Object.freeze({ ...fieldTypes });
    const { offsets, size, align } = cLayout(name, fieldTypes);
    this.size = size;
    this.align = align;
    this.offsets = Object.freeze(offsets);
    this.flags = allocFlags(align);
    this.freeFlags = this.flags & ~MALLOCX_ZERO;
    const owner = this as unknown as AnyLayout;
    this.slots = Object.keys(fieldTypes).map((f) =>
      makeSlot(f, fieldTypes[f]!, offsets[f]!, { label: `${name}.${f}`, owner }),
    );
    this.byName = new Map(this.slots.map((s) => [s.name, s]));
    const adopt = (heap: StructHeap) => this.adopt(heap);
    this.fields = Object.freeze(
      Object.fromEntries(
        this.slots.map((s) => [s.name, staticAccessor(s, { label: `${name}.${s.name}`, owner }, adopt)]),
      ),
    );
    Object.freeze(this.slots);
  }

  bind(heap: StructHeap): object {
    const m = memoryOf(heap);
    let b = this.bound.get(m);
    if (b === undefined) {
      this.boundMaker ??= boundFactory(this.slots);
      const make = this.boundMaker;
      const target: Record<string, BoundPair> = {};
      // New pairs after each growth (see boundFactory); the object keeps its shape, only values change.
      const fill = () => {
        const pairs = make(m);
        this.slots.forEach((s, i) => {
          target[s.name] = Object.freeze(pairs[i]!);
        });
      };
      fill();
      m.onRemake(fill);
      b = Object.seal(target);
      this.bound.set(m, b);
    }
    return b;
  }

  viewClass(m: StructMemory): ViewClass {
    const current = this.viewClasses.get(m);
    if (current !== undefined) return current;
    const make = () => this.viewClasses.set(m, this.makeViewClassFor(m));
    make();
    m.onRemake(make);
    return this.viewClasses.get(m)!;
  }

  private makeViewClassFor(m: StructMemory): ViewClass {
    this.viewMaker ??= viewFactory(this.slots);
    this.ptrSetterMaker ??= ptrSetterFactory(this);
    const pairs = this.viewMaker(m);
    const fields: ViewField[] = this.slots.map((s, i) => ({
      name: s.name,
      get: (pairs[i]?.get ?? s.fast.viewGet) as () => unknown,
      set: (pairs[i]?.set ?? s.fast.viewSet) as (v: unknown) => void,
      readonly: s.type.kind === "array" || s.type.kind === "struct",
    }));
    return makeViewClass(this, fields, this.ptrSetterMaker(m.end));
  }

  /**
   * Specializes the static accessors for `heap` (once: calls with other heaps stay on the general path, so
   * alternating heaps cannot thrash), and again whenever that heap's buffer grows.
   */
  private adopt(heap: StructHeap): void {
    if (this.adopted !== null) return;
    this.adopted = heap;
    const m = memoryOf(heap);
    this.staticMaker ??= staticFactory(this.slots);
    const make = this.staticMaker;
    const install = () => {
      const pairs = make(m, heap);
      this.slots.forEach((s, i) => {
        const pair = pairs[i];
        const target = this.fields[s.name] as { get: unknown; set: unknown };
        target.get = pair ? pair.get : s.fast.staticGet;
        target.set = pair ? pair.set : s.fast.staticSet;
      });
    };
    install();
    m.onRemake(install);
  }

  alloc(heap: StructHeap, init?: unknown): number {
    const m = memoryOf(heap);
    const p = heap.mallocx(Math.max(this.size, 1), this.flags);
    if (p === 0 || init === undefined) return p;
    try {
      this.writeInit(m, p, init);
    } catch (e) {
      this.freeStrings(m, p);
      heap.dallocx(p, this.freeFlags);
      throw e;
    }
    return p;
  }

  allocArray(heap: StructHeap, length: number): number {
    this.checkCount("allocArray", length);
    memoryOf(heap);
    return heap.mallocx(Math.max(this.size * length, 1), this.flags);
  }

  free(heap: StructHeap, ptr: number): void {
    if (ptr === 0) return;
    this.checkPtr("free", ptr);
    this.checkLive(heap, "free", ptr, this.size);
    this.freeStrings(memoryOf(heap), ptr);
    heap.dallocx(ptr, this.freeFlags);
  }

  freeArray(heap: StructHeap, ptr: number, length: number): void {
    if (ptr === 0) return;
    this.checkPtr("freeArray", ptr);
    this.checkCount("freeArray", length);
    this.checkLive(heap, "freeArray", ptr, this.size * length);
    const m = memoryOf(heap);
    for (let i = 0; i < length; i++) this.freeStrings(m, ptr + i * this.size);
    heap.dallocx(ptr, this.freeFlags);
  }

  at(heap: StructHeap, ptr: number, index = 0): ViewInternals {
    this.checkPtr("at", ptr);
    if (!Number.isInteger(index) || index < 0) {
      throw new RangeError(`${this.name}.at: index must be a non-negative integer, got ${String(index)}`);
    }
    this.checkLive(heap, "at", ptr, this.size * (index + 1));
    const m = memoryOf(heap);
    const p = checkRecordPtr(this, m, "at", ptr + index * this.size);
    return new (this.viewClass(m))(m, p);
  }

  atUnchecked(heap: StructHeap, ptr: number): ViewInternals {
    const m = memoryOf(heap);
    const p = checkRecordPtr(this, m, "atUnchecked", ptr);
    return new (this.viewClass(m))(m, p);
  }

  cursor(heap: StructHeap, ptr: number): ViewInternals {
    const m = memoryOf(heap);
    const p = checkRecordPtr(this, m, "cursor", ptr);
    return new (this.viewClass(m))(m, p);
  }

  write(heap: StructHeap, ptr: number, init: unknown): void {
    this.checkPtr("write", ptr);
    this.writeInit(memoryOf(heap), ptr, init);
  }

  read(heap: StructHeap, ptr: number): unknown {
    this.checkPtr("read", ptr);
    return this.toPlain(memoryOf(heap), ptr);
  }

  element(ptr: number, index: number): number {
    return ptr + index * this.size;
  }

  // --- NestedLayout / ViewLayout: used by accessors and views of this and enclosing layouts. ---

  viewAt(m: StructMemory, p: number): ViewInternals {
    return new (this.viewClass(m))(m, p);
  }

  writeInit(m: StructMemory, p: number, init: unknown): void {
    if (typeof init !== "object" || init === null) badValue(this.name, "an object of field values", init);
    const keys = Object.keys(init);
    for (const k of keys) {
      if (!this.byName.has(k)) throw new TypeError(`${this.name}: no field named ${JSON.stringify(k)}`);
    }
    for (const k of keys) this.byName.get(k)!.raw.set(m, p, (init as Record<string, unknown>)[k]);
  }

  toPlain(m: StructMemory, p: number): Record<string, unknown> {
    const out: Record<string, unknown> = {};
    for (const s of this.slots) out[s.name] = s.raw.plain(m, p);
    return out;
  }

  /** Offsets (from the record start) of every owned string, through nested structs and arrays. */
  stringOffsets(): number[] {
    if (this.stringOffsetsCache === null) {
      const out: number[] = [];
      for (const s of this.slots) collectStringOffsets(s.type, s.offset, out);
      this.stringOffsetsCache = out;
    }
    return this.stringOffsetsCache;
  }

  private freeStrings(m: StructMemory, p: number): void {
    const offs = this.stringOffsets();
    if (offs.length === 0) return;
    m.ensure(p + this.size);
    for (const o of offs) freeStringAt(m, p + o);
  }

  private checkPtr(op: string, ptr: unknown): void {
    if (typeof ptr !== "number" || ptr !== ptr >>> 0 || ptr === 0) {
      throw new RangeError(`${this.name}.${op}: expected a non-null heap offset, got ${String(ptr)}`);
    }
    if (ptr % this.align !== 0) {
      throw new RangeError(`${this.name}.${op}: offset ${ptr} is not aligned to ${this.align}`);
    }
  }

  private checkCount(op: string, n: unknown): void {
    if (typeof n !== "number" || !Number.isInteger(n) || n < 0 || this.size * n > 0xffff_ffff) {
      throw new RangeError(
        `${this.name}.${op}: length must be an integer in [0, 2^32 / size), got ${String(n)}`,
      );
    }
  }

  private checkLive(heap: StructHeap, op: string, ptr: number, need: number): void {
    let usable: number;
    try {
      usable = heap.mallocUsableSize(ptr);
    } catch (e) {
      const why = e instanceof Error ? e.message : String(e);
      throw new RangeError(`${this.name}.${op}: ${ptr} is not a live heap block (${why})`, { cause: e });
    }
    if (usable < need) {
      throw new RangeError(
        `${this.name}.${op}: the block at ${ptr} has ${usable} usable bytes, fewer than the ${need} needed`,
      );
    }
  }
}

function makeSlot(name: string, type: FieldType, offset: number, ctx: FieldContext): FieldSlot {
  const raw = rawAccessor(type, offset, ctx);
  const expected = expectedValue(type);
  const helpers = {
    bad: (v: unknown) => badValue(ctx.label, expected, v),
    checkPtr: type.kind === "ptr" ? makePtrCheck(type.target, ctx) : (v: unknown) => v as number,
    memoryOf: memoryOf as (heap: never) => unknown,
    cache: memoryCache,
  };
  const fast = specialize(type, offset, raw, helpers) ?? generic(raw, helpers.memoryOf);
  return { name, type, offset, raw, fast, bad: helpers.bad, checkPtr: helpers.checkPtr };
}

function collectStringOffsets(t: FieldType, at: number, out: number[]): void {
  if (t.kind === "string") out.push(at);
  else if (t.kind === "struct")
    for (const o of (t as unknown as StructLayout).stringOffsets()) out.push(at + o);
  else if (t.kind === "array" && hasStrings(t.element)) {
    for (let i = 0; i < t.length; i++) collectStringOffsets(t.element, at + i * t.element.size, out);
  }
}

function hasStrings(t: FieldType): boolean {
  if (t.kind === "string") return true;
  if (t.kind === "array") return hasStrings(t.element);
  if (t.kind === "struct") return (t as unknown as StructLayout).stringOffsets().length > 0;
  return false;
}

/** C's struct layout: each field at the next multiple of its alignment; size rounded to the alignment. */
export function cLayout(
  name: string,
  fieldTypes: Fields,
): { offsets: Record<string, number>; size: number; align: number } {
  const offsets: Record<string, number> = {};
  let at = 0;
  let align = 1;
  for (const f of Object.keys(fieldTypes)) {
    const t = fieldTypes[f]!;
    at = alignUp(at, t.align);
    offsets[f] = at;
    at += t.size;
    if (t.align > align) align = t.align;
  }
  const size = alignUp(at, align);
  if (size > STRUCT_MAX_BYTES) throw new RangeError(`struct ${name}: ${size} bytes is over the size limit`);
  return { offsets, size, align };
}

function alignUp(n: number, a: number): number {
  return Math.ceil(n / a) * a;
}
