/**
 * tlsf: AssemblyScript's TLSF allocator (the `assemblyscript` package's runtime) as a benchmark peer.
 *
 * Build step: the first use in a process compiles a two-function AssemblyScript module exporting
 * `malloc(size)` = `heap.alloc(size)` and `free(ptr)` = `heap.free(ptr)` with the `minimal` runtime
 * (TLSF, no garbage collector), `-O3`, assertions off, and instantiates it. Nothing binary is kept on
 * disk: the module is compiled from the source below each run (about 2–6 s, outside every timed loop).
 *
 * Memory: one wasm32 linear memory that TLSF grows by itself (up to 4 GiB); it never shrinks. When it
 * cannot grow, the runtime aborts: the allocator then throws (the cell reports the error).
 * Footprint: "in use" and "mapped" are both the linear memory's length (TLSF keeps its statistics
 * private); Node shares nothing of it between workers, so the worker workloads skip this peer.
 */

import { type BenchAllocator, writeRecordAt } from "./allocator.js";
import type { FootprintSample } from "./result.js";

/** The AssemblyScript source compiled for the peer. */
export const TLSF_SOURCE = `
export function malloc(size: usize): usize { return heap.alloc(size); }
export function free(ptr: usize): void { heap.free(ptr); }
`;

interface TlsfExports {
  malloc(size: number): number;
  free(ptr: number): void;
  memory: { buffer: ArrayBuffer };
}

/** The part of the WebAssembly API used here (the project's TypeScript lib has no DOM typings). */
interface WasmApi {
  compile(bytes: Uint8Array): Promise<WasmModule>;
  Instance: new (mod: WasmModule, imports: object) => { exports: unknown };
}
/** A compiled module (opaque here). */
export type WasmModule = object;
const wasm = (globalThis as unknown as { WebAssembly: WasmApi }).WebAssembly;
/** Named through a variable so TypeScript does not load the compiler's own (global-altering) typings. */
const ASC_SPECIFIER = "assemblyscript/asc";

type AscModule = {
  compileString(
    src: string,
    opts: Record<string, unknown>,
  ): Promise<{ error: Error | null; binary: Uint8Array | null; stderr: { toString(): string } }>;
};

let compiled: WasmModule | null | undefined;
let compileError = "";

/** Compiles the module once per process; null (see tlsfUnavailable) when assemblyscript is missing. */
export async function loadTlsf(): Promise<WasmModule | null> {
  if (compiled !== undefined) return compiled;
  let mod: WasmModule | null = null;
  try {
    const asc = ((await import(ASC_SPECIFIER)) as { default: AscModule }).default;
    const r = await asc.compileString(TLSF_SOURCE, {
      runtime: "minimal",
      optimizeLevel: 3,
      shrinkLevel: 0,
      noAssert: true,
    });
    if (r.error !== null || r.binary === null)
      throw new Error(`${r.error?.message ?? ""} ${r.stderr.toString()}`);
    mod = await wasm.compile(r.binary);
  } catch (err) {
    compileError = (err as Error).message;
  }
  compiled = mod;
  return mod;
}

/** Why the TLSF peer cannot run (after loadTlsf returned null). */
export function tlsfUnavailable(): string {
  return `AssemblyScript TLSF unavailable (npm i -D assemblyscript): ${compileError.trim()}`;
}

export class TlsfAllocator implements BenchAllocator {
  readonly #x: TlsfExports;
  #dv: DataView;
  constructor(mod: WasmModule) {
    const abort = (): never => {
      throw new Error("AssemblyScript TLSF: out of memory (the runtime aborted)");
    };
    this.#x = new wasm.Instance(mod, { env: { abort } }).exports as TlsfExports;
    this.#dv = new DataView(this.#x.memory.buffer);
  }
  malloc(size: number): number {
    return this.#x.malloc(size);
  }
  free(p: number): void {
    this.#x.free(p);
  }
  writeRecord(p: number, i: number): void {
    // memory.grow detaches the old buffer: re-make the view when the memory has a new one.
    const buf = this.#x.memory.buffer;
    if (buf !== this.#dv.buffer) this.#dv = new DataView(buf);
    writeRecordAt(this.#dv, p, i);
  }
  sample(): FootprintSample {
    const n = this.#x.memory.buffer.byteLength;
    return { inUse: n, mapped: n };
  }
  bufferBytes(): number {
    return this.#x.memory.buffer.byteLength;
  }
  close(): void {}
}
