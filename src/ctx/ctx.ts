/**
 * ctx: what one thread's `Heap` object knows about the heap it is attached to — views over the buffer,
 * the size-class tables derived from the header, the resolved options, and where each record sits.
 * Nothing here is heap state: all state is in the buffer; this is derived (and identical in every
 * worker) or private to the thread (its owner tag, its clock reading, its hooks).
 */

import type { ConfResult } from "../conf/conf.js";
import type { OptValues } from "../conf/opt.js";
import type { TickerGeom } from "../decay/index.js";
import type { CorruptionHandler } from "../errors.js";
import type { Views } from "../layout/index.js";
import type { SizeClasses } from "../sizeclass/index.js";
import type { LockContext } from "../sync/index.js";
import type { HeaderLayout } from "./header.js";

/** The options the allocator core consults (resolved from malloc_conf at creation). */
export interface CoreOptions {
  narenas: number;
  dirtyDecayMs: number;
  muzzyDecayMs: number;
  oversizeThreshold: number;
  retain: boolean;
  lgExtentMaxActiveFit: number;
  zeroRealloc: "free" | "alloc" | "abort";
  junkAlloc: boolean;
  junkFree: boolean;
  zero: boolean;
  tcache: boolean;
  tcacheMax: number;
  xmalloc: boolean;
  /** Statistics counters kept (false: as jemalloc built with --disable-stats). */
  stats: boolean;
  /** Forced purges zero-fill the pages (default false: purged pages are only marked not zeroed). */
  zeroOnPurge: boolean;
  /** lg of the bytes between interval dumps (prof_interval), -1 for none (ConfResult.profIntervalLg). */
  profIntervalLg: number;
}

/**
 * Extent hooks (arena.<i>.extent_hooks), as JS functions. Each returns `true` on *failure*, like
 * jemalloc's hooks. Hooks are per thread (functions cannot live in a shared buffer): install them in
 * every worker that uses the arena.
 */
export interface ExtentHooks {
  alloc?: (size: number, alignment: number, zero: boolean, arenaInd: number) => number | null;
  dalloc?: (addr: number, size: number, committed: boolean, arenaInd: number) => boolean;
  destroy?: (addr: number, size: number, committed: boolean, arenaInd: number) => void;
  commit?: (addr: number, size: number, offset: number, length: number, arenaInd: number) => boolean;
  decommit?: (addr: number, size: number, offset: number, length: number, arenaInd: number) => boolean;
  purgeLazy?: (addr: number, size: number, offset: number, length: number, arenaInd: number) => boolean;
  purgeForced?: (addr: number, size: number, offset: number, length: number, arenaInd: number) => boolean;
  split?: (
    addr: number,
    size: number,
    sizeA: number,
    sizeB: number,
    committed: boolean,
    arenaInd: number,
  ) => boolean;
  merge?: (
    addrA: number,
    sizeA: number,
    addrB: number,
    sizeB: number,
    committed: boolean,
    arenaInd: number,
  ) => boolean;
}

/** Byte offsets inside an arena record and its sub-records (computed once from the size classes). */
export interface ArenaLayout {
  arenaBytes: number;
  /** Extent-set bins: page-size classes this address space can hold, plus one. */
  esetNbins: number;
  esetBytes: number;
  ecacheDirtyB: number;
  ecacheMuzzyB: number;
  ecacheRetainedB: number;
  decayDirtyB: number;
  decayMuzzyB: number;
  lstatsB: number;
  nlextentsAddr: number;
  binsB: number;
  binBytes: number;
  /** First bin record index of each size class (shards are consecutive). */
  binFirst: Uint32Array;
  nbinRecords: number;
  /** Offset of the arena fields (src/arena/layout.ts) inside an arena record. */
  arenaFieldsB: number;
}

/**
 * The calls the arena makes into background purge threads. All take the arena's PAC record offset or
 * index, are made without the arena's extent lock held, and never block.
 */
export interface BackgroundHooks {
  /** arena_background_thread_inactivity_check: pages were freed into the dirty cache. */
  inactivityCheck(ctx: HeapCtx, pac: number): void;
  /** arena_maybe_do_deferred_work: an epoch ended with `npagesNew` newly unused pages. */
  maybeDeferredWork(ctx: HeapCtx, pac: number, decayB: number, npagesNew: number): void;
  /** arena_new_create_background_thread: arena `arenaInd` was just created. */
  arenaNew(ctx: HeapCtx, arenaInd: number): void;
}

/** Background hooks that do nothing (a context the background layer has not touched). */
export function backgroundHooksNone(): BackgroundHooks {
  return { inactivityCheck() {}, maybeDeferredWork() {}, arenaNew() {} };
}

/**
 * A heap inside a WebAssembly.Memory (src/wasm): its offset 0 lies inside the memory, and growing the
 * memory replaces the buffer object, so mapping waits until every thread's views cover the new pages.
 */
export interface HeapSpace {
  /** Whether heap offsets [0, end) may be mapped now (the memory and every thread's views cover them). */
  ensure(ctx: HeapCtx, end: number): boolean;
  /**
   * Runs a reclaim on this thread as one of its calls (views caught up with the memory and published),
   * without growing first: it may run from an exit handler, and the map lock may name the dead thread.
   */
  reclaiming?<T>(run: () => T): T;
}

export interface HeapCtx {
  readonly buffer: SharedArrayBuffer | ArrayBuffer;
  /** Set for a heap inside a WebAssembly.Memory (the views then start at its base); else null. */
  space?: HeapSpace | null;
  readonly shared: boolean;
  readonly u8: Uint8Array;
  readonly i32: Int32Array;
  readonly u32: Uint32Array;
  readonly f64: Float64Array;
  readonly dv: DataView;
  readonly sc: SizeClasses;
  readonly page: number;
  readonly lgPage: number;
  readonly hugepage: number;
  readonly hdr: HeaderLayout;
  readonly edataBytes: number;
  readonly arenaLayout: ArenaLayout;
  readonly opt: CoreOptions;
  /** Debug mode (the analog of --enable-debug): junk verification, lock-order witness, debug checks. */
  readonly debug: boolean;
  /** Every opt.* as resolved from malloc_conf (slow paths only). */
  readonly optRaw: OptValues;
  /** This thread's slot and its per-thread record (THREAD_* offsets). */
  slot: number;
  threadB: number;
  /** Owner tag of this thread for lock words. */
  ownerTag: number;
  lockCtx: LockContext;
  /** Current time in nanoseconds on the heap's shared clock. */
  nowNs(): number;
  /** This thread's decay ticker (jemalloc's per-thread ticker_geom) and PRNG state words. */
  readonly ticker: TickerGeom;
  readonly prng: Int32Array;
  /** True while background purge workers serve decay (application threads then never purge). */
  backgroundThreads: boolean;
  /**
   * What the arena calls when it generated deferred work (jemalloc's arena_handle_deferred_work seam).
   * The background layer installs its functions here (src/background/wake.ts); until then they do
   * nothing, so the allocator core never imports the layer above it.
   */
  readonly background: BackgroundHooks;
  /**
   * Test-only failpoint: called with a point's name inside critical sections ("bin.locked",
   * "extent.locked"), so a test can park or kill a thread while it holds a lock. null in production.
   */
  failpoint: ((name: string) => void) | null;
  /** The thread cache geometry (src/tcache), cached on first use. */
  tcacheGeom?: unknown;
  /** The thread's event state (src/ctx/events.ts), set by its init. */
  events?: unknown;
  /** Heap profiling's region (src/prof/layout.ts) once this thread has joined it; 0 when opt.prof is off. */
  profB: number;
  /** Extent hooks installed in this thread, by arena index. */
  readonly hooks: Map<number, ExtentHooks>;
}

/** Everything a thread derives from a heap's header. */
export interface Derived {
  views: Views;
  sc: SizeClasses;
  conf: ConfResult;
  embedded: string;
  env: string | null;
  /** Debug mode, from the header's flags. */
  debug: boolean;
}

/**
 * What the layers above the allocator core (mallctl, stats, background threads, the checker) need of
 * a thread's heap handle. The public `Heap` class implements it; those layers depend on this
 * interface, never on the class, so no import runs back up to the API.
 */
export interface HeapHandle {
  readonly ctx: HeapCtx;
  readonly derived: Derived;
  mallocx(size: number, flags: number): number;
  mallctl(name: string, newValue?: unknown): unknown;
  setCorruptionHandler(handler: CorruptionHandler | null): void;
  /** The thread's allocation hooks (experimental.hooks) were installed or removed: rebind the calls. */
  allocHooksChanged(): void;
}
