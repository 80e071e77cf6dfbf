/**
 * tdata: what jemalloc keeps per thread for dumps — the thread's name (thread.prof.name, or the
 * system's with opt.prof_sys_thread_name). Records live in the buffer, keyed by thread id, so a
 * dump names the threads of other workers, even exited ones. Takes the prof lock.
 */

import type { HeapCtx } from "../ctx/ctx.js";
import { HDR_BASE0_B } from "../ctx/header.js";
import { baseAlloc } from "../extent/base.js";
import { hostIsMainThread, hostThreadId } from "../platform/index.js";
import { internString, stringText } from "./intern.js";
import {
  PROF_TDATA_LIST_B,
  PT_TID_B,
  TDATA_BYTES,
  TDATA_NAME_B,
  TDATA_NEXT_B,
  TDATA_TID_B,
} from "./layout.js";
import { profThreadB, withProfLock } from "./region.js";

function threadTid(ctx: HeapCtx): number {
  return ctx.u32[(profThreadB(ctx) + PT_TID_B) >>> 2]!;
}

/** thread.prof.name: the calling thread's name in dumps ("" when unnamed). */
export function profThreadName(ctx: HeapCtx): string {
  const tid = threadTid(ctx);
  return withProfLock(ctx, () => {
    for (
      let r = ctx.u32[(ctx.profB + PROF_TDATA_LIST_B) >>> 2]!;
      r !== 0;
      r = ctx.u32[(r + TDATA_NEXT_B) >>> 2]!
    ) {
      if (ctx.u32[(r + TDATA_TID_B) >>> 2] === tid)
        return stringText(ctx, ctx.u32[(r + TDATA_NAME_B) >>> 2]!);
    }
    return "";
  });
}

/** Sets the thread's name; false when b0 is out of memory (EAGAIN). */
export function profThreadNameSet(ctx: HeapCtx, name: string): boolean {
  const tid = threadTid(ctx);
  return withProfLock(ctx, () => {
    const s = internString(ctx, name);
    if (s === 0) return false;
    const u32 = ctx.u32;
    for (let r = u32[(ctx.profB + PROF_TDATA_LIST_B) >>> 2]!; r !== 0; r = u32[(r + TDATA_NEXT_B) >>> 2]!) {
      if (u32[(r + TDATA_TID_B) >>> 2] === tid) {
        u32[(r + TDATA_NAME_B) >>> 2] = s;
        return true;
      }
    }
    const r = baseAlloc(ctx, u32[HDR_BASE0_B >>> 2]!, TDATA_BYTES, 8);
    if (r === 0) return false;
    u32[(r + TDATA_TID_B) >>> 2] = tid;
    u32[(r + TDATA_NAME_B) >>> 2] = s;
    const listW = (ctx.profB + PROF_TDATA_LIST_B) >>> 2;
    u32[(r + TDATA_NEXT_B) >>> 2] = u32[listW]!;
    u32[listW] = r;
    return true;
  });
}

/** prof_sys_thread_name_fetch: the agent's own name ("main", or "worker-<threadId>"). */
export function profSysThreadName(ctx: HeapCtx): void {
  if (profThreadName(ctx) === "")
    profThreadNameSet(ctx, hostIsMainThread() ? "main" : `worker-${hostThreadId()}`);
}
