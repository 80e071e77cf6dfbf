/**
 * strategies: the allocators a benchmark compares, behind one small interface.
 *
 *   jemalloc-ts  a Heap made by Heap.create({ conf, lgQuantum, lgPage }); the configuration string is
 *                malloc_conf syntax plus two build-time keys the benchmark lifts out: `lg_quantum:N`,
 *                `lg_page:N` (e.g. "tcache:false,lg_page:16"). "default" (or "") is the default heap.
 *   thi.ng       `@thi.ng/malloc`'s MemPool over one ArrayBuffer, sized up front (it cannot grow).
 *   uint8array   plain `new Uint8Array(size)`; free drops the reference (the GC reclaims it).
 *   as-tlsf      AssemblyScript's TLSF allocator in wasm, compiled from source at first use (tlsf.ts).
 *
 * Each allocator hands out numeric handles (0 = failure) so the workload loops are the same code for all;
 * for the buffer allocators the handle is the block's byte offset. Footprint meanings (printed with
 * every result):
 *   jemalloc-ts  in use = `stats.active` (pages of live extents and slabs, after an `epoch` refresh);
 *                buffer = `buffer.byteLength` (what the SharedArrayBuffer has grown to; it never shrinks)
 *   thi.ng       in use = the pool's `top` (its bump pointer: everything below it is blocks or free
 *                list); buffer = the ArrayBuffer it was given
 *   uint8array   in use = the sum of the live arrays' lengths (JS heap; V8's own overhead is not seen)
 *
 * Errors: RangeError naming a configuration string that is not understood.
 */
import { Heap } from "../heap.js";
import { type BenchAllocator, writeRecordAt } from "./allocator.js";
import type { FootprintSample, StrategyKind } from "./result.js";
import { TlsfAllocator, tlsfUnavailable, type WasmModule } from "./tlsf.js";

export { type BenchAllocator, writeRecordAt };

import { RECORD_BYTES } from "./workloads.js";

export type { StrategyKind } from "./result.js";

export interface Strategy {
  /** What the user wrote (or the default list's entry). */
  id: string;
  /** Table label. */
  label: string;
  kind: StrategyKind;
  /** malloc_conf string without the build-time keys. */
  conf: string;
  lgQuantum?: number;
  lgPage?: number;
}

/** Every configuration the full suite measures, in table order. */
export const DEFAULT_STRATEGY_IDS = [
  "default",
  "tcache:false",
  "narenas:1",
  "dirty_decay_ms:0,muzzy_decay_ms:0",
  "dirty_decay_ms:-1,muzzy_decay_ms:-1",
  "lg_quantum:3",
  "lg_page:16",
  "thi.ng",
  "uint8array",
  "as-tlsf",
] as const;

export const BASELINE_IDS = ["thi.ng", "uint8array", "as-tlsf"] as const;
const TLSF_NAMES = new Set(["as-tlsf", "tlsf", "assemblyscript"]);

const THING_NAMES = new Set(["thi.ng", "@thi.ng/malloc", "thing"]);
const U8_NAMES = new Set(["uint8array", "Uint8Array", "new Uint8Array"]);

function lgKey(key: string, value: string, id: string, min: number, max: number): number {
  if (!/^\d+$/.test(value) || Number(value) < min || Number(value) > max) {
    throw new RangeError(
      `bench: ${key} in configuration ${JSON.stringify(id)} must be an integer in [${min}, ${max}], got ${JSON.stringify(value)}`,
    );
  }
  return Number(value);
}

/** Parses one configuration: a baseline name, "default", or malloc_conf plus lg_quantum/lg_page. */
export function parseStrategy(id: string): Strategy {
  if (typeof id !== "string")
    throw new TypeError(`bench: a configuration must be a string, got ${typeof id}`);
  const t = id.trim();
  if (THING_NAMES.has(t)) return { id: "thi.ng", label: "@thi.ng/malloc", kind: "thi.ng", conf: "" };
  if (U8_NAMES.has(t)) return { id: "uint8array", label: "new Uint8Array", kind: "uint8array", conf: "" };
  if (TLSF_NAMES.has(t)) return { id: "as-tlsf", label: "AS TLSF (wasm)", kind: "as-tlsf", conf: "" };
  const s: Strategy = { id: t === "" ? "default" : t, label: "", kind: "jemalloc-ts", conf: "" };
  const rest: string[] = [];
  for (const pair of t === "default" ? [] : t.split(",")) {
    if (pair === "") continue;
    const colon = pair.indexOf(":");
    const key = colon < 0 ? pair : pair.slice(0, colon);
    const value = colon < 0 ? "" : pair.slice(colon + 1);
    if (key === "lg_quantum") s.lgQuantum = lgKey(key, value, id, 3, 8);
    else if (key === "lg_page") s.lgPage = lgKey(key, value, id, 12, 16);
    else if (colon < 0)
      throw new RangeError(
        `bench: ${JSON.stringify(pair)} in configuration ${JSON.stringify(id)} is not key:value`,
      );
    else rest.push(pair);
  }
  s.conf = rest.join(",");
  s.label = `jemalloc-ts ${s.id}`;
  return s;
}

export interface AllocatorSizing {
  /** Requested bytes the workload may hold at once (sizes the thi.ng pool). */
  peakLiveBytes: number;
  /** Largest block it will request. */
  maxRequest: number;
}

/** Largest buffer a benchmark heap may grow to: 1.5 GiB, ample for every workload at scale 1. */
export const BENCH_HEAP_MAX_BYTES = 1.5 * 2 ** 30;

export function createBenchHeap(s: Strategy, maxBytes = BENCH_HEAP_MAX_BYTES): Heap {
  const messages: string[] = [];
  const heap = Heap.create({
    conf: s.conf,
    envConf: null,
    lgQuantum: s.lgQuantum,
    lgPage: s.lgPage,
    maxBytes,
    writer: (m) => messages.push(m),
  });
  if (messages.length > 0) {
    heap.detach();
    throw new RangeError(`bench: configuration ${JSON.stringify(s.id)}: ${messages.join(" ").trim()}`);
  }
  return heap;
}

/** Attaches this thread to a heap another thread created (workers). */
export function attachBenchHeap(buffer: SharedArrayBuffer): Heap {
  return Heap.attach(buffer);
}

/**
 * Records are written the way fast user code writes into a growable heap: through a fixed-length
 * DataView over the buffer, re-made when a block lies past its end (the buffer grew). Node 20's
 * length-tracking views (what `heap.dv` is while the buffer can grow) are several times slower.
 */
export class HeapAllocator implements BenchAllocator {
  readonly heap: Heap;
  #dv: DataView;
  constructor(heap: Heap) {
    this.heap = heap;
    this.#dv = new DataView(heap.buffer, 0, heap.buffer.byteLength);
  }
  malloc(size: number): number {
    return this.heap.malloc(size);
  }
  free(p: number): void {
    this.heap.free(p);
  }
  writeRecord(p: number, i: number): void {
    if (p + RECORD_BYTES > this.#dv.byteLength)
      this.#dv = new DataView(this.heap.buffer, 0, this.heap.buffer.byteLength);
    writeRecordAt(this.#dv, p, i);
  }
  sample(): FootprintSample {
    this.heap.mallctl("epoch", 1);
    return {
      inUse: this.heap.mallctl("stats.active") as number,
      mapped: this.heap.mallctl("stats.mapped") as number,
    };
  }
  bufferBytes(): number {
    return this.heap.buffer.byteLength;
  }
  close(): void {
    this.heap.detach();
  }
}

/** The subset of @thi.ng/malloc's MemPool the benchmark uses. */
interface MemPoolLike {
  malloc(bytes: number): number;
  free(ptr: number): boolean;
  stats(): { top: number; used: { size: number } };
}

export class ThingAllocator implements BenchAllocator {
  readonly #pool: MemPoolLike;
  readonly #buf: ArrayBuffer;
  readonly #dv: DataView;
  constructor(pool: MemPoolLike, buf: ArrayBuffer) {
    this.#pool = pool;
    this.#buf = buf;
    this.#dv = new DataView(buf);
  }
  malloc(size: number): number {
    return this.#pool.malloc(size);
  }
  free(p: number): void {
    this.#pool.free(p);
  }
  writeRecord(p: number, i: number): void {
    writeRecordAt(this.#dv, p, i);
  }
  sample(): FootprintSample {
    const st = this.#pool.stats();
    return { inUse: st.used.size, mapped: st.top };
  }
  bufferBytes(): number {
    return this.#buf.byteLength;
  }
  close(): void {}
}

/** Handles index a table of live arrays; a freed index is reused first (free = drop the reference). */
export class Uint8ArrayAllocator implements BenchAllocator {
  #objs: (Uint8Array | undefined)[] = [undefined];
  #freeIdx = new Uint32Array(1024);
  #nfree = 0;
  #live = 0;
  malloc(size: number): number {
    const a = new Uint8Array(size);
    let h: number;
    if (this.#nfree > 0) {
      h = this.#freeIdx[--this.#nfree]!;
      this.#objs[h] = a;
    } else {
      h = this.#objs.length;
      this.#objs.push(a);
    }
    this.#live += size;
    return h;
  }
  free(h: number): void {
    const a = this.#objs[h]!;
    this.#live -= a.length;
    this.#objs[h] = undefined;
    if (this.#nfree === this.#freeIdx.length) {
      const bigger = new Uint32Array(this.#freeIdx.length * 2);
      bigger.set(this.#freeIdx);
      this.#freeIdx = bigger;
    }
    this.#freeIdx[this.#nfree++] = h;
  }
  writeRecord(h: number, i: number): void {
    const a = this.#objs[h]!;
    writeRecordAt(new DataView(a.buffer, a.byteOffset, a.byteLength), 0, i);
  }
  /** The live arrays' lengths: exactly the live requested bytes. */
  sample(): FootprintSample {
    return { inUse: this.#live, mapped: Number.NaN };
  }
  bufferBytes(): number {
    return Number.NaN;
  }
  close(): void {
    this.#objs = [undefined];
    this.#nfree = 0;
    this.#live = 0;
  }
}

type MemPoolCtor = new (opts: { buf: ArrayBuffer; align?: number }) => MemPoolLike;
let memPoolCtor: MemPoolCtor | null | undefined;

/** @thi.ng/malloc's MemPool constructor, or null when the package is not installed. */
export async function loadMemPool(): Promise<MemPoolCtor | null> {
  if (memPoolCtor !== undefined) return memPoolCtor;
  try {
    const m = (await import("@thi.ng/malloc")) as unknown as { MemPool: MemPoolCtor };
    memPoolCtor = m.MemPool;
  } catch {
    memPoolCtor = null;
  }
  return memPoolCtor;
}

/** Largest ArrayBuffer the thi.ng pool gets (its u32 views address at most 4 GiB; keep well below). */
export const THING_POOL_MAX_BYTES = 2 ** 31;

/** Pool bytes for a workload: peak live with room for headers, alignment and fragmentation. */
export function thingPoolBytes(sizing: AllocatorSizing): number {
  const want = Math.ceil(sizing.peakLiveBytes * 2.5) + 4 * sizing.maxRequest + (16 << 20);
  return Math.min(THING_POOL_MAX_BYTES, Math.ceil(want / 65536) * 65536);
}

/**
 * A fresh allocator for strategy `s`, sized for a workload (`MemPool` must be loaded for thi.ng, the
 * compiled module for as-tlsf).
 */
export function createAllocator(
  s: Strategy,
  sizing: AllocatorSizing,
  memPool: MemPoolCtor | null,
  tlsf: WasmModule | null = null,
): BenchAllocator {
  switch (s.kind) {
    case "jemalloc-ts":
      return new HeapAllocator(createBenchHeap(s));
    case "thi.ng": {
      if (memPool === null)
        throw new Error("bench: @thi.ng/malloc is not installed (npm i -D @thi.ng/malloc)");
      const buf = new ArrayBuffer(thingPoolBytes(sizing));
      return new ThingAllocator(new memPool({ buf, align: 8 }), buf);
    }
    case "uint8array":
      return new Uint8ArrayAllocator();
    case "as-tlsf":
      if (tlsf === null) throw new Error(tlsfUnavailable());
      return new TlsfAllocator(tlsf);
  }
}

/** What "in use", "mapped" and "buffer" mean for each kind (legend lines and JSON). */
export const FOOTPRINT_MEANING: Record<StrategyKind, { inUse: string; mapped: string; buffer: string }> = {
  "jemalloc-ts": {
    inUse: "stats.active (pages of live extents and slabs)",
    mapped: "stats.mapped (the heap's top: extents, retained and metadata)",
    buffer: "buffer.byteLength (pre-sized to maxBytes; the OS backs only touched pages)",
  },
  "thi.ng": {
    inUse: "the pool's used blocks (8-byte headers and alignment included)",
    mapped: "the pool's top (its bump pointer)",
    buffer: "the ArrayBuffer given to MemPool (fixed; it cannot grow)",
  },
  uint8array: {
    inUse: "the sum of live array lengths (= live requested; V8's own overhead is not visible)",
    mapped: "n/a",
    buffer: "n/a",
  },
  "as-tlsf": {
    inUse: "the wasm memory's length (TLSF keeps its own figures private)",
    mapped: "the wasm memory's length (grown by TLSF, never shrunk)",
    buffer: "the wasm memory's length",
  },
};
