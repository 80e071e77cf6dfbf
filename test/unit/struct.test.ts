/**
 * The struct layer over a heap: declaring, allocating, reading and writing through object views, static
 * accessors, bound accessors and cursors; C conversions; strings, arrays, nested structs, pointers, atomics;
 * bad input; buffer growth. Uses the fake heap (test/helpers/fake-heap.ts).
 */
import fc from "fast-check";
import { describe, expect, expectTypeOf, it } from "vitest";
import {
  type AnyLayout,
  type Ptr,
  STRING_MAX_BYTES_DEFAULT,
  type StructHeap,
  struct,
  types,
} from "../../src/struct/index.js";
import { FakeHeap } from "../helpers/fake-heap.js";

const Vec2 = struct("Vec2", { x: types.f32, y: types.f32 });
const Item = struct("Item", {
  id: types.u64,
  next: types.ptr("self"),
  pos: Vec2,
  name: types.string(32),
  tags: types.array(types.u16, 3),
  flags: types.array(types.bool, 2),
  labels: types.array(types.string(8), 2),
  count: types.atomic(types.i32),
  alive: types.bool,
});

const Nums = struct("Nums", {
  u8: types.u8,
  i8: types.i8,
  u16: types.u16,
  i16: types.i16,
  u32: types.u32,
  i32: types.i32,
  f32: types.f32,
  f64: types.f64,
  u64: types.u64,
  i64: types.i64,
  b: types.bool,
});

function heap(): FakeHeap {
  return FakeHeap.create({ initialBytes: 64 << 10, maxBytes: 16 << 20 });
}

describe("declaring", () => {
  it("exposes size, align, offsets and the declared types", () => {
    expect(Item.name).toBe("Item");
    expect([Item.size, Item.align]).toEqual([48, 8]);
    expect(Item.offsets).toEqual({
      id: 0,
      next: 8,
      pos: 12,
      name: 20,
      tags: 24,
      flags: 30,
      labels: 32,
      count: 40,
      alive: 44,
    });
    expect(Item.fieldTypes.pos).toBe(Vec2);
    expect(Object.isFrozen(Item.offsets)).toBe(true);
  });

  it.each([["1a"], ["a-b"], [""], ["a b"], ["x.y"]])("rejects the field name %j", (bad) => {
    expect(() => struct("S", { [bad]: types.u8 })).toThrow(TypeError);
    expect(() => struct("S", { [bad]: types.u8 })).toThrow(JSON.stringify(bad));
  });

  it("rejects reserved field names and non-identifier layout names", () => {
    expect(() => struct("S", { $ptr: types.u8 })).toThrow(/reserved/);
    expect(() => struct("S", { constructor: types.u8 })).toThrow(/reserved/);
    expect(() => struct("S", JSON.parse('{"__proto__": {"kind": "bool"}}'))).toThrow(TypeError);
    expect(() => struct("my struct", { a: types.u8 })).toThrow(/"my struct"/);
  });

  it("accepts Unicode identifiers", () => {
    expect(struct("Größe", { länge: types.f64, _$x: types.u8 }).offsets).toEqual({ länge: 0, _$x: 8 });
  });

  it("rejects values that are not field types, naming the field", () => {
    expect(() => struct("S", { a: "u8" as never })).toThrow(/field a/);
    expect(() => struct("S", { a: 4 as never })).toThrow(TypeError);
    expect(() => struct("S", null as never)).toThrow(TypeError);
  });

  it.each([[-1], [1.5], [Number.NaN], [Number.POSITIVE_INFINITY]])("rejects array length %s", (n) => {
    expect(() => types.array(types.u8, n)).toThrow(RangeError);
    expect(() => types.array(types.u8, n)).toThrow(String(n));
  });

  it("rejects bad string limits, atomic types and pointer targets", () => {
    expect(() => types.string(-1)).toThrow(/-1/);
    expect(() => types.string(2.5)).toThrow(RangeError);
    expect(() => types.atomic(types.f64 as never)).toThrow(/f64/);
    expect(() => types.atomic(types.bool as never)).toThrow(TypeError);
    expect(() => types.ptr(Vec2 as never)).toThrow(TypeError);
    expect(() => types.array(types.u32, 2 ** 30)).toThrow(/over the limit/);
  });

  it("reports a pointer target that is not a layout on first use", () => {
    const Bad = struct("Bad", { p: types.ptr(() => 42 as never) });
    const h = heap();
    const p = Bad.alloc(h);
    expect(() => Bad.at(h, p).$set({ p: 8 })).toThrow(/Bad\.p: types\.ptr target returned 42/);
  });
});

describe("allocating and freeing", () => {
  it("allocates zeroed, aligned records and frees them with their strings", () => {
    const h = heap();
    const p = Item.alloc(h);
    expect(p % Item.align).toBe(0);
    expect(Item.read(h, p)).toEqual({
      id: 0n,
      next: 0,
      pos: { x: 0, y: 0 },
      name: "",
      tags: [0, 0, 0],
      flags: [false, false],
      labels: ["", ""],
      count: 0,
      alive: false,
    });
    const v = Item.at(h, p);
    v.name = "héllo";
    v.labels.set(1, "x");
    expect(h.liveBlocks()).toBe(3);
    Item.free(h, p);
    expect(h.liveBlocks()).toBe(0);
    h.check();
  });

  it("writes an initial value and frees everything if it is bad", () => {
    const h = heap();
    const p = Item.alloc(h, { id: 7n, name: "seven", pos: { x: 1.5 }, tags: [1, 2] });
    expect(Item.read(h, p)).toMatchObject({ id: 7n, name: "seven", pos: { x: 1.5, y: 0 }, tags: [1, 2, 0] });
    expect(() => Item.alloc(h, { name: "ok", id: 5 as never })).toThrow(/Item\.id: expected a bigint/);
    expect(() => Item.alloc(h, { nope: 1 } as never)).toThrow(/no field named "nope"/);
    Item.free(h, p);
    expect(h.liveBlocks()).toBe(0);
  });

  it("returns 0 when the heap is out of memory", () => {
    const h = FakeHeap.create({ initialBytes: 4096, maxBytes: 8192, limitBytes: 8192 });
    const got: number[] = [];
    for (let i = 0; i < 1000; i++) {
      const p = Item.alloc(h);
      if (p === 0) break;
      got.push(p);
    }
    expect(got.length).toBeGreaterThan(10);
    expect(got.length).toBeLessThan(1000);
    expect(Item.allocArray(h, 100)).toBe(0);
  });

  it("frees 0 as a no-op and rejects freed, interior and foreign pointers", () => {
    const h = heap();
    expect(() => Item.free(h, 0)).not.toThrow();
    const p = Item.alloc(h);
    Item.free(h, p);
    expect(() => Item.free(h, p)).toThrow(new RegExp(`Item\\.free: ${p} is not a live heap block`));
    expect(() => Item.at(h, p)).toThrow(RangeError);
    const q = Item.allocArray(h, 4);
    expect(() => Item.at(h, q + Item.size)).toThrow(/not a live heap block/);
    const small = h.mallocx(8, 0);
    expect(() => Item.at(h, small)).toThrow(/8 usable bytes|16 usable bytes/);
    expect(() => Item.at(h, 12345)).toThrow(/12345/);
    expect(() => Item.at(h, q + 4)).toThrow(/not aligned to 8/);
    expect(() => Item.at(h, -8)).toThrow(/-8/);
    expect(() => Item.at(h, 1.5)).toThrow(/1\.5/);
  });

  it("allocates arrays of records in one block", () => {
    const h = heap();
    const n = 10;
    const a = Item.allocArray(h, n);
    for (let i = 0; i < n; i++) Item.write(h, Item.element(a, i), { id: BigInt(i), name: `n${i}` });
    for (let i = 0; i < n; i++) expect(Item.at(h, a, i).name).toBe(`n${i}`);
    expect(() => Item.at(h, a, n)).toThrow(/fewer than/);
    expect(() => Item.at(h, a, -1)).toThrow(/-1/);
    expect(() => Item.allocArray(h, -1)).toThrow(/-1/);
    expect(() => Item.allocArray(h, 0.5)).toThrow(/0\.5/);
    expect(h.liveBlocks()).toBe(1 + n);
    Item.freeArray(h, a, n);
    expect(h.liveBlocks()).toBe(0);
  });
});

describe("C conversions on write", () => {
  const cases: [keyof typeof Nums.fieldTypes, unknown, unknown][] = [
    ["u8", 256, 0],
    ["u8", -1, 255],
    ["u8", 3.9, 3],
    ["i8", 128, -128],
    ["i8", -3.9, -3],
    ["u16", 65537, 1],
    ["i16", 32768, -32768],
    ["u32", 2 ** 32 + 5, 5],
    ["u32", -1, 4294967295],
    ["i32", 2 ** 31, -(2 ** 31)],
    ["i32", Number.NaN, 0],
    ["i32", Number.POSITIVE_INFINITY, 0],
    ["f32", 0.1, Math.fround(0.1)],
    ["f32", 1e40, Number.POSITIVE_INFINITY],
    ["f64", 0.1, 0.1],
    ["u64", 2n ** 64n + 5n, 5n],
    ["u64", -1n, 2n ** 64n - 1n],
    ["i64", 2n ** 63n, -(2n ** 63n)],
    ["b", true, true],
    ["b", 2, true],
    ["b", Number.NaN, true],
    ["b", 0, false],
  ];
  it.each(cases)("%s = %s reads %s", (field, value, expected) => {
    const h = heap();
    const p = Nums.alloc(h);
    const v = Nums.at(h, p) as unknown as Record<string, unknown>;
    v[field] = value;
    expect(v[field]).toEqual(expected);
  });

  it("reads any non-zero byte as true", () => {
    const h = heap();
    const p = Nums.alloc(h);
    h.u8[p + Nums.offsets.b] = 7;
    expect(Nums.at(h, p).b).toBe(true);
  });

  it("rejects values of the wrong JS type, naming the field", () => {
    const h = heap();
    const v = Nums.at(h, Nums.alloc(h)) as unknown as Record<string, unknown>;
    expect(() => {
      v.u8 = "5";
    }).toThrow(/Nums\.u8: expected a number, got string "5"/);
    expect(() => {
      v.u64 = 5;
    }).toThrow(/Nums\.u64: expected a bigint/);
    expect(() => {
      v.b = "yes";
    }).toThrow(/Nums\.b: expected a boolean/);
    expect(() => Nums.fields.i32.set(h, v.$ptr as number, 1n as never)).toThrow(TypeError);
    expect(() => Nums.bind(h).f64.set(v.$ptr as number, null as never)).toThrow(TypeError);
  });

  it("writes the same bits through views, static and bound accessors as a typed array would", () => {
    const h = heap();
    const p = Nums.alloc(h);
    const view = Nums.at(h, p) as unknown as Record<string, unknown>;
    const stat = Nums.fields as unknown as Record<
      string,
      { get(h: StructHeap, p: number): unknown; set(h: StructHeap, p: number, v: unknown): void }
    >;
    const bound = Nums.bind(h) as unknown as Record<
      string,
      { get(p: number): unknown; set(p: number, v: unknown): void }
    >;
    const arrays = {
      u8: Uint8Array,
      i8: Int8Array,
      u16: Uint16Array,
      i16: Int16Array,
      u32: Uint32Array,
      i32: Int32Array,
      f32: Float32Array,
      f64: Float64Array,
    } as const;
    const num = fc.oneof(fc.double(), fc.integer(), fc.constantFrom(2 ** 32, -(2 ** 31), 2 ** 53));
    fc.assert(
      fc.property(
        fc.constantFrom(...(Object.keys(arrays) as (keyof typeof arrays)[])),
        num,
        fc.nat(2),
        (f, x, how) => {
          const ref = new arrays[f](1);
          ref[0] = x;
          if (how === 0) view[f] = x;
          else if (how === 1) stat[f]!.set(h, p, x);
          else bound[f]!.set(p, x);
          expect(Object.is(view[f], ref[0])).toBe(true);
          expect(Object.is(stat[f]!.get(h, p), ref[0])).toBe(true);
          expect(Object.is(bound[f]!.get(p), ref[0])).toBe(true);
        },
      ),
    );
    fc.assert(
      fc.property(fc.bigInt(), (x) => {
        bound.i64!.set(p, x);
        expect(view.i64).toBe(BigInt.asIntN(64, x));
        stat.u64!.set(h, p, x);
        expect(bound.u64!.get(p)).toBe(BigInt.asUintN(64, x));
      }),
    );
  });
});

describe("pointers", () => {
  it("links records, including through self and mutual recursion", () => {
    const Parent = struct("Parent", { first: types.ptr((): AnyLayout => Child), n: types.u32 });
    const Child = struct("Child", { parent: types.ptr(() => Parent), next: types.ptr("self"), v: types.i32 });
    const h = heap();
    const parent = Parent.alloc(h);
    let prev = 0;
    for (let i = 0; i < 5; i++) prev = Child.alloc(h, { parent, next: prev, v: i });
    Parent.write(h, parent, { first: prev, n: 5 });
    const seen: number[] = [];
    for (let c = Parent.at(h, parent).first; c !== 0; c = Child.at(h, c).next) {
      const v = Child.at(h, c);
      expect(v.parent).toBe(parent);
      seen.push(v.v);
    }
    expect(seen).toEqual([4, 3, 2, 1, 0]);
  });

  it.each([[-8], [1.5], [2 ** 32], [Number.NaN]])("rejects the pointer value %s", (bad) => {
    const h = heap();
    const v = Item.at(h, Item.alloc(h));
    expect(() => {
      v.next = bad;
    }).toThrow(RangeError);
    expect(() => Item.fields.next.set(h, v.$ptr, bad)).toThrow(String(bad));
  });

  it("rejects a pointer not aligned for its target", () => {
    const h = heap();
    const v = Item.at(h, Item.alloc(h));
    expect(() => {
      v.next = 12;
    }).toThrow(/not aligned to 8/);
    expect(() => Item.bind(h).next.set(v.$ptr, 12)).toThrow(/not aligned to 8/);
  });
});

describe("strings", () => {
  it("stores NUL-terminated UTF-8 in its own block, readable from C", () => {
    const h = heap();
    const v = Item.at(h, Item.alloc(h));
    v.name = "añ😀";
    const s = h.u32[(v.$ptr + Item.offsets.name) >>> 2]!;
    expect([...h.u8.subarray(s, s + 8)]).toEqual([0x61, 0xc3, 0xb1, 0xf0, 0x9f, 0x98, 0x80, 0]);
    expect(v.name).toBe("añ😀");
    expect(Item.fields.name.get(h, v.$ptr)).toBe("añ😀");
  });

  it("reuses the block when the new string fits, and frees the old one when not", () => {
    const h = heap();
    const v = Item.at(h, Item.alloc(h));
    v.name = "abc";
    const before = h.counts();
    v.name = "abcdef";
    expect(h.counts().mallocs).toBe(before.mallocs);
    v.name = "a string longer than 16";
    expect(h.counts()).toMatchObject({ mallocs: before.mallocs + 1, frees: before.frees + 1 });
    v.name = "";
    expect(h.u32[(v.$ptr + Item.offsets.name) >>> 2]).toBe(0);
    expect(h.liveBlocks()).toBe(1);
  });

  it("rejects strings over the limit, with U+0000, or not strings", () => {
    const h = heap();
    const v = Item.at(h, Item.alloc(h));
    v.name = "x".repeat(32);
    expect(() => {
      v.name = "x".repeat(33);
    }).toThrow(/33 UTF-8 bytes is over the field's limit of 32/);
    expect(() => {
      v.name = "é".repeat(17);
    }).toThrow(/34 UTF-8 bytes/);
    expect(() => {
      v.name = "a\0b";
    }).toThrow(TypeError);
    expect(() => {
      v.name = 5 as never;
    }).toThrow(/Item\.name: expected a string/);
    expect(v.name).toBe("x".repeat(32));
    expect(types.string().maxBytes).toBe(STRING_MAX_BYTES_DEFAULT);
  });

  it("round-trips any string without U+0000 (lone surrogates become U+FFFD)", () => {
    const S = struct("S", { s: types.string() });
    const h = heap();
    const p = S.alloc(h);
    fc.assert(
      fc.property(
        fc.string({ unit: "binary", maxLength: 40 }),
        fc.string({ unit: "grapheme-ascii" }),
        (a, b) => {
          const s = (a + b).replaceAll("\0", "");
          S.fields.s.set(h, p, s);
          expect(S.fields.s.get(h, p)).toBe(Buffer.from(s, "utf8").toString("utf8"));
        },
      ),
    );
    S.free(h, p);
    expect(h.liveBlocks()).toBe(0);
  });

  it("reports a string without terminator instead of reading past its limit", () => {
    const h = heap();
    const v = Item.at(h, Item.alloc(h));
    v.name = "abc";
    const s = h.u32[(v.$ptr + Item.offsets.name) >>> 2]!;
    h.u8.fill(0x41, s, s + 40);
    expect(() => v.name).toThrow(/no NUL terminator within 32 bytes/);
  });
});

describe("arrays and nested structs", () => {
  it("gives numeric arrays as typed arrays over the record", () => {
    const h = heap();
    const v = Item.at(h, Item.alloc(h));
    v.tags[1] = 70000;
    expect(v.tags).toBeInstanceOf(Uint16Array);
    expect([...v.tags]).toEqual([0, 70000 & 0xffff, 0]);
    v.$set({ tags: [9, 8] });
    expect([...v.tags]).toEqual([9, 8, 0]);
    expect(Item.fields.tags.getAt(h, v.$ptr, 0)).toBe(9);
    Item.fields.tags.setAt(h, v.$ptr, 2, 5);
    expect(v.tags[2]).toBe(5);
    expect(() => Item.fields.tags.getAt(h, v.$ptr, 3)).toThrow(/index 3 is outside \[0, 3\)/);
    expect(() => v.$set({ tags: [1, 2, 3, 4] })).toThrow(/4 values do not fit/);
    expect(() => v.$set({ tags: 5 as never })).toThrow(TypeError);
  });

  it("gives other arrays as StructArray views", () => {
    const h = heap();
    const v = Item.at(h, Item.alloc(h));
    v.flags.set(1, true);
    v.labels.set(0, "a");
    expect(v.flags.toArray()).toEqual([false, true]);
    expect([...v.labels]).toEqual(["a", ""]);
    expect(v.labels.length).toBe(2);
    expect(() => v.flags.get(2)).toThrow(RangeError);
    expect(() => v.labels.set(0, "123456789")).toThrow(/over the field's limit of 8/);
    const Grid = struct("Grid", {
      cells: types.array(types.array(types.i8, 2), 2),
      pts: types.array(Vec2, 2),
    });
    const g = Grid.at(
      h,
      Grid.alloc(h, {
        cells: [
          [1, 2],
          [3, -4],
        ],
        pts: [{ x: 1 }, { y: 2 }],
      }),
    );
    expect(g.cells.get(1)[1]).toBe(-4);
    g.pts.get(1).x = 3;
    expect(g.$toObject()).toEqual({
      cells: [
        [1, 2],
        [3, -4],
      ],
      pts: [
        { x: 1, y: 0 },
        { x: 3, y: 2 },
      ],
    });
  });

  it("reads nested structs as views of the same memory", () => {
    const h = heap();
    const v = Item.at(h, Item.alloc(h));
    v.pos.x = 2.5;
    expect(Vec2.fields.y.get(h, v.$ptr + Item.offsets.pos)).toBe(0);
    expect(Item.read(h, v.$ptr).pos).toEqual({ x: 2.5, y: 0 });
    expect(() => {
      (v as unknown as { pos: unknown }).pos = { x: 1, y: 1 };
    }).toThrow(TypeError);
    v.$set({ pos: { y: 4 } });
    expect(v.pos.$toObject()).toEqual({ x: 2.5, y: 4 });
    expect(v.$heap).toBe(h);
    expect(v.$layout).toBe(Item);
    expect(JSON.parse(JSON.stringify(Vec2.atUnchecked(h, v.$ptr + Item.offsets.pos)))).toEqual({
      x: 2.5,
      y: 4,
    });
  });
});

describe("atomic fields", () => {
  it("does Atomics operations through the heap's memory", () => {
    const Counter = struct("Counter", {
      n: types.atomic(types.i32),
      u: types.atomic(types.u32),
      big: types.atomic(types.u64),
      small: types.atomic(types.u8),
    });
    const h = heap();
    const p = Counter.alloc(h);
    const f = Counter.fields;
    expect(f.n.add(h, p, 5)).toBe(0);
    expect(f.n.sub(h, p, 2)).toBe(5);
    expect(f.n.load(h, p)).toBe(3);
    expect(f.n.compareExchange(h, p, 3, 10)).toBe(3);
    expect(f.n.compareExchange(h, p, 3, 11)).toBe(10);
    expect(f.n.exchange(h, p, 1)).toBe(10);
    expect([f.n.or(h, p, 6), f.n.and(h, p, 3), f.n.xor(h, p, 1), f.n.get(h, p)]).toEqual([1, 7, 3, 2]);
    f.u.store(h, p, -1);
    expect(f.u.load(h, p)).toBe(0xffffffff);
    expect(f.u.wait(h, p, 0xffffffff, 1)).toBe("timed-out");
    expect(f.u.wait(h, p, 5, 1)).toBe("not-equal");
    expect(f.n.notify(h, p)).toBe(0);
    expect(f.big.add(h, p, 2n ** 64n - 1n)).toBe(0n);
    expect(f.big.wait(h, p, 2n ** 64n - 1n, 1)).toBe("timed-out");
    expect(f.small.add(h, p, 300)).toBe(0);
    expect(f.small.load(h, p)).toBe(44);
    expect(() => f.small.wait(h, p, 44, 1)).toThrow(/32- or 64-bit/);
    expect(() => f.n.add(h, p, 1n as never)).toThrow(/Counter\.n: expected a number/);
    const v = Counter.at(h, p);
    v.n = 42;
    expect(f.n.load(h, p)).toBe(42);
  });

  it("reaches records past the views made before the buffer grew", () => {
    const Counter = struct("Counter2", { n: types.atomic(types.i32), u: types.atomic(types.u32) });
    const h = FakeHeap.create({ initialBytes: 4096, maxBytes: 16 << 20 });
    const f = Counter.fields;
    const first = Counter.alloc(h);
    f.n.add(h, first, 1);
    const ops: ((p: number) => unknown)[] = [
      (p) => f.n.load(h, p),
      (p) => f.n.add(h, p, 2),
      (p) => f.n.compareExchange(h, p, 2, 3),
      (p) => f.u.wait(h, p, 1, 0),
      (p) => f.u.notify(h, p),
      (p) => f.n.store(h, p, 5),
    ];
    for (const op of ops) {
      const start = h.buffer.byteLength;
      while (h.buffer.byteLength === start) h.mallocx(1024, 0);
      const p = Counter.alloc(h);
      expect(p + Counter.size).toBeGreaterThan(start);
      expect(() => op(p)).not.toThrow();
    }
  });
});

describe("fast paths and growth", () => {
  it("keeps bound accessors, static accessors and cursors correct when the buffer grows", () => {
    const h = FakeHeap.create({ initialBytes: 4096, maxBytes: 16 << 20 });
    const first = Nums.alloc(h);
    const b = Nums.bind(h);
    const oldPair = b.f64;
    const cur = Nums.cursor(h, first);
    const startBytes = h.buffer.byteLength;
    const ptrs: number[] = [first];
    while (h.buffer.byteLength < startBytes * 8) ptrs.push(Nums.alloc(h));
    const last = ptrs.at(-1)!;
    expect(last + Nums.size).toBeGreaterThan(startBytes);
    expect(Nums.bind(h)).toBe(b);
    b.f64.set(last, 1.25);
    expect(oldPair.get(last)).toBe(1.25);
    oldPair.set(last, 2.5);
    expect(Nums.fields.f64.get(h, last)).toBe(2.5);
    cur.$ptr = last;
    expect(cur.f64).toBe(2.5);
    cur.i32 = -7;
    expect(b.i32.get(last)).toBe(-7);
    expect(b.f64).not.toBe(oldPair);
  });

  it("specializes static accessors for the first heap and stays correct for others and after growth", () => {
    const P = struct("P", { a: types.i32, b: types.f64, ok: types.bool, at: types.atomic(types.u32) });
    const h1 = FakeHeap.create({ initialBytes: 4096, maxBytes: 16 << 20 });
    const h2 = heap();
    const p1 = P.alloc(h1);
    const p2 = P.alloc(h2);
    P.fields.a.set(h1, p1, 1);
    const hoisted = P.fields.b.get;
    P.fields.a.set(h2, p2, 2);
    expect([P.fields.a.get(h1, p1), P.fields.a.get(h2, p2)]).toEqual([1, 2]);
    const startBytes = h1.buffer.byteLength;
    const ptrs: number[] = [];
    while (h1.buffer.byteLength < startBytes * 4) ptrs.push(P.alloc(h1));
    const last = ptrs.at(-1)!;
    P.fields.b.set(h1, last, 4.5);
    P.fields.ok.set(h1, last, true);
    P.fields.at.set(h1, last, 9);
    expect(hoisted(h1, last)).toBe(4.5);
    expect([P.fields.b.get(h1, last), P.fields.ok.get(h1, last), P.fields.at.load(h1, last)]).toEqual([
      4.5,
      true,
      9,
    ]);
    expect(P.fields.b.get).not.toBe(hoisted);
    expect(P.fields.a.get(h2, p2)).toBe(2);
    expect(() => P.fields.a.set(h1, last, "x" as never)).toThrow(/P\.a: expected a number/);
  });

  it("checks a cursor's new offset once per move", () => {
    const h = heap();
    const a = Item.allocArray(h, 3);
    const c = Item.cursor(h, a);
    for (let i = 0; i < 3; i++) {
      c.$ptr = Item.element(a, i);
      c.id = BigInt(i * 10);
    }
    expect(Item.at(h, a, 2).id).toBe(20n);
    for (const bad of [0, a + 4, Number.NaN, -8, h.buffer.byteLength + 64, h.buffer.maxByteLength * 2]) {
      expect(() => {
        c.$ptr = bad;
      }).toThrow(RangeError);
    }
    expect(c.$ptr).toBe(Item.element(a, 2));
  });

  it("range-checks static and bound accessors", () => {
    const h = heap();
    expect(() => Nums.fields.f64.get(h, h.buffer.maxByteLength)).toThrow(/outside the heap/);
    expect(() => Nums.bind(h).u8.set(h.buffer.maxByteLength, 1)).toThrow(/outside the heap/);
    expect(() => Nums.fields.u8.get(h, Number.NaN)).toThrow(RangeError);
  });

  it("works over a resizable ArrayBuffer and a fixed SharedArrayBuffer", () => {
    for (const buffer of [new ArrayBuffer(4096, { maxByteLength: 1 << 20 }), new SharedArrayBuffer(4096)]) {
      const h = bumpHeap(buffer);
      const p = Item.alloc(h, { id: 3n, name: "rab" });
      if (buffer instanceof ArrayBuffer) buffer.resize(1 << 16);
      const q = Item.alloc(h, { id: 4n });
      expect(Item.read(h, p)).toMatchObject({ id: 3n, name: "rab" });
      expect(Item.bind(h).id.get(q)).toBe(4n);
    }
  });
});

describe("types", () => {
  it("types views, accessors and pointers from the declaration", () => {
    const h = heap();
    const v = Item.at(h, Item.alloc(h));
    expectTypeOf(v.pos.x).toEqualTypeOf<number>();
    expectTypeOf(v.id).toEqualTypeOf<bigint>();
    expectTypeOf(v.name).toEqualTypeOf<string>();
    expectTypeOf(v.alive).toEqualTypeOf<boolean>();
    expectTypeOf(v.tags).toEqualTypeOf<Uint16Array>();
    expectTypeOf(v.next).toEqualTypeOf<Ptr<typeof Item>>();
    expectTypeOf(Item.alloc(h)).toEqualTypeOf<Ptr<typeof Item>>();
    expectTypeOf(Item.fields.count.add).returns.toEqualTypeOf<number>();
    expectTypeOf(Item.bind(h).id.get).returns.toEqualTypeOf<bigint>();
    expectTypeOf(v.flags.get).returns.toEqualTypeOf<boolean>();
    expectTypeOf<Ptr<typeof Vec2>>().not.toMatchTypeOf<Ptr<typeof Item>>();
    const compileOnly = () => {
      // @ts-expect-error nested structs are not assignable as a whole
      v.pos = v.$toObject().pos;
      // @ts-expect-error wrong value type
      v.alive = 1;
      // @ts-expect-error no such field
      v.nope;
    };
    expect(typeof compileOnly).toBe("function");
  });
});

/** A minimal StructHeap over any buffer: bump allocation, no frees. */
function bumpHeap(buffer: ArrayBuffer | SharedArrayBuffer): StructHeap {
  let top = 64;
  return {
    buffer,
    u8: new Uint8Array(buffer),
    i32: new Int32Array(buffer),
    u32: new Uint32Array(buffer),
    f64: new Float64Array(buffer),
    dv: new DataView(buffer),
    mallocx(size: number) {
      const p = top;
      top += Math.ceil(Math.max(size, 1) / 16) * 16;
      return top <= buffer.byteLength ? p : 0;
    },
    dallocx() {},
    free() {},
    mallocUsableSize: () => 1 << 20,
  };
}
