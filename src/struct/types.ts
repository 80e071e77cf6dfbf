/**
 * Field types of a struct layout: the descriptors behind `types.*` and the TypeScript mapping from a
 * declared layout to the values its fields hold.
 *
 *   type                 C (wasm32)            size align  JS value in a view
 *   u8 i8 u16 i16        uint8_t … int16_t     1,2   1,2   number
 *   u32 i32 f32 f64      uint32_t … double     4,8   4,8   number
 *   u64 i64              uint64_t int64_t      8     8     bigint
 *   bool                 _Bool                 1     1     boolean (any non-zero byte reads true)
 *   ptr(() => L)         uint32_t (L*)         4     4     Ptr<L>: byte offset, 0 = null
 *   string(maxBytes)     uint32_t (char*)      4     4     string; owned NUL-terminated UTF-8 block
 *   atomic(int type)     _Atomic T             = T   = T   number/bigint via Atomics
 *   array(T, n)          T name[n]             n*T   T     typed array (numbers), StructArray (others)
 *   a Layout             struct L              L     L     View<L>
 *
 * Writes convert as C does for integers: truncate toward zero, wrap modulo 2^n (NaN and ±Infinity store 0);
 * f32 rounds to nearest (Math.fround); bool stores 1 for true or a non-zero number.
 */
import type { StructHeap } from "./heap-like.js";

export type NumberScalarName = "u8" | "i8" | "u16" | "i16" | "u32" | "i32" | "f32" | "f64";
export type BigScalarName = "u64" | "i64";
export type ScalarName = NumberScalarName | BigScalarName;
export type IntegerName = Exclude<ScalarName, "f32" | "f64">;

export interface ScalarType<N extends ScalarName = ScalarName> {
  readonly kind: "scalar";
  readonly name: N;
  readonly size: number;
  readonly align: number;
}
export interface BoolType {
  readonly kind: "bool";
  readonly size: 1;
  readonly align: 1;
}
export interface StringType {
  readonly kind: "string";
  readonly size: 4;
  readonly align: 4;
  /** Longest UTF-8 encoding accepted, in bytes (the NUL terminator not counted). */
  readonly maxBytes: number;
}
/** Marker for the layout a pointer field belongs to (see `types.ptr("self")`). */
export interface SelfMarker {
  readonly self: true;
}
export interface PtrType<L = AnyLayout> {
  readonly kind: "ptr";
  readonly size: 4;
  readonly align: 4;
  /** The pointee's layout; for `ptr("self")` the layout that declared the field. */
  readonly target: (() => AnyLayout) | "self";
  /** Type-level only. */
  readonly __pointee?: L;
}
export interface AtomicType<N extends IntegerName = IntegerName> {
  readonly kind: "atomic";
  readonly base: ScalarType<N>;
  readonly size: number;
  readonly align: number;
}
export interface ArrayType<E extends FieldType = FieldType> {
  readonly kind: "array";
  readonly element: E;
  readonly length: number;
  readonly size: number;
  readonly align: number;
}

export type FieldType =
  | ScalarType
  | BoolType
  | StringType
  | PtrType<unknown>
  | AtomicType
  // biome-ignore lint/suspicious/noExplicitAny: element types nest recursively; `any` ends the recursion.
  | ArrayType<any>
  | AnyLayout;

export type Fields = { readonly [name: string]: FieldType };

declare const PTR_BRAND: unique symbol;
/**
 * A byte offset into the heap that points at a record of layout `L` (0 = null). Any number is assignable to
 * it (offsets arrive from other workers as plain numbers), but pointers to different layouts are not
 * assignable to each other.
 */
export type Ptr<L = unknown> = number & { readonly [PTR_BRAND]?: L };

type PointeeOf<T, Self> = T extends PtrType<infer L> ? (L extends SelfMarker ? Self : L) : never;

type TypedArrayOf<N extends ScalarName> = {
  u8: Uint8Array;
  i8: Int8Array;
  u16: Uint16Array;
  i16: Int16Array;
  u32: Uint32Array;
  i32: Int32Array;
  f32: Float32Array;
  f64: Float64Array;
  u64: BigUint64Array;
  i64: BigInt64Array;
}[N];

/** What a field of type T reads as in a view (Self: the enclosing layout, for `ptr("self")`). */
export type ValueOf<T, Self = unknown> =
  T extends ScalarType<infer N>
    ? N extends BigScalarName
      ? bigint
      : number
    : T extends BoolType
      ? boolean
      : T extends StringType
        ? string
        : T extends PtrType<unknown>
          ? Ptr<PointeeOf<T, Self>>
          : T extends AtomicType<infer N>
            ? N extends BigScalarName
              ? bigint
              : number
            : T extends ArrayType<infer E>
              ? E extends ScalarType<infer N>
                ? TypedArrayOf<N>
                : StructArray<ValueOf<E, Self>, InitOf<E>>
              : T extends Layout<infer F>
                ? View<F>
                : never;

/** What a field of type T accepts when written from a plain object (`alloc(heap, init)`, `$set`). */
export type InitOf<T> =
  T extends ScalarType<infer N>
    ? N extends BigScalarName
      ? bigint
      : number
    : T extends BoolType
      ? boolean
      : T extends StringType
        ? string
        : T extends PtrType<unknown>
          ? number
          : T extends AtomicType<infer N>
            ? N extends BigScalarName
              ? bigint
              : number
            : T extends ArrayType<infer E>
              ? ArrayLike<InitOf<E>>
              : T extends Layout<infer F>
                ? Init<F>
                : never;

/** A plain-object copy of a field (`$toObject`): arrays become JS arrays, nested structs plain objects. */
export type PlainOf<T, Self = unknown> =
  T extends ArrayType<infer E> ? PlainOf<E, Self>[] : T extends Layout<infer F> ? Plain<F> : ValueOf<T, Self>;

/** Field kinds whose view property cannot be assigned (write their parts, or use `$set`). */
// biome-ignore lint/suspicious/noExplicitAny: any element type.
type ReadonlyField = ArrayType<any> | AnyLayout;

export type Init<F extends Fields> = { [K in keyof F]?: InitOf<F[K]> };
export type Plain<F extends Fields> = { [K in keyof F]: PlainOf<F[K], Layout<F>> };

/** The object view of a record: one property per field, plus `$`-prefixed members. */
export type View<F extends Fields> = {
  -readonly [K in keyof F as F[K] extends ReadonlyField ? never : K]: ValueOf<F[K], Layout<F>>;
} & {
  readonly [K in keyof F as F[K] extends ReadonlyField ? K : never]: ValueOf<F[K], Layout<F>>;
} & ViewBase<F>;

export interface ViewBase<F extends Fields> {
  /** The record's byte offset. Assigning it moves the view to another record (a cursor); not checked. */
  $ptr: number;
  readonly $heap: import("./heap-like.js").StructHeap;
  readonly $layout: Layout<F>;
  /** Writes every field named in `init`; returns the view. */
  $set(init: Init<F>): this;
  /** A plain-object copy of the record. */
  $toObject(): Plain<F>;
}

/** Array field of non-numeric elements (bool, string, pointer, atomic, struct, nested array). */
export interface StructArray<V, I = V> extends Iterable<V> {
  readonly length: number;
  get(index: number): V;
  set(index: number, value: I): void;
  toArray(): V[];
}

// ---------------------------------------------------------------------------------------------------------
// Runtime descriptors.

const SCALAR_SIZES: { readonly [N in ScalarName]: number } = {
  u8: 1,
  i8: 1,
  u16: 2,
  i16: 2,
  u32: 4,
  i32: 4,
  f32: 4,
  f64: 8,
  u64: 8,
  i64: 8,
};

/** Longest string a `types.string()` field accepts by default, in UTF-8 bytes. */
export const STRING_MAX_BYTES_DEFAULT = 1 << 20;
/** Upper bound for any string limit: the heap's offsets are 32-bit. */
export const STRING_MAX_BYTES_LIMIT = 0x7fff_fff0;
/** Largest struct or array size accepted, in bytes (offsets stay exact small integers). */
export const STRUCT_MAX_BYTES = 0x7fff_ffff;

function scalar<N extends ScalarName>(name: N): ScalarType<N> {
  const size = SCALAR_SIZES[name];
  return Object.freeze({ kind: "scalar", name, size, align: size });
}

export function isLayout(x: unknown): x is AnyLayout {
  return typeof x === "object" && x !== null && (x as { kind?: unknown }).kind === "struct";
}

const KINDS = new Set(["scalar", "bool", "string", "ptr", "atomic", "array", "struct"]);

export function isFieldType(x: unknown): x is FieldType {
  return typeof x === "object" && x !== null && KINDS.has((x as { kind?: unknown }).kind as string);
}

export function describeType(t: FieldType): string {
  switch (t.kind) {
    case "scalar":
      return t.name;
    case "bool":
      return "bool";
    case "string":
      return `string(${t.maxBytes})`;
    case "ptr":
      return "ptr";
    case "atomic":
      return `atomic(${t.base.name})`;
    case "array":
      return `array(${describeType(t.element)}, ${t.length})`;
    case "struct":
      return t.name;
  }
}

function ptr<L extends AnyLayout>(target: () => L): PtrType<L>;
function ptr(target: "self"): PtrType<SelfMarker>;
function ptr(target: (() => AnyLayout) | "self"): PtrType<unknown> {
  if (target !== "self" && typeof target !== "function") {
    throw new TypeError(
      `types.ptr: expected a function returning a layout, or "self", got ${String(target)}`,
    );
  }
  return Object.freeze({ kind: "ptr", size: 4, align: 4, target });
}

function string(maxBytes: number = STRING_MAX_BYTES_DEFAULT): StringType {
  if (!Number.isInteger(maxBytes) || maxBytes < 0 || maxBytes > STRING_MAX_BYTES_LIMIT) {
    throw new RangeError(
      `types.string: maxBytes must be an integer in [0, ${STRING_MAX_BYTES_LIMIT}], got ${String(maxBytes)}`,
    );
  }
  return Object.freeze({ kind: "string", size: 4, align: 4, maxBytes });
}

function atomic<N extends IntegerName>(base: ScalarType<N>): AtomicType<N> {
  const name: string = isFieldType(base) && base.kind === "scalar" ? base.name : "";
  if (name === "" || name === "f32" || name === "f64") {
    const what = isFieldType(base) ? describeType(base) : String(base);
    throw new TypeError(`types.atomic: expected an integer type (types.i32, types.u64, ...), got ${what}`);
  }
  return Object.freeze({ kind: "atomic", base, size: base.size, align: base.align });
}

function array<E extends FieldType>(element: E, length: number): ArrayType<E> {
  if (!isFieldType(element)) {
    throw new TypeError(`types.array: element must be a field type, got ${String(element)}`);
  }
  if (!Number.isInteger(length) || length < 0) {
    throw new RangeError(`types.array: length must be a non-negative integer, got ${String(length)}`);
  }
  const size = element.size * length;
  if (size > STRUCT_MAX_BYTES) {
    throw new RangeError(`types.array: ${describeType(element)}[${length}] is ${size} bytes, over the limit`);
  }
  return Object.freeze({ kind: "array", element, length, size, align: element.align });
}

/** Field type constructors; pass them (or a layout, for a nested struct) to `struct(name, fields)`. */
export const types = Object.freeze({
  u8: scalar("u8"),
  i8: scalar("i8"),
  u16: scalar("u16"),
  i16: scalar("i16"),
  u32: scalar("u32"),
  i32: scalar("i32"),
  f32: scalar("f32"),
  f64: scalar("f64"),
  u64: scalar("u64"),
  i64: scalar("i64"),
  bool: Object.freeze({ kind: "bool", size: 1, align: 1 }) as BoolType,
  /** A typed pointer: `ptr(() => Other)`, or `ptr("self")` for the layout being declared. */
  ptr,
  /** An owned UTF-8 string of at most `maxBytes` bytes, stored as a pointer to its own block. */
  string,
  /** An integer field accessed with `Atomics`. */
  atomic,
  /** A fixed-length array of any field type. */
  array,
});

// ---- the layout and its accessors (types only; implemented in layout.ts and static-accessors.ts) ----

export interface Layout<F extends Fields = Fields> {
  readonly kind: "struct";
  readonly name: string;
  /** `sizeof`: bytes per record, a multiple of `align`. */
  readonly size: number;
  /** `alignof`: the largest field alignment (1 for an empty struct). */
  readonly align: number;
  /** `offsetof` of each field, in declaration order. */
  readonly offsets: { readonly [K in keyof F]: number };
  /** The declared field types. */
  readonly fieldTypes: F;
  /** Static accessors taking `(heap, ptr)`. */
  readonly fields: Accessors<F>;
  /**
   * Accessors bound to `heap`, taking only `ptr`: `const P = Point.bind(heap); P.x.set(p, P.x.get(p) + 1)`.
   * The fast path for hot loops, as fast as hand-written DataView code. Made once per heap and cached.
   */
  bind(heap: StructHeap): Bound<F>;
  /** Allocates one zeroed record (then writes `init`); returns its offset, or 0 when out of memory. */
  alloc(heap: StructHeap, init?: Init<F>): Ptr<Layout<F>>;
  /** Allocates `length` zeroed records in one block; returns its offset, or 0 when out of memory. */
  allocArray(heap: StructHeap, length: number): Ptr<Layout<F>>;
  /** Frees the record and the strings it owns (also in nested structs and arrays). `free(heap, 0)` is a no-op. */
  free(heap: StructHeap, ptr: number): void;
  /** Frees a block from `allocArray` and the strings its `length` records own. */
  freeArray(heap: StructHeap, ptr: number, length: number): void;
  /** A view of record `index` of the live block at `ptr` (checked with the heap). */
  at(heap: StructHeap, ptr: number, index?: number): View<F>;
  /** A view of the record at `ptr` with only range and alignment checks (for records inside other blocks). */
  atUnchecked(heap: StructHeap, ptr: number): View<F>;
  /**
   * A view for hot loops, starting at `ptr`: assign `$ptr` to move it to each record in turn (checked once
   * per move, not per field). Same as `atUnchecked`; any view can be moved this way.
   */
  cursor(heap: StructHeap, ptr: number): View<F>;
  /** Writes the fields named in `init` to the record at `ptr`. */
  write(heap: StructHeap, ptr: number, init: Init<F>): void;
  /** A plain-object copy of the record at `ptr`. */
  read(heap: StructHeap, ptr: number): Plain<F>;
  /** Offset of record `index` in an array block at `ptr`. */
  element(ptr: number, index: number): Ptr<Layout<F>>;
}

// biome-ignore lint/suspicious/noExplicitAny: the widest layout type, needed for recursive references.
export type AnyLayout = Layout<any>;

/** Static accessor of one field: no object per access (for the fastest loops, see `Layout.bind`). */
export interface FieldAccessor<V, I = V> {
  readonly offset: number;
  readonly type: FieldType;
  get(heap: StructHeap, ptr: number): V;
  set(heap: StructHeap, ptr: number, value: I): void;
}

/** An atomic field: `get`/`set` are `Atomics.load`/`store`; the rest are the `Atomics` operations. */
export interface AtomicAccessor<V extends number | bigint> extends FieldAccessor<V> {
  load(heap: StructHeap, ptr: number): V;
  store(heap: StructHeap, ptr: number, value: V): V;
  add(heap: StructHeap, ptr: number, value: V): V;
  sub(heap: StructHeap, ptr: number, value: V): V;
  and(heap: StructHeap, ptr: number, value: V): V;
  or(heap: StructHeap, ptr: number, value: V): V;
  xor(heap: StructHeap, ptr: number, value: V): V;
  exchange(heap: StructHeap, ptr: number, value: V): V;
  compareExchange(heap: StructHeap, ptr: number, expected: V, replacement: V): V;
  /**
   * `Atomics.wait` (32- and 64-bit fields only). A page's main thread cannot block: there it throws a
   * TypeError that points to `waitAsync`.
   */
  wait(heap: StructHeap, ptr: number, expected: V, timeoutMs?: number): "ok" | "not-equal" | "timed-out";
  /** `Atomics.waitAsync` (32- and 64-bit fields only): never blocks, usable on any thread. */
  waitAsync(
    heap: StructHeap,
    ptr: number,
    expected: V,
    timeoutMs?: number,
  ): Promise<"ok" | "not-equal" | "timed-out">;
  /** `Atomics.notify` (32- and 64-bit fields only); returns the number of waiters woken. */
  notify(heap: StructHeap, ptr: number, count?: number): number;
}

/** An array field: the whole array (`get` makes a view, `set` copies), or one element without allocating. */
export interface ArrayAccessor<E extends FieldType, Self>
  extends FieldAccessor<ValueOf<ArrayType<E>, Self>, ArrayLike<InitOf<E>>> {
  readonly length: number;
  getAt(heap: StructHeap, ptr: number, index: number): ValueOf<E, Self>;
  setAt(heap: StructHeap, ptr: number, index: number, value: InitOf<E>): void;
}

export type AccessorOf<T, Self> =
  T extends AtomicType<infer N>
    ? AtomicAccessor<N extends BigScalarName ? bigint : number>
    : T extends ArrayType<infer E>
      ? ArrayAccessor<E, Self>
      : FieldAccessor<ValueOf<T, Self>, InitOf<T>>;

export type Accessors<F extends Fields> = { readonly [K in keyof F]: AccessorOf<F[K], Layout<F>> };

/** A field's accessors bound to one heap (`Layout.bind(heap)`): the fastest path. */
export interface BoundField<V, I = V> {
  get(ptr: number): V;
  set(ptr: number, value: I): void;
}

export type Bound<F extends Fields> = {
  readonly [K in keyof F]: BoundField<ValueOf<F[K], Layout<F>>, InitOf<F[K]>>;
};
