/**
 * ph: a pairing heap of extent records ordered by (sn, addr), over the records' own link words — the
 * structure jemalloc uses for extent-set bins and a bin's non-full slabs. Only the minimum matters to
 * callers, and (sn, addr) keys are unique, so any correct heap chooses exactly what jemalloc chooses.
 *
 * Links (edata words): PH_PARENT = parent for a first child, previous sibling otherwise; PH_NEXT = next
 * sibling; PH_CHILD = first child. The heap's root lives in one u32 word (`rootW`, a word index).
 * Synchronization: the caller holds the lock that protects the heap.
 */
import { metadataCorrupt } from "../errors.js";
import { EDATA_W_ADDR, EDATA_W_PH_CHILD, EDATA_W_PH_NEXT, EDATA_W_PH_PARENT, EDATA_W_SN } from "./edata.js";

function parentOf(u32: Uint32Array, e: number): number {
  return u32[(e >>> 2) + EDATA_W_PH_PARENT]!;
}
function nextOf(u32: Uint32Array, e: number): number {
  return u32[(e >>> 2) + EDATA_W_PH_NEXT]!;
}
function childOf(u32: Uint32Array, e: number): number {
  return u32[(e >>> 2) + EDATA_W_PH_CHILD]!;
}
function setParent(u32: Uint32Array, e: number, v: number): void {
  u32[(e >>> 2) + EDATA_W_PH_PARENT] = v;
}
function setNext(u32: Uint32Array, e: number, v: number): void {
  u32[(e >>> 2) + EDATA_W_PH_NEXT] = v;
}
function setChild(u32: Uint32Array, e: number, v: number): void {
  u32[(e >>> 2) + EDATA_W_PH_CHILD] = v;
}

/**
 * Melds two detached roots (parent = next = 0); returns the new root. Runs on every insert and in
 * every pairing pass: the (sn, addr) comparison and the links are written out here rather than called.
 */
function meld(u32: Uint32Array, a: number, b: number): number {
  const sa = u32[(a >>> 2) + EDATA_W_SN]!;
  const sb = u32[(b >>> 2) + EDATA_W_SN]!;
  if (sa > sb || (sa === sb && u32[(a >>> 2) + EDATA_W_ADDR]! > u32[(b >>> 2) + EDATA_W_ADDR]!)) {
    const t = a;
    a = b;
    b = t;
  }
  const wa = a >>> 2;
  const wb = b >>> 2;
  const c = u32[wa + EDATA_W_PH_CHILD]!;
  u32[wb + EDATA_W_PH_NEXT] = c;
  if (c !== 0) u32[(c >>> 2) + EDATA_W_PH_PARENT] = b;
  u32[wb + EDATA_W_PH_PARENT] = a;
  u32[wa + EDATA_W_PH_CHILD] = b;
  return a;
}

/** Most records the buffer can hold (a record is ≥ 16 words): bounds every walk over links. */
function maxRecords(u32: Uint32Array): number {
  return (u32.length >>> 4) + 1;
}

/** Two-pass pairing of a sibling list starting at `first`; returns one detached root (or 0). */
function mergePairs(u32: Uint32Array, first: number): number {
  if (first === 0) return 0;
  let list = 0;
  let a = first;
  const bound = maxRecords(u32);
  let steps = 0;
  while (a !== 0) {
    if (++steps > bound) throw metadataCorrupt("pairing heap sibling list is longer than the heap can hold");
    const b = nextOf(u32, a);
    setParent(u32, a, 0);
    if (b === 0) {
      setNext(u32, a, list);
      list = a;
      break;
    }
    const c = nextOf(u32, b);
    setNext(u32, a, 0);
    setNext(u32, b, 0);
    setParent(u32, b, 0);
    const m = meld(u32, a, b);
    setNext(u32, m, list);
    list = m;
    a = c;
  }
  let r = list;
  let n = nextOf(u32, r);
  setNext(u32, r, 0);
  while (n !== 0) {
    if (++steps > 2 * bound)
      throw metadataCorrupt("pairing heap sibling list is longer than the heap can hold");
    const nn = nextOf(u32, n);
    setNext(u32, n, 0);
    r = meld(u32, r, n);
    n = nn;
  }
  setParent(u32, r, 0);
  return r;
}

export function phFirst(u32: Uint32Array, rootW: number): number {
  return u32[rootW]!;
}

export function phEmpty(u32: Uint32Array, rootW: number): boolean {
  return u32[rootW] === 0;
}

export function phInsert(u32: Uint32Array, rootW: number, e: number): void {
  setParent(u32, e, 0);
  setNext(u32, e, 0);
  setChild(u32, e, 0);
  const root = u32[rootW]!;
  u32[rootW] = root === 0 ? e : meld(u32, root, e);
}

export function phRemoveFirst(u32: Uint32Array, rootW: number): number {
  const root = u32[rootW]!;
  if (root === 0) return 0;
  u32[rootW] = mergePairs(u32, childOf(u32, root));
  setChild(u32, root, 0);
  return root;
}

export function phRemove(u32: Uint32Array, rootW: number, e: number): void {
  const root = u32[rootW]!;
  if (root === e) {
    phRemoveFirst(u32, rootW);
    return;
  }
  const p = parentOf(u32, e);
  const n = nextOf(u32, e);
  if (childOf(u32, p) === e) setChild(u32, p, n);
  else setNext(u32, p, n);
  if (n !== 0) setParent(u32, n, p);
  const sub = mergePairs(u32, childOf(u32, e));
  setParent(u32, e, 0);
  setNext(u32, e, 0);
  setChild(u32, e, 0);
  if (sub !== 0) u32[rootW] = meld(u32, u32[rootW]!, sub);
}

/** Visits every member (slow path: checker and reset). Bounded by `limit` visits. */
export function phForEach(u32: Uint32Array, rootW: number, limit: number, fn: (e: number) => void): number {
  const stack: number[] = [];
  let visited = 0;
  limit = Math.min(limit, maxRecords(u32));
  const root = u32[rootW]!;
  if (root !== 0) stack.push(root);
  while (stack.length > 0) {
    const e = stack.pop()!;
    if (++visited > limit)
      throw metadataCorrupt(`pairing heap walk exceeded ${limit} nodes: links are corrupt`);
    fn(e);
    const c = childOf(u32, e);
    const n = nextOf(u32, e);
    if (c !== 0) stack.push(c);
    if (n !== 0 && e !== root) stack.push(n);
  }
  return visited;
}
