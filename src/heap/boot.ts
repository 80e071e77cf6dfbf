/**
 * boot: creating a heap in a fresh buffer, and deriving a thread's view of an existing one.
 * Creation writes the header (configuration, the malloc_conf strings, locks, the thread registry),
 * the global base and arena 0. Attaching checks the magic number and layout version, re-derives the
 * size classes and options from the header (so every worker agrees), and claims a thread slot.
 */
import { arenaGet } from "../arena/arena.js";
import { arenaLayoutCompute } from "../arena/layout.js";
import { backgroundHooks } from "../background/wake.js";
import type { CoreOptions, Derived, HeapCtx } from "../ctx/ctx.js";
import { TickerGeom } from "../decay/index.js";
import { baseNew } from "../extent/base.js";

export type { Derived };

import { type ConfResult, mallocConfSources, parseMallocConf, readMallocConfEnv } from "../conf/conf.js";
import {
  HDR_ARENAS_DIRTY_MS_B,
  HDR_ARENAS_MUZZY_MS_B,
  HDR_BASE0_B,
  HDR_BG_THREADS_B,
  HDR_CLOCK_ORIGIN_B,
  HDR_FLAG_DEBUG,
  HDR_FLAG_NO_STATS,
  HDR_FLAG_ZERO_ON_PURGE,
  HDR_FLAGS_B,
  HDR_HEADER_BYTES_B,
  HDR_HUGE_ARENA_B,
  HDR_LAST_DESTROYED_B,
  HDR_LG_HUGEPAGE_B,
  HDR_LG_PAGE_B,
  HDR_LG_QUANTUM_B,
  HDR_LG_VADDR_B,
  HDR_LOCK_ARENAS_B,
  HDR_LOCK_CTL_B,
  HDR_LOCK_MAP_B,
  HDR_MAGIC_B,
  HDR_MAX_BG_THREADS_B,
  HDR_MAX_BYTES_B,
  HDR_NARENAS_AUTO_B,
  HDR_NARENAS_TOTAL_B,
  HDR_NCPUS_B,
  HDR_NSLOTS_B,
  HDR_SHARED_B,
  HDR_TOP_B,
  HDR_VERSION_B,
  HEAP_MAGIC,
  headerLayout,
  LAYOUT_VERSION,
  THREAD_ARENA_B,
  THREAD_BYTES,
  THREAD_NODE_TID_B,
  THREAD_TCACHE_ON_B,
} from "../ctx/header.js";
import { edataBytes } from "../extent/edata.js";
import { heapPoisonWord, poisonedError } from "../extent/lock.js";
import { alignUp, makeViews } from "../layout/index.js";
import { hostCpuCount, hostEnv, hostThreadId } from "../platform/index.js";
import { SizeClasses, sizeClassConfig } from "../sizeclass/index.js";
import { createLockContext, lockInit, ownerTag, SLOTS_MAX, slotClaim, slotsInit } from "../sync/index.js";
import { attachCheckHeader } from "./attach_check.js";
import { confEncode, confExtBytes, confRead, confWrite } from "./conf_store.js";
import { heapWitness } from "./lock_ranks.js";

/** What the heap uses of a WebAssembly.Memory (typed here: the project's lib has no WebAssembly types). */
export interface WasmMemory {
  readonly buffer: SharedArrayBuffer | ArrayBuffer;
  grow(deltaPages: number): number;
}

/** Whether `x` is a WebAssembly.Memory of this realm. */
export function isWasmMemory(x: unknown): x is WasmMemory {
  const M = (globalThis as { WebAssembly?: { Memory?: abstract new (...a: never[]) => unknown } }).WebAssembly
    ?.Memory;
  return M !== undefined && x instanceof M;
}

export interface HeapCreateOptions {
  /**
   * A WebAssembly.Memory (shared or not, with a maximum) to put the heap in: it serves the module's
   * malloc from `base` up, and grows the memory (src/wasm). maxBytes then derives from its maximum.
   */
  memory?: WasmMemory;
  /** With `memory`: the heap's first byte, a multiple of 65536 (default: the memory's current end). */
  base?: number;
  /** Bytes the buffer starts with (default: maxBytes — pages are committed lazily by the OS). */
  initialBytes?: number;
  /** Largest the buffer may grow to (default 1 GiB; at most 4 GiB). */
  maxBytes?: number;
  lgQuantum?: number;
  lgPage?: number;
  lgHugepage?: number;
  lgVaddr?: number;
  /** malloc_conf string embedded in the heap (as --with-malloc-conf embeds one). */
  conf?: string;
  /** false: a resizable ArrayBuffer (one thread; shrinks when the top is purged). Default true. */
  shared?: boolean;
  /** Clock in milliseconds, for decay and tests (default: the wall clock shared by all workers). */
  clock?: () => number;
  /** Thread slots (default 128, at most 1024). */
  maxThreads?: number;
  /** CPUs assumed for the narenas default (default: os.availableParallelism(), or navigator.hardwareConcurrency in browsers). */
  ncpus?: number;
  /** Where malloc_conf messages go (default: stderr). */
  writer?: (msg: string) => void;
  /** The environment's malloc_conf (default: process.env.JEMALLOC_TS_MALLOC_CONF); null ignores it. */
  envConf?: string | null;
  /** Lock waits: total bound before a LockTimeoutError (default 10 s). */
  lockTimeoutMs?: number;
  /**
   * Statistics counters (default true; the environment's JEMALLOC_TS_STATS=0 turns them off when this
   * is not given). false takes them off every path: config.stats reads false and stats.* answer as a
   * jemalloc built with --disable-stats.
   */
  stats?: boolean;
  /**
   * Forced purges zero-fill the purged pages, for users who want freed data scrubbed (default false:
   * a purge only moves the extent between caches and marks it not zeroed; see README, "Purge").
   */
  zeroOnPurge?: boolean;
  /**
   * Debug mode, the analog of jemalloc's --enable-debug (default: JEMALLOC_TS_DEBUG=1 in the
   * environment, else false). Recorded in the header: every worker that attaches agrees.
   */
  debug?: boolean;
}

export interface HeapAttachOptions {
  /** Heap.attach(memory): where the heap starts (default: found by its header). */
  base?: number;
  clock?: () => number;
  writer?: (msg: string) => void;
  lockTimeoutMs?: number;
}

export const DEFAULT_INITIAL_BYTES = 1 << 20;
export const DEFAULT_MAX_BYTES = 1 << 30;
export const MAX_BYTES_LIMIT = 2 ** 32;
export const DEFAULT_MAX_THREADS = 128;

function intOpt(v: unknown, name: string, min: number, max: number, dflt: number): number {
  if (v === undefined) return dflt;
  if (typeof v !== "number" || !Number.isInteger(v)) {
    throw new TypeError(
      `Heap.create: ${name} must be an integer, got ${typeof v === "string" ? JSON.stringify(v) : String(v)}`,
    );
  }
  if (v < min || v > max) throw new RangeError(`Heap.create: ${name} must be in [${min}, ${max}], got ${v}`);
  return v;
}

export function coreOptions(conf: ConfResult): CoreOptions {
  const o = conf.opt;
  return {
    narenas: conf.narenasAuto,
    dirtyDecayMs: o.dirty_decay_ms,
    muzzyDecayMs: o.muzzy_decay_ms,
    oversizeThreshold: conf.oversizeThresholdEffective,
    retain: o.retain,
    lgExtentMaxActiveFit: o.lg_extent_max_active_fit,
    zeroRealloc: o.zero_realloc as CoreOptions["zeroRealloc"],
    junkAlloc: o.junk === "true" || o.junk === "alloc",
    junkFree: o.junk === "true" || o.junk === "free",
    zero: o.zero,
    tcache: o.tcache,
    tcacheMax: o.tcache_max,
    xmalloc: o.xmalloc,
    stats: true,
    zeroOnPurge: false,
    profIntervalLg: conf.profIntervalLg,
  };
}

function boolOpt(v: unknown, name: string): boolean | undefined {
  if (v === undefined || typeof v === "boolean") return v;
  throw new TypeError(
    `Heap.create: ${name} must be a boolean, got ${typeof v === "string" ? JSON.stringify(v) : String(v)}`,
  );
}

/** The header's creation flags (HDR_FLAGS_B) a creator writes. */
function creationFlags(options: HeapCreateOptions): number {
  const envStats = hostEnv("JEMALLOC_TS_STATS") ?? undefined;
  const stats =
    boolOpt(options.stats, "stats") ?? !(envStats !== undefined && /^(0|false|no|off)$/i.test(envStats));
  const zeroOnPurge = boolOpt(options.zeroOnPurge, "zeroOnPurge") ?? false;
  const envDebug = hostEnv("JEMALLOC_TS_DEBUG");
  const debug = boolOpt(options.debug, "debug") ?? (envDebug === "1" || envDebug === "true");
  return (
    (stats ? 0 : HDR_FLAG_NO_STATS) |
    (zeroOnPurge ? HDR_FLAG_ZERO_ON_PURGE : 0) |
    (debug ? HDR_FLAG_DEBUG : 0)
  );
}

function headerFlags(flags: number): Pick<CoreOptions, "stats" | "zeroOnPurge"> {
  return { stats: (flags & HDR_FLAG_NO_STATS) === 0, zeroOnPurge: (flags & HDR_FLAG_ZERO_ON_PURGE) !== 0 };
}

function derive(
  buffer: SharedArrayBuffer | ArrayBuffer,
  writer: ((m: string) => void) | undefined,
  quiet: boolean,
  baseB = 0,
): Derived {
  const views = makeViews(buffer, baseB);
  const u32 = views.u32;
  const { embedded, env } = confRead(views.u8, u32);
  const cfg = sizeClassConfig({
    lgQuantum: u32[HDR_LG_QUANTUM_B >>> 2]!,
    lgPage: u32[HDR_LG_PAGE_B >>> 2]!,
    lgHugepage: u32[HDR_LG_HUGEPAGE_B >>> 2]!,
    lgVaddr: u32[HDR_LG_VADDR_B >>> 2]!,
  });
  const conf = parseMallocConf(mallocConfSources(embedded, env), {
    ncpus: u32[HDR_NCPUS_B >>> 2]!,
    lgPage: cfg.lgPage,
    lgHugepage: cfg.lgHugepage,
    writer: quiet ? () => {} : writer,
  });
  const sc = new SizeClasses(cfg, { slabSizes: conf.slabSizes, binShards: conf.binShards });
  const debug = (u32[HDR_FLAGS_B >>> 2]! & HDR_FLAG_DEBUG) !== 0;
  // jemalloc's debug build defaults opt.junk to "true"; an explicit junk setting still wins.
  if (debug && ![embedded, env].some((t) => t !== null && /(^|,)\s*junk:/.test(t))) conf.opt.junk = "true";
  return { views, sc, conf, embedded, env, debug };
}

/** Milliseconds → integer nanoseconds in [0, 2^53) (decay's range: 104 days of uptime). */
function clampNs(ms: number): number {
  const ns = Math.floor(ms * 1e6);
  return ns > 0 ? (ns < Number.MAX_SAFE_INTEGER ? ns : Number.MAX_SAFE_INTEGER - 1) : 0;
}

function defaultClockMs(): () => number {
  return () => performance.timeOrigin + performance.now();
}

/** Builds this thread's context and claims a slot. */
export function buildCtx(
  buffer: SharedArrayBuffer | ArrayBuffer,
  d: Derived,
  clock: (() => number) | undefined,
  lockTimeoutMs: number | undefined,
  virtualNow: boolean,
): HeapCtx {
  const { views, sc, conf } = d;
  const u32 = views.u32;
  const nslots = u32[HDR_NSLOTS_B >>> 2]!;
  const hdr = headerLayout(sc.lgPage, sc.lgVaddr, nslots);
  const lockCtx = createLockContext({
    regW: hdr.slotsB >>> 2,
    timeoutMs: lockTimeoutMs,
    maxSpin: Number(conf.opt.mutex_max_spin),
    stats: (u32[HDR_FLAGS_B >>> 2]! & HDR_FLAG_NO_STATS) === 0,
  });
  const claim = slotClaim(views.i32, hdr.slotsB >>> 2, nslots);
  const origin = views.f64[HDR_CLOCK_ORIGIN_B >>> 3]!;
  const clk = clock ?? defaultClockMs();
  const prng = new Int32Array(2);
  prng[0] = claim.slot + 1;
  const ctx: HeapCtx = {
    buffer,
    shared: u32[HDR_SHARED_B >>> 2] === 1,
    u8: views.u8,
    i32: views.i32,
    u32: views.u32,
    f64: views.f64,
    dv: views.dv,
    sc,
    page: sc.page,
    lgPage: sc.lgPage,
    hugepage: sc.hugepage,
    hdr,
    edataBytes: edataBytes(2 ** (sc.lgPage - 3)),
    arenaLayout: arenaLayoutCompute(sc),
    debug: d.debug,
    opt: { ...coreOptions(conf), ...headerFlags(u32[HDR_FLAGS_B >>> 2]!) },
    optRaw: conf.opt,
    slot: claim.slot,
    threadB: hdr.threadsB + claim.slot * THREAD_BYTES,
    ownerTag: ownerTag(claim.slot, claim.generation),
    lockCtx,
    nowNs: virtualNow ? () => clampNs(clk()) : () => clampNs(clk() - origin),
    ticker: new TickerGeom(1000, prng, 0),
    prng,
    backgroundThreads: Atomics.load(views.i32, HDR_BG_THREADS_B >>> 2) !== 0,
    failpoint: null,
    background: backgroundHooks(),
    tcacheGeom: undefined,
    events: undefined,
    profB: 0,
    hooks: new Map(),
    space: null,
  };
  // A thread waiting on a lock gives up as soon as the heap is poisoned (that lock may never be freed).
  lockCtx.abortWait = () => {
    const poison = heapPoisonWord(ctx);
    if (poison !== 0) throw poisonedError("lock wait", poison);
  };
  // Debug: lock order checked by a witness that knows every heap lock by where it lives.
  if (d.debug) lockCtx.setWitness(heapWitness(ctx));
  views.u8.fill(0, ctx.threadB, ctx.threadB + THREAD_BYTES);
  ctx.i32[(ctx.threadB + THREAD_ARENA_B) >>> 2] = -1;
  ctx.u32[(ctx.threadB + THREAD_TCACHE_ON_B) >>> 2] = conf.opt.tcache ? 1 : 0;
  ctx.u32[(ctx.threadB + THREAD_NODE_TID_B) >>> 2] = hostThreadId();
  return ctx;
}

export interface Created {
  buffer: SharedArrayBuffer | ArrayBuffer;
  derived: Derived;
}

/**
 * An existing buffer a heap is written into from byte `baseB` (a WebAssembly.Memory's, src/wasm):
 * `reserve(bytes)` makes heap offsets [0, bytes) exist and returns the buffer then current.
 */
export interface BootSpace {
  baseB: number;
  maxBytes: number;
  shared: boolean;
  reserve(bytes: number): SharedArrayBuffer | ArrayBuffer;
}

/** Writes a new heap into a fresh buffer, or into `space` (does not claim a thread slot). */
export function bootCreate(options: HeapCreateOptions, space?: BootSpace): Created {
  if (options === null || typeof options !== "object")
    throw new TypeError("Heap.create: options must be an object");
  const maxBytes =
    space?.maxBytes ?? intOpt(options.maxBytes, "maxBytes", 1 << 16, MAX_BYTES_LIMIT, DEFAULT_MAX_BYTES);
  const cfg = sizeClassConfig({
    lgQuantum: options.lgQuantum,
    lgPage: options.lgPage,
    lgHugepage: options.lgHugepage,
    lgVaddr: options.lgVaddr,
  } as Parameters<typeof sizeClassConfig>[0]);
  if (maxBytes > 2 ** cfg.lgVaddr) {
    throw new RangeError(
      `Heap.create: maxBytes ${maxBytes} exceeds the address space 2^lgVaddr = ${2 ** cfg.lgVaddr}`,
    );
  }
  const nslots = intOpt(options.maxThreads, "maxThreads", 1, SLOTS_MAX, DEFAULT_MAX_THREADS);
  const flags = creationFlags(options);
  const ncpus = intOpt(options.ncpus, "ncpus", 1, 4096, hostCpuCount());
  const hdr = headerLayout(cfg.lgPage, cfg.lgVaddr, nslots);
  if (options.conf !== undefined && typeof options.conf !== "string")
    throw new TypeError("Heap.create: conf must be a string");
  const env = options.envConf === undefined ? readMallocConfEnv() : options.envConf;
  // Conf strings longer than their header slots go to an extension area after the header.
  const confBytes = confEncode(options.conf ?? "", env);
  const headerBytes = alignUp(hdr.headerBytes + confExtBytes(confBytes), 2 ** cfg.lgPage);
  if (headerBytes > maxBytes)
    throw new RangeError(`Heap.create: maxBytes ${maxBytes} cannot hold the ${headerBytes}-byte header`);
  // By default the buffer starts at its full length: the OS backs pages only when touched, so the
  // resident footprint is what the heap uses, and fixed-length views are ~20× faster than the
  // length-tracking views a still-growing buffer needs in Node 20 (see README, "Growth").
  // A resizable ArrayBuffer (shared: false) starts small instead, so it can also shrink again.
  const dfltInitial = options.shared === false ? Math.min(DEFAULT_INITIAL_BYTES, maxBytes) : maxBytes;
  const initialBytes = Math.max(
    intOpt(options.initialBytes, "initialBytes", 0, maxBytes, dfltInitial),
    headerBytes,
  );
  const shared = space?.shared ?? options.shared ?? true;
  const grow = Math.ceil(initialBytes / 65536) * 65536;
  const initial = Math.min(grow, maxBytes);
  const baseB = space?.baseB ?? 0;
  const buffer =
    space !== undefined
      ? space.reserve(headerBytes)
      : shared
        ? new SharedArrayBuffer(initial, { maxByteLength: maxBytes })
        : new ArrayBuffer(initial, { maxByteLength: maxBytes });
  const v = makeViews(buffer, baseB);
  const u32 = v.u32;
  u32[HDR_VERSION_B >>> 2] = LAYOUT_VERSION;
  u32[HDR_LG_QUANTUM_B >>> 2] = cfg.lgQuantum;
  u32[HDR_LG_PAGE_B >>> 2] = cfg.lgPage;
  u32[HDR_LG_HUGEPAGE_B >>> 2] = cfg.lgHugepage;
  u32[HDR_LG_VADDR_B >>> 2] = cfg.lgVaddr;
  v.f64[HDR_MAX_BYTES_B >>> 3] = maxBytes;
  v.f64[HDR_TOP_B >>> 3] = headerBytes;
  u32[HDR_HEADER_BYTES_B >>> 2] = headerBytes;
  u32[HDR_NSLOTS_B >>> 2] = nslots;
  u32[HDR_SHARED_B >>> 2] = shared ? 1 : 0;
  u32[HDR_NCPUS_B >>> 2] = ncpus;
  u32[HDR_FLAGS_B >>> 2] = flags;
  // The clock's zero: the creator's clock now (a custom clock's scale is used as is by every thread).
  v.f64[HDR_CLOCK_ORIGIN_B >>> 3] =
    options.clock !== undefined ? options.clock() : performance.timeOrigin + performance.now();
  confWrite(v.u8, u32, confBytes, hdr.headerBytes);
  for (const l of [HDR_LOCK_MAP_B, HDR_LOCK_CTL_B, HDR_LOCK_ARENAS_B]) lockInit(v.i32, l >>> 2);
  slotsInit(v.i32, hdr.slotsB >>> 2, nslots);
  const derived = derive(buffer, options.writer, false, baseB);
  const conf = derived.conf;
  u32[HDR_NARENAS_AUTO_B >>> 2] = conf.narenasAuto;
  v.i32[HDR_HUGE_ARENA_B >>> 2] = conf.hugeArena ? conf.narenasAuto : -1;
  v.i32[HDR_NARENAS_TOTAL_B >>> 2] = conf.narenasAuto + (conf.hugeArena ? 1 : 0);
  v.i32[HDR_LAST_DESTROYED_B >>> 2] = -1;
  v.f64[HDR_ARENAS_DIRTY_MS_B >>> 3] = conf.opt.dirty_decay_ms;
  v.f64[HDR_ARENAS_MUZZY_MS_B >>> 3] = conf.opt.muzzy_decay_ms;
  u32[HDR_MAX_BG_THREADS_B >>> 2] = conf.opt.max_background_threads;
  // Publish the magic last: a worker attaching to a half-written buffer is refused.
  Atomics.store(v.i32, HDR_MAGIC_B >>> 2, HEAP_MAGIC);
  return { buffer, derived };
}

/** Global base and arena 0, created by the first thread (jemalloc's malloc_init). */
export function bootArenas(ctx: HeapCtx): void {
  const b0 = baseNew(ctx);
  if (b0 === 0)
    throw new RangeError("Heap.create: maxBytes is too small for the heap's first metadata block");
  ctx.u32[HDR_BASE0_B >>> 2] = b0;
  if (arenaGet(ctx, 0, true) === 0) throw new RangeError("Heap.create: maxBytes is too small for arena 0");
}

/** Reads a buffer's header for attaching; throws a clear error when it is not a heap of this layout. */
export function bootAttach(buffer: unknown, options: HeapAttachOptions, baseB = 0): Derived {
  if (!(buffer instanceof SharedArrayBuffer) && !(buffer instanceof ArrayBuffer)) {
    throw new TypeError(
      `Heap.attach: expected a SharedArrayBuffer or ArrayBuffer, got ${buffer === null ? "null" : typeof buffer}`,
    );
  }
  if (buffer.byteLength - baseB < 4096)
    throw new TypeError(`Heap.attach: a ${buffer.byteLength}-byte buffer is not a jemalloc-ts heap`);
  const i32 = new Int32Array(buffer, baseB, 2);
  const magic = Atomics.load(i32, HDR_MAGIC_B >>> 2) >>> 0;
  if (magic !== HEAP_MAGIC) {
    throw new TypeError(
      `Heap.attach: not a jemalloc-ts heap (magic 0x${magic.toString(16)}, expected 0x${HEAP_MAGIC.toString(16)})`,
    );
  }
  const version = new Uint32Array(buffer, baseB, 2)[1]!;
  if (version !== LAYOUT_VERSION) {
    throw new TypeError(
      `Heap.attach: heap layout version ${version}, but this code reads version ${LAYOUT_VERSION}`,
    );
  }
  attachCheckHeader(buffer, baseB);
  const d = derive(buffer, options.writer, true, baseB);
  // The conf strings must still say what the header recorded at creation.
  const nauto = d.views.u32[HDR_NARENAS_AUTO_B >>> 2]!;
  const huge = d.views.i32[HDR_HUGE_ARENA_B >>> 2]!;
  if (d.conf.narenasAuto !== nauto || (d.conf.hugeArena ? nauto : -1) !== huge) {
    throw new TypeError(
      `Heap.attach: header fields narenasAuto = ${nauto}, hugeArena = ${huge} disagree with the heap's conf strings (narenas ${d.conf.narenasAuto})`,
    );
  }
  return d;
}
