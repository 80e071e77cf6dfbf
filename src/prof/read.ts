/**
 * read: parses a heap_v2 dump (this port's, with its symbol section, or the real jemalloc's, whose
 * frames stay hexadecimal addresses) and scales each stack's counts as jeprof does (AdjustSamples,
 * sampling algorithm 2), for the `jemalloc-ts prof` report. No Perl needed.
 */

export interface DumpStack {
  /** Frame names, innermost first (symbol, or the address when the dump has no symbol for it). */
  frames: string[];
  /** Estimated live objects and bytes. */
  objects: number;
  bytes: number;
}

export interface ParsedDump {
  samplePeriod: number;
  stacks: DumpStack[];
}

const CNT = /^\s*t\*:\s*(\d+):\s*(\d+)\s*\[\s*(\d+):\s*(\d+)\s*\]/;

function normAddr(a: string): string {
  return BigInt(a).toString(16);
}

function readSymbols(lines: string[], start: number, symbols: Map<string, string>): number {
  let i = start;
  for (; i < lines.length; i++) {
    const l = lines[i]!;
    if (l.startsWith("---")) return i + 1;
    const m = /^0x0*([0-9a-f]+)\s+(.+)$/.exec(l);
    if (m !== null) symbols.set(m[1]!, m[2]!);
  }
  return i;
}

/** jeprof's scaling of a sampled (objects, bytes) pair. */
export function adjustSamples(objects: number, bytes: number, period: number): [number, number] {
  if (objects === 0 || period <= 1) return [objects, bytes];
  const scale = 1 / (1 - Math.exp(-(bytes / objects) / period));
  return [objects * scale, bytes * scale];
}

export function parseDump(text: string): ParsedDump {
  const lines = text.split("\n");
  const symbols = new Map<string, string>();
  let i = 0;
  if (/^--- *symbol/.test(lines[0] ?? "")) i = readSymbols(lines, 1, symbols);
  if (/^--- *heap/.test(lines[i] ?? "")) i++;
  const header = /^heap_v2\/(\d+)/.exec(lines[i] ?? "");
  if (header === null)
    throw new RangeError(
      `not a heap_v2 dump: expected "heap_v2/<period>", found ${JSON.stringify(lines[i] ?? "")}`,
    );
  const samplePeriod = Number(header[1]);
  const stacks: DumpStack[] = [];
  for (i++; i < lines.length; i++) {
    const l = lines[i]!;
    if (l.startsWith("MAPPED_LIBRARIES:")) break;
    if (!l.startsWith("@")) continue;
    const addrs = l.slice(1).trim().split(/\s+/);
    // Caller addresses are one past the call, as jeprof expects (it subtracts 1 again).
    const frames = addrs.map((a, k) => {
      const n = BigInt(a) - (k === 0 ? 0n : 1n);
      return symbols.get(n.toString(16)) ?? symbols.get(normAddr(a)) ?? `0x${n.toString(16)}`;
    });
    const m = CNT.exec(lines[i + 1] ?? "");
    if (m === null) continue;
    const [objects, bytes] = adjustSamples(Number(m[1]), Number(m[2]), samplePeriod);
    if (objects > 0) stacks.push({ frames, objects, bytes });
  }
  return { samplePeriod, stacks };
}

/** Splits a frame symbol `function@file:line:column` into its function and `file:line`. */
export function splitSymbol(sym: string): { fn: string; where: string } {
  const at = sym.lastIndexOf("@");
  if (at <= 0) return { fn: sym, where: "" };
  const where = sym.slice(at + 1).replace(/:\d+$/, "");
  return { fn: sym.slice(0, at), where };
}
