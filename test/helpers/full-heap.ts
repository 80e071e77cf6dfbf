/**
 * A heap whose top has reached its maximum (the sequence the heap-model property test found, seed
 * -1598403960, "small heap"): 6 MiB, narenas:1, no thread cache. After `fillAndFree` its top is at
 * maxBytes, a placement gap of about 2 MiB lies below the last mapping, and the dirty cache holds one
 * extent of 513 pages — more than 2^lg_extent_max_active_fit times a small slab.
 */
import { HDR_TOP_B } from "../../src/ctx/header.js";
import { pagesGapBytes } from "../../src/extent/pages.js";
import { MALLOCX_ARENA, MALLOCX_LG_ALIGN } from "../../src/flags.js";
import { Heap, type HeapCreateOptions } from "../../src/heap.js";

export const MiB = 1 << 20;

export function fullHeap(extra: Partial<HeapCreateOptions> = {}, conf = ""): Heap {
  return Heap.create({
    envConf: null,
    ncpus: 2,
    clock: () => 0,
    conf: `tcache:false,narenas:1${conf}`,
    maxBytes: 6 * MiB,
    initialBytes: 1 * MiB,
    ...extra,
  });
}

/** The hand sequence, then every block freed. */
export function fillAndFree(heap: Heap): void {
  const ps = [
    heap.mallocx(229377, MALLOCX_LG_ALIGN(3)),
    heap.malloc(257),
    heap.calloc(5, 2458),
    heap.mallocx(1310721, 0),
    heap.mallocx(0, MALLOCX_ARENA(0)),
    heap.calloc(40, 3277),
    heap.alignedAlloc(1, 33),
    heap.malloc(65),
    heap.malloc(9),
  ];
  for (const p of ps) if (p === 0) throw new Error("the sequence itself failed");
  for (const p of ps) heap.free(p);
}

export function heapTop(heap: Heap): number {
  return heap.f64[HDR_TOP_B >>> 3]!;
}

/** stats.mapped + stats.retained = the address space carved below the top, less header and gaps. */
export function carvedBytes(heap: Heap): number {
  return heapTop(heap) - heap.ctx.hdr.headerBytes - pagesGapBytes(heap.ctx);
}

export function stat(heap: Heap, name: string): number {
  heap.mallctl("epoch", 1);
  return Number(heap.mallctl(name));
}
