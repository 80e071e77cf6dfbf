/**
 * watch: reclaiming the slots of workers that leave without detaching, for Node's worker_threads
 * Workers and browsers' Web Workers. A Node Worker names its thread (threadId) and reports its exit,
 * so the slots it held are reclaimed on its 'exit' event. A browser Worker has neither: the worker
 * posts its `heap.threadId` to the page, the page passes it to watch(worker, threadId), and the slots
 * are reclaimed when the page terminates the worker through terminateWatched (heap.terminate).
 */
import type { HeapCtx } from "../ctx/ctx.js";
import { HeapPoisonedError } from "../errors.js";
import { poisonRecoveryFailed } from "./recover.js";
import { type ReclaimReport, reclaimSlot, slotOfThreadId, slotsOfNodeThread } from "./threads.js";

/** A worker_threads Worker (the part watch uses). */
export interface NodeWorkerLike {
  threadId: number;
  once(ev: "exit", fn: (code: number) => void): unknown;
  terminate(): Promise<number> | undefined;
}

/** A browser Web Worker (the part watch uses). */
export interface WebWorkerLike {
  terminate(): void;
}

export type WatchableWorker = NodeWorkerLike | WebWorkerLike;

/** Heap thread ids each watched worker reported, per heap context. */
const watched = new WeakMap<HeapCtx, WeakMap<object, number[]>>();
/** A watched Node worker's threadId, read while it ran: it reads -1 once the worker has exited. */
const nodeThreadIds = new WeakMap<object, number>();

function isNodeWorker(w: WatchableWorker): w is NodeWorkerLike {
  return (
    typeof (w as NodeWorkerLike).once === "function" && typeof (w as NodeWorkerLike).threadId === "number"
  );
}

function idsOf(threadIds: number | readonly number[] | undefined): number[] {
  if (threadIds === undefined) return [];
  const list = typeof threadIds === "number" ? [threadIds] : threadIds;
  if (!Array.isArray(list)) throw new TypeError(`watch: threadId must be a number or an array of numbers`);
  for (const id of list) {
    if (!Number.isInteger(id) || id < 0)
      throw new RangeError(`watch: threadId must be a non-negative integer, got ${String(id)}`);
  }
  return [...list];
}

/**
 * Reclaims one slot. Recovery never throws out of here (it runs from a worker's 'exit' event, where
 * a throw would end the supervising process): a failure poisons the heap instead, and the next call
 * on any thread throws HeapPoisonedError naming the cause.
 */
function reclaimOne(ctx: HeapCtx, slot: number, out: ReclaimReport[]): void {
  try {
    // A heap inside a WebAssembly.Memory: this thread's views may predate the memory the dead one grew.
    const r = ctx.space?.reclaiming
      ? ctx.space.reclaiming(() => reclaimSlot(ctx, slot))
      : reclaimSlot(ctx, slot);
    if (r !== null) out.push(r);
  } catch (e) {
    if (!(e instanceof HeapPoisonedError)) poisonRecoveryFailed(ctx, slot, e);
  }
}

/** Reclaims every still-live slot of the given heap thread ids. */
function reclaimIds(ctx: HeapCtx, ids: readonly number[], out: ReclaimReport[]): void {
  for (const id of ids) {
    const slot = slotOfThreadId(ctx, id);
    if (slot < 0 || slot === ctx.slot) continue;
    reclaimOne(ctx, slot, out);
  }
}

function reclaimNode(ctx: HeapCtx, tid: number, out: ReclaimReport[]): void {
  for (const slot of slotsOfNodeThread(ctx, tid)) {
    if (slot === ctx.slot) continue;
    reclaimOne(ctx, slot, out);
  }
}

/** heap.watch: see the module comment. `alive()` is false once the heap handle is detached. */
export function watchWorker(
  ctx: HeapCtx,
  worker: WatchableWorker,
  threadIds: number | readonly number[] | undefined,
  alive: () => boolean,
): void {
  if (worker === null || typeof worker !== "object" || typeof worker.terminate !== "function")
    throw new TypeError(`watch: expected a Worker, got ${worker === null ? "null" : typeof worker}`);
  const ids = idsOf(threadIds);
  if (!isNodeWorker(worker) && ids.length === 0) {
    throw new TypeError(
      "watch: a browser Worker cannot tell which heap thread it is; have it post its heap.threadId and pass it: heap.watch(worker, threadId)",
    );
  }
  if (isNodeWorker(worker) && worker.threadId < 0 && ids.length === 0)
    throw new Error(
      "watch: this Node Worker has already exited (threadId -1); watch it when it starts, or reclaim by heap thread id (heap.reclaim(threadId))",
    );
  let byWorker = watched.get(ctx);
  if (byWorker === undefined) {
    byWorker = new WeakMap();
    watched.set(ctx, byWorker);
  }
  const known = byWorker.get(worker);
  if (known !== undefined) {
    known.push(...ids);
    return;
  }
  byWorker.set(worker, ids);
  if (isNodeWorker(worker)) {
    const tid = worker.threadId;
    nodeThreadIds.set(worker, tid);
    worker.once("exit", () => {
      if (!alive()) return;
      reclaimNode(ctx, tid, []);
      reclaimIds(ctx, ids, []);
    });
  }
}

/**
 * heap.terminate: terminates the worker and reclaims its slots. Node: after the thread has stopped.
 * Browsers give no signal that a terminated worker has stopped; terminate() stops its script at once,
 * and the reclaim runs one task later.
 */
export async function terminateWatched(ctx: HeapCtx, worker: WatchableWorker): Promise<ReclaimReport[]> {
  if (worker === null || typeof worker !== "object" || typeof worker.terminate !== "function")
    throw new TypeError(`terminate: expected a Worker, got ${worker === null ? "null" : typeof worker}`);
  const ids = watched.get(ctx)?.get(worker);
  const node = isNodeWorker(worker);
  if (ids === undefined && !node)
    throw new TypeError(
      "terminate: this browser Worker is not watched; call heap.watch(worker, threadId) first",
    );
  const tid = node ? (nodeThreadIds.get(worker) ?? worker.threadId) : -1;
  if (node && tid < 0 && ids === undefined)
    throw new Error(
      "terminate: this Node Worker has already exited (threadId -1) and was not watched, so its heap threads are unknown; watch it when it starts (heap.watch(worker)), or reclaim by heap thread id (heap.reclaim(threadId))",
    );
  await worker.terminate();
  if (!node) await new Promise((resolve) => setTimeout(resolve, 0));
  const out: ReclaimReport[] = [];
  if (node) reclaimNode(ctx, tid, out);
  reclaimIds(ctx, ids ?? [], out);
  return out;
}
