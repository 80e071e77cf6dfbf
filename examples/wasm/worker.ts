/** The example's worker: attaches to the heap in the shared memory, runs the same module, frees a subtree. */
import { parentPort, workerData } from "node:worker_threads";
import { Heap } from "../../src/index.js";

const { memory, module, subtree } = workerData as { memory: WebAssembly.Memory; module: WebAssembly.Module; subtree: number };
const heap = Heap.attach(memory); // finds the heap's header in the memory
const { exports } = new WebAssembly.Instance(module, { env: { memory, ...heap.wasmImports() } });
const freed = (exports.free_tree as (node: number) => number)(subtree);
heap.detach(); // flushes this thread's cache back to the arenas
parentPort!.postMessage(freed);
