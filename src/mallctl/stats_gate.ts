// The run-time counterpart of jemalloc's --disable-stats: a heap created with
// `stats: false` (or JEMALLOC_TS_STATS=0) answers its mallctl leaves as a jemalloc
// built without statistics does (src/ctl.c 5.3):
// - config.stats reads false;
// - every stats.* leaf is CTL_RO_CGEN(config_stats, …) and answers ENOENT, except
//   stats.arenas.<i>.{dss, dirty_decay_ms, muzzy_decay_ms, nthreads, uptime,
//   pactive, pdirty, pmuzzy} (plain CTL_RO_GEN), which still answer;
// - thread.peak.read / thread.peak.reset answer ENOENT.
// `epoch` and thread.allocated / deallocated (and their `p` forms) keep working.
//
// What it is: a tree transform applied once when the root is built; a gated leaf
// gets `enabled(heap) = heap keeps stats`, so the tree's usual "not built" path
// answers ENOENT before the leaf is touched.

import type { H, Node } from "./nodes/common.js";
import { type CtlLeaf, type CtlNode, leaf, named } from "./tree.js";

/** stats.arenas.<i> children that jemalloc serves without config_stats. */
const UNGATED_ARENA_LEAVES = new Set([
  "dss",
  "dirty_decay_ms",
  "muzzy_decay_ms",
  "nthreads",
  "uptime",
  "pactive",
  "pdirty",
  "pmuzzy",
]);

/** Does this heap keep statistics? */
export function heapKeepsStats(heap: H): boolean {
  return heap.ctx.opt.stats;
}

function gateLeaf(l: CtlLeaf<H>): CtlLeaf<H> {
  const inner = l.enabled;
  return { ...l, enabled: inner === undefined ? heapKeepsStats : (h) => heapKeepsStats(h) && inner(h) };
}

/**
 * Every leaf below `node` gated on the heap keeping statistics, but the ungated
 * stats.arenas.<i> leaves. `path` names the components down to `node`.
 */
function gate(node: CtlNode<H>, path: readonly string[]): CtlNode<H> {
  switch (node.kind) {
    case "leaf":
      return gateLeaf(node);
    case "named":
      return named<H>(
        node.children.map(({ name, node: child }) => {
          const arenaChild = path.length === 3 && path[1] === "arenas";
          const keep = arenaChild && UNGATED_ARENA_LEAVES.has(name) && child.kind === "leaf";
          return [name, keep ? child : gate(child, [...path, name])] as const;
        }),
      );
    case "indexed": {
      // The tree's name cache wants the same node back for the same index: memoize by node.
      const cache = new WeakMap<object, CtlNode<H>>();
      return {
        kind: "indexed",
        index: (h, i, prefix) => {
          const child = node.index(h, i, prefix);
          if (child === null) return null;
          let g = cache.get(child);
          if (g === undefined) {
            g = gate(child, [...path, "<i>"]);
            cache.set(child, g);
          }
          return g;
        },
      };
    }
  }
}

/** The stats.* subtree with jemalloc's config_stats gates. */
export function statsGated(statsNode: Node): Node {
  return gate(statsNode, ["stats"]);
}

/** thread.* with thread.peak.* gated (jemalloc: `if (!config_stats) return ENOENT`). */
export function threadGated(threadNode: Node): Node {
  if (threadNode.kind !== "named") return threadNode;
  return named<H>(
    threadNode.children.map(
      ({ name, node }) => [name, name === "peak" ? gate(node, ["thread", "peak"]) : node] as const,
    ),
  );
}

/** config.* with config.stats reading whether this heap keeps statistics. */
export function configGated(configNode: Node): Node {
  if (configNode.kind !== "named") return configNode;
  return named<H>(
    configNode.children.map(
      ({ name, node }) =>
        [
          name,
          name === "stats" ? leaf<H>({ type: "bool", access: "r", read: heapKeepsStats }) : node,
        ] as const,
    ),
  );
}
