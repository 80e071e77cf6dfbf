/**
 * The heap's mallctl entry point. The namespace itself (a declarative tree, one file per subtree) is
 * in src/mallctl; this function is where a Heap hands a name to it.
 */
import type { Heap } from "../heap.js";
import { mallctlDispatch } from "../mallctl/namespace.js";

export function heapMallctl(heap: Heap, name: string, newValue?: unknown): unknown {
  return mallctlDispatch(heap, name, newValue);
}
