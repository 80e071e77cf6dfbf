/**
 * namespace: the mallctl names the heap serves so far (epoch, stats.*, stats.arenas.<i>.*, arenas.*,
 * arena.<i>.*, opt.*). Statistics come from a snapshot refreshed by writing `epoch`, as in jemalloc.
 */
import { arenaRecordByInd, narenasTotal, threadArena } from "../arena/arena.js";
import { type ArenaStats, arenaStatsRead } from "../arena/stats.js";
import { PURGE_ON_EPOCH_ADVANCE, pacDecay } from "../extent/pac.js";
import type { Heap } from "../heap.js";
import { HDR_EPOCH_B, HDR_ZERO_REALLOCS_B } from "../layout/header.js";
import { MallctlError } from "./errors.js";

export interface StatsSnapshot {
  allocated: number;
  active: number;
  metadata: number;
  metadata_thp: number;
  resident: number;
  mapped: number;
  retained: number;
  zero_reallocs: number;
  arenas: Map<number, ArenaStats>;
}

const snapshots = new WeakMap<Heap, StatsSnapshot>();

/** Reads every initialized arena's statistics (stats.* after an epoch refresh). */
export function statsRefresh(heap: Heap): StatsSnapshot {
  const ctx = heap.ctx;
  const arenas = new Map<number, ArenaStats>();
  const snap: StatsSnapshot = {
    allocated: 0,
    active: 0,
    metadata: 0,
    metadata_thp: 0,
    resident: 0,
    mapped: 0,
    retained: 0,
    zero_reallocs: ctx.f64[HDR_ZERO_REALLOCS_B >>> 3]!,
    arenas,
  };
  const n = narenasTotal(ctx);
  for (let i = 0; i < n; i++) {
    const a = arenaRecordByInd(ctx, i);
    if (a === 0) continue;
    const s = arenaStatsRead(ctx, a, i, 0);
    arenas.set(i, s);
    snap.allocated += s.small.allocated + s.large.allocated;
    snap.active += s.pactive * ctx.page;
    snap.metadata += s.base + s.internal;
    snap.resident += s.resident;
    snap.mapped += s.mapped;
    snap.retained += s.retained;
  }
  snapshots.set(heap, snap);
  return snap;
}

function snapshot(heap: Heap): StatsSnapshot {
  return snapshots.get(heap) ?? statsRefresh(heap);
}

function arenaIndex(heap: Heap, part: string | undefined, name: string): number {
  const i = Number(part);
  if (part === undefined || !/^\d+$/.test(part) || (i >= narenasTotal(heap.ctx) && i !== 4096)) {
    throw new MallctlError("ENOENT", name);
  }
  return i;
}

export function mallctlDispatch(heap: Heap, name: string, newValue?: unknown): unknown {
  if (typeof name !== "string") throw new TypeError(`mallctl: name must be a string, got ${typeof name}`);
  const parts = name.split(".");
  const ctx = heap.ctx;
  if (name === "epoch") {
    if (newValue !== undefined) statsRefresh(heap);
    ctx.f64[HDR_EPOCH_B >>> 3] = ctx.f64[HDR_EPOCH_B >>> 3]! + (newValue !== undefined ? 1 : 0);
    return ctx.f64[HDR_EPOCH_B >>> 3]!;
  }
  if (parts[0] === "stats" && parts[1] !== "arenas") {
    const snap = snapshot(heap);
    const key = parts[1] as keyof StatsSnapshot;
    if (parts.length === 2 && key in snap && key !== "arenas") return snap[key];
    throw new MallctlError("ENOENT", name);
  }
  if (parts[0] === "stats" && parts[1] === "arenas") {
    const i = arenaIndex(heap, parts[2], name);
    const s = snapshot(heap).arenas.get(i);
    if (s === undefined) throw new MallctlError("ENOENT", name);
    let v: unknown = s;
    for (const p of parts.slice(3)) {
      if (v === null || typeof v !== "object") throw new MallctlError("ENOENT", name);
      v = (v as Record<string, unknown>)[p];
    }
    if (typeof v !== "number") throw new MallctlError("ENOENT", name);
    return v;
  }
  if (name === "arenas.narenas") return narenasTotal(ctx);
  if (name === "version") return "5.3.0-0-jemalloc-ts";
  if (name === "thread.arena") return threadArena(ctx);
  if (parts[0] === "arena" && parts[3] === undefined && (parts[2] === "purge" || parts[2] === "decay")) {
    const i = arenaIndex(heap, parts[1], name);
    const all = parts[2] === "purge";
    const n = narenasTotal(ctx);
    for (let k = 0; k < n; k++) {
      if (i !== 4096 && k !== i) continue;
      const a = arenaRecordByInd(ctx, k);
      if (a !== 0) pacDecay(ctx, a, PURGE_ON_EPOCH_ADVANCE, all);
    }
    return undefined;
  }
  if (parts[0] === "opt" && parts.length === 2) {
    const o = heap.derived.conf.opt as unknown as Record<string, unknown>;
    if (parts[1]! in o) return o[parts[1]!];
  }
  throw new MallctlError("ENOENT", name);
}
