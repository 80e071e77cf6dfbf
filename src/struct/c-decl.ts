/**
 * cDeclaration: the C declaration of a layout (and of the layouts nested in it, first), for C code compiled
 * to wasm32 that shares the records. Pointer and string fields are `uint32_t` offsets into the heap, as the
 * C side sees them through its own base pointer; the pointee is named in a comment.
 */
import type { AnyLayout, FieldType } from "./types.js";

const C_KEYWORDS = new Set(
  (
    "auto break case char const continue default do double else enum extern float for goto if inline int long " +
    "register restrict return short signed sizeof static struct switch typedef union unsigned void volatile while " +
    "_Alignas _Alignof _Atomic _Bool _Complex _Generic _Imaginary _Noreturn _Static_assert _Thread_local bool"
  ).split(" "),
);

/** C type of each numeric field type (wasm32: pointers and strings are uint32_t). */
export const C_SCALARS: Readonly<Record<string, string>> = {
  u8: "uint8_t",
  i8: "int8_t",
  u16: "uint16_t",
  i16: "int16_t",
  u32: "uint32_t",
  i32: "int32_t",
  f32: "float",
  f64: "double",
  u64: "uint64_t",
  i64: "int64_t",
};

/** C source declaring `layout` and every layout nested in it (needs <stdint.h>). */
export function cDeclaration(layout: AnyLayout): string {
  const out: string[] = [];
  emit(layout, new Map(), out);
  return out.join("\n");
}

function emit(l: AnyLayout, done: Map<string, AnyLayout>, out: string[]): void {
  const seen = done.get(l.name);
  if (seen === l) return;
  if (seen !== undefined) throw new TypeError(`cDeclaration: two different layouts are named ${l.name}`);
  done.set(l.name, l);
  for (const t of Object.values(l.fieldTypes as Record<string, FieldType>)) {
    const nested = innermost(t);
    if (nested.kind === "struct") emit(nested, done, out);
  }
  const lines = Object.entries(l.fieldTypes as Record<string, FieldType>).map(
    ([f, t]) => `  ${field(l, f, t)};`,
  );
  out.push(`struct ${l.name} {\n${lines.join("\n")}\n};`);
}

function innermost(t: FieldType): FieldType {
  return t.kind === "array" ? innermost(t.element) : t;
}

function field(l: AnyLayout, name: string, t: FieldType): string {
  if (C_KEYWORDS.has(name)) throw new TypeError(`cDeclaration: field ${l.name}.${name} is a C keyword`);
  let dims = "";
  let e = t;
  while (e.kind === "array") {
    dims += `[${e.length}]`;
    e = e.element;
  }
  return `${cType(l, e)} ${name}${dims}`;
}

function cType(l: AnyLayout, t: FieldType): string {
  switch (t.kind) {
    case "scalar":
      return C_SCALARS[t.name]!;
    case "bool":
      return "_Bool";
    case "string":
      return "uint32_t /* char* */";
    case "ptr": {
      const target = t.target === "self" ? l : t.target();
      return `uint32_t /* struct ${target.name}* */`;
    }
    case "atomic":
      return `_Atomic ${C_SCALARS[t.base.name]!}`;
    case "struct":
      return `struct ${t.name}`;
    case "array":
      return cType(l, t.element);
  }
}
