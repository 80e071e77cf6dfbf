// malloc_conf: jemalloc 5.3's option-string parser, its messages, and the boot
// steps that decide what `opt.*` finally reads.
//
// What it is: `parseMallocConf(sources, options)` reproduces malloc_conf_init()
// of src/jemalloc.c: sources are read in order (later settings win), the whole
// list is parsed twice (the first pass only reads `confirm_conf`, so structural
// messages appear twice), every pair goes through the handler of its key, and
// after each source of the second pass `abort_conf:true` with an error aborts.
// Then the boot steps that rewrite options run (no THP → opt.thp "not supported",
// no HPA → hpa off, no getcpu → percpu_arena off, narenas defaulted and limited,
// oversize_threshold outside the large range → 0, max_background_threads unset → 4).
//
// Messages go through `writer` one message per call, byte-for-byte as jemalloc
// prints them (`<jemalloc>: ` prefix, `\n` end — except the HPA notice, which has
// no newline in 5.3 either). abort() is a thrown MallocConfAbortError.
//
// Invariants: no state outside the returned ConfResult; integers are parsed
// with a port of malloc_strtoumax (base 0, uint64 wrap-around and its overflow
// check, leading whitespace and sign accepted) and must consume the whole value.
//
// Synchronization: none; runs once when a heap is created, before it is shared.
// Error convention: bad option *strings* are reported (never thrown), exactly as
// jemalloc reports them; bad *arguments* (ncpus, lgPage, sources) throw
// RangeError/TypeError naming the value; abort() is MallocConfAbortError.

import { MallocConfAbortError } from "../errors.js";
import {
  BIN_SHARDS_MAX,
  CONF_EXTRA_KEYS,
  DEFAULT_NUM_BACKGROUND_THREAD,
  DSS_PREC_NAMES,
  featureBuilt,
  initialOptValues,
  LARGE_MAXCLASS_N,
  MALLOCX_ARENA_LIMIT,
  MAX_BACKGROUND_THREAD_LIMIT,
  METADATA_THP_MODE_NAMES,
  NARENAS_RATIO_DEFAULT_FXP,
  OPT_TABLE,
  type OptBound,
  type OptCType,
  type OptEnv,
  type OptParser,
  type OptValues,
  optSpec,
  PERCPU_ARENA_MODE_NAMES,
  PLATFORM_SUPPORT,
  resolveBound,
  STATS_PRINT_OPTION_CHARS,
  TCACHE_LG_MAXCLASS_LIMIT,
  THP_MODE_NAMES,
  THP_MODE_NOT_SUPPORTED,
  UINT64_MAX_N,
} from "./opt.js";

export { MallocConfAbortError } from "../errors.js";

/** One malloc_conf source; `text: null` = "no configuration specified". */
export interface ConfSource {
  /** Printed by confirm_conf: `malloc_conf #N (<label>): "<text>"`. */
  label: string;
  text: string | null;
}

export interface ConfOptions {
  /** CPUs, for the narenas default (4 × ncpus when ncpus > 1, else 1). */
  ncpus: number;
  /** log2 of the page size (12 = 4 KiB). Default 12. */
  lgPage?: number;
  /** log2 of the huge page size (21 = 2 MiB). Default 21. */
  lgHugepage?: number;
  /** Receives each message; default writes to stderr. */
  writer?: (msg: string) => void;
}

/** A `slab_sizes` segment: size classes in [start, end] get `pages` (the C `(int)` cast applied). */
export interface SlabSizeSetting {
  start: number;
  end: number;
  pages: number;
}

/** A `bin_shards` segment: size classes in [start, end] get `nshards` (1..64). */
export interface BinShardSetting {
  start: number;
  end: number;
  nshards: number;
}

export interface ConfResult {
  /** Every opt.* value as read after boot. */
  opt: OptValues;
  /** Number of errors that count for abort_conf (experimental_ keys do not count). */
  errors: number;
  /** jemalloc's had_conf_error: also set by structural errors of the first pass. */
  hadConfError: boolean;
  /** Every message written, in order. */
  messages: string[];
  /** Automatic arenas after defaulting and the MALLOCX_ARENA_LIMIT cap. */
  narenasAuto: number;
  /** Whether an arena index is reserved for huge (≥ oversize_threshold) requests. */
  hugeArena: boolean;
  /** Threshold used by allocation: opt value, or LARGE_MAXCLASS + PAGE when the huge arena is off. */
  oversizeThresholdEffective: number;
  /** narenas_ratio as 16.16 fixed point (default 4.0 = 262144). */
  narenasRatio: number;
  /** slab_sizes segments in order (reset by `slab_sizes:default`). */
  slabSizes: SlabSizeSetting[];
  /** bin_shards segments in order. */
  binShards: BinShardSetting[];
  sanGuardSmall: number;
  sanGuardLarge: number;
  /** opt_prof_unbias: dumps report counts unbiased as jemalloc 5.3 does (default true). */
  profUnbias: boolean;
}

/** Labels of this port's two sources (jemalloc's texts for the sources they stand for). */
export const CONF_SOURCE_LABEL_EMBEDDED = "string specified via --with-malloc-conf";
export const CONF_ENV_VAR = "JEMALLOC_TS_MALLOC_CONF";
export const CONF_SOURCE_LABEL_ENV = `value of the environment variable ${CONF_ENV_VAR}`;

/** The sources in jemalloc's order: the embedded string (config.malloc_conf), then the environment. */
export function mallocConfSources(embedded: string, env: string | null | undefined): ConfSource[] {
  return [
    { label: CONF_SOURCE_LABEL_EMBEDDED, text: embedded },
    { label: CONF_SOURCE_LABEL_ENV, text: env ?? null },
  ];
}

/** JEMALLOC_TS_MALLOC_CONF under Node, null elsewhere or when unset. */
export function readMallocConfEnv(): string | null {
  const proc = (globalThis as { process?: { env?: Record<string, string | undefined> } }).process;
  return proc?.env?.[CONF_ENV_VAR] ?? null;
}

function defaultWriter(msg: string): void {
  const proc = (globalThis as { process?: { stderr?: { write(s: string): unknown } } }).process;
  if (proc?.stderr) proc.stderr.write(msg);
  else console.error(msg.endsWith("\n") ? msg.slice(0, -1) : msg);
}

// --- malloc_strtoumax and fxp_parse ports ------------------------------------------------

export const ERRNO_EINVAL = 22;
export const ERRNO_ERANGE = 34;

export interface StrtoumaxResult {
  /** uintmax_t result (0..2^64−1). */
  value: bigint;
  /** Index just past the digits, or `start` when nothing was converted. */
  end: number;
  errno: 0 | typeof ERRNO_EINVAL | typeof ERRNO_ERANGE;
}

function digitValue(code: number): number {
  if (code >= 48 && code <= 57) return code - 48;
  if (code >= 65 && code <= 90) return code - 55;
  if (code >= 97 && code <= 122) return code - 87;
  return 99;
}

function isOctalDigit(c: string): boolean {
  return c >= "0" && c <= "7" && c.length === 1;
}

function isHexDigit(c: string): boolean {
  return c.length === 1 && /[0-9A-Fa-f]/.test(c);
}

/**
 * jemalloc's malloc_strtoumax on `s` from `start` (the end of `s` acts as NUL).
 * Base 0 picks 8 for a leading 0 followed by an octal digit, 16 for 0x + hex digit;
 * "0" followed by anything else is 0. Negative values wrap modulo 2^64.
 */
export function mallocStrtoumax(s: string, start: number, base: number): StrtoumaxResult {
  let p = start;
  let neg = false;
  while (" \t\n\v\f\r".includes(s.charAt(p)) && s.charAt(p) !== "") p++;
  if (s.charAt(p) === "-") {
    neg = true;
    p++;
  } else if (s.charAt(p) === "+") {
    p++;
  }
  const ns = p;
  let b = base;
  if (s.charAt(p) === "0") {
    const c1 = s.charAt(p + 1);
    if (isOctalDigit(c1)) {
      if (b === 0) b = 8;
      if (b === 8) p++;
    } else if (c1 === "x" || c1 === "X") {
      if (isHexDigit(s.charAt(p + 2))) {
        if (b === 0) b = 16;
        if (b === 16) p += 2;
      }
    } else {
      return { value: 0n, end: p + 1, errno: 0 };
    }
  }
  if (b === 0) b = 10;
  const bigB = BigInt(b);
  let ret = 0n;
  for (; p < s.length; p++) {
    const digit = digitValue(s.charCodeAt(p));
    if (digit >= b) break;
    const pret = ret;
    ret = BigInt.asUintN(64, ret * bigB + BigInt(digit));
    // jemalloc's overflow check (ret < pret) — it misses some wraps, and so do we.
    if (ret < pret) return { value: UINT64_MAX_N, end: p, errno: ERRNO_ERANGE };
  }
  if (neg) ret = BigInt.asUintN(64, -ret);
  if (p === ns) return { value: UINT64_MAX_N, end: start, errno: ERRNO_EINVAL };
  return { value: ret, end: p, errno: 0 };
}

export interface FxpParseResult {
  /** false on success. */
  err: boolean;
  /** 16.16 fixed point raw bits (valid when !err). */
  value: number;
  end: number;
}

const FXP_FRACTIONAL_PART_DIGITS = 14;

function isDigit(c: string): boolean {
  return c.length === 1 && c >= "0" && c <= "9";
}

/** jemalloc's fxp_parse: digits, optionally `.digits`; integer part < 65536. */
export function fxpParse(s: string, start: number): FxpParseResult {
  let cur = start;
  if (s.charAt(cur) !== "." && !isDigit(s.charAt(cur))) return { err: true, value: 0, end: start };
  let integer = 0;
  while (isDigit(s.charAt(cur))) {
    integer = integer * 10 + (s.charCodeAt(cur) - 48);
    if (integer >= 1 << 16) return { err: true, value: 0, end: start };
    cur++;
  }
  if (s.charAt(cur) !== ".") return { err: false, value: integer * 65536, end: cur };
  cur++;
  if (!isDigit(s.charAt(cur))) return { err: true, value: 0, end: start };
  let frac = 0n;
  let div = 1n;
  for (let i = 0; i < FXP_FRACTIONAL_PART_DIGITS; i++) {
    frac *= 10n;
    div *= 10n;
    if (isDigit(s.charAt(cur))) {
      frac += BigInt(s.charCodeAt(cur) - 48);
      cur++;
    }
  }
  while (isDigit(s.charAt(cur))) cur++;
  const fracRepr = Number((frac << 16n) / div);
  return { err: false, value: integer * 65536 + fracRepr, end: cur };
}

/** fxp_mul_frac(x, frac): x × frac for frac ≤ 1.0. */
function fxpMulFrac(x: bigint, frac: number): bigint {
  const f = BigInt(frac);
  return x < 1n << 48n ? (x * f) >> 16n : (x >> 16n) * f;
}

/** malloc_narenas_default(): round(ncpus × ratio) in 16.16 fixed point, at least 1. */
export function narenasDefault(ncpus: number, ratioFxp: number = NARENAS_RATIO_DEFAULT_FXP): number {
  if (ncpus <= 1) return 1;
  const fxpNcpus = BigInt.asUintN(32, BigInt(ncpus) << 16n);
  const goal = Number(BigInt.asUintN(32, (fxpNcpus * BigInt(ratioFxp)) >> 16n));
  const rounded = Math.floor(goal / 65536) + ((goal & 0xffff) >= 0x8000 ? 1 : 0);
  return rounded === 0 ? 1 : rounded;
}

// --- conversions of parsed integers to stored JS values ---------------------------------

const F64 = new Float64Array(1);
const U64 = new BigUint64Array(F64.buffer);

/** The double nearest to v that is not farther from zero than v (exact when |v| ≤ 2^53). */
export function bigintToNumberTowardZero(v: bigint): number {
  let n = Number(v);
  if (BigInt(n) === v || n === 0) return n;
  const tooFar = v > 0n ? BigInt(n) > v : BigInt(n) < v;
  if (tooFar) {
    F64[0] = n;
    U64[0] = (U64[0] ?? 0n) - 1n;
    n = F64[0] ?? n;
  }
  return n;
}

/** Casts a parsed uintmax/intmax to the C type and then to its JS representation. */
function storeAs(ctype: OptCType, v: bigint): number | bigint {
  switch (ctype) {
    case "unsigned":
    case "fxp_t":
      return Number(BigInt.asUintN(32, v));
    case "size_t":
      return bigintToNumberTowardZero(BigInt.asUintN(64, v));
    case "ssize_t":
      return bigintToNumberTowardZero(BigInt.asIntN(64, v));
    case "uint64_t":
      return BigInt.asUintN(64, v);
    case "int64_t":
      return BigInt.asIntN(64, v);
    default:
      throw new TypeError(`malloc_conf: C type ${ctype} is not an integer type`);
  }
}

// --- the parser ---------------------------------------------------------------------------

interface ConfPair {
  text: string;
  key: string;
  value: string;
  /** Index of the value in `text` (numbers are parsed in place, as jemalloc does). */
  vStart: number;
}

type PairHandler = (pair: ConfPair) => void;

const ERR_INVALID_VALUE = "Invalid conf value";
/** opt_prof_prefix is a PATH_MAX + 1 buffer. */
const PROF_PREFIX_MAX = 4095;
const ERR_OUT_OF_RANGE = "Out-of-range conf value";
const ERR_INVALID_PAIR = "Invalid conf pair";
const MSG_ABORT_CONF = "<jemalloc>: Abort (abort_conf:true) on invalid conf value (see above).\n";

function isKeyChar(code: number): boolean {
  return (
    (code >= 65 && code <= 90) || (code >= 97 && code <= 122) || (code >= 48 && code <= 57) || code === 95
  );
}

/** `v` is a prefix of `name` (jemalloc's strncmp(name, v, vlen) == 0). */
function isPrefixOf(v: string, name: string): boolean {
  return v.length <= name.length && name.startsWith(v);
}

function validateOptions(options: ConfOptions): OptEnv {
  const { ncpus } = options;
  if (!Number.isSafeInteger(ncpus) || ncpus < 1) {
    throw new RangeError(`malloc_conf: ncpus must be a positive integer, got ${String(ncpus)}`);
  }
  const lgPage = options.lgPage ?? 12;
  if (!Number.isInteger(lgPage) || lgPage < 12 || lgPage > 16) {
    throw new RangeError(`malloc_conf: lgPage must be an integer in [12, 16], got ${String(lgPage)}`);
  }
  const lgHugepage = options.lgHugepage ?? 21;
  if (!Number.isInteger(lgHugepage) || lgHugepage < lgPage || lgHugepage > 30) {
    throw new RangeError(
      `malloc_conf: lgHugepage must be an integer in [lgPage, 30], got ${String(lgHugepage)}`,
    );
  }
  if (options.writer !== undefined && typeof options.writer !== "function") {
    throw new TypeError(`malloc_conf: writer must be a function, got ${typeof options.writer}`);
  }
  return { ncpus, lgPage, lgHugepage };
}

function validateSources(sources: readonly ConfSource[]): void {
  if (!Array.isArray(sources))
    throw new TypeError(`malloc_conf: sources must be an array, got ${typeof sources}`);
  for (const [i, src] of sources.entries()) {
    if (src === null || typeof src !== "object" || typeof src.label !== "string") {
      throw new TypeError(`malloc_conf: source #${i + 1} must be { label: string, text: string | null }`);
    }
    if (src.text !== null && typeof src.text !== "string") {
      throw new TypeError(
        `malloc_conf: source #${i + 1} text must be a string or null, got ${typeof src.text}`,
      );
    }
  }
}

/** A C string ends at its first NUL. */
function cString(text: string | null): string | null {
  if (text === null) return null;
  const nul = text.indexOf("\0");
  return nul < 0 ? text : text.slice(0, nul);
}

class MallocConfParser {
  readonly opt: OptValues;
  readonly messages: string[] = [];
  errors = 0;
  hadConfError = false;
  narenasRatio = NARENAS_RATIO_DEFAULT_FXP;
  slabSizes: SlabSizeSetting[] = [];
  readonly binShards: BinShardSetting[] = [];
  sanGuardSmall = 0;
  sanGuardLarge = 0;
  /** opt_prof_unbias (undocumented key, default true). */
  profUnbias = true;
  /** Pass 1 (initial_call): only confirm_conf is read, errors are silent. */
  private initial = true;
  /** cur_opt_valid of the pair being handled. */
  private pairValid = true;
  private readonly handlers = new Map<string, PairHandler>();

  constructor(
    readonly env: OptEnv,
    private readonly writer: (msg: string) => void,
  ) {
    this.opt = initialOptValues(env);
    this.registerHandlers();
  }

  private get optRecord(): Record<string, unknown> {
    return this.opt as unknown as Record<string, unknown>;
  }

  write(msg: string): void {
    this.messages.push(msg);
    this.writer(msg);
  }

  abort(reason: "abort" | "abort_conf"): never {
    throw new MallocConfAbortError(reason, this.messages);
  }

  abortInvalidConf(): never {
    this.write(MSG_ABORT_CONF);
    this.abort("abort_conf");
  }

  // -- passes and pairs --

  run(sources: readonly ConfSource[]): void {
    for (const initial of [true, false]) {
      this.initial = initial;
      for (const [i, src] of sources.entries()) {
        const text = cString(src.text);
        if (!initial && this.opt.confirm_conf) {
          this.write(`<jemalloc>: malloc_conf #${i + 1} (${src.label}): "${text ?? ""}"\n`);
        }
        if (text !== null) this.parseSource(text);
        if (this.opt.abort_conf && this.hadConfError) this.abortInvalidConf();
      }
    }
  }

  private parseSource(text: string): void {
    let pos = 0;
    while (pos < text.length) {
      const pair = this.nextPair(text, pos);
      if (pair === null) return;
      pos = pair.next;
      this.handlePair(pair.pair);
    }
  }

  private structuralError(what: string): void {
    this.write(`<jemalloc>: ${what}\n`);
    this.hadConfError = true;
    if (!this.initial) this.errors++;
  }

  /** malloc_conf_next(): one `key:value` from `pos`, or null when parsing of this source stops. */
  private nextPair(text: string, pos: number): { pair: ConfPair; next: number } | null {
    let p = pos;
    while (isKeyChar(text.charCodeAt(p))) p++;
    if (p >= text.length) {
      if (p !== pos) this.structuralError("Conf string ends with key");
      return null;
    }
    if (text.charAt(p) !== ":") {
      this.structuralError("Malformed conf string");
      return null;
    }
    const key = text.slice(pos, p);
    const vStart = p + 1;
    const comma = text.indexOf(",", vStart);
    const vEnd = comma < 0 ? text.length : comma;
    const next = comma < 0 ? text.length : comma + 1;
    if (comma >= 0 && next >= text.length) this.structuralError("Conf string ends with comma");
    return { pair: { text, key, value: text.slice(vStart, vEnd), vStart }, next };
  }

  private error(msg: string, pair: ConfPair): void {
    if (this.initial) return;
    this.write(`<jemalloc>: ${msg}: ${pair.key}:${pair.value}\n`);
    this.pairValid = false;
    // Experimental keys are reported but tolerated.
    if (pair.key.startsWith("experimental_")) return;
    this.hadConfError = true;
    this.errors++;
  }

  private confirm(pair: ConfPair): void {
    if (!this.initial && this.opt.confirm_conf && this.pairValid) {
      this.write(`<jemalloc>: -- Set conf value: ${pair.key}:${pair.value}\n`);
    }
  }

  private handlePair(pair: ConfPair): void {
    this.pairValid = true;
    if (pair.key === "confirm_conf") {
      this.handleBool(pair, "confirm_conf");
      this.confirm(pair);
      return;
    }
    if (this.initial) return;
    const handler = this.lookupHandler(pair.key);
    if (handler === undefined) {
      this.error(ERR_INVALID_PAIR, pair);
      return;
    }
    handler(pair);
    this.confirm(pair);
  }

  /**
   * Exact keys first; then jemalloc's prefix-matched keys (strncmp(name, k, klen)),
   * so `m`, `meta` or even an empty key select metadata_thp, `d` selects dss and
   * `p`/`per` select percpu_arena. No exact key is a prefix of those names, so
   * checking them last gives jemalloc's handler order.
   */
  private lookupHandler(key: string): PairHandler | undefined {
    const exact = this.handlers.get(key);
    if (exact !== undefined) return exact;
    if (isPrefixOf(key, "metadata_thp")) return (pair) => this.handleMetadataThp(pair);
    if (isPrefixOf(key, "dss")) return (pair) => this.handleDss(pair);
    if (isPrefixOf(key, "percpu_arena")) return (pair) => this.handlePercpuArena(pair);
    return undefined;
  }

  // -- handler registry --

  private registerHandlers(): void {
    for (const spec of OPT_TABLE) {
      if (!featureBuilt(spec.feature)) continue;
      const handler = this.genericHandler(spec.parser, spec.name, spec.ctype);
      if (handler !== undefined) this.handlers.set(spec.name, handler);
    }
    for (const extra of CONF_EXTRA_KEYS) {
      if (!featureBuilt(extra.feature)) continue;
      const handler = this.genericHandler(extra.parser, extra.key, "size_t");
      if (handler !== undefined) this.handlers.set(extra.key, handler);
    }
    const customs: Record<string, PairHandler> = {
      narenas: (p) => this.handleNarenas(p),
      narenas_ratio: (p) => this.handleNarenasRatio(p),
      bin_shards: (p) => this.handleBinShards(p),
      slab_sizes: (p) => this.handleSlabSizes(p),
      stats_print_opts: (p) => this.handleStatsOpts(p, "stats_print_opts"),
      stats_interval_opts: (p) => this.handleStatsOpts(p, "stats_interval_opts"),
      lg_tcache_max: (p) => this.handleLgTcacheMax(p),
      thp: (p) => this.handleThp(p),
      hpa_hugification_threshold_ratio: (p) => this.handleHugificationRatio(p),
      hpa_dirty_mult: (p) => this.handleHpaDirtyMult(p),
      // CONF_HANDLE_CHAR_P: the raw value, truncated to the buffer (PATH_MAX - 1).
      prof_prefix: (p) => this.store("prof_prefix", p.value.slice(0, PROF_PREFIX_MAX)),
      prof_time_resolution: (p) => this.handleProfTimeRes(p),
    };
    for (const [key, handler] of Object.entries(customs)) this.handlers.set(key, handler);
    // A built key without a handler would silently become "Invalid conf pair".
    const prefixKeys = ["metadata_thp", "dss", "percpu_arena"];
    for (const key of [...OPT_TABLE.map((o) => o.name), ...CONF_EXTRA_KEYS.map((e) => e.key)]) {
      const spec = optSpec(key) ?? CONF_EXTRA_KEYS.find((e) => e.key === key);
      const needsHandler = featureBuilt(spec?.feature) && spec?.parser.kind !== "none";
      if (needsHandler && !this.handlers.has(key) && !prefixKeys.includes(key)) {
        throw new Error(`malloc_conf: no handler for built key ${key}`);
      }
    }
  }

  private genericHandler(parser: OptParser, name: string, ctype: OptCType): PairHandler | undefined {
    switch (parser.kind) {
      case "bool":
        return (p) => this.handleBool(p, name);
      case "enum":
        return (p) => this.handleEnum(p, name, parser.values);
      case "unsigned":
      case "signed":
        return (p) => this.handleInteger(p, name, ctype, parser);
      default:
        return undefined;
    }
  }

  private store(name: string, value: unknown): void {
    switch (name) {
      case "san_guard_small":
        this.sanGuardSmall = value as number;
        return;
      case "san_guard_large":
        this.sanGuardLarge = value as number;
        return;
      case "prof_log":
        return; // accepted; logging starts only with prof.log_start here
      case "prof_unbias":
        this.profUnbias = value as boolean;
        return;
      default:
        this.optRecord[name] = value;
    }
  }

  // -- generic handlers (CONF_HANDLE_BOOL / _T / enum) --

  private handleBool(pair: ConfPair, name: string): void {
    if (pair.value === "true") this.store(name, true);
    else if (pair.value === "false") this.store(name, false);
    else this.error(ERR_INVALID_VALUE, pair);
  }

  private handleEnum(pair: ConfPair, name: string, values: readonly string[]): void {
    if (values.includes(pair.value)) this.store(name, pair.value);
    else this.error(ERR_INVALID_VALUE, pair);
  }

  /** CONF_VALUE_READ: strtoumax base 0 that must consume exactly the value; null after an error. */
  private readUnsigned(pair: ConfPair): bigint | null {
    const r = mallocStrtoumax(pair.text, pair.vStart, 0);
    if (r.errno !== 0 || r.end - pair.vStart !== pair.value.length) {
      this.error(ERR_INVALID_VALUE, pair);
      return null;
    }
    return r.value;
  }

  private handleInteger(
    pair: ConfPair,
    name: string,
    ctype: OptCType,
    parser: Extract<OptParser, { kind: "unsigned" | "signed" }>,
  ): void {
    const raw = this.readUnsigned(pair);
    if (raw === null) return;
    const signed = parser.kind === "signed";
    const mv = signed ? BigInt.asIntN(64, raw) : raw;
    const current = this.optRecord[name];
    const bound = (b: OptBound): bigint => {
      const v = resolveBound(b, this.env, typeof current === "number" ? BigInt(current) : 0n);
      return signed ? BigInt.asIntN(64, v) : v;
    };
    const min = bound(parser.min);
    const max = bound(parser.max);
    const belowMin = parser.checkMin && mv < min;
    const aboveMax = parser.checkMax && mv > max;
    let value = mv;
    if (parser.clip) {
      if (belowMin) value = min;
      else if (aboveMax) value = max;
    } else if (belowMin || aboveMax) {
      this.error(ERR_OUT_OF_RANGE, pair);
      return;
    }
    this.store(name, storeAs(ctype, value));
  }

  // -- custom handlers --

  private handleNarenas(pair: ConfPair): void {
    if (pair.value === "default") {
      this.opt.narenas = 0;
      return;
    }
    this.handleInteger(pair, "narenas", "unsigned", {
      kind: "unsigned",
      bits: 32,
      min: 1n,
      max: 0n,
      checkMin: true,
      checkMax: false,
      clip: false,
    });
  }

  private handleNarenasRatio(pair: ConfPair): void {
    const r = fxpParse(pair.text, pair.vStart);
    // fxp_parse writes the option before the length check, as in jemalloc.
    if (!r.err) this.narenasRatio = r.value;
    if (r.err || r.end - pair.vStart !== pair.value.length) this.error(ERR_INVALID_VALUE, pair);
  }

  private handleBinShards(pair: ConfPair): void {
    let cur = pair.vStart;
    let left = pair.value.length;
    do {
      const seg = multiSizesNext(pair.text, cur);
      if (seg === null || seg.third > BigInt(BIN_SHARDS_MAX) || seg.third === 0n) {
        this.error("Invalid settings for bin_shards", pair);
        break;
      }
      this.binShards.push({
        start: storeAs("size_t", seg.first) as number,
        end: storeAs("size_t", seg.second) as number,
        nshards: Number(seg.third),
      });
      left -= seg.end - cur;
      cur = seg.end;
    } while (left > 0);
  }

  private handleSlabSizes(pair: ConfPair): void {
    if (pair.value === "default") {
      this.slabSizes = [];
      return;
    }
    let cur = pair.vStart;
    let left = pair.value.length;
    for (;;) {
      const seg = multiSizesNext(pair.text, cur);
      if (seg === null) {
        this.error("Invalid settings for slab_sizes", pair);
        return;
      }
      this.slabSizes.push({
        start: storeAs("size_t", seg.first) as number,
        end: storeAs("size_t", seg.second) as number,
        pages: Number(BigInt.asIntN(32, seg.third)),
      });
      left -= seg.end - cur;
      cur = seg.end;
      if (left <= 0) return;
    }
  }

  /** init_opt_stats_opts: append the valid letters not already present. */
  private handleStatsOpts(pair: ConfPair, name: "stats_print_opts" | "stats_interval_opts"): void {
    let dest = this.opt[name];
    for (const c of pair.value) {
      if (STATS_PRINT_OPTION_CHARS.includes(c) && !dest.includes(c)) dest += c;
    }
    this.opt[name] = dest;
  }

  private handleLgTcacheMax(pair: ConfPair): void {
    const m = this.readUnsigned(pair);
    if (m === null) return;
    const lg = m > BigInt(TCACHE_LG_MAXCLASS_LIMIT) ? TCACHE_LG_MAXCLASS_LIMIT : Number(m);
    this.opt.tcache_max = 2 ** lg;
  }

  private handleMetadataThp(pair: ConfPair): void {
    const m = METADATA_THP_MODE_NAMES.find((name) => isPrefixOf(pair.value, name));
    if (m === undefined) this.error(ERR_INVALID_VALUE, pair);
    else this.opt.metadata_thp = m;
  }

  /** Without sbrk only `disabled` can be set; the others fail and then also match nothing. */
  private handleDss(pair: ConfPair): void {
    let match = false;
    for (const name of DSS_PREC_NAMES) {
      if (!isPrefixOf(pair.value, name)) continue;
      if (!PLATFORM_SUPPORT.dss && name !== "disabled") {
        this.error("Error setting dss", pair);
        continue;
      }
      this.opt.dss = name;
      match = true;
      break;
    }
    if (!match) this.error(ERR_INVALID_VALUE, pair);
  }

  /** Every matched value is reported without getcpu, yet still stored (boot then disables it). */
  private handlePercpuArena(pair: ConfPair): void {
    const m = PERCPU_ARENA_MODE_NAMES.find((name) => isPrefixOf(pair.value, name));
    if (m === undefined) {
      this.error(ERR_INVALID_VALUE, pair);
      return;
    }
    if (!PLATFORM_SUPPORT.percpuArena) this.error("No getcpu support", pair);
    this.opt.percpu_arena = m;
  }

  private handleThp(pair: ConfPair): void {
    const m = THP_MODE_NAMES.find((name) => isPrefixOf(pair.value, name));
    if (m === undefined) {
      this.error(ERR_INVALID_VALUE, pair);
      return;
    }
    if (!PLATFORM_SUPPORT.thp) this.error("No THP support", pair);
    this.opt.thp = m;
  }

  private handleProfTimeRes(pair: ConfPair): void {
    // CONF_MATCH_VALUE: exact values; this port has a high-resolution clock.
    if (pair.value === "default" || pair.value === "high") this.store("prof_time_resolution", pair.value);
    else this.error(ERR_INVALID_VALUE, pair);
  }

  private handleHugificationRatio(pair: ConfPair): void {
    const r = fxpParse(pair.text, pair.vStart);
    if (r.err || r.end - pair.vStart !== pair.value.length || r.value > 1 << 16) {
      this.error(ERR_INVALID_VALUE, pair);
      return;
    }
    const hugepage = 1n << BigInt(this.env.lgHugepage);
    this.opt.hpa_hugification_threshold = Number(fxpMulFrac(hugepage, r.value));
  }

  private handleHpaDirtyMult(pair: ConfPair): void {
    if (pair.value === "-1") {
      this.opt.hpa_dirty_mult = 0xffffffff;
      return;
    }
    const r = fxpParse(pair.text, pair.vStart);
    if (r.err || r.end - pair.vStart !== pair.value.length) this.error(ERR_INVALID_VALUE, pair);
    else this.opt.hpa_dirty_mult = r.value;
  }
}

/** malloc_conf_multi_sizes_next(): `a-b:c` then an optional `|`; null on a parse error. */
function multiSizesNext(
  text: string,
  cur: number,
): { first: bigint; second: bigint; third: bigint; end: number } | null {
  const a = mallocStrtoumax(text, cur, 0);
  if (a.errno !== 0 || text.charAt(a.end) !== "-") return null;
  const b = mallocStrtoumax(text, a.end + 1, 0);
  if (b.errno !== 0 || text.charAt(b.end) !== ":") return null;
  const c = mallocStrtoumax(text, b.end + 1, 0);
  if (c.errno !== 0) return null;
  const end = text.charAt(c.end) === "|" ? c.end + 1 : c.end;
  return { first: a.value, second: b.value, third: c.value, end };
}

// --- boot steps that rewrite options --------------------------------------------------------

interface BootResult {
  narenasAuto: number;
  hugeArena: boolean;
  oversizeThresholdEffective: number;
}

/**
 * The option rewrites of malloc_init_hard(), in its order: pages_boot (THP state),
 * the HPA check, malloc_init_narenas (percpu, narenas default and limit, huge arena),
 * background_thread_boot1 (max_background_threads).
 */
function bootOptions(parser: MallocConfParser): BootResult {
  const opt = parser.opt;
  const env = parser.env;
  if (!PLATFORM_SUPPORT.thp) {
    if (opt.metadata_thp !== "disabled" && opt.abort) {
      parser.write("<jemalloc>: no MADV_HUGEPAGE support\n");
      parser.abort("abort");
    }
    opt.thp = THP_MODE_NOT_SUPPORTED;
  }
  if (opt.hpa && !PLATFORM_SUPPORT.hpa) {
    // jemalloc 5.3 prints this one without a newline.
    parser.write(
      `<jemalloc>: HPA not supported in the current configuration; ${opt.abort_conf ? "aborting" : "disabling"}.`,
    );
    if (opt.abort_conf) parser.abortInvalidConf();
    opt.hpa = false;
  }
  if (opt.percpu_arena !== "disabled" && !PLATFORM_SUPPORT.percpuArena) {
    opt.percpu_arena = "disabled";
    const n = opt.narenas !== 0 ? opt.narenas : narenasDefault(env.ncpus, parser.narenasRatio);
    parser.write(`<jemalloc>: perCPU arena getcpu() not available. Setting narenas to ${n}.\n`);
    if (opt.abort) parser.abort("abort");
  }
  if (opt.narenas === 0) opt.narenas = narenasDefault(env.ncpus, parser.narenasRatio);
  let narenasAuto = opt.narenas;
  if (narenasAuto >= MALLOCX_ARENA_LIMIT) {
    narenasAuto = MALLOCX_ARENA_LIMIT - 1;
    parser.write(`<jemalloc>: Reducing narenas to limit (${narenasAuto})\n`);
  }
  const largeMinclass = 2 ** (env.lgPage + 2);
  const threshold = BigInt(opt.oversize_threshold);
  const hugeArena = threshold >= BigInt(largeMinclass) && threshold <= LARGE_MAXCLASS_N;
  if (!hugeArena) opt.oversize_threshold = 0;
  const oversizeThresholdEffective = hugeArena
    ? opt.oversize_threshold
    : Number(LARGE_MAXCLASS_N + (1n << BigInt(env.lgPage)));
  if (opt.max_background_threads > MAX_BACKGROUND_THREAD_LIMIT) {
    opt.max_background_threads = DEFAULT_NUM_BACKGROUND_THREAD;
  }
  profBootOptions(parser);
  return { narenasAuto, hugeArena, oversizeThresholdEffective };
}

/**
 * malloc_conf_init_check_deps and prof_boot1: prof_leak_error needs prof_final (initialization
 * fails), implies prof_leak; prof_leak turns profiling on without automatic dumps.
 */
function profBootOptions(parser: MallocConfParser): void {
  const opt = parser.opt;
  if (opt.prof_leak_error && !opt.prof_final) {
    parser.write("<jemalloc>: prof_leak_error is set w/o prof_final.\n");
    parser.abort("abort_conf");
  }
  if (opt.prof_leak_error && !opt.prof_leak) opt.prof_leak = true;
  if (opt.prof_leak && !opt.prof) {
    opt.prof = true;
    opt.prof_gdump = false;
  }
}

/**
 * Parses the malloc_conf sources (in jemalloc's order, later settings win), writes
 * jemalloc's messages, applies the boot-time option rewrites and returns what took effect.
 * Throws MallocConfAbortError where jemalloc would abort().
 */
export function parseMallocConf(sources: readonly ConfSource[], options: ConfOptions): ConfResult {
  validateSources(sources);
  const env = validateOptions(options);
  const parser = new MallocConfParser(env, options.writer ?? defaultWriter);
  parser.run(sources);
  const boot = bootOptions(parser);
  return {
    opt: parser.opt,
    errors: parser.errors,
    hadConfError: parser.hadConfError,
    messages: parser.messages,
    narenasAuto: boot.narenasAuto,
    hugeArena: boot.hugeArena,
    oversizeThresholdEffective: boot.oversizeThresholdEffective,
    narenasRatio: parser.narenasRatio,
    slabSizes: parser.slabSizes,
    binShards: parser.binShards,
    sanGuardSmall: parser.sanGuardSmall,
    sanGuardLarge: parser.sanGuardLarge,
    profUnbias: parser.profUnbias,
  };
}

/** Every opt.* as read after boot with no malloc_conf at all. */
export function optDefaults(ncpus: number, lgPage = 12, lgHugepage = 21): OptValues {
  return parseMallocConf([], { ncpus, lgPage, lgHugepage, writer: () => {} }).opt;
}

// --- applying the multi-size settings to a size-class table -------------------------------

function sizeToBinIndex(binSizes: readonly number[], size: number): number {
  if (size === 0) return 0;
  for (let i = 0; i < binSizes.length; i++) {
    if ((binSizes[i] ?? 0) >= size) return i;
  }
  return binSizes.length - 1;
}

/**
 * bin_update_shard_size() over the segments: shards per bin (default 1). Segments
 * starting above the largest small class are ignored; ends are clipped to it.
 */
export function applyBinShards(segments: readonly BinShardSetting[], binSizes: readonly number[]): number[] {
  const shards = binSizes.map(() => 1);
  const smallMax = binSizes[binSizes.length - 1] ?? 0;
  for (const seg of segments) {
    if (seg.start > smallMax) continue;
    const first = sizeToBinIndex(binSizes, seg.start);
    const last = sizeToBinIndex(binSizes, Math.min(seg.end, smallMax));
    for (let i = first; i <= last; i++) shards[i] = seg.nshards;
  }
  return shards;
}

/**
 * sc_data_update_slab_size() over the segments: slab pages per bin, each clamped to
 * [ceil(size / PAGE), BITMAP_MAXBITS × size / PAGE] with BITMAP_MAXBITS = 2^(lgPage − 3).
 */
export function applySlabSizes(
  segments: readonly SlabSizeSetting[],
  binSizes: readonly number[],
  defaultPages: readonly number[],
  lgPage: number,
): number[] {
  const page = 2 ** lgPage;
  const bitmapMaxBits = 2 ** (lgPage - 3);
  const pages = [...defaultPages];
  for (const seg of segments) {
    // (size_t)(int)pgs: negative counts become huge and clamp to the maximum.
    const guess = seg.pages < 0 ? Number.POSITIVE_INFINITY : seg.pages;
    binSizes.forEach((size, i) => {
      if (seg.start > size || size > seg.end) return;
      const minPages = Math.ceil(size / page);
      const maxPages = Math.floor((bitmapMaxBits * size) / page);
      pages[i] = guess < minPages ? minPages : Math.min(guess, maxPages);
    });
  }
  return pages;
}

/** Keys this build accepts (for docs and tests). */
export function acceptedConfKeys(): string[] {
  const keys = OPT_TABLE.filter((o) => featureBuilt(o.feature) && o.parser.kind !== "none").map(
    (o) => o.name,
  );
  const extras = CONF_EXTRA_KEYS.filter((e) => featureBuilt(e.feature)).map((e) => e.key);
  return [...keys, ...extras];
}
