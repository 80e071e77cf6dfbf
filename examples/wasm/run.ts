/**
 * jemalloc-ts as the malloc of a WebAssembly module (npm run example:wasm).
 *
 * The module (tree.wat, compiled here with `wabt`) imports its memory and malloc/free. The heap lives in
 * that memory from `base` up and grows it with memory.grow(); pointers are the same numbers in wasm and
 * in JS. The module builds a binary search tree, JS walks it through the heap's views, a worker running
 * the same module on the same shared memory frees the left half, and the heap prints malloc_stats_print.
 */
import { Worker } from "node:worker_threads";
import { Heap } from "../../src/index.js";
import { compileWat } from "./compile.js";

const memory = new WebAssembly.Memory({ initial: 2, maximum: 16384, shared: true }); // up to 1 GiB
const heap = Heap.create({ memory }); // base: the memory's current end (128 KiB)
const module = new WebAssembly.Module(await compileWat(new URL("./tree.wat", import.meta.url)));
const { exports } = new WebAssembly.Instance(module, { env: { memory, ...heap.wasmImports() } });
const wasm = exports as { build(n: number, seed: number): number; detach_left(root: number): number };

const before = memory.buffer.byteLength;
const root = wasm.build(200_000, 42);
console.log(`tree built by wasm: root at ${root}; memory grew from ${before} to ${memory.buffer.byteLength} bytes`);

// JS reads the module's nodes in place: [left][right][key][count], 4 bytes each.
function inorder(node: number): { nodes: number; keys: number; sorted: boolean; first: number[] } {
  const stack: number[] = [];
  let nodes = 0;
  let keys = 0;
  let last = -1;
  let sorted = true;
  const first: number[] = [];
  for (let at = node; at !== 0 || stack.length > 0; ) {
    while (at !== 0) {
      stack.push(at);
      at = heap.u32[at >>> 2]!;
    }
    at = stack.pop()!;
    const key = heap.u32[(at + 8) >>> 2]!;
    if (key <= last) sorted = false;
    last = key;
    if (first.length < 8) first.push(key);
    nodes++;
    keys += heap.u32[(at + 12) >>> 2]!;
    at = heap.u32[(at + 4) >>> 2]!;
  }
  return { nodes, keys, sorted, first };
}
const all = inorder(root);
console.log(`JS walk: ${all.nodes} nodes holding ${all.keys} keys, in order: ${all.sorted}; smallest: ${all.first.join(", ")}`);

// A worker frees the left subtree with the module's free, on the same memory.
const subtree = wasm.detach_left(root);
const worker = new Worker(new URL("./worker.mjs", import.meta.url), { workerData: { memory, module, subtree } });
const freed = await new Promise<number>((resolve, reject) => {
  worker.once("message", resolve);
  worker.once("error", reject);
});
const rest = inorder(root);
console.log(`worker freed ${freed} nodes; ${rest.nodes} remain (${rest.nodes + freed} before)`);

heap.mallctl("thread.tcache.flush");
heap.check();
console.log(heap.statsPrint("bl")); // malloc_stats_print without the per-bin and per-size tables
