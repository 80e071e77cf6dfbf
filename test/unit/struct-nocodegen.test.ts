/**
 * The struct layer where code generation is forbidden (a Content-Security-Policy without 'unsafe-eval'):
 * `new Function` throws, so every accessor falls back to closures. Same behaviour, only slower.
 */
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { FakeHeap } from "../helpers/fake-heap.js";

type StructModule = typeof import("../../src/struct/index.js");
let S: StructModule;

beforeAll(async () => {
  vi.stubGlobal("Function", function Forbidden() {
    throw new EvalError("Refused to evaluate a string as JavaScript (CSP)");
  });
  S = await import("../../src/struct/index.js");
});

afterAll(() => {
  vi.unstubAllGlobals();
});

describe("without code generation", () => {
  it("uses the closures", async () => {
    const { canGenerate } = await import("../../src/struct/specialize.js");
    expect(canGenerate()).toBe(false);
  });

  it("reads and writes through views, cursors, static and bound accessors", () => {
    const { struct, types } = S;
    const Node = struct("Node", {
      next: types.ptr("self"),
      v: types.i16,
      f: types.f32,
      ok: types.bool,
      n: types.atomic(types.u32),
      big: types.u64,
      name: types.string(8),
    });
    const heap = FakeHeap.create({ initialBytes: 4096 });
    const a = Node.alloc(heap, { v: 40000, f: 0.1, ok: true, name: "a" });
    const b = Node.alloc(heap, { next: a, big: -1n });
    const view = Node.at(heap, b);
    expect(view.next).toBe(a);
    expect(Node.read(heap, a)).toMatchObject({ v: 40000 - 65536, f: Math.fround(0.1), ok: true, name: "a" });
    const c = Node.cursor(heap, a);
    c.v = 7;
    c.$ptr = b;
    expect(c.big).toBe(2n ** 64n - 1n);
    expect(Node.fields.v.get(heap, a)).toBe(7);
    Node.fields.n.add(heap, a, 3);
    const bound = Node.bind(heap);
    expect(bound.n.get(a)).toBe(3);
    bound.ok.set(b, 1 as never);
    expect(view.ok).toBe(true);
    expect(() => bound.next.set(b, 3)).toThrow(/not aligned/);
    expect(() => {
      c.$ptr = 3;
    }).toThrow(RangeError);
    const far: number[] = [];
    while (heap.buffer.byteLength < 64 << 10) far.push(Node.alloc(heap, { v: 1 }));
    expect(bound.v.get(far.at(-1)!)).toBe(1);
    Node.free(heap, a);
    Node.free(heap, b);
    for (const p of far) Node.free(heap, p);
    expect(heap.liveBlocks()).toBe(0);
  });
});
