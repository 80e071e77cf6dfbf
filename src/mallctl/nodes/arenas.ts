// arenas.* (MIB 9): arena-wide constants and defaults, arena creation and lookup.
//
// arenas.dirty_decay_ms / muzzy_decay_ms: the decay times new arenas start with
// (header words); writing an invalid time is EFAULT.
// arenas.bin.<i> (i < nbins) and arenas.lextent.<i> (i < nlextents): the size-class
// tables of a 64-bit jemalloc (nlextents 196 by default), whichever classes this
// heap's address space can serve.
// arenas.create: a new manual arena; an optional ExtentHooks object may be written
// (installed for the calling thread). EAGAIN when no arena can be made.
// arenas.lookup: write a pointer, read the index of the arena owning it (EINVAL for
// a pointer the heap does not map).

import { arenaCreateManual, narenasTotal } from "../../arena/arena.js";
import { HDR_ARENAS_DIRTY_MS_B, HDR_ARENAS_MUZZY_MS_B } from "../../ctx/header.js";
import { decayMsValid } from "../../decay/index.js";
import { ctlFail } from "../../errors.js";
import { edataArena } from "../../extent/edata.js";
import { emapLookupChecked } from "../../extent/emap.js";
import { ctlState, setPendingInput, takePendingInput, withCtlLock } from "../state.js";
import { type CtlLeaf, indexedBelow, leaf, named } from "../tree.js";
import { extentHooksCheck, extentHooksInstall } from "./arena_i.js";
import { type H, mibAt, type Node, ro } from "./common.js";

function defaultDecayLeaf(fieldB: number): Node {
  return leaf<H>({
    type: "ssize_t",
    access: "rw",
    read: (heap) => heap.ctx.f64[fieldB >>> 3]!,
    write: (heap, _mib, v) => {
      if (!decayMsValid(v as number)) ctlFail("EFAULT", `invalid decay time ${String(v)}`);
      heap.ctx.f64[fieldB >>> 3] = v as number;
    },
  });
}

const binNode = indexedBelow<H>(
  (heap) => heap.ctx.sc.nbins,
  named<H>([
    ["size", ro("size_t", (heap, mib) => heap.ctx.sc.binRegSize[mibAt(mib, 2)]!)],
    ["nregs", ro("uint32_t", (heap, mib) => heap.ctx.sc.binNregs[mibAt(mib, 2)]!)],
    ["slab_size", ro("size_t", (heap, mib) => heap.ctx.sc.binSlabSize[mibAt(mib, 2)]!)],
    ["nshards", ro("uint32_t", (heap, mib) => heap.ctx.sc.binNshards[mibAt(mib, 2)]!)],
  ]),
);

const lextentNode = indexedBelow<H>(
  (heap) => heap.ctx.sc.nlextents,
  named<H>([
    ["size", ro("size_t", (heap, mib) => heap.ctx.sc.index2size(heap.ctx.sc.nbins + mibAt(mib, 2)))],
  ]),
);

/** Creates a manual arena with the configuration written in this call (ctl_arena_init). */
export function arenaCreateWith(heap: H, config: unknown): number {
  return withCtlLock(heap, (ctx) => {
    const hooks = config === undefined ? undefined : extentHooksCheck(config);
    const ind = arenaCreateManual(ctx, -1);
    if (ind < 0) ctlFail("EAGAIN", "no arena could be created (index or memory exhausted)");
    if (hooks !== undefined) extentHooksInstall(ctx, ind, hooks);
    return ind;
  });
}

/** A "write the configuration, then read the new index" leaf (arenas.create and its ext twin). */
export function arenaCreateLeaf(check: (v: unknown) => unknown): CtlLeaf<H> {
  return leaf<H>({
    type: "unsigned",
    writeType: "opaque",
    access: "rw",
    writeFirst: true,
    write: (heap, _mib, v) => {
      ctlState(heap).pendingArenaConfig = check(v);
    },
    read: (heap) => {
      const s = ctlState(heap);
      const config = s.pendingArenaConfig;
      s.pendingArenaConfig = undefined;
      return arenaCreateWith(heap, config);
    },
  });
}

const lookupNode = leaf<H>({
  type: "unsigned",
  writeType: "size_t",
  access: "rw",
  writeFirst: true,
  write: (heap, _mib, v) => setPendingInput(heap, v),
  read: (heap) =>
    withCtlLock(heap, (ctx) => {
      const input = takePendingInput(heap);
      const ptr = input.has ? (input.value as number) : 0;
      const e = ptr === 0 || ptr >= ctx.buffer.byteLength ? 0 : emapLookupChecked(ctx, ptr);
      if (e === 0) ctlFail("EINVAL", `pointer ${ptr} is not in any arena`);
      return edataArena(ctx.u32, e);
    }),
});

export const arenasNode: Node = named<H>([
  ["narenas", ro("unsigned", (heap) => withCtlLock(heap, (ctx) => narenasTotal(ctx)))],
  ["dirty_decay_ms", defaultDecayLeaf(HDR_ARENAS_DIRTY_MS_B)],
  ["muzzy_decay_ms", defaultDecayLeaf(HDR_ARENAS_MUZZY_MS_B)],
  ["quantum", ro("size_t", (heap) => heap.ctx.sc.quantum)],
  ["page", ro("size_t", (heap) => heap.ctx.sc.page)],
  ["tcache_max", ro("size_t", (heap) => heap.ctx.sc.tcacheMaxclass(heap.derived.conf.opt.tcache_max))],
  ["nbins", ro("unsigned", (heap) => heap.ctx.sc.nbins)],
  ["nhbins", ro("unsigned", (heap) => heap.ctx.sc.nhbins(heap.derived.conf.opt.tcache_max))],
  ["bin", binNode],
  ["nlextents", ro("unsigned", (heap) => heap.ctx.sc.nlextents)],
  ["lextent", lextentNode],
  ["create", arenaCreateLeaf((v) => (v === undefined ? undefined : extentHooksCheck(v)))],
  ["lookup", lookupNode],
]);
