// config.* (MIB 5): the build flags of this port (opt.ts BUILD_CONFIG) and
// config.malloc_conf, the malloc_conf string embedded at Heap.create({ conf }).

import { configSubtree } from "../tree.js";
import type { H, Node } from "./common.js";

export const configNode: Node = configSubtree<H>(
  (heap) => heap.derived.embedded,
  undefined,
  (heap) => heap.derived.debug,
);
