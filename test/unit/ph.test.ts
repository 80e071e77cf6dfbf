/**
 * ph: the pairing heap of extent records ordered by (sn, addr), against a sorted-array model. Records
 * are real edata records (edataInit) in a plain Uint32Array; random inserts, removes of arbitrary
 * members and removeFirst must keep the minimum and the member set exactly as the model says.
 */
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import {
  EDATA_HEADER_BYTES,
  EXTENT_STATE_DIRTY,
  edataBase,
  edataInit,
  edataSn,
  edataSnSet,
} from "../../src/extent/edata.js";
import { phEmpty, phFirst, phForEach, phInsert, phRemove, phRemoveFirst } from "../../src/extent/ph.js";

const NREC = 64;
const ROOT_W = 2; // the heap's root word (byte 8); records start at byte 64

function recordAt(i: number): number {
  return 64 + i * EDATA_HEADER_BYTES;
}

function setup(sns: number[]): Uint32Array {
  const u32 = new Uint32Array((64 + NREC * EDATA_HEADER_BYTES) / 4);
  for (let i = 0; i < NREC; i++) {
    // Unique addresses, deliberately not in index order; sn from the test (ties are common).
    const base = ((i * 37) % NREC) * 4096 + 4096;
    edataInit(u32, recordAt(i), 0, base, 4096, false, 0, sns[i] ?? 0, EXTENT_STATE_DIRTY, false, true, false);
  }
  return u32;
}

function key(u32: Uint32Array, e: number): [number, number] {
  return [edataSn(u32, e), edataBase(u32, e)];
}
function cmp(u32: Uint32Array, a: number, b: number): number {
  const [sa, aa] = key(u32, a);
  const [sb, ab] = key(u32, b);
  return sa !== sb ? sa - sb : aa - ab;
}

function members(u32: Uint32Array): number[] {
  const out: number[] = [];
  phForEach(u32, ROOT_W, NREC + 1, (e) => out.push(e));
  return out.sort((a, b) => a - b);
}

type Op = { k: "insert"; i: number } | { k: "remove"; i: number } | { k: "first" };

describe("ph: pairing heap vs a sorted model", () => {
  it("random insert / remove / removeFirst keep the minimum and the member set", () => {
    const opArb: fc.Arbitrary<Op> = fc.oneof(
      {
        weight: 5,
        arbitrary: fc.record({ k: fc.constant("insert" as const), i: fc.nat({ max: NREC - 1 }) }),
      },
      { weight: 3, arbitrary: fc.record({ k: fc.constant("remove" as const), i: fc.nat() }) },
      { weight: 2, arbitrary: fc.constant({ k: "first" as const }) },
    );
    fc.assert(
      fc.property(
        fc.array(fc.nat({ max: 6 }), { minLength: NREC, maxLength: NREC }),
        fc.array(opArb, { maxLength: 300 }),
        (sns, ops) => {
          const u32 = setup(sns);
          const model: number[] = []; // record offsets, kept sorted by (sn, addr)
          const inHeap = new Set<number>();
          for (const op of ops) {
            if (op.k === "insert") {
              const e = recordAt(op.i);
              if (inHeap.has(e)) continue;
              phInsert(u32, ROOT_W, e);
              inHeap.add(e);
              model.push(e);
              model.sort((a, b) => cmp(u32, a, b));
            } else if (op.k === "remove") {
              if (model.length === 0) continue;
              const e = model[op.i % model.length]!;
              phRemove(u32, ROOT_W, e);
              inHeap.delete(e);
              model.splice(model.indexOf(e), 1);
            } else {
              const got = phRemoveFirst(u32, ROOT_W);
              const want = model.shift() ?? 0;
              expect(got).toBe(want);
              inHeap.delete(got);
            }
            expect(phFirst(u32, ROOT_W)).toBe(model[0] ?? 0);
            expect(phEmpty(u32, ROOT_W)).toBe(model.length === 0);
          }
          expect(members(u32)).toEqual([...model].sort((a, b) => a - b));
          // Draining yields the model's order exactly.
          const drained: number[] = [];
          for (let e = phRemoveFirst(u32, ROOT_W); e !== 0; e = phRemoveFirst(u32, ROOT_W)) drained.push(e);
          expect(drained).toEqual(model);
        },
      ),
      { numRuns: 300 },
    );
  });

  it("orders by sn first (oldest), then by address", () => {
    const u32 = setup(new Array(NREC).fill(5));
    const a = recordAt(0);
    const b = recordAt(1);
    const c = recordAt(2);
    edataSnSet(u32, c, 1); // oldest
    phInsert(u32, ROOT_W, a);
    phInsert(u32, ROOT_W, b);
    expect(phFirst(u32, ROOT_W)).toBe(edataBase(u32, a) < edataBase(u32, b) ? a : b);
    phInsert(u32, ROOT_W, c);
    expect(phFirst(u32, ROOT_W)).toBe(c);
    phRemove(u32, ROOT_W, c);
    expect(phFirst(u32, ROOT_W)).toBe(edataBase(u32, a) < edataBase(u32, b) ? a : b);
  });

  it("a removed record can be inserted again; removeFirst of an empty heap is 0", () => {
    const u32 = setup([]);
    expect(phRemoveFirst(u32, ROOT_W)).toBe(0);
    const e = recordAt(3);
    phInsert(u32, ROOT_W, e);
    phRemove(u32, ROOT_W, e);
    expect(phEmpty(u32, ROOT_W)).toBe(true);
    phInsert(u32, ROOT_W, e);
    expect(phRemoveFirst(u32, ROOT_W)).toBe(e);
    expect(phEmpty(u32, ROOT_W)).toBe(true);
  });

  it("phForEach refuses to walk corrupt links forever", () => {
    const u32 = setup([]);
    for (let i = 0; i < 8; i++) phInsert(u32, ROOT_W, recordAt(i));
    expect(() => phForEach(u32, ROOT_W, 3, () => {})).toThrow(/exceeded/);
  });
});
