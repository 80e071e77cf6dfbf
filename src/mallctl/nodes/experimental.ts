// experimental.* (MIB 12): jemalloc's unstable interfaces.
//
// Served:
//   hooks.safety_check_abort  write a function (message) => void, or null for the
//                             default: becomes the heap's corruption handler
//   hooks.prof_backtrace|dump read null (no native profiling hook); writing is ENOENT
//   utilization.query         write a pointer, read { slabcur_addr, nfree, nregs, size,
//                             bin_nfree, bin_nregs } (jemalloc's inspect_extent_util_stats_verbose)
//   utilization.batch_query   write an array of pointers, read [{ nfree, nregs, size }]
//   arenas.<i>.pactivep       the byte offset of the arena's active-page counter (an f64)
//   arenas_create_ext         write { extent_hooks?, metadata_use_hooks? }, read the new index
//                             (metadata always comes from the heap's own pages: the flag is ignored)
//   batch_alloc               write { ptrs, num, size, flags }, read how many were allocated
//   hooks.install / remove, thread.activity_callback: see nodes/hooks.ts
//   prof_recent.alloc_max     ssize_t ≥ -1 (EINVAL below), needs opt.prof (ENOENT)
//   prof_recent.alloc_dump    write a function (text) => void: receives jemalloc's JSON shape
//                             { sample_interval, recent_alloc_max, recent_alloc: [...] } with up to
//                             alloc_max live sampled allocations (-1: all); freed ones are not kept

import { arenaRecordByInd } from "../../arena/arena.js";
import { binLock, binRecord, binUnlock, bstatD } from "../../arena/bin.js";
import { BIN_NONFULL_ROOT_B, BIN_SLABCUR_B, BSTATS_CURREGS, BSTATS_CURSLABS } from "../../arena/layout.js";
import type { HeapCtx } from "../../ctx/ctx.js";
import { ctlFail } from "../../errors.js";
import {
  edataAddr,
  edataArena,
  edataBinshard,
  edataNfree,
  edataSize,
  edataSlab,
  edataSzind,
} from "../../extent/edata.js";
import { emapLookupChecked } from "../../extent/emap.js";
import { PAC_NACTIVE_B } from "../../extent/pac_layout.js";
import { phFirst } from "../../extent/ph.js";
import { profRecentDump, profRecentMax, profRecentMaxSet } from "../../prof/index.js";
import { arenaLiveByInd, arenaSnapshotOf, snapshotGet } from "../snapshot.js";
import { setPendingInput, takePendingInput, withCtlLock } from "../state.js";
import { indexed, leaf, named } from "../tree.js";
import { extentHooksCheck } from "./arena_i.js";
import { arenaCreateLeaf } from "./arenas.js";
import { type H, mibAt, type Node } from "./common.js";
import { activityCallbackNode, hooksInstallNode, hooksRemoveNode } from "./hooks.js";

/** inspect_extent_util_stats_verbose_t. */
export interface ExtentUtilVerbose {
  slabcur_addr: number;
  nfree: number;
  nregs: number;
  size: number;
  bin_nfree: number;
  bin_nregs: number;
}

/** inspect_extent_util_stats_t. */
export interface ExtentUtil {
  nfree: number;
  nregs: number;
  size: number;
}

function extentOf(ctx: HeapCtx, ptr: number): number {
  return Number.isInteger(ptr) && ptr > 0 && ptr < ctx.buffer.byteLength ? emapLookupChecked(ctx, ptr) : 0;
}

/** inspect_extent_util_stats_get(). */
export function extentUtil(ctx: HeapCtx, ptr: number): ExtentUtil {
  const e = extentOf(ctx, ptr);
  if (e === 0) return { nfree: 0, nregs: 0, size: 0 };
  const size = edataSize(ctx.u32, e);
  if (!edataSlab(ctx.u32, e)) return { nfree: 0, nregs: 1, size };
  return { nfree: edataNfree(ctx.u32, e), nregs: ctx.sc.binNregs[edataSzind(ctx.u32, e)]!, size };
}

/** inspect_extent_util_stats_verbose_get(): adds the bin's totals and its current slab. */
export function extentUtilVerbose(ctx: HeapCtx, ptr: number): ExtentUtilVerbose {
  const e = extentOf(ctx, ptr);
  const u = extentUtil(ctx, ptr);
  const out: ExtentUtilVerbose = { slabcur_addr: 0, ...u, bin_nfree: 0, bin_nregs: 0 };
  if (e === 0 || !edataSlab(ctx.u32, e)) return out;
  const arena = arenaRecordByInd(ctx, edataArena(ctx.u32, e));
  const bin = binRecord(ctx, arena, edataSzind(ctx.u32, e), edataBinshard(ctx.u32, e));
  binLock(ctx, bin);
  try {
    out.bin_nregs = u.nregs * ctx.f64[bstatD(bin, BSTATS_CURSLABS)]!;
    out.bin_nfree = out.bin_nregs - ctx.f64[bstatD(bin, BSTATS_CURREGS)]!;
    let slab = ctx.u32[(bin + BIN_SLABCUR_B) >>> 2]!;
    if (slab === 0) slab = phFirst(ctx.u32, (bin + BIN_NONFULL_ROOT_B) >>> 2);
    out.slabcur_addr = slab === 0 ? 0 : edataAddr(ctx.u32, slab);
  } finally {
    binUnlock(ctx, bin);
  }
  return out;
}

function pointerList(v: unknown): number[] {
  const ok = Array.isArray(v) || v instanceof Uint32Array;
  const list = ok ? Array.from(v as ArrayLike<unknown>) : [];
  if (list.length === 0) ctlFail("EINVAL", "batch_query needs a non-empty array of pointers");
  for (const p of list) {
    if (typeof p !== "number" || !Number.isInteger(p) || p < 0)
      ctlFail("EINVAL", `not a pointer: ${String(p)}`);
  }
  return list as number[];
}

function queryLeaf<T>(check: (v: unknown) => T, run: (ctx: HeapCtx, input: T) => unknown): Node {
  return leaf<H>({
    type: "opaque",
    access: "rw",
    writeFirst: true,
    write: (heap, _mib, v) => setPendingInput(heap, check(v)),
    read: (heap) => {
      const input = takePendingInput(heap);
      if (!input.has) ctlFail("EINVAL", "write the input and read the result in one call");
      return run(heap.ctx, input.value as T);
    },
  });
}

function pointerCheck(v: unknown): number {
  if (typeof v !== "number" || !Number.isInteger(v) || v < 0)
    ctlFail("EINVAL", `not a pointer: ${String(v)}`);
  return v;
}

/** A batch_alloc_packet_t: where to put the pointers, how many, of what size, with which flags. */
export interface BatchAllocPacket {
  ptrs: number[] | Uint32Array;
  num: number;
  size: number;
  flags?: number;
}

function batchCheck(v: unknown): BatchAllocPacket {
  const p = v as Partial<BatchAllocPacket> | null;
  const isList =
    p !== null && typeof p === "object" && (Array.isArray(p.ptrs) || p.ptrs instanceof Uint32Array);
  if (!isList || !Number.isSafeInteger(p.num) || (p.num as number) < 0 || !Number.isSafeInteger(p.size)) {
    ctlFail("EINVAL", "batch_alloc needs { ptrs: number[] | Uint32Array, num, size, flags? }");
  }
  if ((p.num as number) > (p.ptrs as ArrayLike<number>).length) ctlFail("EINVAL", "ptrs is shorter than num");
  return p as BatchAllocPacket;
}

/** batch_alloc(): allocates up to `num` blocks, stopping at the first failure. */
function batchAlloc(heap: H, p: BatchAllocPacket): number {
  let filled = 0;
  for (; filled < p.num; filled++) {
    const ptr = heap.mallocx(p.size, p.flags ?? 0);
    if (ptr === 0) break;
    p.ptrs[filled] = ptr;
  }
  return filled;
}

const batchAllocNode = leaf<H>({
  type: "size_t",
  writeType: "opaque",
  access: "rw",
  writeFirst: true,
  write: (heap, _mib, v) => setPendingInput(heap, batchCheck(v)),
  read: (heap) => {
    const input = takePendingInput(heap);
    if (!input.has) ctlFail("EINVAL", "batch_alloc needs a batch_alloc packet");
    return batchAlloc(heap, input.value as BatchAllocPacket);
  },
});

function safetyCheckAbortSet(heap: H, v: unknown): void {
  if (v === undefined) return;
  if (v !== null && typeof v !== "function")
    ctlFail("EINVAL", "safety_check_abort hook must be a function or null");
  const hook = v as ((message: string) => void) | null;
  heap.setCorruptionHandler(hook === null ? null : (info) => hook(info.message));
}

/** A profiling hook: reads null (none installed); writes need opt.prof (ENOENT). */
function profHookNode(): Node {
  return leaf<H>({
    type: "opaque",
    access: "rw",
    read: () => null,
    write: () => ctlFail("ENOENT", "stacks are JavaScript stacks: no native profiling hook can be installed"),
  });
}

function arenaConfigCheck(v: unknown): unknown {
  if (v === null || typeof v !== "object")
    ctlFail("EINVAL", "arena config must be { extent_hooks?, metadata_use_hooks? }");
  const c = v as { extent_hooks?: unknown; metadata_use_hooks?: unknown };
  if (c.metadata_use_hooks !== undefined && typeof c.metadata_use_hooks !== "boolean") {
    ctlFail("EINVAL", "metadata_use_hooks must be a boolean");
  }
  return c.extent_hooks === undefined ? undefined : extentHooksCheck(c.extent_hooks);
}

const pactivepNode = leaf<H>({
  type: "opaque",
  access: "r",
  read: (heap, mib) =>
    withCtlLock(heap, (ctx) => {
      const i = mibAt(mib, 2);
      const a = arenaLiveByInd(ctx, i);
      return a !== 0 ? a + PAC_NACTIVE_B : ctlFail("EFAULT", `arena ${i} does not exist`);
    }),
});

const recentAllocMaxNode = leaf<H>({
  type: "ssize_t",
  access: "rw",
  enabled: (heap) => heap.ctx.profB !== 0,
  read: (heap) => profRecentMax(heap.ctx),
  write: (heap, _mib, v) => {
    if ((v as number) < -1) ctlFail("EINVAL", `alloc_max must be ≥ -1, got ${String(v)}`);
    profRecentMaxSet(heap.ctx, v as number);
  },
});

const recentAllocDumpNode = leaf<H>({
  type: "opaque",
  access: "w",
  enabled: (heap) => heap.ctx.profB !== 0,
  write: (heap, _mib, v) => {
    if (typeof v !== "function") ctlFail("EINVAL", "alloc_dump needs a write callback (text) => void");
    (v as (text: string) => void)(profRecentDump(heap.ctx));
  },
});

const experimentalArenaI = named<H>([["pactivep", pactivepNode]]);

export const experimentalNode: Node = named<H>([
  [
    "hooks",
    named<H>([
      ["install", hooksInstallNode],
      ["remove", hooksRemoveNode],
      ["prof_backtrace", profHookNode()],
      ["prof_dump", profHookNode()],
      [
        "safety_check_abort",
        leaf<H>({ type: "opaque", access: "w", write: (heap, _mib, v) => safetyCheckAbortSet(heap, v) }),
      ],
    ]),
  ],
  [
    "utilization",
    named<H>([
      ["query", queryLeaf(pointerCheck, extentUtilVerbose)],
      ["batch_query", queryLeaf(pointerList, (ctx, ptrs) => ptrs.map((p) => extentUtil(ctx, p)))],
    ]),
  ],
  [
    "arenas",
    indexed<H>((heap, i) =>
      arenaSnapshotOf(heap, snapshotGet(heap), i) !== null ? experimentalArenaI : null,
    ),
  ],
  ["arenas_create_ext", arenaCreateLeaf(arenaConfigCheck)],
  [
    "prof_recent",
    named<H>([
      ["alloc_max", recentAllocMaxNode],
      ["alloc_dump", recentAllocDumpNode],
    ]),
  ],
  ["batch_alloc", batchAllocNode],
  ["thread", named<H>([["activity_callback", activityCallbackNode]])],
]);
