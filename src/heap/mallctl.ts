/**
 * The heap's mallctl entry points. The namespace itself (a declarative tree, one file per subtree) is
 * in src/mallctl; these functions are where a Heap hands a name or a MIB to it. Heap's methods
 * `mallctl`, `mallctlnametomib`, `mallctlbymib` and `statsPrint` call them.
 */
import type { HeapHandle } from "../ctx/ctx.js";
import { mallctlByMibDispatch, mallctlDispatch, mallctlNameToMibDispatch } from "../mallctl/index.js";
import { statsPrint, statsPrintAtExit } from "../stats/stats_print.js";

/** heap.mallctl(name, newValue?): the value read (the old value of a read-write leaf). */
export function heapMallctl(heap: HeapHandle, name: string, newValue?: unknown): unknown {
  return mallctlDispatch(heap, name, newValue);
}

/** heap.mallctlnametomib(name): the MIB of a name (or of its first `maxLength` components). */
export function mallctlNameToMib(heap: HeapHandle, name: string, maxLength?: number): number[] {
  return mallctlNameToMibDispatch(heap, name, maxLength);
}

/** heap.mallctlbymib(mib, newValue?): as mallctl, addressed by MIB. */
export function mallctlByMib(heap: HeapHandle, mib: readonly number[], newValue?: unknown): unknown {
  return mallctlByMibDispatch(heap, mib, newValue);
}

/** heap.statsPrint(opts?): malloc_stats_print's report (text, or JSON with "J"). */
export function heapStatsPrint(heap: HeapHandle, opts?: string): string {
  return statsPrint(heap, opts);
}

/** opt.stats_print: registers the report for process exit (call once from Heap.create). */
export function heapStatsPrintAtExit(heap: HeapHandle): boolean {
  return statsPrintAtExit(heap);
}
