/**
 * The C functions a WebAssembly module imports from heap.wasmImports(), called from wasm (a module
 * compiled by `wabt` here): C's results and errno codes for posix_memalign / aligned_alloc / realloc /
 * calloc and jemalloc's *allocx, mallctl with its name, oldp/oldlenp and newp/newlen in the module's
 * memory (wasm32 sizes), misuse reported to the corruption handler with module addresses, a non-shared
 * memory, and bad inputs to Heap.create / Heap.attach.
 */
import { beforeAll, describe, expect, it } from "vitest";
import { type CorruptionReport, EINVAL, ENOMEM, Heap, MALLOCX_ALIGN, MALLOCX_ZERO } from "../../src/index.js";
import { instantiateList, type ListExports, listModuleBytes } from "../helpers/wasm.js";

const EPERM = 1;
const ENOENT = 2;
const EFAULT = 14;

let sharedBytes: Uint8Array;
let plainBytes: Uint8Array;
beforeAll(async () => {
  sharedBytes = await listModuleBytes(true);
  plainBytes = await listModuleBytes(false);
});

function setup(base?: number): {
  heap: Heap;
  m: ListExports;
  memory: WebAssembly.Memory;
  reports: CorruptionReport[];
} {
  const memory = new WebAssembly.Memory({ initial: 4, maximum: 4096, shared: true });
  const heap = Heap.create({ memory, base });
  const reports: CorruptionReport[] = [];
  heap.setCorruptionHandler((r) => {
    reports.push(r);
  });
  return { heap, m: instantiateList(sharedBytes, memory, heap.wasmImports()), memory, reports };
}

/** A C string in the module's memory (allocated with the module's malloc). */
function cstr(heap: Heap, m: ListExports, s: string): number {
  const b = new TextEncoder().encode(s);
  const p = m.c_malloc(b.length + 1);
  heap.u8.set(b, p);
  heap.u8[p + b.length] = 0;
  return p;
}

describe("posix_memalign, aligned_alloc, realloc, calloc from wasm", () => {
  it("posix_memalign writes through memptr, and returns EINVAL / ENOMEM as C does", () => {
    const { heap, m } = setup();
    const memptr = m.c_malloc(4);
    heap.dv.setUint32(memptr, 0xdeadbeef, true);
    expect(m.c_posix_memalign(memptr, 3, 64)).toBe(EINVAL); // not a power of two
    expect(m.c_posix_memalign(memptr, 2, 64)).toBe(EINVAL); // not a multiple of sizeof(void *)
    expect(heap.dv.getUint32(memptr, true)).toBe(0xdeadbeef); // untouched on failure
    expect(m.c_posix_memalign(memptr, 256, 0xfffffff0)).toBe(ENOMEM);
    expect(heap.dv.getUint32(memptr, true)).toBe(0xdeadbeef);
    expect(m.c_posix_memalign(memptr, 4096, 100)).toBe(0);
    const p = heap.dv.getUint32(memptr, true);
    expect(p % 4096).toBe(0);
    expect(m.c_malloc_usable_size(p)).toBeGreaterThanOrEqual(100);
    expect(m.c_posix_memalign(memptr, 4, 10)).toBe(0); // sizeof(void *) on wasm32 is 4
    expect(heap.dv.getUint32(memptr, true) % 4).toBe(0);
    m.c_free(heap.dv.getUint32(memptr, true));
    m.c_free(p);
    m.c_free(memptr);
    heap.check();
  });

  it("aligned_alloc: aligned blocks, 0 with EINVAL for a bad alignment and ENOMEM when too large", () => {
    const { heap, m } = setup();
    expect(m.c_aligned_alloc(3, 10)).toBe(0);
    expect(heap.lastError).toBe(EINVAL);
    expect(m.c_aligned_alloc(64, 0xfffffff0)).toBe(0);
    expect(heap.lastError).toBe(ENOMEM);
    for (const a of [8, 64, 4096, 65536]) {
      const p = m.c_aligned_alloc(a, 100);
      expect(p % a).toBe(0);
      m.c_free(p);
    }
    heap.check();
  });

  it("alignments above the largest power of two dividing base are refused (module addresses could not have them)", () => {
    const { heap, m } = setup(2 * 65536); // the heap proper starts 64 KiB on, at 3 × 65536
    expect((heap as unknown as { maxAlign: number }).maxAlign).toBe(65536);
    expect(m.c_aligned_alloc(131072, 10)).toBe(0);
    expect(heap.lastError).toBe(EINVAL);
    const memptr = m.c_malloc(4);
    expect(m.c_posix_memalign(memptr, 131072, 10)).toBe(EINVAL);
    expect(m.c_mallocx(10, MALLOCX_ALIGN(131072))).toBe(0);
    const p = m.c_aligned_alloc(65536, 10);
    expect(p).not.toBe(0);
    expect(p % 65536).toBe(0);
    m.c_free(p);
    m.c_free(memptr);
    heap.check();
  });

  it("realloc: NULL is malloc, data moves with the block, size 0 frees (zero_realloc:free), failure keeps the block", () => {
    const { heap, m, reports } = setup();
    const p = m.c_realloc(0, 100);
    expect(p).not.toBe(0);
    for (let i = 0; i < 100; i++) heap.u8[p + i] = i;
    const q = m.c_realloc(p, 100_000);
    expect(q).not.toBe(0);
    expect(Array.from(heap.u8.subarray(q, q + 100))).toEqual(Array.from({ length: 100 }, (_, i) => i));
    expect(m.c_realloc(q, 0xfffffff0)).toBe(0);
    expect(heap.lastError).toBe(ENOMEM);
    expect(heap.u8[q + 99]).toBe(99); // still live
    heap.mallctl("epoch", 1n);
    const zr = heap.mallctl("stats.zero_reallocs") as number;
    expect(m.c_realloc(q, 0)).toBe(0);
    heap.mallctl("epoch", 1n);
    expect(heap.mallctl("stats.zero_reallocs")).toBe(zr + 1);
    // q was freed: freeing it again is a double free, reported with the module's address.
    m.c_free(q);
    expect(reports.map((r) => [r.kind, r.ptr])).toEqual([["double-free", q]]);
    heap.check();
  });

  it("calloc zero-fills and returns 0 when n * size overflows size_t", () => {
    const { heap, m } = setup();
    const junk = m.c_malloc(4000);
    heap.u8.fill(0xaa, junk, junk + 4000);
    m.c_free(junk);
    const p = m.c_calloc(1000, 4);
    expect(heap.u8.subarray(p, p + 4000).every((b) => b === 0)).toBe(true);
    expect(m.c_calloc(0x10000, 0x10000)).toBe(0);
    expect(heap.lastError).toBe(ENOMEM);
    m.c_free(p);
    heap.check();
  });

  it("mallocx / rallocx / xallocx / sallocx / nallocx / sdallocx / dallocx", () => {
    const { heap, m, reports } = setup();
    expect(m.c_nallocx(100, 0)).toBe(112);
    const p = m.c_mallocx(100, MALLOCX_ALIGN(4096) | MALLOCX_ZERO);
    expect(p % 4096).toBe(0);
    expect(heap.u8.subarray(p, p + 100).every((b) => b === 0)).toBe(true);
    expect(m.c_sallocx(p, 0)).toBe(m.c_nallocx(100, MALLOCX_ALIGN(4096)));
    heap.u8[p] = 7;
    const q = m.c_rallocx(p, 20_000, 0);
    expect(heap.u8[q]).toBe(7);
    expect(m.c_xallocx(q, 20_000, 0, 0)).toBe(m.c_sallocx(q, 0));
    expect(m.c_mallocx(0xfffffff0, 0)).toBe(0);
    m.c_sdallocx(q, 20_000, 0);
    const r = m.c_mallocx(40, 0);
    m.c_sdallocx(r, 4000, 0); // wrong size: reported, not freed
    expect(reports.map((x) => [x.kind, x.ptr])).toEqual([["size-mismatch", r]]);
    m.c_dallocx(r, 0);
    heap.check();
  });
});

describe("mallctl from wasm", () => {
  it("reads stats.allocated after writing epoch, writes a value, and answers errors with C's codes", () => {
    const { heap, m } = setup();
    const old = m.c_malloc(8);
    const oldlen = m.c_malloc(4);
    const val = m.c_malloc(8);
    const big = m.c_malloc(300_000);
    heap.dv.setBigUint64(val, 1n, true);
    expect(m.c_mallctl(cstr(heap, m, "epoch"), 0, 0, val, 8)).toBe(0);
    heap.dv.setUint32(oldlen, 4, true);
    expect(m.c_mallctl(cstr(heap, m, "stats.allocated"), old, oldlen, 0, 0)).toBe(0);
    const fromWasm = heap.dv.getUint32(old, true);
    expect(fromWasm).toBe(heap.mallctl("stats.allocated"));
    expect(fromWasm).toBeGreaterThanOrEqual(300_000);

    // Write arena.0.dirty_decay_ms (ssize_t: 4 bytes on wasm32), reading the old value in the same call.
    const name = cstr(heap, m, "arena.0.dirty_decay_ms");
    const before = heap.mallctl("arena.0.dirty_decay_ms");
    heap.dv.setInt32(val, 1234, true);
    heap.dv.setUint32(oldlen, 4, true);
    expect(m.c_mallctl(name, old, oldlen, val, 4)).toBe(0);
    expect(heap.dv.getInt32(old, true)).toBe(before);
    expect(heap.mallctl("arena.0.dirty_decay_ms")).toBe(1234);

    expect(m.c_mallctl(name, 0, 0, val, 8)).toBe(EINVAL); // newlen is not sizeof(ssize_t)
    expect(m.c_mallctl(cstr(heap, m, "no.such.name"), old, oldlen, 0, 0)).toBe(ENOENT);
    expect(m.c_mallctl(cstr(heap, m, "stats.allocated"), 0, 0, val, 4)).toBe(EPERM); // read-only
    // *oldlenp smaller than the type: what fits is copied, *oldlenp says how much, EINVAL.
    heap.dv.setUint32(old, 0, true);
    heap.dv.setUint32(oldlen, 1, true);
    heap.dv.setBigUint64(val, 1n, true);
    expect(m.c_mallctl(cstr(heap, m, "epoch"), old, oldlen, 0, 0)).toBe(EINVAL);
    expect(heap.dv.getUint32(oldlen, true)).toBe(1);
    // A string: a pointer to a NUL-terminated copy in the memory.
    heap.dv.setUint32(oldlen, 4, true);
    expect(m.c_mallctl(cstr(heap, m, "version"), old, oldlen, 0, 0)).toBe(0);
    const s = heap.dv.getUint32(old, true);
    const end = heap.u8.indexOf(0, s);
    expect(new TextDecoder().decode(heap.u8.slice(s, end))).toBe(heap.mallctl("version"));
    // bool (1 byte)
    heap.dv.setUint32(oldlen, 1, true);
    expect(m.c_mallctl(cstr(heap, m, "config.stats"), old, oldlen, 0, 0)).toBe(0);
    expect(heap.u8[old]).toBe(1);
    // uint64_t: 8 bytes
    heap.dv.setUint32(oldlen, 8, true);
    expect(m.c_mallctl(cstr(heap, m, "epoch"), old, oldlen, 0, 0)).toBe(0);
    expect(heap.dv.getBigUint64(old, true)).toBe(heap.mallctl("epoch"));
    m.c_free(big);
    heap.check();
  });

  it("a name or pointer outside the memory goes to the corruption handler and returns EFAULT", () => {
    const { heap, m, reports, memory } = setup();
    const end = memory.buffer.byteLength;
    expect(m.c_mallctl(end + 100, 0, 0, 0, 0)).toBe(EFAULT);
    const memptrOut = end - 2;
    expect(m.c_posix_memalign(memptrOut, 64, 10)).toBe(EFAULT);
    expect(reports.map((r) => [r.kind, r.ptr])).toEqual([
      ["invalid-pointer", end + 100],
      ["invalid-pointer", end - 2],
    ]);
    heap.check();
  });
});

describe("misuse from wasm", () => {
  it("double free, a pointer below base and an interior pointer are reported with module addresses", () => {
    const { heap, m, reports } = setup();
    const p = m.c_malloc(64);
    m.c_free(p);
    m.c_free(p);
    m.c_free(16); // the module's own data, below base
    const q = m.c_malloc(64);
    m.c_free(q + 8);
    expect(reports.map((r) => [r.kind, r.ptr])).toEqual([
      ["double-free", p],
      ["invalid-pointer", 16],
      ["interior-pointer", q + 8],
    ]);
    expect(reports[0]!.message).toContain(`free(${p})`);
    m.c_free(q);
    heap.check();
  });

  it("with the default handler, misuse throws HeapCorruptionError out of the module", () => {
    const memory = new WebAssembly.Memory({ initial: 1, maximum: 512, shared: true });
    const heap = Heap.create({ memory });
    const m = instantiateList(sharedBytes, memory, heap.wasmImports());
    const p = m.c_malloc(10);
    m.c_free(p);
    expect(() => m.c_free(p)).toThrow(/double free/);
  });
});

describe("a non-shared WebAssembly.Memory", () => {
  it("grows (detaching the old buffer) and keeps serving the module; JS views follow", () => {
    const memory = new WebAssembly.Memory({ initial: 1, maximum: 4096 });
    const heap = Heap.create({ memory });
    const m = instantiateList(plainBytes, memory, heap.wasmImports());
    m.c_free(m.c_malloc(8));
    heap.mallctl("thread.tcache.flush");
    heap.mallctl("epoch", 1n);
    const baseline = heap.mallctl("stats.allocated");
    const oldBuffer = memory.buffer;
    const head = m.build(3000, 2000);
    expect(head).not.toBe(0);
    expect(oldBuffer.byteLength).toBe(0); // detached by memory.grow
    expect(memory.buffer.byteLength).toBeGreaterThan(4 << 20);
    let count = 0;
    for (let node = head; node !== 0; node = heap.u32[node >>> 2]!) {
      expect(heap.u32[(node + 4) >>> 2]).toBe(count);
      count++;
    }
    expect(count).toBe(3000);
    expect(m.free_odd(head)).toBe(1500);
    expect(m.sum(head)).toBe(1500 * 1499);
    m.free_all(head);
    heap.check();
    heap.mallctl("thread.tcache.flush");
    heap.mallctl("epoch", 1n);
    expect(heap.mallctl("stats.allocated")).toBe(baseline);
  });

  it("malloc returns 0 with ENOMEM at the memory's maximum, and the heap stays intact", () => {
    const memory = new WebAssembly.Memory({ initial: 1, maximum: 160 }); // 10 MiB
    const heap = Heap.create({ memory });
    const m = instantiateList(plainBytes, memory, heap.wasmImports());
    const ps: number[] = [];
    for (;;) {
      const p = m.c_malloc(256 * 1024);
      if (p === 0) break;
      ps.push(p);
    }
    expect(heap.lastError).toBe(ENOMEM);
    expect(memory.buffer.byteLength).toBeLessThanOrEqual(160 * 65536);
    expect(ps.length).toBeGreaterThan(10);
    for (const p of ps) m.c_free(p);
    heap.check();
  });
});

describe("bad inputs", () => {
  it("Heap.create({ memory }) names what is wrong", () => {
    const shared = new WebAssembly.Memory({ initial: 2, maximum: 64, shared: true });
    expect(() => Heap.create({ memory: {} as never })).toThrow(/memory must be a WebAssembly.Memory/);
    expect(() => Heap.create({ memory: new WebAssembly.Memory({ initial: 1 }) })).toThrow(/has no maximum/);
    expect(() => Heap.create({ memory: shared, base: 4096 })).toThrow(
      /base 4096 is not a multiple of the 65536/,
    );
    expect(() => Heap.create({ memory: shared, base: 64 * 65536 })).toThrow(
      /base 4194304 lies at or beyond the memory's maximum/,
    );
    expect(() => Heap.create({ memory: shared, base: -65536 })).toThrow(
      /base must be a non-negative integer, got -65536/,
    );
    expect(() => Heap.create({ memory: shared, base: "0" as never })).toThrow(
      /base must be a non-negative integer, got "0"/,
    );
    expect(() => Heap.create({ memory: shared, initialBytes: 1 << 20 })).toThrow(
      /initialBytes cannot be given with memory/,
    );
    expect(() => Heap.create({ memory: shared, maxBytes: 1 << 30 })).toThrow(
      /maxBytes must be an integer in \[65536, 3997696\]/,
    );
  });

  it("the limit derives from the memory's maximum", () => {
    const memory = new WebAssembly.Memory({ initial: 1, maximum: 96 }); // 6 MiB
    const heap = Heap.create({ memory, base: 65536 });
    expect(heap.malloc(6 << 20)).toBe(0);
    expect(heap.lastError).toBe(ENOMEM);
    const p = heap.malloc(1 << 20);
    expect(p).toBeGreaterThanOrEqual(65536);
    expect(memory.buffer.byteLength).toBeLessThanOrEqual(96 * 65536);
    heap.free(p);
    heap.check();
  });

  it("Heap.attach(memory) finds the heap at its base, or says there is none; wasmImports needs a memory heap", () => {
    const memory = new WebAssembly.Memory({ initial: 5, maximum: 256, shared: true });
    expect(() => Heap.attach(memory)).toThrow(/no jemalloc-ts heap in this WebAssembly.Memory/);
    const heap = Heap.create({ memory, base: 3 * 65536 });
    const p = heap.malloc(100);
    const other = Heap.attach(memory);
    expect((other as unknown as { base: number }).base).toBe(3 * 65536);
    expect(other.mallocUsableSize(p)).toBe(112);
    other.free(p);
    other.detach();
    heap.check();
    expect(() => Heap.create({ maxBytes: 1 << 20 }).wasmImports()).toThrow(/not inside a WebAssembly.Memory/);
  });
});
