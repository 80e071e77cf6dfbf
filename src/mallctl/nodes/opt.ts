// opt.* (MIB 6): every option as it took effect at heap creation (read-only).
// Options of features not built here (utrace) answer ENOENT.

import { buildOptSubtree } from "../tree.js";
import type { H, Node } from "./common.js";

export const optNode: Node = buildOptSubtree<H>((heap) => heap.derived.conf.opt);
