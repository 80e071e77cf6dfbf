/**
 * wasm: jemalloc-ts as the malloc of WebAssembly modules — a heap inside a WebAssembly.Memory
 * (Heap.create({ memory, base }), Heap.attach(memory)) and the C functions a module imports
 * (heap.wasmImports()). Loading this module installs the memory-backed constructors into Heap.
 */
import { memoryHeapsSet } from "../heap.js";
import { attachToMemory, createInMemory } from "./create.js";

memoryHeapsSet({ create: createInMemory, attach: attachToMemory });

export type { WasmImports } from "./imports.js";
export { WasmHeap } from "./memory_heap.js";
export { memoryMaxPages } from "./space.js";
