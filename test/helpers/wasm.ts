/**
 * wasm: compiling the test's WebAssembly text (test/fixtures/wasm) with the `wabt` package, so the tests
 * need no toolchain, and instantiating it with a heap as its memory and allocator.
 */
import { readFileSync } from "node:fs";
import wabtInit from "wabt";

const LIST_WAT = new URL("../fixtures/wasm/list.wat", import.meta.url);

/** The list module's binary; `shared: false` declares a non-shared memory import instead. */
export async function listModuleBytes(shared = true): Promise<Uint8Array> {
  let text = readFileSync(LIST_WAT, "utf8");
  if (!shared) text = text.replace("(memory 1 4096 shared)", "(memory 1 4096)");
  const wabt = await wabtInit();
  const mod = wabt.parseWat("list.wat", text, { threads: true });
  try {
    mod.resolveNames();
    // No mod.validate(): wabt.js validates without the parse's features ("memories may not be shared");
    // the engine validates the binary when it compiles it.
    return mod.toBinary({}).buffer;
  } finally {
    mod.destroy();
  }
}

/** The list module's exports. */
export interface ListExports {
  build(n: number, payload: number): number;
  sum(head: number): number;
  free_odd(head: number): number;
  free_all(head: number): void;
  c_malloc(size: number): number;
  c_calloc(n: number, size: number): number;
  c_realloc(p: number, size: number): number;
  c_free(p: number): void;
  c_aligned_alloc(alignment: number, size: number): number;
  c_posix_memalign(memptr: number, alignment: number, size: number): number;
  c_malloc_usable_size(p: number): number;
  c_mallocx(size: number, flags: number): number;
  c_rallocx(p: number, size: number, flags: number): number;
  c_xallocx(p: number, size: number, extra: number, flags: number): number;
  c_sallocx(p: number, flags: number): number;
  c_dallocx(p: number, flags: number): void;
  c_sdallocx(p: number, size: number, flags: number): void;
  c_nallocx(size: number, flags: number): number;
  c_mallctl(name: number, oldp: number, oldlenp: number, newp: number, newlen: number): number;
}

/** Instantiates the module on `memory` with `imports` (heap.wasmImports()) as its allocator. */
export function instantiateList(bytes: Uint8Array, memory: WebAssembly.Memory, imports: object): ListExports {
  const inst = new WebAssembly.Instance(new WebAssembly.Module(bytes), { env: { memory, ...imports } });
  return inst.exports as unknown as ListExports;
}
