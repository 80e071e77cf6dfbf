/**
 * Object views: a class per layout and generation of a heap's views (see specialize.ts), with a
 * getter/setter pair per field on its prototype, so a view is two own fields (`$m` memory, `$p` offset) and
 * reading `p.x` is one inlined DataView access.
 *
 * The range check is done once per record, when the offset is set (constructing the view, or assigning
 * `$ptr`, which moves a view to another record and makes any view a reusable cursor), not on every field
 * access: a growable buffer never shrinks, so an offset that was inside the views stays inside. An offset
 * past the end of the view's generation takes the slow path, which re-makes the views and moves the view to
 * the newest class. (A resizable ArrayBuffer can shrink; its views track its length, so a stale offset reads
 * `undefined` and writes nothing, and never touches other memory.)
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
  /** The newest view class for `m`. */
  viewClass(m: StructMemory): ViewClass;
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

/**
 * A class of `layout`'s views over memory `m` whose views end at `end`. The constructor trusts `p`: callers
 * check it first (checkRecordPtr).
 */
export function makeViewClass(
  layout: ViewLayout,
  fields: readonly ViewField[],
  ptrSetter: (p: number) => void,
): ViewClass {
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
    /** JSON.stringify gets the record's fields, not the memory behind the view (a field named toJSON wins). */
    toJSON(): unknown {
      return this.$toObject();
    }
    [Symbol.for("nodejs.util.inspect.custom")](): string {
      return `${layout.name} @ ${this.$p}`;
    }
  }
  Object.defineProperty(StructView, "name", { value: layout.name });
  Object.defineProperty(StructView.prototype, "$ptr", { get: ptrGetter(), set: ptrSetter });
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

/**
 * Makes `$ptr` setters for `layout`: the cheap test inline against the generation's `end` (its size and
 * alignment written into the code); anything else goes to the slow path, which checks fully (throwing a
 * clear error), re-makes the views if the buffer grew, and moves the view to the newest class.
 */
export function ptrSetterFactory(layout: ViewLayout): (end: number) => (p: number) => void {
  const slow = function (this: ViewInternals, p: number) {
    const m = this.$m;
    this.$p = checkRecordPtr(layout, m, "$ptr", p);
    const proto = layout.viewClass(m).prototype as object;
    if (Object.getPrototypeOf(this) !== proto) Object.setPrototypeOf(this, proto);
  };
  if (!canGenerate()) return () => slow;
  const mask = layout.align - 1;
  return new Function(
    "slow",
    `"use strict"; return (end) => function (p) {
      if (p === p >>> 0 && p !== 0 && (p & ${mask}) === 0 && p + ${layout.size} <= end) this.$p = p;
      else slow.call(this, p);
    };`,
  )(slow) as (end: number) => (p: number) => void;
}
