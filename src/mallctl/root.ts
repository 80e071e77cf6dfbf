// The root of the mallctl namespace: jemalloc 5.3's root_node[] in its order, so
// every name has the MIB of mallctl-5.3.tsv. One file per subtree in nodes/.

import { arenaNode } from "./nodes/arena_i.js";
import { arenasNode } from "./nodes/arenas.js";
import { backgroundThreadNode, maxBackgroundThreadsNode } from "./nodes/background.js";
import type { H } from "./nodes/common.js";
import { configNode } from "./nodes/config.js";
import { experimentalNode } from "./nodes/experimental.js";
import { optNode } from "./nodes/opt.js";
import { profNode } from "./nodes/prof.js";
import { statsNode } from "./nodes/stats.js";
import { tcacheNode } from "./nodes/tcache.js";
import { threadNode } from "./nodes/thread.js";
import { epochNode, versionNode } from "./nodes/version_epoch.js";
import { configGated, statsGated, threadGated } from "./stats_gate.js";
import { named } from "./tree.js";

export const MALLCTL_ROOT = named<H>([
  ["version", versionNode],
  ["epoch", epochNode],
  ["background_thread", backgroundThreadNode],
  ["max_background_threads", maxBackgroundThreadsNode],
  ["thread", threadGated(threadNode)],
  ["config", configGated(configNode)],
  ["opt", optNode],
  ["tcache", tcacheNode],
  ["arena", arenaNode],
  ["arenas", arenasNode],
  ["prof", profNode],
  ["stats", statsGated(statsNode)],
  ["experimental", experimentalNode],
]);
