import { Heap } from "../src/heap.js";
const heap = Heap.create({ maxBytes: 64 << 20 });
const u32 = heap.u32;
const B = 1000, L = 10;
const live = new Float64Array(B * L);
for (let i = 0; i < live.length; i++) live[i] = heap.malloc(48);
let oldest = 0;
function step(): void {
  const base = oldest * B;
  for (let k = 0; k < B; k++) heap.free(live[base + k]!);
  for (let k = 0; k < B; k++) { const p = heap.malloc(48); u32[(p >>> 2) + 1] = k; live[base + k] = p; }
  oldest = oldest + 1 === L ? 0 : oldest + 1;
}
function run(ms: number): number {
  const t0 = performance.now();
  let n = 0;
  while (performance.now() - t0 < ms) { for (let r = 0; r < 10; r++) step(); n += 20 * B; }
  return ((performance.now() - t0) * 1e6) / n;
}
run(500);
console.log(run(3000).toFixed(2), "ns/call");
