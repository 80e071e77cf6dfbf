/**
 * Worker for the WebAssembly test: attaches to the heap inside the shared memory it is given,
 * instantiates the same module on that memory, frees every second node of the list at `head` through
 * the module's imported free, and replies with the count; then detaches (flushing its thread cache).
 */
import { parentPort, workerData } from "node:worker_threads";
import { Heap } from "../../src/index.js";
import { instantiateList } from "../helpers/wasm.js";

const { memory, bytes, head } = workerData as { memory: WebAssembly.Memory; bytes: Uint8Array; head: number };
const heap = Heap.attach(memory);
const m = instantiateList(bytes, memory, heap.wasmImports());
const freed = m.free_odd(head);
heap.detach();
parentPort!.postMessage({ freed, memoryBytes: memory.buffer.byteLength });
