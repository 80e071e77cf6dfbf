/**
 * mallctl_c: jemalloc's `int mallctl(const char *name, void *oldp, size_t *oldlenp, void *newp,
 * size_t newlen)` for a wasm32 module. The name is a C string in the module's memory; values are
 * copied in the leaf's C type with wasm32 sizes (bool 1, unsigned/int/size_t/ssize_t 4, uint64_t 8,
 * const char * a 4-byte pointer). As in jemalloc: a read whose *oldlenp differs from the type's size
 * copies what fits, stores that length and returns EINVAL; a write whose newlen differs is EINVAL;
 * errors are the mallctl codes (ENOENT, EPERM, EINVAL, EFAULT, EAGAIN).
 */
import { EFAULT, EINVAL, MallctlError } from "../errors.js";
import { MALLCTL_ROOT } from "../mallctl/index.js";
import { type CType, nodeByMib, resolveName } from "../mallctl/tree.js";
import type { CHeap } from "./c_heap.js";

/** Longest name read (jemalloc's names are far shorter). */
const NAME_MAX_BYTES = 256;
/** Longest string value read from newp. */
const STRING_MAX_BYTES = 4096;

/** The type's size on wasm32, or 0 when it cannot be passed through memory. */
function ctypeBytes(t: CType): number {
  switch (t) {
    case "bool":
      return 1;
    case "unsigned":
    case "uint32_t":
    case "int":
    case "fxp_t":
    case "size_t":
    case "ssize_t":
    case "const char *":
      return 4;
    case "uint64_t":
    case "int64_t":
      return 8;
    default:
      return 0;
  }
}

/** A NUL-terminated string at `p`, or null when none ends inside the memory within `max` bytes. */
function cString(heap: CHeap, p: number, max: number): string | null {
  const u8 = heap.u8;
  const end = Math.min(u8.length, p + max);
  for (let i = p; i < end; i++) if (u8[i] === 0) return new TextDecoder().decode(u8.slice(p, i));
  return null;
}

function readValue(heap: CHeap, t: CType, p: number): unknown {
  const dv = heap.dv;
  switch (t) {
    case "bool":
      return dv.getUint8(p) !== 0;
    case "int":
    case "ssize_t":
      return dv.getInt32(p, true);
    case "uint64_t":
      return dv.getBigUint64(p, true);
    case "int64_t":
      return dv.getBigInt64(p, true);
    case "const char *": {
      const s = dv.getUint32(p, true);
      return s === 0 ? null : cString(heap, s, STRING_MAX_BYTES);
    }
    default:
      return dv.getUint32(p, true);
  }
}

/** The value's bytes in the type's wasm32 representation. */
function encode(heap: CHeap, t: CType, v: unknown): Uint8Array {
  const out = new Uint8Array(ctypeBytes(t));
  const dv = new DataView(out.buffer);
  if (t === "bool") dv.setUint8(0, v ? 1 : 0);
  else if (t === "uint64_t" || t === "int64_t")
    dv.setBigUint64(0, BigInt.asUintN(64, BigInt(v as bigint | number)), true);
  else if (t === "const char *") dv.setUint32(0, typeof v === "string" ? heap.cStringOf(v) : 0, true);
  else dv.setUint32(0, Number(v) >>> 0, true);
  return out;
}

function mallctlErrno(err: unknown): number {
  if (err instanceof MallctlError) return err.errno;
  if (err instanceof RangeError || err instanceof TypeError) return EINVAL;
  throw err;
}

export function mallctlC(
  heap: CHeap,
  nameP: number,
  oldp: number,
  oldlenp: number,
  newp: number,
  newlen: number,
): number {
  const name = nameP === 0 || !heap.inMemory(nameP, 1) ? null : cString(heap, nameP, NAME_MAX_BYTES);
  if (name === null) {
    heap.reportForeign(
      "invalid-pointer",
      "mallctl",
      nameP,
      "name is not a NUL-terminated string in the memory",
    );
    return EFAULT;
  }
  let type: CType;
  let writeType: CType;
  try {
    const node = nodeByMib(MALLCTL_ROOT, resolveName(MALLCTL_ROOT, name, heap), heap);
    if (node.kind !== "leaf") throw new MallctlError("ENOENT", name);
    type = node.type;
    writeType = node.writeType ?? node.type;
  } catch (err) {
    return mallctlErrno(err);
  }
  let newValue: unknown;
  if (newp !== 0) {
    const n = ctypeBytes(writeType);
    if (n === 0 || newlen !== n) return EINVAL;
    if (!heap.inMemory(newp, n)) {
      heap.reportForeign("invalid-pointer", "mallctl", newp, "newp does not point inside the memory");
      return EFAULT;
    }
    newValue = readValue(heap, writeType, newp);
  }
  const wantOld = oldp !== 0 && oldlenp !== 0;
  if (wantOld && (!heap.inMemory(oldlenp, 4) || !heap.inMemory(oldp, 1))) {
    heap.reportForeign(
      "invalid-pointer",
      "mallctl",
      wantOld ? oldp : oldlenp,
      "oldp/oldlenp do not point inside the memory",
    );
    return EFAULT;
  }
  let old: unknown;
  try {
    old = heap.mallctl(name, newValue);
  } catch (err) {
    return mallctlErrno(err);
  }
  if (!wantOld || old === undefined) return 0;
  const bytes = encode(heap, type, old);
  const have = heap.dv.getUint32(oldlenp, true);
  const copy = Math.min(have, bytes.length);
  if (!heap.inMemory(oldp, copy)) {
    heap.reportForeign(
      "invalid-pointer",
      "mallctl",
      oldp,
      "oldp does not point at *oldlenp bytes of the memory",
    );
    return EFAULT;
  }
  heap.u8.set(bytes.subarray(0, copy), oldp);
  if (copy !== bytes.length) {
    heap.dv.setUint32(oldlenp, copy, true);
    return EINVAL;
  }
  return 0;
}
