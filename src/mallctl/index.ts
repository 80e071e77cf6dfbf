// src/mallctl: jemalloc's mallctl namespace, malloc_conf and malloc_stats_print
// for a heap. Higher layers import this barrel.

import type { HeapHandle } from "../ctx/ctx.js";
import { MALLCTL_ROOT } from "./root.js";
import { snapshotGet } from "./snapshot.js";
import { ctlState } from "./state.js";
import { mallctlCall, resolveName } from "./tree.js";

export { MallctlError } from "../errors.js";
export { DEFAULT_EXTENT_HOOKS } from "./nodes/arena_i.js";
export { MALLCTL_ROOT } from "./root.js";
export {
  MALLCTL_ARENAS_ALL,
  MALLCTL_ARENAS_DESTROYED,
  type StatsSnapshot,
  statsRefresh,
} from "./snapshot.js";
export { ENOENT_LEAVES, PLATFORM_ANSWERS } from "./unserved.js";

function checkName(name: unknown, fn: string): string {
  if (typeof name !== "string") throw new TypeError(`${fn}: name must be a string, got ${typeof name}`);
  return name;
}

/**
 * ctl_init(): jemalloc takes its first statistics snapshot on the first mallctl call
 * of any kind, so an arena created by that call (arenas.create) is not yet
 * "initialized" in stats. Here each thread does so on its first call.
 */
function ctlInit(heap: HeapHandle): void {
  if (ctlState(heap).snap === null) snapshotGet(heap);
}

/** mallctl(name, newValue?): reads (and/or writes) a leaf; returns the old value. */
export function mallctlDispatch(heap: HeapHandle, name: string, newValue?: unknown): unknown {
  const n = checkName(name, "mallctl");
  ctlInit(heap);
  return mallctlCall(MALLCTL_ROOT, heap, n, newValue);
}

/** mallctlnametomib(name): the MIB of `name` (stops early when maxLength is smaller). */
export function mallctlNameToMibDispatch(heap: HeapHandle, name: string, maxLength?: number): number[] {
  const n = checkName(name, "mallctlnametomib");
  ctlInit(heap);
  return resolveName(MALLCTL_ROOT, n, heap, maxLength);
}

/** mallctlbymib(mib, newValue?). */
export function mallctlByMibDispatch(heap: HeapHandle, mib: readonly number[], newValue?: unknown): unknown {
  if (!Array.isArray(mib))
    throw new TypeError(`mallctlbymib: mib must be an array of numbers, got ${typeof mib}`);
  ctlInit(heap);
  return mallctlCall(MALLCTL_ROOT, heap, mib, newValue);
}
