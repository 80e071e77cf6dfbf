// tcache.* (MIB 7): explicit thread caches (MALLOCX_TCACHE).
//
// tcache.create returns a new cache id (EAGAIN when every id is taken);
// tcache.flush / tcache.destroy take an id (EINVAL without one, EFAULT for an id
// that names no live cache).

import { ctlFail } from "../../errors.js";
import { tcacheCreateExplicit, tcacheDestroyExplicit, tcacheFlushExplicit } from "../../tcache/index.js";
import { leaf, named } from "../tree.js";
import { type H, type Node, ro } from "./common.js";

function idOp(what: string, op: (heap: H, ind: number) => boolean) {
  return leaf<H>({
    type: "unsigned",
    access: "w",
    write: (heap, _mib, v) => {
      if (v === undefined) ctlFail("EINVAL", `tcache.${what} needs a tcache id`);
      if (!op(heap, v as number)) ctlFail("EFAULT", `tcache id ${String(v)} names no explicit thread cache`);
    },
  });
}

export const tcacheNode: Node = named<H>([
  [
    "create",
    ro("unsigned", (heap) => {
      const ind = tcacheCreateExplicit(heap.ctx);
      return ind < 0 ? ctlFail("EAGAIN", "no explicit thread cache id is left") : ind;
    }),
  ],
  ["flush", idOp("flush", (heap, ind) => tcacheFlushExplicit(heap.ctx, ind))],
  ["destroy", idOp("destroy", (heap, ind) => tcacheDestroyExplicit(heap.ctx, ind))],
]);
