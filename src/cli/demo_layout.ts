/** The records the demo's workers exchange (shared by src/cli/demo.ts and its worker). */
import { struct, types } from "../struct/index.js";

/** One message: who sent it, a sequence number, a payload and its checksum, and the next in a list. */
export const Msg = struct("Msg", {
  from: types.u32,
  seq: types.u32,
  payload: types.array(types.f64, 4),
  checksum: types.f64,
  next: types.ptr("self"),
});

/** Per-worker inbox: the head of a lock-free stack of messages, and counters. */
export const Inbox = struct("Inbox", {
  head: types.atomic(types.u32),
  received: types.atomic(types.u32),
  done: types.atomic(types.i32),
});

export function checksumOf(a: number, b: number, c: number, d: number, seq: number): number {
  return a * 1 + b * 3 + c * 5 + d * 7 + seq;
}
