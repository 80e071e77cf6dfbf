// stats.arenas.<i>.* (MIB 11.9.<i>.*): one arena's statistics from the snapshot.
//
// Indices: arenas initialized when the snapshot was taken, 4096 (merged: the sum
// over initialized arenas), i == arenas.narenas (deprecated alias of 4096), and
// 4097 once an arena was destroyed; others ENOENT.
// HPA figures (hpa_shard.*, hpa_sec_bytes, the hpa_* mutexes) read zero: this port
// has no HPA, as a jemalloc with opt.hpa off. tcache_stashed_bytes: blocks stashed by
// opt.lg_san_uaf_align. dss reads "disabled" (no sbrk in a buffer).

import type { LextentStats } from "../../arena/stats.js";
import { ARENA_MUTEX_NAMES, type ArenaSnapshot, arenaSnapshotOf, snapshotGet } from "../snapshot.js";
import { type CType, indexed, indexedBelow, named } from "../tree.js";
import { arenaLeaf, arenaSnapOf, type H, mibAt, mutexNode, type Node } from "./common.js";

/** PSSET_NPSIZES: page-size classes of the HPA's page-slab sets. */
export const PSSET_NPSIZES = 64;

type Pick = (a: ArenaSnapshot) => number;

function leaves(spec: ReadonlyArray<readonly [string, CType, Pick]>): Node {
  return named<H>(spec.map(([name, type, pick]) => [name, arenaLeaf(type, pick)] as const));
}

function group(which: "small" | "large"): Node {
  return leaves([
    ["allocated", "size_t", (a) => a[which].allocated],
    ["nmalloc", "uint64_t", (a) => a[which].nmalloc],
    ["ndalloc", "uint64_t", (a) => a[which].ndalloc],
    ["nrequests", "uint64_t", (a) => a[which].nrequests],
    ["nfills", "uint64_t", (a) => a[which].nfills],
    ["nflushes", "uint64_t", (a) => a[which].nflushes],
  ]);
}

/** A per-class leaf: the class index is MIB component 4. */
function classLeaf<T>(type: CType, list: (a: ArenaSnapshot) => readonly T[], pick: (x: T) => number) {
  return arenaLeaf(type, (a, mib) => pick(list(a)[mibAt(mib, 4)] as T));
}

const binJ = named<H>([
  [
    "nmalloc",
    classLeaf(
      "uint64_t",
      (a) => a.bins,
      (b) => b.nmalloc,
    ),
  ],
  [
    "ndalloc",
    classLeaf(
      "uint64_t",
      (a) => a.bins,
      (b) => b.ndalloc,
    ),
  ],
  [
    "nrequests",
    classLeaf(
      "uint64_t",
      (a) => a.bins,
      (b) => b.nrequests,
    ),
  ],
  [
    "curregs",
    classLeaf(
      "size_t",
      (a) => a.bins,
      (b) => b.curregs,
    ),
  ],
  [
    "nfills",
    classLeaf(
      "uint64_t",
      (a) => a.bins,
      (b) => b.nfills,
    ),
  ],
  [
    "nflushes",
    classLeaf(
      "uint64_t",
      (a) => a.bins,
      (b) => b.nflushes,
    ),
  ],
  [
    "nslabs",
    classLeaf(
      "uint64_t",
      (a) => a.bins,
      (b) => b.nslabs,
    ),
  ],
  [
    "nreslabs",
    classLeaf(
      "uint64_t",
      (a) => a.bins,
      (b) => b.nreslabs,
    ),
  ],
  [
    "curslabs",
    classLeaf(
      "size_t",
      (a) => a.bins,
      (b) => b.curslabs,
    ),
  ],
  [
    "nonfull_slabs",
    classLeaf(
      "size_t",
      (a) => a.bins,
      (b) => b.nonfull_slabs,
    ),
  ],
  ["mutex", mutexNode((heap, mib) => arenaSnapOf(heap, mib).bins[mibAt(mib, 4)]!.mutex)],
]);

const lextents = (a: ArenaSnapshot): readonly LextentStats[] => a.lextents;
const lextentJ = named<H>([
  ["nmalloc", classLeaf("uint64_t", lextents, (l) => l.nmalloc)],
  ["ndalloc", classLeaf("uint64_t", lextents, (l) => l.ndalloc)],
  ["nrequests", classLeaf("uint64_t", lextents, (l) => l.nrequests)],
  ["curlextents", classLeaf("size_t", lextents, (l) => l.curlextents)],
]);

const extentJ = named<H>([
  [
    "ndirty",
    classLeaf(
      "size_t",
      (a) => a.extents,
      (x) => x.ndirty,
    ),
  ],
  [
    "nmuzzy",
    classLeaf(
      "size_t",
      (a) => a.extents,
      (x) => x.nmuzzy,
    ),
  ],
  [
    "nretained",
    classLeaf(
      "size_t",
      (a) => a.extents,
      (x) => x.nretained,
    ),
  ],
  [
    "dirty_bytes",
    classLeaf(
      "size_t",
      (a) => a.extents,
      (x) => x.dirty_bytes,
    ),
  ],
  [
    "muzzy_bytes",
    classLeaf(
      "size_t",
      (a) => a.extents,
      (x) => x.muzzy_bytes,
    ),
  ],
  [
    "retained_bytes",
    classLeaf(
      "size_t",
      (a) => a.extents,
      (x) => x.retained_bytes,
    ),
  ],
]);

const mutexesNode = named<H>(
  ARENA_MUTEX_NAMES.map(
    (name) => [name, mutexNode((heap, mib) => arenaSnapOf(heap, mib).mutexes[name])] as const,
  ),
);

/** The six page-slab counters of a psset bin (all zero without HPA). */
function pageslabs(): Node {
  const zero: Pick = () => 0;
  return leaves([
    ["npageslabs_nonhuge", "size_t", zero],
    ["npageslabs_huge", "size_t", zero],
    ["nactive_nonhuge", "size_t", zero],
    ["nactive_huge", "size_t", zero],
    ["ndirty_nonhuge", "size_t", zero],
    ["ndirty_huge", "size_t", zero],
  ]);
}

const hpaShardNode = named<H>([
  ["full_slabs", pageslabs()],
  ["empty_slabs", pageslabs()],
  ["nonfull_slabs", indexedBelow<H>(() => PSSET_NPSIZES, pageslabs())],
  ["npurge_passes", arenaLeaf("uint64_t", () => 0)],
  ["npurges", arenaLeaf("uint64_t", () => 0)],
  ["nhugifies", arenaLeaf("uint64_t", () => 0)],
  ["ndehugifies", arenaLeaf("uint64_t", () => 0)],
]);

const arenaINode = named<H>([
  ["nthreads", arenaLeaf("unsigned", (a) => a.nthreads)],
  ["uptime", arenaLeaf("uint64_t", (a) => a.uptimeNs)],
  ["dss", arenaLeaf("const char *", (a) => a.dss)],
  ["dirty_decay_ms", arenaLeaf("ssize_t", (a) => a.dirty_decay_ms)],
  ["muzzy_decay_ms", arenaLeaf("ssize_t", (a) => a.muzzy_decay_ms)],
  ["pactive", arenaLeaf("size_t", (a) => a.pactive)],
  ["pdirty", arenaLeaf("size_t", (a) => a.pdirty)],
  ["pmuzzy", arenaLeaf("size_t", (a) => a.pmuzzy)],
  ["mapped", arenaLeaf("size_t", (a) => a.mapped)],
  ["retained", arenaLeaf("size_t", (a) => a.retained)],
  ["extent_avail", arenaLeaf("size_t", (a) => a.extent_avail)],
  ["dirty_npurge", arenaLeaf("uint64_t", (a) => a.dirty_npurge)],
  ["dirty_nmadvise", arenaLeaf("uint64_t", (a) => a.dirty_nmadvise)],
  ["dirty_purged", arenaLeaf("uint64_t", (a) => a.dirty_purged)],
  ["muzzy_npurge", arenaLeaf("uint64_t", (a) => a.muzzy_npurge)],
  ["muzzy_nmadvise", arenaLeaf("uint64_t", (a) => a.muzzy_nmadvise)],
  ["muzzy_purged", arenaLeaf("uint64_t", (a) => a.muzzy_purged)],
  ["base", arenaLeaf("size_t", (a) => a.base)],
  ["internal", arenaLeaf("size_t", (a) => a.internal)],
  ["metadata_thp", arenaLeaf("size_t", (a) => a.metadata_thp)],
  ["tcache_bytes", arenaLeaf("size_t", (a) => a.tcache_bytes)],
  ["tcache_stashed_bytes", arenaLeaf("size_t", (a) => a.tcache_stashed_bytes)],
  ["resident", arenaLeaf("size_t", (a) => a.resident)],
  ["abandoned_vm", arenaLeaf("size_t", (a) => a.abandoned_vm)],
  ["hpa_sec_bytes", arenaLeaf("size_t", (a) => a.hpa_sec_bytes)],
  ["small", group("small")],
  ["large", group("large")],
  ["bins", indexedBelow<H>((heap) => heap.ctx.sc.nbins, binJ)],
  ["lextents", indexedBelow<H>((heap) => heap.ctx.sc.nlextents, lextentJ)],
  ["extents", indexedBelow<H>((heap) => heap.ctx.sc.npsizes, extentJ)],
  ["mutexes", mutexesNode],
  ["hpa_shard", hpaShardNode],
]);

/** stats_arenas_i_index(): arenas with statistics in the current snapshot. */
export const statsArenasNode: Node = indexed<H>((heap, i) =>
  arenaSnapshotOf(heap, snapshotGet(heap), i) !== null ? arenaINode : null,
);
