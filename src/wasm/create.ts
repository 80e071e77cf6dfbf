/**
 * create: Heap.create({ memory, base }) and Heap.attach(memory) — checking the memory and the base,
 * writing the heap from `base`, and finding it again in another worker.
 */
import { HDR_MAX_BYTES_B, HEAP_MAGIC } from "../ctx/header.js";
import {
  bootArenas,
  bootAttach,
  bootCreate,
  buildCtx,
  type HeapAttachOptions,
  type HeapCreateOptions,
  isWasmMemory,
  MAX_BYTES_LIMIT,
  type WasmMemory,
} from "../heap/boot.js";
import { heapStatsPrintAtExit } from "../heap/mallctl.js";
import { profAtExit } from "../prof/index.js";
import { WasmHeap } from "./memory_heap.js";
import {
  headroomBytes,
  MemorySpace,
  memoryGrowTo,
  memoryMaxPages,
  SPACE_BYTES,
  SPACE_MAGIC,
  WASM_PAGE_BYTES,
} from "./space.js";

/** Memory reserved beyond the header at creation (the first base block and arena 0 fit in it). */
const BOOT_HEADROOM_BYTES = 4 << 20;

function describe(v: unknown): string {
  return typeof v === "string" ? JSON.stringify(v) : String(v);
}

/** The memory, checked, with its sharing and its maximum in bytes. */
function memoryOf(memory: unknown, fn: string): { memory: WasmMemory; shared: boolean; maxMemBytes: number } {
  if (!isWasmMemory(memory))
    throw new TypeError(`${fn}: memory must be a WebAssembly.Memory, got ${describe(memory)}`);
  const shared = typeof SharedArrayBuffer !== "undefined" && memory.buffer instanceof SharedArrayBuffer;
  const maxPages = memoryMaxPages(memory, shared);
  if (maxPages === null)
    throw new RangeError(
      `${fn}: the WebAssembly.Memory has no maximum; create it with { maximum } (the heap's limit derives from it)`,
    );
  return { memory, shared, maxMemBytes: Math.min(maxPages * WASM_PAGE_BYTES, MAX_BYTES_LIMIT) };
}

function baseOf(base: unknown, memBytes: number, maxMemBytes: number, fn: string): number {
  if (base === undefined) return memBytes;
  if (typeof base !== "number" || !Number.isInteger(base) || base < 0)
    throw new TypeError(`${fn}: base must be a non-negative integer, got ${describe(base)}`);
  if (base % WASM_PAGE_BYTES !== 0)
    throw new RangeError(`${fn}: base ${base} is not a multiple of the 65536-byte wasm page`);
  if (base >= maxMemBytes)
    throw new RangeError(`${fn}: base ${base} lies at or beyond the memory's maximum (${maxMemBytes} bytes)`);
  return base;
}

/** Heap.create({ memory, base, ... }). */
export function createInMemory(options: HeapCreateOptions): WasmHeap {
  const fn = "Heap.create";
  const { memory, shared, maxMemBytes } = memoryOf(options.memory, fn);
  for (const k of ["initialBytes", "shared"] as const) {
    if (options[k] !== undefined)
      throw new TypeError(`${fn}: ${k} cannot be given with memory (it derives from the WebAssembly.Memory)`);
  }
  const base = baseOf(options.base, memory.buffer.byteLength, maxMemBytes, fn);
  let maxBytes = maxMemBytes - base - SPACE_BYTES;
  if (options.maxBytes !== undefined) {
    const m = options.maxBytes;
    if (typeof m !== "number" || !Number.isInteger(m) || m < WASM_PAGE_BYTES || m > maxBytes)
      throw new RangeError(
        `${fn}: maxBytes must be an integer in [65536, ${maxBytes}] (the memory's maximum minus base minus 64 KiB), got ${describe(m)}`,
      );
    maxBytes = m;
  }
  if (maxBytes < WASM_PAGE_BYTES)
    throw new RangeError(
      `${fn}: base ${base} leaves ${maxBytes + SPACE_BYTES} bytes below the memory's maximum; the heap needs at least 131072 (64 KiB of its own and 64 KiB of heap)`,
    );
  if (!memoryGrowTo(memory, base + SPACE_BYTES))
    throw new RangeError(`${fn}: the memory cannot grow to hold the heap's first page at base ${base}`);
  const space = new MemorySpace(memory, base, maxBytes);
  space.stamp();
  const { buffer, derived } = bootCreate(options, {
    baseB: space.baseB,
    maxBytes,
    shared,
    reserve(bytes) {
      // Room for the first base block and arena 0 too, so creation rarely grows inside bootArenas.
      if (!space.grow(bytes, Math.max(BOOT_HEADROOM_BYTES, headroomBytes(bytes))))
        throw new RangeError(
          `${fn}: the memory cannot grow to hold the ${bytes}-byte heap header after base ${base}`,
        );
      return memory.buffer;
    },
  });
  const ctx = buildCtx(buffer, derived, options.clock, options.lockTimeoutMs, false);
  ctx.space = space;
  bootArenas(ctx);
  space.refresh(ctx);
  space.booting = false;
  // opt.background_thread is not honoured: background workers attach to a SharedArrayBuffer heap.
  const heap = new WasmHeap(ctx, derived, space, options.writer);
  heapStatsPrintAtExit(heap);
  profAtExit(heap);
  return heap;
}

/** The lowest 64 KiB boundary where this module's page is followed by a valid heap header. */
function findBase(memory: WasmMemory, options: HeapAttachOptions): number {
  const buf = memory.buffer;
  const u32 = new Uint32Array(buf, 0, Math.floor(buf.byteLength / 4));
  let firstErr: unknown = null;
  for (let b = 0; b + SPACE_BYTES + WASM_PAGE_BYTES <= buf.byteLength; b += WASM_PAGE_BYTES) {
    if (
      Atomics.load(u32, b >>> 2) !== SPACE_MAGIC ||
      Atomics.load(u32, (b + SPACE_BYTES) >>> 2) !== HEAP_MAGIC
    )
      continue;
    try {
      bootAttach(buf, options, b + SPACE_BYTES);
      return b;
    } catch (err) {
      firstErr ??= err;
    }
  }
  if (firstErr !== null) throw firstErr;
  throw new TypeError(
    "Heap.attach: no jemalloc-ts heap in this WebAssembly.Memory (no header at any 64 KiB boundary)",
  );
}

/** Attempts at reading the header while other threads grow the memory under it. */
const ATTACH_TRIES = 8;

/**
 * Heap.attach(memory, { base? }). The header check judges pointers against the buffer object it reads;
 * when another thread grew the memory meanwhile (a record may lie past that buffer), it reads again.
 */
export function attachToMemory(memoryArg: WasmMemory, options: HeapAttachOptions): WasmHeap {
  const fn = "Heap.attach";
  const { memory, maxMemBytes } = memoryOf(memoryArg, fn);
  for (let i = 1; ; i++) {
    const buf = memory.buffer;
    try {
      return attachOnce(memory, buf, maxMemBytes, options);
    } catch (err) {
      if (i >= ATTACH_TRIES || !(err instanceof TypeError) || memory.buffer.byteLength === buf.byteLength)
        throw err;
    }
  }
}

function attachOnce(
  memory: WasmMemory,
  buf: SharedArrayBuffer | ArrayBuffer,
  maxMemBytes: number,
  options: HeapAttachOptions,
): WasmHeap {
  const base =
    options.base === undefined
      ? findBase(memory, options)
      : baseOf(options.base, 0, maxMemBytes, "Heap.attach");
  const derived = bootAttach(buf, options, base + SPACE_BYTES);
  const maxBytes = Math.min(derived.views.f64[HDR_MAX_BYTES_B >>> 3]!, maxMemBytes - base - SPACE_BYTES);
  const ctx = buildCtx(buf, derived, options.clock, options.lockTimeoutMs, false);
  const space = new MemorySpace(memory, base, maxBytes);
  space.booting = false;
  ctx.space = space;
  return new WasmHeap(ctx, derived, space, options.writer);
}
