// background_thread and max_background_threads (MIB 2 and 3).
//
// Background purge threads are workers attached to the heap (src/background).
// background_thread: writing true starts them, false stops them (a failure to
// start or stop is EFAULT, as in jemalloc). max_background_threads: the runtime
// cap, 1 ≤ n ≤ opt.max_background_threads (EINVAL otherwise); a change while
// threads run restarts them. Both take the ctl lock, then the background lock.

import {
  backgroundThreadGet,
  backgroundThreadMaxGet,
  backgroundThreadMaxSet,
  backgroundThreadSet,
} from "../../background/index.js";
import { ctlFail, MallctlError } from "../../errors.js";
import { withCtlLock } from "../state.js";
import { leaf } from "../tree.js";
import type { H, Node } from "./common.js";

function bgSet(heap: H, on: boolean): void {
  try {
    backgroundThreadSet(heap, on);
  } catch (e) {
    const why = e instanceof MallctlError ? e.detail : String(e);
    ctlFail("EFAULT", `background threads could not be ${on ? "started" : "stopped"}: ${why}`);
  }
}

export const backgroundThreadNode: Node = leaf<H>({
  type: "bool",
  access: "rw",
  read: (heap) => backgroundThreadGet(heap),
  write: (heap, _mib, v) =>
    withCtlLock(heap, () => {
      if (v !== backgroundThreadGet(heap)) bgSet(heap, v as boolean);
    }),
});

export const maxBackgroundThreadsNode: Node = leaf<H>({
  type: "size_t",
  access: "rw",
  read: (heap) => backgroundThreadMaxGet(heap),
  write: (heap, _mib, v) =>
    withCtlLock(heap, () => {
      try {
        backgroundThreadMaxSet(heap, v as number);
      } catch (e) {
        if (e instanceof MallctlError) ctlFail(e.code, e.detail);
        throw e;
      }
    }),
});
