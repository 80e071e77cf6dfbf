/**
 * Static accessors: `Layout.fields.x.get(heap, ptr)` / `.set(heap, ptr, v)` for every field, plus the
 * `Atomics` operations of atomic fields and the element access of array fields; and the types of these and
 * of bound accessors (`Layout.bind`).
 *
 * Hot path: `get`/`set` are specialized functions (specialize.ts) once the layout adopted a heap; the
 * atomic and array operations look the heap's StructMemory up through its one-entry cache.
 * Errors: TypeError for a value of the wrong JS type, RangeError for an index or pointer out of range.
 */
import type { AnyIntegerView, FieldContext } from "./accessors.js";
import { atomicView, badValue, rawAccessor } from "./accessors.js";
import type { StructHeap } from "./heap-like.js";
import { memoryOf, type StructMemory } from "./memory.js";
import type { SpecializedAccessors } from "./specialize.js";
import type { ArrayType, AtomicType, FieldType } from "./types.js";

export type {
  AccessorOf,
  Accessors,
  ArrayAccessor,
  AtomicAccessor,
  Bound,
  BoundField,
  FieldAccessor,
} from "./types.js";

/** What `staticAccessor` needs of a field. */
export interface StaticSlot {
  readonly type: FieldType;
  readonly offset: number;
  readonly fast: SpecializedAccessors;
}

/**
 * The static accessor object of a field. `get`/`set` start as general functions that first let the layout
 * adopt the heap (see StructLayout.adopt), which then replaces them with specialized ones; the object is
 * sealed, not frozen, for that.
 */
export function staticAccessor(s: StaticSlot, ctx: FieldContext, adopt: (heap: StructHeap) => void): object {
  const { staticGet, staticSet } = s.fast;
  const base = {
    offset: s.offset,
    type: s.type,
    get: (heap: StructHeap, p: number) => {
      adopt(heap);
      return staticGet(heap as never, p);
    },
    set: (heap: StructHeap, p: number, v: unknown) => {
      adopt(heap);
      staticSet(heap as never, p, v);
    },
  };
  if (s.type.kind === "atomic") return Object.seal({ ...base, ...atomicOps(s.type, s.offset, ctx.label) });
  if (s.type.kind === "array") return Object.seal({ ...base, ...arrayOps(s.type, s.offset, ctx) });
  return Object.seal(base);
}

function arrayOps(t: ArrayType, off: number, ctx: FieldContext): object {
  const elem = rawAccessor(t.element, 0, { label: `${ctx.label}[]`, owner: ctx.owner });
  const es = t.element.size;
  const n = t.length;
  const index = (i: number): number => {
    if (!(i >= 0 && i < n && Number.isInteger(i))) {
      throw new RangeError(`${ctx.label}: index ${String(i)} is outside [0, ${n})`);
    }
    return off + i * es;
  };
  return {
    length: n,
    getAt: (heap: StructHeap, ptr: number, i: number) => elem.get(memoryOf(heap), ptr + index(i)),
    setAt: (heap: StructHeap, ptr: number, i: number, v: unknown) =>
      elem.set(memoryOf(heap), ptr + index(i), v),
  };
}

function atomicOps(t: AtomicType, off: number, label: string): object {
  const big = t.base.name === "u64" || t.base.name === "i64";
  const kind = big ? "bigint" : "number";
  const viewOf = atomicView(t.base.name);
  const shift = Math.log2(t.size);
  const end = off + t.size;
  // Call `slot` before reading a view from `m`: `ensure` may replace the views.
  const slot = (m: StructMemory, p: number): number => {
    if (!(p + end <= m.end)) m.ensure(p + end);
    return (p + off) >>> shift;
  };
  const arg = (v: unknown): number => {
    if (typeof v !== kind) badValue(label, `a ${kind}`, v);
    return v as number;
  };
  type Op = (a: Int32Array, i: number, v: number) => number;
  const rmw = (op: Op) => (heap: StructHeap, p: number, v: unknown) => {
    const m = memoryOf(heap);
    const i = slot(m, p);
    return op(viewOf(m) as Int32Array, i, arg(v));
  };
  const waitView = waitViewOf(t.base.name, label);
  const waitValue = waitConvert(t.base.name);
  return {
    load: (heap: StructHeap, p: number) => {
      const m = memoryOf(heap);
      const i = slot(m, p);
      return Atomics.load(viewOf(m) as Int32Array, i);
    },
    store: rmw(Atomics.store),
    add: rmw(Atomics.add),
    sub: rmw(Atomics.sub),
    and: rmw(Atomics.and),
    or: rmw(Atomics.or),
    xor: rmw(Atomics.xor),
    exchange: rmw(Atomics.exchange),
    compareExchange: (heap: StructHeap, p: number, expected: unknown, replacement: unknown) => {
      const m = memoryOf(heap);
      const i = slot(m, p);
      return Atomics.compareExchange(viewOf(m) as Int32Array, i, arg(expected), arg(replacement));
    },
    wait: (heap: StructHeap, p: number, expected: unknown, timeoutMs?: number) => {
      const m = memoryOf(heap);
      const i = slot(m, p);
      const v = waitValue(arg(expected)) as number;
      if (!agentCanBlock()) throw cannotBlock(label);
      return Atomics.wait(waitView(m) as Int32Array, i, v, timeoutMs);
    },
    waitAsync: (heap: StructHeap, p: number, expected: unknown, timeoutMs?: number) => {
      const m = memoryOf(heap);
      const i = slot(m, p);
      const v = waitValue(arg(expected)) as number;
      if (typeof Atomics.waitAsync !== "function")
        throw new TypeError(`${label}: this JavaScript engine has no Atomics.waitAsync`);
      const r = Atomics.waitAsync(waitView(m) as Int32Array, i, v, timeoutMs);
      return Promise.resolve(r.value);
    },
    notify: (heap: StructHeap, p: number, count?: number) => {
      const m = memoryOf(heap);
      const i = slot(m, p);
      return Atomics.notify(waitView(m) as Int32Array, i, count);
    },
  };
}

let canBlock: boolean | undefined;

/** Whether this agent may call Atomics.wait (a page's main thread throws even for a value that differs). */
function agentCanBlock(): boolean {
  if (canBlock === undefined) {
    try {
      Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 1, 0);
      canBlock = true;
    } catch {
      canBlock = false;
    }
  }
  return canBlock;
}

function cannotBlock(label: string): TypeError {
  return new TypeError(
    `${label}.wait: this thread cannot block (a page's main thread); use ${label}.waitAsync(heap, ptr, expected, timeoutMs), which returns a promise`,
  );
}

// Atomics.wait/notify take only Int32Array and BigInt64Array: unsigned fields wait on the same bytes through
// the signed view, with the expected value converted to the signed representation.
function waitViewOf(name: string, label: string): (m: StructMemory) => AnyIntegerView {
  switch (name) {
    case "i32":
    case "u32":
      return (m) => m.i32;
    case "i64":
    case "u64":
      return (m) => m.i64;
    default:
      return () => {
        throw new TypeError(`${label}: Atomics.wait/notify need a 32- or 64-bit field, this one is ${name}`);
      };
  }
}

function waitConvert(name: string): (v: number | bigint) => number | bigint {
  if (name === "u32") return (v) => Number(v) | 0;
  if (name === "u64") return (v) => BigInt.asIntN(64, BigInt(v));
  return (v) => v;
}
