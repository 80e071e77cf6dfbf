import { FakeHeap } from "./helpers/fake-heap.js";
import { struct, types } from "../src/struct/index.js";
const heap = FakeHeap.create({ initialBytes: 1 << 20 });
const N = 1000, SIZE = 32;
const P = struct("P", { x: types.f64, y: types.f64, vx: types.f32, vy: types.f32, id: types.u32, flags: types.u16, alive: types.bool });
const base = P.allocArray(heap, N);
for (let i = 0; i < N; i++) P.write(heap, base + i * SIZE, { x: i, y: -i, vx: 0.5, vy: 0.25, id: i, alive: i % 3 !== 0 });
const dv = new DataView(heap.buffer, 0, heap.buffer.byteLength);
function hand(dv: DataView) { let hits = 0; for (let i = 0; i < N; i++) { const p = base + i * SIZE;
    dv.setFloat64(p, dv.getFloat64(p, true) + dv.getFloat32(p + 16, true), true);
    dv.setFloat64(p + 8, dv.getFloat64(p + 8, true) + dv.getFloat32(p + 20, true), true);
    dv.setUint16(p + 28, dv.getUint16(p + 28, true) + 1, true);
    if (dv.getUint8(p + 30) !== 0) hits += dv.getUint32(p + 24, true) & 1; } return hits; }
const c = P.cursor(heap, base);
function cur(c: typeof cc) { let hits = 0; for (let i = 0; i < N; i++) { c.$ptr = base + i * SIZE; c.x += c.vx; c.y += c.vy; c.flags += 1; if (c.alive) hits += c.id & 1; } return hits; }
const cc = c;
const F = P.fields;
function stat(h: FakeHeap) { let hits = 0; for (let i = 0; i < N; i++) { const p = base + i * SIZE;
    F.x.set(h, p, F.x.get(h, p) + F.vx.get(h, p)); F.y.set(h, p, F.y.get(h, p) + F.vy.get(h, p));
    F.flags.set(h, p, F.flags.get(h, p) + 1); if (F.alive.get(h, p)) hits += F.id.get(h, p) & 1; } return hits; }
const fns: Record<string, () => number> = { hand: () => hand(dv), cur: () => cur(c), stat: () => stat(heap) };
const best: Record<string, number> = {};
let sink = 0;
for (const k in fns) { for (let i = 0; i < 5000; i++) sink += fns[k]!(); best[k] = Infinity; }
for (let r = 0; r < 30; r++) for (const k in fns) { const f = fns[k]!; const R = 300; const t = process.hrtime.bigint(); for (let i = 0; i < R; i++) sink += f(); best[k] = Math.min(best[k]!, Number(process.hrtime.bigint() - t) / R / N); }
for (const k in best) console.log(k, best[k]!.toFixed(2));
import { memoryOf } from "../src/struct/memory.js";
function mkClass(variant: number) {
  class C { $m: any; $p: number; constructor(m: any, p: number) { this.$m = m; this.$p = p; } }
  const defs: Record<string, [number, string, number]> = { x: [0, "f64", 3], y: [8, "f64", 3], vx: [16, "f32", 2], vy: [20, "f32", 2], id: [24, "u32", 2], flags: [28, "u16", 1] };
  const bad = () => { throw 1; };
  for (const [n, [o, v, s]] of Object.entries(defs)) Object.defineProperty(C.prototype, n, {
    get: new Function(`return function(){ const m=this.$m, p=this.$p; return m.${v}[(p+${o})>>>${s}]; }`)(),
    set: new Function("bad", `return function(v){ ${variant & 1 ? 'if (typeof v !== "number") bad(v);' : ""} const m=this.$m, p=this.$p; m.${v}[(p+${o})>>>${s}] = v; }`)(bad) });
  Object.defineProperty(C.prototype, "alive", { get: new Function(`return function(){ const m=this.$m, p=this.$p; return m.u8[p+30] !== 0; }`)() });
  if (variant & 2) Object.defineProperty(C.prototype, "$ptr", { get() { return this.$p; }, set: new Function(`return function(p){ if (p === p >>> 0 && p !== 0 && (p & 7) === 0 && p + 32 <= this.$m.end) this.$p = p; else throw 1; }`)() });
  else Object.defineProperty(C.prototype, "$ptr", { get() { return this.$p; }, set(p) { this.$p = p; } });
  return C;
}
for (const variant of [0, 1, 2, 3]) {
  const C = mkClass(variant); const c2: any = new C(memoryOf(heap), base);
  const f2 = new Function("N", "base", "SIZE", "return " + cur.toString())(N, base, SIZE);
  const fn = () => f2(c2);
  let b = Infinity; for (let i = 0; i < 5000; i++) sink += fn();
  for (let r = 0; r < 30; r++) { const R = 300; const t = process.hrtime.bigint(); for (let i = 0; i < R; i++) sink += fn(); b = Math.min(b, Number(process.hrtime.bigint() - t) / R / N); }
  console.log("variant", variant, b.toFixed(2));
}
{
  const m = memoryOf(heap);
  function typedM(mm: typeof m) { let hits = 0; for (let i = 0; i < N; i++) { const p = base + i * SIZE;
    mm.f64[p >>> 3] = mm.f64[p >>> 3]! + mm.f32[(p + 16) >>> 2]!; mm.f64[(p + 8) >>> 3] = mm.f64[(p + 8) >>> 3]! + mm.f32[(p + 20) >>> 2]!;
    mm.u16[(p + 28) >>> 1] = mm.u16[(p + 28) >>> 1]! + 1; if (mm.u8[p + 30] !== 0) hits += mm.u32[(p + 24) >>> 2]! & 1; } return hits; }
  function typedL(mm: typeof m) { const f64 = mm.f64, f32 = mm.f32, u16 = mm.u16, u8 = mm.u8, u32 = mm.u32; let hits = 0; for (let i = 0; i < N; i++) { const p = base + i * SIZE;
    f64[p >>> 3] = f64[p >>> 3]! + f32[(p + 16) >>> 2]!; f64[(p + 8) >>> 3] = f64[(p + 8) >>> 3]! + f32[(p + 20) >>> 2]!;
    u16[(p + 28) >>> 1] = u16[(p + 28) >>> 1]! + 1; if (u8[p + 30] !== 0) hits += u32[(p + 24) >>> 2]! & 1; } return hits; }
  const dvm = new DataView(heap.buffer, 0, heap.buffer.byteLength);
  const fns2: Record<string, () => number> = { hand: () => hand(dvm), typedM: () => typedM(m), typedL: () => typedL(m), cur: () => cur(c) };
  const best2: Record<string, number> = {};
  for (const k in fns2) { for (let i = 0; i < 5000; i++) sink += fns2[k]!(); best2[k] = Infinity; }
  for (let r = 0; r < 30; r++) for (const k in fns2) { const f = fns2[k]!; const R = 300; const t = process.hrtime.bigint(); for (let i = 0; i < R; i++) sink += f(); best2[k] = Math.min(best2[k]!, Number(process.hrtime.bigint() - t) / R / N); }
  for (const k in best2) console.log("2:", k, best2[k]!.toFixed(2));
}
{
  const m = memoryOf(heap);
  const src = `"use strict"; let dv = m.dv, end = m.end;
  class C { constructor(p) { this.$m = m; this.$p = p; } }
  const d = (n, g, s) => Object.defineProperty(C.prototype, n, { get: g, set: s });
  d("x", function () { return dv.getFloat64(this.$p, true); }, function (v) { if (typeof v !== "number") bad(v); dv.setFloat64(this.$p, v, true); });
  d("y", function () { return dv.getFloat64(this.$p + 8, true); }, function (v) { if (typeof v !== "number") bad(v); dv.setFloat64(this.$p + 8, v, true); });
  d("vx", function () { return dv.getFloat32(this.$p + 16, true); });
  d("vy", function () { return dv.getFloat32(this.$p + 20, true); });
  d("id", function () { return dv.getUint32(this.$p + 24, true); });
  d("flags", function () { return dv.getUint16(this.$p + 28, true); }, function (v) { if (typeof v !== "number") bad(v); dv.setUint16(this.$p + 28, v, true); });
  d("alive", function () { return dv.getUint8(this.$p + 30) !== 0; });
  d("$ptr", function () { return this.$p; }, function (p) { if (p === p >>> 0 && p !== 0 && (p & 7) === 0 && p + 32 <= end) this.$p = p; else bad(p); });
  return C;`;
  const C = new Function("m", "bad", src)(m, () => { throw 1; });
  const c3 = new C(base);
  const f3 = new Function("N", "base", "SIZE", "return " + cur.toString())(N, base, SIZE);
  const dvm = new DataView(heap.buffer, 0, heap.buffer.byteLength);
  const fns3: Record<string, () => number> = { hand: () => hand(dvm), closureDv: () => f3(c3), cur: () => cur(c) };
  const best3: Record<string, number> = {};
  for (const k in fns3) { for (let i = 0; i < 5000; i++) sink += fns3[k]!(); best3[k] = Infinity; }
  for (let r = 0; r < 30; r++) for (const k in fns3) { const f = fns3[k]!; const R = 300; const t = process.hrtime.bigint(); for (let i = 0; i < R; i++) sink += f(); best3[k] = Math.min(best3[k]!, Number(process.hrtime.bigint() - t) / R / N); }
  for (const k in best3) console.log("3:", k, best3[k]!.toFixed(2));
}
