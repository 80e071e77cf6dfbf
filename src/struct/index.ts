/**
 * Typed structs over the heap: declare a layout with `struct(name, fields)` and `types.*`, allocate records
 * with `Layout.alloc(heap)`, share their offsets with other workers, and read them through object views
 * (`Layout.at(heap, ptr).x`) or, in hot loops, static accessors (`Layout.fields.x.get(heap, ptr)`) or a
 * cursor (`Layout.cursor(heap)`, then set `$ptr`). The layout is C's, so wasm32 C code can share the records;
 * `cDeclaration(layout)` prints the matching C.
 */

export { cDeclaration } from "./c-decl.js";
export type { StructHeap } from "./heap-like.js";
export type { AnyLayout, Layout } from "./layout.js";
export { struct } from "./layout.js";
export type {
  AccessorOf,
  Accessors,
  ArrayAccessor,
  AtomicAccessor,
  Bound,
  BoundField,
  FieldAccessor,
} from "./static-accessors.js";
export type {
  ArrayType,
  AtomicType,
  BoolType,
  Fields,
  FieldType,
  Init,
  InitOf,
  Plain,
  PlainOf,
  Ptr,
  PtrType,
  ScalarType,
  StringType,
  StructArray,
  ValueOf,
  View,
  ViewBase,
} from "./types.js";
export { STRING_MAX_BYTES_DEFAULT, types } from "./types.js";
