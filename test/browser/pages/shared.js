// Layouts shared by the test page and its workers (each thread declares the same layouts).
import { struct, types } from "/dist/index.js";

export const Item = struct("Item", {
  id: types.u32,
  value: types.f64,
  label: types.string(24),
  hits: types.atomic(types.i32),
});

export const Cell = struct("Cell", { flag: types.atomic(types.i32) });
