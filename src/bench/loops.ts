/**
 * loops: the timed loops of the single-heap workloads, written once against BenchAllocator and shared by
 * the in-thread runner and the bench workers. Each polls the cell budget every 64 calls and stops early
 * when it has run out (the caller then reports a "partial" cell).
 *
 * Invariants: handles live in Float64Arrays indexed by slot; a handle of 0 means a failed malloc, which
 * is counted (`failed`) and never freed. Nothing here allocates JS objects per call.
 * Synchronization: none; a state belongs to one thread.
 * Errors: setup loops throw an Error when malloc returns 0 (the workload cannot run).
 */
import { budgetOver } from "./result.js";
import type { BenchAllocator } from "./strategies.js";
import { type ChurnPlan, type FragmentationPlan, RECORD_BYTES } from "./workloads.js";

export function outOfMemory(what: string): Error {
  return new Error(`out of memory during ${what} (malloc returned 0)`);
}

// ---- steady-state churn -----------------------------------------------------------------------------

export interface ChurnState {
  alloc: BenchAllocator;
  plan: ChurnPlan;
  /** Live handles by slot. */
  h: Float64Array;
  /** Ops done so far (index into the cyclic plan). */
  cursor: number;
  batch: number;
  failed: number;
}

export function churnState(alloc: BenchAllocator, plan: ChurnPlan, batch: number): ChurnState {
  return { alloc, plan, h: new Float64Array(plan.initSizes.length), cursor: 0, batch, failed: 0 };
}

/** Allocates the initial live set; returns the calls made (fewer if the budget ran out). */
export function churnSetup(st: ChurnState): number {
  const { alloc, h } = st;
  const sizes = st.plan.initSizes;
  for (let i = 0; i < h.length; i++) {
    if ((i & 63) === 0 && budgetOver()) return i;
    const p = alloc.malloc(sizes[i]!);
    if (p === 0) throw outOfMemory("setup");
    h[i] = p;
  }
  return h.length;
}

/** `ops` churn ops (default: one batch): free a random live block, allocate the next size. Returns calls. */
export function churnStep(st: ChurnState, ops = st.batch): number {
  const { alloc, h, plan } = st;
  const { slots, sizes, mask } = plan;
  let k = st.cursor;
  const end = k + ops;
  for (; k < end; k++) {
    if ((k & 63) === 0 && budgetOver()) break;
    const s = slots[k & mask]!;
    const old = h[s]!;
    if (old !== 0) alloc.free(old);
    const p = alloc.malloc(sizes[k & mask]!);
    if (p === 0) st.failed++;
    h[s] = p;
  }
  const calls = 2 * (k - st.cursor);
  st.cursor = k;
  return calls;
}

/** Frees every live block (workers, before detaching). */
export function churnFreeAll(st: ChurnState): void {
  for (let i = 0; i < st.h.length; i++) {
    if (st.h[i] !== 0) st.alloc.free(st.h[i]!);
    st.h[i] = 0;
  }
}

// ---- records: a FIFO queue of 48-byte records ----------------------------------------------------------

export interface RecordsState {
  alloc: BenchAllocator;
  h: Float64Array;
  /** Slot of the oldest record. */
  next: number;
  /** Records written so far (the record's id). */
  seq: number;
  batch: number;
  /** Records freed, then allocated, in a row. */
  group: number;
  failed: number;
}

export function recordsState(alloc: BenchAllocator, live: number, batch: number, group = 1): RecordsState {
  return { alloc, h: new Float64Array(live), next: 0, seq: 0, batch, group, failed: 0 };
}

export function recordsSetup(st: RecordsState): number {
  const { alloc, h } = st;
  for (let i = 0; i < h.length; i++) {
    if ((i & 63) === 0 && budgetOver()) return i;
    const p = alloc.malloc(RECORD_BYTES);
    if (p === 0) throw outOfMemory("setup");
    alloc.writeRecord(p, i);
    h[i] = p;
  }
  st.seq = h.length;
  return h.length;
}

/**
 * `batch` records, `group` at a time: free the oldest `group` records in a row, then allocate and write
 * `group` new ones in their slots (FIFO). Returns calls.
 */
export function recordsStep(st: RecordsState): number {
  const { alloc, h, group } = st;
  const n = h.length;
  let calls = 0;
  for (let done = 0; done < st.batch; done += group) {
    if (budgetOver()) break;
    const first = st.next;
    for (let j = 0; j < group; j++) {
      const old = h[first + j]!;
      if (old !== 0) alloc.free(old);
    }
    for (let j = 0; j < group; j++) {
      const p = alloc.malloc(RECORD_BYTES);
      if (p === 0) st.failed++;
      else alloc.writeRecord(p, st.seq);
      h[first + j] = p;
      st.seq++;
    }
    calls += 2 * group;
    st.next = first + group === n ? 0 : first + group;
  }
  return calls;
}

// ---- fragmentation: three phases ------------------------------------------------------------------------

export interface FragState {
  alloc: BenchAllocator | null;
  plan: FragmentationPlan;
  small: Float64Array;
  large: Float64Array;
  /** Calls made in the current run. */
  calls: number;
}

export function fragState(plan: FragmentationPlan): FragState {
  return {
    alloc: null,
    plan,
    small: new Float64Array(plan.smallSizes.length),
    large: new Float64Array(plan.largeSizes.length),
    calls: 0,
  };
}

/** Phase 1: allocate every small block. False if the budget ran out. */
export function fragPhase1(st: FragState, a: BenchAllocator): boolean {
  const { small } = st;
  const sizes = st.plan.smallSizes;
  for (let i = 0; i < small.length; i++) {
    if ((i & 63) === 0 && budgetOver()) return false;
    const p = a.malloc(sizes[i]!);
    if (p === 0) throw outOfMemory("fragmentation phase 1");
    small[i] = p;
    st.calls++;
  }
  return true;
}

/** Phase 2: free the chosen 75 % in random order. */
export function fragPhase2(st: FragState, a: BenchAllocator): boolean {
  const { small } = st;
  const order = st.plan.freeOrder;
  for (let i = 0; i < order.length; i++) {
    if ((i & 63) === 0 && budgetOver()) return false;
    a.free(small[order[i]!]!);
    st.calls++;
  }
  return true;
}

/** Phase 3: allocate the 1–4 KiB blocks. */
export function fragPhase3(st: FragState, a: BenchAllocator): boolean {
  const { large } = st;
  const sizes = st.plan.largeSizes;
  for (let i = 0; i < large.length; i++) {
    if ((i & 63) === 0 && budgetOver()) return false;
    const p = a.malloc(sizes[i]!);
    if (p === 0) throw outOfMemory("fragmentation phase 3");
    large[i] = p;
    st.calls++;
  }
  return true;
}

/** All three phases on st.alloc (a fresh allocator). */
export function fragAll(st: FragState): boolean {
  const a = st.alloc!;
  st.calls = 0;
  return fragPhase1(st, a) && fragPhase2(st, a) && fragPhase3(st, a);
}
