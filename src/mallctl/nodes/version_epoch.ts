// version and epoch (MIB 0 and 1).
//
// epoch: reading returns the shared statistics epoch; writing any uint64 refreshes
// the snapshot every stats.* read returns and returns the new epoch (jemalloc's
// epoch_ctl: write, refresh, then read).

import { epochGet, statsRefresh } from "../snapshot.js";
import { leaf, versionLeaf } from "../tree.js";
import { type H, type Node, u64 } from "./common.js";

export const versionNode: Node = versionLeaf<H>();

export const epochNode: Node = leaf<H>({
  type: "uint64_t",
  access: "rw",
  writeFirst: true,
  read: (heap) => u64(epochGet(heap)),
  write: (heap) => {
    statsRefresh(heap);
  },
});
