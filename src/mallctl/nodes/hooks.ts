// experimental.hooks.install / remove and experimental.thread.activity_callback (MIB 12).
//
// hooks.install         write { alloc?, dalloc?, expand?, extra? } (JS functions, see ctx/alloc_hooks.ts),
//                       read the handle; EINVAL without a value, EAGAIN when HOOK_MAX sets are in
// hooks.remove          write a handle install returned; EINVAL for anything else
// thread.activity_callback  read this thread's { callback, uctx }; write a new one
//                       ({ callback: null } turns it off); called from the thread's peak events
// All three are the calling worker's: JS functions cannot be shared through the buffer.

import { hooksInstall, hooksRemove } from "../../ctx/alloc_hooks.js";
import { type ActivityCallbackThunk, threadEvents } from "../../ctx/events.js";
import { ctlFail } from "../../errors.js";
import { setPendingInput, takePendingInput } from "../state.js";
import { leaf } from "../tree.js";
import type { H } from "./common.js";

export const hooksInstallNode = leaf<H>({
  type: "opaque",
  access: "rw",
  writeFirst: true,
  write: (heap, _mib, v) => setPendingInput(heap, v),
  read: (heap) => {
    const input = takePendingInput(heap);
    if (!input.has) ctlFail("EINVAL", "hooks.install needs the hooks to install");
    let handle: ReturnType<typeof hooksInstall>;
    try {
      handle = hooksInstall(heap.ctx, input.value);
    } catch (err) {
      return ctlFail("EINVAL", (err as Error).message);
    }
    if (handle === null) ctlFail("EAGAIN", "HOOK_MAX (4) hook sets are installed already");
    heap.allocHooksChanged();
    return handle;
  },
});

export const hooksRemoveNode = leaf<H>({
  type: "opaque",
  access: "w",
  write: (heap, _mib, v) => {
    if (!hooksRemove(heap.ctx, v)) ctlFail("EINVAL", "not a handle hooks.install returned to this thread");
    heap.allocHooksChanged();
  },
});

function thunkCheck(v: unknown): ActivityCallbackThunk {
  if (v === null || typeof v !== "object")
    ctlFail("EINVAL", "activity_callback takes { callback(uctx, allocated, deallocated), uctx }");
  const t = v as { callback?: unknown; uctx?: unknown };
  if (t.callback !== undefined && t.callback !== null && typeof t.callback !== "function")
    ctlFail("EINVAL", `activity_callback: callback must be a function or null, got ${typeof t.callback}`);
  return { callback: (t.callback ?? null) as ActivityCallbackThunk["callback"], uctx: t.uctx ?? null };
}

export const activityCallbackNode = leaf<H>({
  type: "opaque",
  access: "rw",
  read: (heap) => ({ ...threadEvents(heap.ctx).activity }),
  write: (heap, _mib, v) => {
    threadEvents(heap.ctx).activity = thunkCheck(v);
  },
});
