// prof.* (MIB 10): heap profiling. Not built in this port yet, so every leaf
// answers ENOENT as jemalloc configured without --enable-prof does, and the
// prof.stats.{bins,lextents}.<i> indices accept nothing (their validator needs
// opt.prof and opt.prof_stats).

import { indexed, named } from "../tree.js";
import { type H, type Node, notBuilt } from "./common.js";

const noIndex = indexed<H>(() => null);

export const profNode: Node = named<H>([
  ["thread_active_init", notBuilt("bool", "rw")],
  ["active", notBuilt("bool", "rw")],
  ["dump", notBuilt("const char *", "w")],
  ["gdump", notBuilt("bool", "rw")],
  ["prefix", notBuilt("const char *", "w")],
  ["reset", notBuilt("size_t", "w")],
  ["interval", notBuilt("uint64_t")],
  ["lg_sample", notBuilt("size_t")],
  ["log_start", notBuilt("const char *", "w")],
  ["log_stop", notBuilt("void", "-")],
  [
    "stats",
    named<H>([
      ["bins", noIndex],
      ["lextents", noIndex],
    ]),
  ],
]);
