// The mallctl tree: jemalloc's ctl_named_node_t / ctl_indexed_node_t as data,
// name → MIB resolution (cached), lookup by MIB, and the call semantics of
// mallctl()/mallctlbymib(); plus the `version`, `config.*` and `opt.*` subtrees.
//
// What it is: a declarative tree. A named node lists its children in order (a
// child's position is its MIB component); an indexed node validates a numeric
// component (`index(ctx, i, mibPrefix)` returns the child, or null → ENOENT); a
// leaf has a C type, an access mode and read/write/run functions over a context
// the caller owns (`Ctx`, e.g. the heap).
//
// Semantics (src/ctl.c ctl_lookup / ctl_lookupbymib / ctl_byname / ctl_bymib):
// - Names are dot-separated; numeric components are parsed like malloc_strtoumax
//   base 10 (leading whitespace and `+` accepted, trailing characters ignored:
//   "arena.0x1" is index 0) and become the MIB component itself.
// - Unknown name, empty component, too many components, a partial path called
//   as a leaf, an index the validator rejects → ENOENT. At most 7 components.
// - A leaf whose `enabled(ctx)` is false → ENOENT (feature not built), checked first.
// - A new value for an "r" leaf or for a void ("-") leaf → EPERM.
// - A new value of the wrong JS type or out of range for the C type → EINVAL.
// - mallctlnametomib may stop at an inner node (returns its MIB prefix).
//
// JS type of each C type (reads return it; writes accept it):
//   bool ↔ boolean; unsigned, uint32_t, int, fxp_t ↔ number (integers in range; a
//   bigint in range is accepted on write); size_t, ssize_t ↔ number (writes accept
//   number or bigint in the C range, the leaf receives a number: exact to 2^53, else
//   the nearest double toward zero); uint64_t, int64_t ↔ bigint (writes accept an
//   integral number or a bigint in range; the leaf receives a bigint);
//   const char * ↔ string (writes also accept null, jemalloc's NULL); void ↔ undefined;
//   opaque (pointers, structs, hook tables) ↔ whatever the leaf documents, unchecked.
//
// Synchronization: none here; leaves take the locks they need.

import { bigintToNumberTowardZero, mallocStrtoumax } from "../conf/conf.js";
import { BUILD_CONFIG, type BuildConfig, featureBuilt, OPT_TABLE, type OptValues } from "../conf/opt.js";
import { CtlLeafFailure, MallctlError } from "../errors.js";

export type CType =
  | "bool"
  | "unsigned"
  | "uint32_t"
  | "int"
  | "fxp_t"
  | "size_t"
  | "ssize_t"
  | "uint64_t"
  | "int64_t"
  | "const char *"
  | "void"
  | "opaque";

/** r: read-only; w: write-only; rw: both; "-": neither (an action, jemalloc's void nodes). */
export type Access = "r" | "w" | "rw" | "-";

/** CTL_MAX_DEPTH. */
export const CTL_MAX_DEPTH = 7;

export interface CtlLeaf<Ctx> {
  readonly kind: "leaf";
  /** C type read (and written, unless writeType says otherwise). */
  readonly type: CType;
  /** C type of written values when it differs (arenas.create: unsigned out, hooks in). */
  readonly writeType?: CType;
  readonly access: Access;
  /** rw leaves: write before reading (epoch, arenas.create); default reads the old value first. */
  readonly writeFirst?: boolean;
  /** false → ENOENT (feature not built, or not applicable now). */
  readonly enabled?: (ctx: Ctx) => boolean;
  readonly read?: (ctx: Ctx, mib: readonly number[]) => unknown;
  /** Receives the checked, normalised value; `undefined` when a "w" leaf is called without one. */
  readonly write?: (ctx: Ctx, mib: readonly number[], value: unknown) => void;
  /** The action of a "-" leaf. */
  readonly run?: (ctx: Ctx, mib: readonly number[]) => void;
}

export interface CtlNamed<Ctx> {
  readonly kind: "named";
  readonly children: readonly CtlChild<Ctx>[];
  readonly byName: ReadonlyMap<string, number>;
}

export interface CtlIndexed<Ctx> {
  readonly kind: "indexed";
  /**
   * The child for index `i`, or null (→ ENOENT). `mibPrefix` holds the components
   * before `i`. Must return structurally the same node for the same index (the
   * name cache relies on it).
   */
  readonly index: (ctx: Ctx, i: number, mibPrefix: readonly number[]) => CtlNode<Ctx> | null;
}

export type CtlNode<Ctx> = CtlLeaf<Ctx> | CtlNamed<Ctx> | CtlIndexed<Ctx>;

export interface CtlChild<Ctx> {
  readonly name: string;
  readonly node: CtlNode<Ctx>;
}

// --- builders -------------------------------------------------------------------------------

/** A named node; children get MIB components 0, 1, 2… in the order given. */
export function named<Ctx>(children: ReadonlyArray<readonly [string, CtlNode<Ctx>]>): CtlNamed<Ctx> {
  const byName = new Map<string, number>();
  const list: CtlChild<Ctx>[] = [];
  for (const [name, node] of children) {
    if (typeof name !== "string" || name.length === 0 || name.includes(".")) {
      throw new TypeError(`mallctl tree: invalid child name ${JSON.stringify(name)}`);
    }
    if (byName.has(name)) throw new TypeError(`mallctl tree: duplicate child name ${JSON.stringify(name)}`);
    byName.set(name, list.length);
    list.push({ name, node });
  }
  if (list.length === 0) throw new TypeError("mallctl tree: a named node needs at least one child");
  return { kind: "named", children: list, byName };
}

/** An indexed node with a validator. */
export function indexed<Ctx>(index: CtlIndexed<Ctx>["index"]): CtlIndexed<Ctx> {
  if (typeof index !== "function") throw new TypeError("mallctl tree: index must be a function");
  return { kind: "indexed", index };
}

/** An indexed node whose valid indices are 0 ≤ i < limit(ctx, mibPrefix), all with the same child. */
export function indexedBelow<Ctx>(
  limit: (ctx: Ctx, mibPrefix: readonly number[]) => number,
  child: CtlNode<Ctx>,
): CtlIndexed<Ctx> {
  return indexed((ctx, i, prefix) => (i < limit(ctx, prefix) ? child : null));
}

const NEEDS: Readonly<Record<Access, ReadonlyArray<"read" | "write" | "run">>> = {
  r: ["read"],
  w: ["write"],
  rw: ["read", "write"],
  "-": ["run"],
};

export type LeafSpec<Ctx> = Omit<CtlLeaf<Ctx>, "kind">;

/** A leaf; checks that the functions its access mode needs are present. */
export function leaf<Ctx>(spec: LeafSpec<Ctx>): CtlLeaf<Ctx> {
  for (const fn of NEEDS[spec.access] ?? []) {
    if (typeof spec[fn] !== "function") {
      throw new TypeError(`mallctl tree: a "${spec.access}" leaf needs ${fn}()`);
    }
  }
  if (spec.access === "-" && spec.type !== "void") {
    throw new TypeError(`mallctl tree: a "-" leaf has C type void, got ${spec.type}`);
  }
  return { kind: "leaf", ...spec };
}

/** A read-only leaf returning a constant. */
export function constLeaf<Ctx>(type: CType, value: unknown): CtlLeaf<Ctx> {
  return leaf<Ctx>({ type, access: "r", read: () => value });
}

// --- name → MIB ---------------------------------------------------------------------------

const SIZE_T_MAX = 0xffffffffffffffffn;

/** Name → MIB of successful full-depth lookups, per root. Bounded; cleared when full. */
const NAME_CACHE = new WeakMap<object, Map<string, readonly number[]>>();
const NAME_CACHE_LIMIT = 4096;

function notFound(target: string | readonly number[], detail: string): MallctlError {
  return new MallctlError("ENOENT", target, detail);
}

/** The numeric component starting at `start` (strtoumax base 10, trailing text ignored), or null. */
function parseIndex(name: string, start: number): number | null {
  const r = mallocStrtoumax(name, start, 10);
  // jemalloc: UINTMAX_MAX (also the error value) or > SIZE_T_MAX → ENOENT. JS numbers
  // hold indices exactly only up to 2^53 − 1; every validator rejects more than that.
  if (r.errno !== 0 || r.value === SIZE_T_MAX || r.value > BigInt(Number.MAX_SAFE_INTEGER)) return null;
  return Number(r.value);
}

interface Lookup<Ctx> {
  node: CtlNode<Ctx>;
  mib: number[];
}

/** ctl_lookup(): walks `name` from `root` for at most `maxDepth` components. */
function lookupName<Ctx>(root: CtlNamed<Ctx>, fullName: string, ctx: Ctx, maxDepth: number): Lookup<Ctx> {
  // A C string ends at its first NUL.
  const nul = fullName.indexOf("\0");
  const name = nul < 0 ? fullName : fullName.slice(0, nul);
  if (name.length === 0 || name.charAt(0) === ".") throw notFound(fullName, "empty name component");
  let node: CtlNode<Ctx> = root;
  const mib: number[] = [];
  let start = 0;
  for (let depth = 0; depth < maxDepth; depth++) {
    const dot = name.indexOf(".", start);
    const end = dot < 0 ? name.length : dot;
    if (node.kind === "named") {
      const component = name.slice(start, end);
      const pos = node.byName.get(component);
      if (pos === undefined) throw notFound(fullName, `no node named ${JSON.stringify(component)}`);
      mib.push(pos);
      node = (node.children[pos] as CtlChild<Ctx>).node;
    } else if (node.kind === "indexed") {
      const i = parseIndex(name, start);
      const child: CtlNode<Ctx> | null = i === null ? null : node.index(ctx, i, mib.slice());
      if (i === null || child === null) {
        throw notFound(fullName, `index ${JSON.stringify(name.slice(start, end))} out of range`);
      }
      mib.push(i);
      node = child;
    } else {
      throw notFound(fullName, "name continues past a leaf");
    }
    if (node.kind === "leaf" || dot < 0) {
      if (dot >= 0) throw notFound(fullName, "name continues past a leaf");
      return { node, mib };
    }
    start = dot + 1;
  }
  return { node, mib };
}

function checkRoot(root: unknown): void {
  if (root === null || typeof root !== "object" || (root as { kind?: unknown }).kind !== "named") {
    throw new TypeError("mallctl: root must be a named node built with named()");
  }
}

function lookupNameCached<Ctx>(root: CtlNamed<Ctx>, name: string, ctx: Ctx): Lookup<Ctx> {
  let cache = NAME_CACHE.get(root);
  const hit = cache?.get(name);
  if (hit !== undefined) return { node: walkMib(root, hit, ctx, name), mib: [...hit] };
  const found = lookupName(root, name, ctx, CTL_MAX_DEPTH);
  if (cache === undefined) {
    cache = new Map();
    NAME_CACHE.set(root, cache);
  }
  if (cache.size >= NAME_CACHE_LIMIT) cache.clear();
  cache.set(name, Object.freeze([...found.mib]));
  return found;
}

/**
 * mallctlnametomib(): the MIB of `name` (positions of named components, the index
 * itself for numeric ones). With `maxLength` < the name's depth, returns the prefix
 * of that length, as jemalloc does when *miblenp is smaller.
 */
export function resolveName<Ctx>(
  root: CtlNamed<Ctx>,
  name: string,
  ctx: Ctx,
  maxLength = CTL_MAX_DEPTH,
): number[] {
  checkRoot(root);
  if (typeof name !== "string") throw new TypeError(`mallctl: name must be a string, got ${typeof name}`);
  if (!Number.isInteger(maxLength) || maxLength < 0) {
    throw new RangeError(`mallctl: MIB length must be a non-negative integer, got ${String(maxLength)}`);
  }
  if (maxLength >= CTL_MAX_DEPTH) return lookupNameCached(root, name, ctx).mib;
  return lookupName(root, name, ctx, maxLength).mib;
}

/** Forgets cached name → MIB resolutions of `root` (after replacing subtrees). */
export function clearNameCache<Ctx>(root: CtlNamed<Ctx>): void {
  NAME_CACHE.delete(root);
}

// --- MIB → node -----------------------------------------------------------------------------

function walkMib<Ctx>(
  root: CtlNamed<Ctx>,
  mib: readonly number[],
  ctx: Ctx,
  target: string | readonly number[],
): CtlNode<Ctx> {
  let node: CtlNode<Ctx> = root;
  for (let depth = 0; depth < mib.length; depth++) {
    const component = mib[depth] as number;
    if (!Number.isSafeInteger(component) || component < 0) {
      throw notFound(target, `MIB component ${String(component)} is not an index`);
    }
    if (node.kind === "named") {
      const child: CtlChild<Ctx> | undefined = node.children[component];
      if (child === undefined) throw notFound(target, `MIB component ${component} out of range`);
      node = child.node;
    } else if (node.kind === "indexed") {
      const child: CtlNode<Ctx> | null = node.index(ctx, component, mib.slice(0, depth));
      if (child === null) throw notFound(target, `index ${component} out of range`);
      node = child;
    } else {
      // jemalloc walks off the leaf (undefined behaviour); we refuse.
      throw notFound(target, "MIB continues past a leaf");
    }
  }
  return node;
}

/** ctl_lookupbymib(): the node a MIB designates (may be an inner node). */
export function nodeByMib<Ctx>(root: CtlNamed<Ctx>, mib: readonly number[], ctx: Ctx): CtlNode<Ctx> {
  checkRoot(root);
  if (!Array.isArray(mib)) throw new TypeError(`mallctl: MIB must be an array of numbers, got ${typeof mib}`);
  return walkMib(root, mib, ctx, mib);
}

// --- values ---------------------------------------------------------------------------------

interface IntRange {
  min: bigint;
  max: bigint;
  out: "number" | "bigint";
}

const INT_RANGES: Partial<Record<CType, IntRange>> = {
  unsigned: { min: 0n, max: 0xffffffffn, out: "number" },
  uint32_t: { min: 0n, max: 0xffffffffn, out: "number" },
  fxp_t: { min: 0n, max: 0xffffffffn, out: "number" },
  int: { min: -(2n ** 31n), max: 2n ** 31n - 1n, out: "number" },
  size_t: { min: 0n, max: 2n ** 64n - 1n, out: "number" },
  ssize_t: { min: -(2n ** 63n), max: 2n ** 63n - 1n, out: "number" },
  uint64_t: { min: 0n, max: 2n ** 64n - 1n, out: "bigint" },
  int64_t: { min: -(2n ** 63n), max: 2n ** 63n - 1n, out: "bigint" },
};

function describeValue(v: unknown): string {
  if (typeof v === "bigint") return `${v}n`;
  if (typeof v === "string") return JSON.stringify(v);
  return String(v);
}

/** Checks a new value against a C type and normalises it (see the table at the top); throws EINVAL. */
export function coerceNewValue(type: CType, value: unknown, target: string | readonly number[]): unknown {
  const bad = (): MallctlError =>
    new MallctlError("EINVAL", target, `value ${describeValue(value)} is not a valid ${type}`);
  if (type === "opaque") return value;
  if (type === "bool") {
    if (typeof value !== "boolean") throw bad();
    return value;
  }
  if (type === "const char *") {
    if (typeof value !== "string" && value !== null) throw bad();
    return value;
  }
  const range = INT_RANGES[type];
  if (range === undefined) throw bad();
  let v: bigint;
  if (typeof value === "bigint") v = value;
  else if (typeof value === "number" && Number.isInteger(value)) v = BigInt(value);
  else throw bad();
  if (v < range.min || v > range.max) throw bad();
  return range.out === "bigint" ? v : bigintToNumberTowardZero(v);
}

// --- calls ----------------------------------------------------------------------------------

/** Runs a leaf; a CtlLeafFailure it throws becomes a MallctlError naming `target`. */
function callLeaf<Ctx>(
  node: CtlLeaf<Ctx>,
  ctx: Ctx,
  mib: readonly number[],
  newValue: unknown,
  target: string | readonly number[],
): unknown {
  try {
    return callLeafRaw(node, ctx, mib, newValue, target);
  } catch (e) {
    if (e instanceof CtlLeafFailure) throw new MallctlError(e.code, target, e.detail);
    throw e;
  }
}

function callLeafRaw<Ctx>(
  node: CtlLeaf<Ctx>,
  ctx: Ctx,
  mib: readonly number[],
  newValue: unknown,
  target: string | readonly number[],
): unknown {
  if (node.enabled !== undefined && !node.enabled(ctx)) throw notFound(target, "not available in this build");
  const writing = newValue !== undefined;
  const access = node.access;
  if (writing && (access === "r" || access === "-")) {
    throw new MallctlError("EPERM", target, access === "r" ? "read-only" : "takes no value");
  }
  const value = writing ? coerceNewValue(node.writeType ?? node.type, newValue, target) : undefined;
  switch (access) {
    case "-":
      node.run?.(ctx, mib);
      return undefined;
    case "r":
      return node.read?.(ctx, mib);
    case "w":
      node.write?.(ctx, mib, value);
      return undefined;
    default: {
      if (!writing) return node.read?.(ctx, mib);
      if (node.writeFirst) {
        node.write?.(ctx, mib, value);
        return node.read?.(ctx, mib);
      }
      const old = node.read?.(ctx, mib);
      node.write?.(ctx, mib, value);
      return old;
    }
  }
}

/**
 * mallctl() / mallctlbymib(): resolves `target` (a name or a MIB), then reads the
 * leaf and/or writes `newValue` (undefined = no write). Returns the value read
 * (the old value for rw leaves unless `writeFirst`), undefined for "w" and "-" leaves.
 * Throws MallctlError with jemalloc's code.
 */
export function mallctlCall<Ctx>(
  root: CtlNamed<Ctx>,
  ctx: Ctx,
  target: string | readonly number[],
  newValue?: unknown,
): unknown {
  checkRoot(root);
  let found: Lookup<Ctx>;
  if (typeof target === "string") {
    found = lookupNameCached(root, target, ctx);
  } else if (Array.isArray(target)) {
    found = { node: walkMib(root, target, ctx, target), mib: [...target] };
  } else {
    throw new TypeError(`mallctl: target must be a name or a MIB array, got ${typeof target}`);
  }
  if (found.node.kind !== "leaf") throw notFound(target, "partial path (not a leaf)");
  return callLeaf(found.node, ctx, found.mib, newValue, target);
}

// --- version, config.*, opt.* ----------------------------------------------------------------

/**
 * jemalloc's version format is `<x.y.z>-<ncommits>-g<sha>`; ours keeps the
 * implemented version and the `-0-` and names the port instead of a commit.
 */
export const JEMALLOC_TS_VERSION = "0.1.0";
export const VERSION = `5.3.0-0-jemalloc-ts-${JEMALLOC_TS_VERSION}`;

export function versionLeaf<Ctx>(): CtlLeaf<Ctx> {
  return constLeaf<Ctx>("const char *", VERSION);
}

/** The names of config.* in jemalloc's config_node[] order. */
export const CONFIG_LEAF_NAMES = [
  "cache_oblivious",
  "debug",
  "fill",
  "lazy_lock",
  "malloc_conf",
  "opt_safety_checks",
  "prof",
  "prof_libgcc",
  "prof_libunwind",
  "stats",
  "utrace",
  "xmalloc",
] as const;

/**
 * The config.* subtree: build flags from `config` (default BUILD_CONFIG), and
 * config.malloc_conf = the string embedded at heap creation; config.debug from `getDebug` when given
 * (debug mode is chosen per heap at creation, not at build time).
 */
export function configSubtree<Ctx>(
  getEmbeddedConf: (ctx: Ctx) => string,
  config: Readonly<BuildConfig> = BUILD_CONFIG,
  getDebug?: (ctx: Ctx) => boolean,
): CtlNamed<Ctx> {
  return named<Ctx>(
    CONFIG_LEAF_NAMES.map((name) =>
      name === "malloc_conf"
        ? [name, leaf<Ctx>({ type: "const char *", access: "r", read: (ctx) => getEmbeddedConf(ctx) })]
        : name === "debug" && getDebug !== undefined
          ? [name, leaf<Ctx>({ type: "bool", access: "r", read: (ctx) => getDebug(ctx) })]
          : [name, constLeaf<Ctx>("bool", config[name])],
    ),
  );
}

/**
 * The opt.* subtree: one read-only leaf per OPT_TABLE entry, in jemalloc's order,
 * typed as in the table; options of features not built answer ENOENT.
 */
export function buildOptSubtree<Ctx>(getOpt: (ctx: Ctx) => OptValues): CtlNamed<Ctx> {
  return named<Ctx>(
    OPT_TABLE.map((spec) => {
      const built = featureBuilt(spec.feature);
      const node = leaf<Ctx>({
        type: spec.ctype,
        access: "r",
        ...(built ? {} : { enabled: () => false }),
        read: (ctx) => getOpt(ctx)[spec.name],
      });
      return [spec.name, node] as const;
    }),
  );
}
