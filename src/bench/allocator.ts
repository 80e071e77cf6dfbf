/**
 * allocator: what every allocator a benchmark cell measures implements (this heap, its peers), and the
 * record every records-workload writes into a block.
 */
import type { FootprintSample } from "./result.js";
import { RECORD_BYTES } from "./workloads.js";

/** One allocator under test: malloc / free, a record write, and footprint readings. */
export interface BenchAllocator {
  malloc(size: number): number;
  free(handle: number): void;
  /** Writes a 48-byte record (4 × f64, 4 × u32) into the block `handle`, through a DataView. */
  writeRecord(handle: number, i: number): void;
  /** Bytes in use and bytes mapped now (untimed; may walk the allocator's state). */
  sample(): FootprintSample;
  /** Length of the buffer behind the allocator (NaN: none). */
  bufferBytes(): number;
  /** Gives back what can be given back (the heap's thread slot). */
  close(): void;
}

/** Writes the 48-byte record (4 × f64, 4 × u32) for item `i` at byte offset `p`. */
export function writeRecordAt(dv: DataView, p: number, i: number): void {
  dv.setFloat64(p, i, true);
  dv.setFloat64(p + 8, -i, true);
  dv.setFloat64(p + 16, i * 0.5, true);
  dv.setFloat64(p + 24, i * 0.25, true);
  dv.setUint32(p + 32, i, true);
  dv.setUint32(p + 36, i ^ 0x5a5a, true);
  dv.setUint32(p + 40, 1, true);
  dv.setUint32(p + 44, RECORD_BYTES, true);
}
