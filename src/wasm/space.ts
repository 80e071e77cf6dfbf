/**
 * space: the heap's address space inside a WebAssembly.Memory.
 *
 * Why the heap starts at `base` and translates at its API (instead of using the module's addresses
 * internally): every record of the heap is addressed by offsets from its header, which the code puts at
 * offset 0 (HDR_* constants, a few hundred uses); a WasmMemory cannot be built over an existing
 * buffer, and the module's data and stack own the bytes below `base`. So the heap's views start at byte
 * `base` of the memory (heap offset 0 = module address `base`), nothing inside the allocator changes,
 * and a memory-backed handle (memory_heap.ts) adds or subtracts `base` where pointers cross its API.
 * The page placement (src/extent/pages.ts, Linux-like hugepage residues) works on heap offsets as
 * before; because `base` is a multiple of the 64 KiB wasm page, a module address is aligned to any
 * power of two up to the largest one dividing `base` exactly when its heap offset is, and larger
 * alignments are refused (memory_heap.ts).
 *
 * Layout: [base, base + 64 KiB) is this module's own page (SPACE_*: a magic word, and one word per
 * thread slot, below); the allocator's heap starts at base + 64 KiB (its header at heap offset 0).
 *
 * Growth: memory.grow() in 64 KiB pages, up to the memory's maximum (found by linking probe modules,
 * memoryMaxPages). Growing hands out a new buffer object (shared: a new SharedArrayBuffer over the same
 * bytes, which other threads see on `memory.buffer`; not shared: the old ArrayBuffer is detached), and
 * the allocator keeps views in locals within a call, so a call's views must never change under it and
 * must cover everything it can reach. The rule that makes this so: the mapped top never passes the view
 * end of a thread that is inside a call. Each thread publishes, in its slot's word of the page at base,
 * the heap bytes its views cover while it is inside a call (0 outside). A mapping that would pass the
 * smallest published end, or this thread's own, fails as out of memory; the handle then (outside the
 * call, holding no lock) grows the memory if needed, waits (bounded) until every thread inside a call
 * has moved on, refreshes its views and runs the call again (memory_heap.ts). Each call first refreshes
 * the views if the buffer object changed, and grows ahead of need (headroomBytes), so retries are rare.
 */
import type { HeapCtx, HeapSpace } from "../ctx/ctx.js";
import { HDR_NSLOTS_B } from "../ctx/header.js";
import type { WasmMemory } from "../heap/boot.js";
import { fixedViews } from "../layout/index.js";
import { SLOT_STATE_ACTIVE, slotState } from "../sync/index.js";

/** The WebAssembly constructors this module uses (the project's lib has no WebAssembly types). */
interface WasmApi {
  Module: new (bytes: Uint8Array) => object;
  Instance: new (module: object, imports: object) => { exports: Record<string, unknown> };
  LinkError: new (...a: never[]) => Error;
}
const WA = (globalThis as unknown as { WebAssembly: WasmApi }).WebAssembly;

export const WASM_PAGE_BYTES = 65536;
/** This module's page at base; the heap starts after it. */
export const SPACE_BYTES = 65536;
/** "JETW" at base: a heap inside this memory follows at base + SPACE_BYTES. */
export const SPACE_MAGIC = 0x4a455457;
const SPACE_W_MAGIC = 0;
/** First word of the per-slot view ends (heap bytes a thread's views cover while it is in a call). */
const SPACE_W_VIEWS = 16;
/** Largest wasm32 memory, in pages (4 GiB). */
export const WASM_MAX_PAGES = 65536;

/** Mutable view of the context's view fields (they change only here, between calls). */
type MutableViews = {
  -readonly [K in "buffer" | "u8" | "i32" | "u32" | "f64" | "dv"]: HeapCtx[K];
};

/** Points this thread's context at `buffer` (the memory's current buffer object). */
export function viewsRefresh(ctx: HeapCtx, buffer: SharedArrayBuffer | ArrayBuffer, baseB: number): void {
  const v = fixedViews(buffer, baseB);
  const m = ctx as unknown as MutableViews;
  m.buffer = buffer;
  m.u8 = v.u8;
  m.i32 = v.i32;
  m.u32 = v.u32;
  m.f64 = v.f64;
  m.dv = v.dv;
}

/** A wasm module of one import, `(import "e" "m" (memory 0 maxPages [shared]))`, in binary. */
function probeModule(maxPages: number, shared: boolean): Uint8Array {
  const leb = (n: number): number[] => {
    const out: number[] = [];
    do {
      let b = n & 0x7f;
      n = Math.floor(n / 128);
      if (n !== 0) b |= 0x80;
      out.push(b);
    } while (n !== 0);
    return out;
  };
  const entry = [1, 0x65, 1, 0x6d, 0x02, shared ? 0x03 : 0x01, 0x00, ...leb(maxPages)];
  const section = [1, ...entry];
  return new Uint8Array([0, 0x61, 0x73, 0x6d, 1, 0, 0, 0, 0x02, ...leb(section.length), ...section]);
}

/** Whether `memory` links where a memory of at most `maxPages` pages is imported. */
function linksBelow(memory: WasmMemory, maxPages: number, shared: boolean): boolean {
  try {
    new WA.Instance(new WA.Module(probeModule(maxPages, shared)), { e: { m: memory } });
    return true;
  } catch (err) {
    if (err instanceof WA.LinkError) return false;
    throw err;
  }
}

/**
 * The memory's maximum in pages, or null when it has none. JavaScript cannot read it (type reflection
 * is not shipped), but an import declaring maximum M links only a memory whose maximum is at most M:
 * a binary search over M finds it (17 tiny instantiations).
 */
export function memoryMaxPages(memory: WasmMemory, shared: boolean): number | null {
  if (!linksBelow(memory, WASM_MAX_PAGES, shared)) return null;
  let lo = 0;
  let hi = WASM_MAX_PAGES;
  while (lo < hi) {
    const mid = Math.floor((lo + hi) / 2);
    if (linksBelow(memory, mid, shared)) hi = mid;
    else lo = mid + 1;
  }
  return lo;
}

/** Grows `memory` until it holds `bytes` bytes; false if it cannot. */
export function memoryGrowTo(memory: WasmMemory, bytes: number): boolean {
  const have = memory.buffer.byteLength;
  if (have >= bytes) return true;
  try {
    memory.grow(Math.ceil((bytes - have) / WASM_PAGE_BYTES));
  } catch (err) {
    if (err instanceof RangeError) return false;
    throw err;
  }
  return memory.buffer.byteLength >= bytes;
}

/** Growth of a memory-backed heap: the HeapSpace the allocator calls, and what the handle asks of it. */
export class MemorySpace implements HeapSpace {
  /** Set when a call failed only because the memory (or another thread's views) was short: retry. */
  retry = false;
  /** During creation the views may change inside the call (no other thread exists yet). */
  booting = true;
  /** Heap bytes this thread's views covered when its current call began (set by the handle). */
  viewEnd = 0;
  /** Heap bytes the failed call needed. */
  need = 0;
  /** Set by the handle (memory_heap.ts): a reclaim run as one of this thread's calls. */
  reclaiming: (<T>(run: () => T) => T) | undefined = undefined;
  /** The heap's offset 0 in the memory. */
  readonly baseB: number;
  #words: Int32Array;

  constructor(
    readonly memory: WasmMemory,
    /** Where this module's page lies (the base the user gave). */
    readonly spaceB: number,
    /** Largest heap size (the memory's maximum minus the heap's start, or less). */
    readonly maxBytes: number,
  ) {
    this.baseB = spaceB + SPACE_BYTES;
    this.#words = new Int32Array(memory.buffer, spaceB, SPACE_BYTES / 4);
  }

  /** Points this thread's views (the context's and this page's) at `buf`, the memory's buffer now. */
  adopt(ctx: HeapCtx, buf: SharedArrayBuffer | ArrayBuffer): void {
    if (ctx.buffer !== buf) viewsRefresh(ctx, buf, this.baseB);
    if (this.#words.buffer !== buf) this.#words = new Int32Array(buf, this.spaceB, SPACE_BYTES / 4);
  }

  /** Marks the page at base as this module's (creation). */
  stamp(): void {
    Atomics.store(this.#words, SPACE_W_MAGIC, SPACE_MAGIC | 0);
  }

  /** Publishes the view end of thread slot `slot` (0: not inside a call). */
  publish(slot: number, viewEnd: number): void {
    // A non-shared memory's old buffer is detached (length 0) once it grew: look again.
    if (this.#words.length === 0)
      this.#words = new Int32Array(this.memory.buffer, this.spaceB, SPACE_BYTES / 4);
    Atomics.store(this.#words, SPACE_W_VIEWS + slot, viewEnd | 0);
  }

  /** Smallest view end published by a live thread inside a call, other than `exceptSlot`. */
  minView(ctx: HeapCtx, exceptSlot: number): number {
    const w = this.#words;
    const regW = ctx.hdr.slotsB >>> 2;
    let min = Number.POSITIVE_INFINITY;
    for (let s = 0, n = ctx.u32[HDR_NSLOTS_B >>> 2]!; s < n; s++) {
      const v = Atomics.load(w, SPACE_W_VIEWS + s) >>> 0;
      if (v !== 0 && v < min && s !== exceptSlot && slotState(ctx.i32, regW, s) === SLOT_STATE_ACTIVE)
        min = v;
    }
    return min;
  }

  /** Heap bytes the memory holds now. */
  heapBytes(): number {
    return this.memory.buffer.byteLength - this.baseB;
  }

  /** Grows the memory to hold heap offsets [0, end) plus headroom (capped); false if it cannot. */
  grow(end: number, headroom: number): boolean {
    const have = this.heapBytes();
    if (have >= end) return true;
    const want = Math.min(this.maxBytes, Math.max(end, end + headroom));
    try {
      this.memory.grow(Math.ceil((want - have) / WASM_PAGE_BYTES));
    } catch (err) {
      if (!(err instanceof RangeError)) throw err;
      // The engine refused the headroom (or the maximum): the bare need may still fit.
      try {
        this.memory.grow(Math.ceil((end - have) / WASM_PAGE_BYTES));
      } catch (err2) {
        if (err2 instanceof RangeError) return false;
        throw err2;
      }
    }
    return this.heapBytes() >= end;
  }

  ensure(ctx: HeapCtx, end: number): boolean {
    if (end > this.maxBytes) return false;
    if (this.booting) {
      if (ctx.buffer.byteLength - this.baseB >= end) return true;
      if (!this.grow(end, headroomBytes(end))) return false;
      this.adopt(ctx, this.memory.buffer);
      return true;
    }
    if (end <= this.viewEnd && end <= this.minView(ctx, ctx.slot)) return true;
    if (end > this.need) this.need = end;
    this.retry = true;
    return false;
  }

  /** Catches up with a memory grown since this thread last looked. */
  refresh(ctx: HeapCtx): void {
    this.adopt(ctx, this.memory.buffer);
  }
}

/** Growth ahead of need: an eighth of the heap, at least 1 MiB. */
export function headroomBytes(heapBytes: number): number {
  return Math.max(1 << 20, Math.ceil(heapBytes / 8 / WASM_PAGE_BYTES) * WASM_PAGE_BYTES);
}
