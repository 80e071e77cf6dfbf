/**
 * Atomic struct fields' waitAsync: the non-blocking wait (Atomics.waitAsync) a page's main thread uses,
 * with the same results as wait ("ok" when notified, "not-equal", "timed-out"), unsigned and 64-bit fields
 * converted as wait converts them, and the same refusals for fields Atomics cannot wait on.
 */
import { describe, expect, it } from "vitest";
import { struct, types } from "../../src/struct/index.js";
import { FakeHeap } from "../helpers/fake-heap.js";

const Cell = struct("Cell", {
  n: types.atomic(types.i32),
  u: types.atomic(types.u32),
  big: types.atomic(types.u64),
  small: types.atomic(types.u8),
});

describe("atomic fields: waitAsync", () => {
  it("resolves ok when notified, not-equal and timed-out otherwise", async () => {
    const h = FakeHeap.create();
    const p = Cell.alloc(h);
    const f = Cell.fields;
    const pending = f.n.waitAsync(h, p, 0);
    expect(pending).toBeInstanceOf(Promise);
    f.n.store(h, p, 1);
    expect(f.n.notify(h, p)).toBe(1);
    await expect(pending).resolves.toBe("ok");
    await expect(f.n.waitAsync(h, p, 0)).resolves.toBe("not-equal");
    await expect(f.n.waitAsync(h, p, 1, 0)).resolves.toBe("timed-out");
    await expect(f.n.waitAsync(h, p, 1, 5)).resolves.toBe("timed-out");
    f.u.store(h, p, 0xffffffff);
    const u = f.u.waitAsync(h, p, 0xffffffff);
    expect(f.u.notify(h, p)).toBe(1);
    await expect(u).resolves.toBe("ok");
    f.big.store(h, p, 2n ** 64n - 1n);
    await expect(f.big.waitAsync(h, p, 2n ** 64n - 1n, 1)).resolves.toBe("timed-out");
    await expect(f.big.waitAsync(h, p, 0n, 1)).resolves.toBe("not-equal");
    expect(() => f.small.waitAsync(h, p, 0, 1)).toThrow(/32- or 64-bit/);
    expect(() => f.n.waitAsync(h, p, 1n as never)).toThrow(/Cell\.n: expected a number/);
  });
});
