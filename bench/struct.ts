/**
 * Struct field access against hand-written DataView code on the same records. Each task updates all N
 * records of one array block: `x += vx; y += vy; flags += 1; if (alive) hits += id & 1` (6 reads, 3 writes):
 *
 *   hand-written DataView (fixed length)   the baseline: one DataView made once over the buffer
 *   hand-written DataView (heap.dv)        the same code through the heap's length-tracking DataView
 *   struct: bound accessors (fast path)    `const b = Particle.bind(heap); b.x.get(p)`
 *   struct: static accessors               `Particle.fields.x.get(heap, p)`
 *   struct: cursor                         one view moved with `c.$ptr = p`
 *   struct: object view per record         `Particle.atUnchecked(heap, p).x` (a new view per record)
 *
 *   node --import tsx bench/struct.ts      (BENCH_ROUNDS, BENCH_MS per task and round, BENCH_ONLY=substring)
 *
 * Prints ns per record (median and best of the rounds) and each task's median ratio to the baseline; the
 * fast path's target is 1.2x. The heap is the real jemalloc-ts heap (`makeHeap` below).
 */
import { Bench } from "tinybench";
import { median } from "../src/bench/sample.js";
import { Heap } from "../src/index.js";
import { type StructHeap, struct, types } from "../src/struct/index.js";

/** The heap under test: swap for `Heap.create(...)` when the real heap is ready. */
function makeHeap(): StructHeap {
  return Heap.create({ maxBytes: 64 << 20, envConf: null });
}

const Particle = struct("Particle", {
  x: types.f64,
  y: types.f64,
  vx: types.f32,
  vy: types.f32,
  id: types.u32,
  flags: types.u16,
  alive: types.bool,
});
// Hand-written offsets, as a user would write them today (checked against the layout below).
const X = 0;
const Y = 8;
const VX = 16;
const VY = 20;
const ID = 24;
const FLAGS = 28;
const ALIVE = 30;
const SIZE = 32;

const N = 1000;
const heap = makeHeap();
const base = Particle.allocArray(heap, N);
if (base === 0) throw new Error("out of memory");
if (Particle.size !== SIZE || Particle.offsets.alive !== ALIVE || Particle.offsets.vy !== VY) {
  throw new Error("hand-written offsets disagree with the layout");
}
for (let i = 0; i < N; i++) {
  Particle.write(heap, base + i * SIZE, { x: i, y: -i, vx: 0.5, vy: 0.25, id: i, alive: i % 3 !== 0 });
}

let sink = 0;

function handWritten(dv: DataView): void {
  let hits = 0;
  for (let i = 0; i < N; i++) {
    const p = base + i * SIZE;
    dv.setFloat64(p + X, dv.getFloat64(p + X, true) + dv.getFloat32(p + VX, true), true);
    dv.setFloat64(p + Y, dv.getFloat64(p + Y, true) + dv.getFloat32(p + VY, true), true);
    dv.setUint16(p + FLAGS, dv.getUint16(p + FLAGS, true) + 1, true);
    if (dv.getUint8(p + ALIVE) !== 0) hits += dv.getUint32(p + ID, true) & 1;
  }
  sink += hits;
}

// The same code again: one function per DataView kind, so neither pollutes the other's type feedback.
function handWrittenHeapDv(dv: DataView): void {
  let hits = 0;
  for (let i = 0; i < N; i++) {
    const p = base + i * SIZE;
    dv.setFloat64(p + X, dv.getFloat64(p + X, true) + dv.getFloat32(p + VX, true), true);
    dv.setFloat64(p + Y, dv.getFloat64(p + Y, true) + dv.getFloat32(p + VY, true), true);
    dv.setUint16(p + FLAGS, dv.getUint16(p + FLAGS, true) + 1, true);
    if (dv.getUint8(p + ALIVE) !== 0) hits += dv.getUint32(p + ID, true) & 1;
  }
  sink += hits;
}

const F = Particle.fields;
function staticAccessors(h: StructHeap): void {
  let hits = 0;
  for (let i = 0; i < N; i++) {
    const p = base + i * SIZE;
    F.x.set(h, p, F.x.get(h, p) + F.vx.get(h, p));
    F.y.set(h, p, F.y.get(h, p) + F.vy.get(h, p));
    F.flags.set(h, p, F.flags.get(h, p) + 1);
    if (F.alive.get(h, p)) hits += F.id.get(h, p) & 1;
  }
  sink += hits;
}

const B = Particle.bind(heap);
function bound(): void {
  let hits = 0;
  const b = B;
  for (let i = 0; i < N; i++) {
    const p = base + i * SIZE;
    b.x.set(p, b.x.get(p) + b.vx.get(p));
    b.y.set(p, b.y.get(p) + b.vy.get(p));
    b.flags.set(p, b.flags.get(p) + 1);
    if (b.alive.get(p)) hits += b.id.get(p) & 1;
  }
  sink += hits;
}

const cur = Particle.cursor(heap, base);
function cursor(): void {
  let hits = 0;
  const c = cur;
  for (let i = 0; i < N; i++) {
    c.$ptr = base + i * SIZE;
    c.x += c.vx;
    c.y += c.vy;
    c.flags += 1;
    if (c.alive) hits += c.id & 1;
  }
  sink += hits;
}

function objectView(h: StructHeap): void {
  let hits = 0;
  for (let i = 0; i < N; i++) {
    const v = Particle.atUnchecked(h, base + i * SIZE);
    v.x += v.vx;
    v.y += v.vy;
    v.flags += 1;
    if (v.alive) hits += v.id & 1;
  }
  sink += hits;
}

const fixedDv = new DataView(heap.buffer, 0, heap.buffer.byteLength);
const BASELINE = "hand-written DataView (fixed length)";
const FAST = "struct: bound accessors (fast path)";
const tasks: [string, () => void][] = [
  [BASELINE, () => handWritten(fixedDv)],
  ["hand-written DataView (heap.dv)", () => handWrittenHeapDv(heap.dv)],
  ["struct: bound accessors (fast path)", () => bound()],
  ["struct: static accessors", () => staticAccessors(heap)],
  ["struct: cursor", () => cursor()],
  ["struct: object view per record", () => objectView(heap)],
];
// BENCH_ONLY=cursor (a substring) runs only the matching tasks plus the baseline.
const only = process.env.BENCH_ONLY;
const chosen = tasks.filter(([name]) => only === undefined || name === BASELINE || name.includes(only));

// Other processes share this machine's cores, so one long run per task measures them as much as us. Run
// short rounds instead, each task once per round in a rotating order, and report medians: a slow round
// slows every task in it, and ratios taken within a round cancel it out.
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 9);
const ROUND_MS = Number(process.env.BENCH_MS ?? 150);
const samples = new Map<string, number[]>(chosen.map(([name]) => [name, []]));
const ratios = new Map<string, number[]>(chosen.map(([name]) => [name, []]));
for (let round = 0; round < ROUNDS; round++) {
  const bench = new Bench({ time: ROUND_MS, warmup: true });
  for (let k = 0; k < chosen.length; k++) {
    const [name, fn] = chosen[(k + round) % chosen.length]!;
    bench.add(name, fn);
  }
  await bench.run();
  const perRecord = new Map<string, number>();
  for (const t of bench.tasks) {
    const r = t.result;
    if (r.state !== "completed") throw new Error(`${t.name}: ${r.state}`);
    perRecord.set(t.name, (r.period * 1e6) / N);
  }
  for (const [name, ns] of perRecord) {
    samples.get(name)!.push(ns);
    ratios.get(name)!.push(ns / perRecord.get(BASELINE)!);
  }
}

console.log(`Particle records: ${N}; each 6 field reads + 3 writes; ${ROUNDS} rounds (sink ${sink > 0})`);
console.log(
  `${"task".padEnd(40)} ${"median".padStart(9)} ${"best".padStart(9)}   vs hand-written (median ratio)`,
);
for (const [name] of chosen) {
  const xs = samples.get(name)!;
  const ratio = median(ratios.get(name)!);
  const verdict =
    name === FAST ? (ratio <= 1.2 ? " (fast path: within 1.2x)" : " (fast path: OVER 1.2x)") : "";
  console.log(
    `${name.padEnd(40)} ${median(xs).toFixed(2).padStart(6)} ns ${Math.min(...xs)
      .toFixed(2)
      .padStart(6)} ns   ${ratio.toFixed(2)}x${verdict}`,
  );
}
