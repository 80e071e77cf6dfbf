// parser: the malloc_conf pair parser (jemalloc's malloc_conf_next and the per-key handlers of
// malloc_conf_init_helper): one source at a time, every pair through its key's handler, messages
// byte for byte as jemalloc prints them.
//
// Synchronization: none (runs once at heap creation). Error convention: bad option strings are
// reported through the writer, never thrown; abort() is a thrown MallocConfAbortError.
import { MallocConfAbortError } from "../errors.js";
import { fxpMulFrac, fxpParse, mallocStrtoumax, storeAs } from "./numbers.js";
import {
  BIN_SHARDS_MAX,
  CONF_EXTRA_KEYS,
  DSS_PREC_NAMES,
  featureBuilt,
  initialOptValues,
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
} from "./opt.js";
import type { BinShardSetting, ConfOptions, ConfSource, SlabSizeSetting } from "./types.js";

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

export function validateOptions(options: ConfOptions): OptEnv {
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

export function validateSources(sources: readonly ConfSource[]): void {
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

export class MallocConfParser {
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
      lg_san_uaf_align: (p) => this.handleLgSanUafAlign(p),
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

  /**
   * lg_san_uaf_align: -1 (off), or clipped to [LG_PAGE, 63]. As jemalloc: a value it cannot read or
   * below -1 is reported, and then still clipped and stored (its handler does not stop there).
   */
  private handleLgSanUafAlign(pair: ConfPair): void {
    const r = mallocStrtoumax(pair.text, pair.vStart, 0);
    const a = BigInt.asIntN(64, r.value);
    if (r.errno !== 0 || r.end - pair.vStart !== pair.value.length || a < -1n)
      this.error(ERR_INVALID_VALUE, pair);
    if (a === -1n) {
      this.store("lg_san_uaf_align", -1);
      return;
    }
    const lgPage = BigInt(this.env.lgPage);
    this.store("lg_san_uaf_align", Number(a > 63n ? 63n : a < lgPage ? lgPage : a));
  }

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
export function multiSizesNext(
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
