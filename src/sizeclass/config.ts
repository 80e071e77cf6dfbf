// Size-class configuration: what jemalloc fixes at build time (--with-lg-quantum,
// --with-lg-page, --with-lg-hugepage, LG_VADDR), chosen here when a heap is created.
//
// What: the four settings, their defaults and their validation.
// Invariants of an accepted config (checked in this order):
//   lg_page     12..29   12 is the smallest page the lookup table (sizes <= 4096) is
//                        built for. jemalloc itself stops at 31 (the extent bit field
//                        is 64 bits wide). Ours stops lower because pointers are 32-bit
//                        offsets: the header page plus a 7-page slab must fit in 2^32.
//   lg_quantum  3..lg_page-1   3 = SC_LG_TINY_MIN (8-byte tiny class). Up to lg_page-1,
//                        jemalloc's closed forms (SC_NBINS, SC_SMALL_MAXCLASS) still
//                        describe the classes it generates.
//   lg_vaddr    lg_page+3..32  32: a pointer is a u32 byte offset into the buffer, so
//                        no size class larger than 2^lg_vaddr (minus the large pad) is
//                        ever served. lg_page+3: room for the header page and the
//                        largest (7-page) slab.
//   lg_hugepage lg_page..lg_vaddr   jemalloc's configure rejects a huge page smaller
//                        than a page; one bigger than the address space could never be
//                        mapped (base blocks and the first extent growth use it).
// Errors: TypeError when a value is not an integer (NaN, "12", 1.5) or the argument
// is not an object / has an unknown key; RangeError when out of range. Each message
// names the setting, the value and the allowed range.

export interface SizeClassConfig {
  lgQuantum: number;
  lgPage: number;
  lgHugepage: number;
  lgVaddr: number;
}

export const SC_DEFAULTS: SizeClassConfig = Object.freeze({
  lgQuantum: 4,
  lgPage: 12,
  lgHugepage: 21,
  lgVaddr: 32,
});

export const LG_QUANTUM_MIN = 3;
export const LG_PAGE_MIN = 12;
export const LG_PAGE_MAX = 29;
export const LG_VADDR_MAX = 32;
/** lg_vaddr must be at least lg_page + this (8 pages: header page + 7-page slab). */
export const LG_VADDR_MIN_ABOVE_PAGE = 3;

const SETTING_NAMES: Record<keyof SizeClassConfig, string> = {
  lgQuantum: "lg_quantum",
  lgPage: "lg_page",
  lgHugepage: "lg_hugepage",
  lgVaddr: "lg_vaddr",
};

/** A short, unambiguous rendering of a bad value for error messages. */
export function describeValue(v: unknown): string {
  if (typeof v === "string") return `${JSON.stringify(v)} (a string)`;
  if (typeof v === "number" || typeof v === "bigint" || typeof v === "boolean") return String(v);
  if (v === null) return "null";
  return `a value of type ${typeof v}`;
}

function integerSetting(partial: Record<string, unknown>, key: keyof SizeClassConfig): number {
  const v = partial[key] === undefined ? SC_DEFAULTS[key] : partial[key];
  if (typeof v !== "number" || !Number.isInteger(v)) {
    throw new TypeError(`${SETTING_NAMES[key]} (${key}) must be an integer, got ${describeValue(v)}`);
  }
  return v;
}

function checkRange(key: keyof SizeClassConfig, v: number, min: number, max: number, why: string): void {
  if (v < min || v > max) {
    throw new RangeError(`${SETTING_NAMES[key]} (${key}) must be in ${min}..${max}${why}, got ${v}`);
  }
}

/** Fill missing fields with SC_DEFAULTS and validate as described above. */
export function sizeClassConfig(partial?: Partial<SizeClassConfig>): SizeClassConfig {
  if (partial === undefined) return { ...SC_DEFAULTS };
  if (typeof partial !== "object" || partial === null) {
    throw new TypeError(`size-class config must be an object, got ${describeValue(partial)}`);
  }
  for (const key of Object.keys(partial)) {
    if (!(key in SETTING_NAMES)) {
      throw new TypeError(
        `unknown size-class setting ${JSON.stringify(key)} (expected lgQuantum, lgPage, lgHugepage, lgVaddr)`,
      );
    }
  }
  const p = partial as Record<string, unknown>;
  const lgQuantum = integerSetting(p, "lgQuantum");
  const lgPage = integerSetting(p, "lgPage");
  const lgHugepage = integerSetting(p, "lgHugepage");
  const lgVaddr = integerSetting(p, "lgVaddr");
  checkRange("lgPage", lgPage, LG_PAGE_MIN, LG_PAGE_MAX, "");
  checkRange(
    "lgQuantum",
    lgQuantum,
    LG_QUANTUM_MIN,
    lgPage - 1,
    ` (up to lg_page - 1 with lg_page ${lgPage})`,
  );
  checkRange(
    "lgVaddr",
    lgVaddr,
    lgPage + LG_VADDR_MIN_ABOVE_PAGE,
    LG_VADDR_MAX,
    ` (pointers are 32-bit offsets; at least lg_page + 3 with lg_page ${lgPage})`,
  );
  checkRange("lgHugepage", lgHugepage, lgPage, lgVaddr, ` (from lg_page ${lgPage} to lg_vaddr ${lgVaddr})`);
  return { lgQuantum, lgPage, lgHugepage, lgVaddr };
}
