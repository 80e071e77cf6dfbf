/**
 * Object views: one class per layout, with a getter/setter pair per field on its prototype, so a view is two
 * own fields (`$m` memory, `$p` offset) and reading `p.x` is one inlined typed-array access.
 *
 * The range check is done once per record, when the offset is set (constructing the view, or assigning
 * `$ptr`, which moves a view to another record and makes any view a reusable cursor), not on every field
 * access: a growable buffer never shrinks, so an offset that was inside the views stays inside. (A resizable
 * ArrayBuffer can shrink; its views track its length, so a stale offset reads `undefined` and writes
 * nothing, and never touches other memory.)
 */
import type { StructMemory } from "./memory.js";
import { canGenerate } from "./specialize.js";

export interface ViewInternals {
  $m: StructMemory;
  $p: number;
}

export interface ViewLayout {
  readonly name: string;
  readonly size: number;
  readonly align: number;
  writeInit(m: StructMemory, p: number, init: unknown): void;
  toPlain(m: StructMemory, p: number): unknown;
}

export type ViewClass = new (m: StructMemory, p: number) => ViewInternals;

export interface ViewField {
  readonly name: string;
  readonly get: () => unknown;
  readonly set: (v: unknown) => void;
  /** Arrays and nested structs: assign their parts, or use `$set`. */
  readonly readonly: boolean;
}

/** Throws unless `p` is a non-null offset aligned for the layout with the whole record inside the heap. */
export function checkRecordPtr(layout: ViewLayout, m: StructMemory, op: string, p: unknown): number {
  if (typeof p !== "number" || p !== p >>> 0 || p === 0) {
    throw new RangeError(`${layout.name}.${op}: expected a non-null heap offset, got ${String(p)}`);
  }
  if (p % layout.align !== 0) {
    throw new RangeError(`${layout.name}.${op}: offset ${p} is not aligned to ${layout.align}`);
  }
  m.ensure(p + layout.size);
  return p;
}

/** The class of `layout`'s views. The constructor trusts `p`: callers check it first (checkRecordPtr). */
export function makeViewClass(layout: ViewLayout, fields: readonly ViewField[]): ViewClass {
  class StructView implements ViewInternals {
    $m: StructMemory;
    $p: number;
    constructor(m: StructMemory, p: number) {
      this.$m = m;
      this.$p = p;
    }
    get $heap() {
      return this.$m.heap;
    }
    get $layout() {
      return layout;
    }
    $set(init: unknown): this {
      layout.writeInit(this.$m, this.$p, init);
      return this;
    }
    $toObject(): unknown {
      return layout.toPlain(this.$m, this.$p);
    }
    [Symbol.for("nodejs.util.inspect.custom")](): string {
      return `${layout.name} @ ${this.$p}`;
    }
  }
  Object.defineProperty(StructView, "name", { value: layout.name });
  Object.defineProperty(StructView.prototype, "$ptr", { get: ptrGetter(), set: ptrSetter(layout) });
  for (const f of fields) {
    Object.defineProperty(StructView.prototype, f.name, {
      enumerable: true,
      get: f.get,
      set: f.readonly ? undefined : f.set,
    });
  }
  return StructView;
}

function ptrGetter(): () => number {
  return function (this: ViewInternals) {
    return this.$p;
  };
}

/** The `$ptr` setter: the cheap test inline (a copy per layout, with its size and alignment in the code). */
function ptrSetter(layout: ViewLayout): (p: number) => void {
  const slow = function (this: ViewInternals, p: number) {
    this.$p = checkRecordPtr(layout, this.$m, "$ptr", p);
  };
  if (!canGenerate()) return slow;
  const mask = layout.align - 1;
  return new Function(
    "slow",
    `"use strict"; return function (p) {
      if (p === p >>> 0 && p !== 0 && (p & ${mask}) === 0 && p + ${layout.size} <= this.$m.end) this.$p = p;
      else slow.call(this, p);
    };`,
  )(slow) as (p: number) => void;
}
