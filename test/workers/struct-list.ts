/**
 * The shared structure of the struct worker test: a lock-free stack (Treiber push, no pop) of records that
 * workers push concurrently and then all walk. Shared by the test and its worker.
 */
import { struct, types } from "../../src/struct/index.js";

export const ListHead = struct("ListHead", {
  /** Top of the stack: a Node pointer, swapped with compareExchange. */
  top: types.atomic(types.u32),
  /** Workers done pushing; the last one to arrive wakes the others. */
  arrived: types.atomic(types.i32),
});

export const Node = struct("Node", {
  next: types.ptr("self"),
  worker: types.u16,
  seq: types.u32,
  value: types.f64,
  id: types.u64,
  label: types.string(40),
  /** How many workers have walked past this node. */
  visits: types.atomic(types.i32),
  checksum: types.array(types.u8, 3),
});

export function nodeLabel(worker: number, seq: number): string {
  return `w${worker}·n${seq}`;
}

export function nodeValue(worker: number, seq: number): number {
  return worker * 1e6 + seq + 0.5;
}

export interface ListWorkerData {
  buffer: SharedArrayBuffer;
  head: number;
  worker: number;
  workers: number;
  count: number;
}

export interface ListWorkerReply {
  worker: number;
  walked: number;
  errors: string[];
}
