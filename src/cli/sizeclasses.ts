// `jemalloc-ts sizeclasses`: print the size-class table for a configuration.
//
//   jemalloc-ts sizeclasses [--lg-quantum N] [--lg-page N] [--lg-hugepage N] [--lg-vaddr N] [--json]
//
// Without --json: a readable table (index, size, kind, slab pages, regions per slab,
// tcache slots or "-" when the class is not cached), one row per class this heap can
// serve (up to 2^lg_vaddr, since pointers are 32-bit offsets). With --json: the
// dump in the schema of shared/reference/tables/*.json (see src/sizeclass/dump.ts).
// Errors: a bad flag or value prints a message naming it and returns exit code 2.

import {
  type SizeClassConfig,
  SizeClasses,
  sizeClassConfig,
  sizeClassesDump,
  TCACHE_MAX_DEFAULT,
} from "../sizeclass/index.js";

export const SIZECLASSES_USAGE =
  "usage: jemalloc-ts sizeclasses [--lg-quantum N] [--lg-page N] [--lg-hugepage N] [--lg-vaddr N] [--json]";

const FLAG_KEYS: Record<string, keyof SizeClassConfig> = {
  "--lg-quantum": "lgQuantum",
  "--lg-page": "lgPage",
  "--lg-hugepage": "lgHugepage",
  "--lg-vaddr": "lgVaddr",
};

export interface SizeclassesArgs {
  config: Partial<SizeClassConfig>;
  json: boolean;
  help: boolean;
}

class UsageError extends Error {}

/** Parse argv (the words after `sizeclasses`); throws UsageError naming the bad flag or value. */
export function parseSizeclassesArgs(argv: readonly string[]): SizeclassesArgs {
  const args: SizeclassesArgs = { config: {}, json: false, help: false };
  for (let k = 0; k < argv.length; k++) {
    const word = argv[k]!;
    if (word === "--json") {
      args.json = true;
      continue;
    }
    if (word === "--help" || word === "-h") {
      args.help = true;
      continue;
    }
    const eq = word.indexOf("=");
    const flag = eq >= 0 ? word.slice(0, eq) : word;
    const key = FLAG_KEYS[flag];
    if (key === undefined) throw new UsageError(`unknown option ${JSON.stringify(word)}`);
    const value = eq >= 0 ? word.slice(eq + 1) : argv[++k];
    if (value === undefined) throw new UsageError(`${flag} needs a value`);
    if (!/^-?\d{1,9}$/.test(value))
      throw new UsageError(`${flag} expects an integer, got ${JSON.stringify(value)}`);
    args.config[key] = Number(value);
  }
  return args;
}

function pad(s: string | number, width: number): string {
  return String(s).padStart(width);
}

/** The readable table, one line per servable class. */
export function formatSizeclassesTable(sc: SizeClasses, tcacheMax = TCACHE_MAX_DEFAULT): string[] {
  const nhbins = sc.nhbins(tcacheMax);
  const lines = [
    `# lg_quantum ${sc.lgQuantum}  lg_page ${sc.lgPage}  lg_hugepage ${sc.lgHugepage}  lg_vaddr ${sc.lgVaddr}`,
    `# ${sc.nbins} small classes (<= ${sc.smallMaxclass}), large from ${sc.largeMinclass}; ` +
      `tcache_max ${sc.tcacheMaxclass(tcacheMax)}: ${nhbins} cached bins`,
    `${pad("index", 5)} ${pad("size", 12)} ${pad("kind", 5)} ${pad("slab_pages", 10)} ${pad("regions", 8)} ${pad("tcache", 6)}`,
  ];
  for (let i = 0; i <= sc.maxClassIndex; i++) {
    const small = i < sc.nbins;
    lines.push(
      `${pad(i, 5)} ${pad(sc.index2size(i), 12)} ${pad(small ? "small" : "large", 5)} ` +
        `${pad(small ? sc.binSlabPages[i]! : "-", 10)} ${pad(small ? sc.binNregs[i]! : "-", 8)} ` +
        `${pad(i < nhbins ? sc.ncachedMax(i) : "-", 6)}`,
    );
  }
  const omitted = sc.nsizes - 1 - sc.maxClassIndex;
  lines.push(
    `# ${omitted} larger classes of 64-bit jemalloc are not served: size + ${sc.largePad}-byte pad > 2^${sc.lgVaddr}`,
  );
  return lines;
}

/**
 * Run the command; returns the exit code (0 ok, 2 bad usage). Every write ends with a newline; a bad
 * flag or value goes to `err` (standard error from the CLI), followed by the usage line.
 */
export function runSizeclasses(
  argv: string[],
  out: (s: string) => void,
  err: (s: string) => void = out,
): number {
  let args: SizeclassesArgs;
  let config: SizeClassConfig;
  try {
    args = parseSizeclassesArgs(argv);
    if (args.help) {
      out(`${SIZECLASSES_USAGE}\n`);
      return 0;
    }
    config = sizeClassConfig(args.config);
  } catch (e) {
    if (e instanceof UsageError || e instanceof RangeError || e instanceof TypeError) {
      err(`jemalloc-ts sizeclasses: ${e.message}\n${SIZECLASSES_USAGE}\n`);
      return 2;
    }
    throw e;
  }
  const sc = new SizeClasses(config);
  if (args.json) {
    out(`${JSON.stringify(sizeClassesDump(sc), null, 2)}\n`);
  } else {
    out(`${formatSizeclassesTable(sc).join("\n")}\n`);
  }
  return 0;
}
