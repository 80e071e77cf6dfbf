/**
 * record-layout: checks for the buffer records' layout self-test (STYLE.md §3.2 point 5).
 *
 * A record is a list of fields [name, offsetBytes, widthBytes, alignBytes?] built from a module's exported
 * constants. `recordProblems` checks them against each other and the record size; `diagramRows` reads the
 * layout diagram out of the module's comment and `diagramProblems` compares it with the fields, so a
 * diagram that no longer matches the constants fails. Every check returns a list of problems (empty =
 * fine) so a test can assert `toEqual([])` and print all of them at once.
 *
 * Field names follow the diagram: a field "locks/map" belongs to the diagram row "locks" (a row that
 * covers several constants); a row whose name starts with "(" is reserved space and must hold no field.
 */
import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";

export type Field = readonly [name: string, offsetBytes: number, widthBytes: number, alignBytes?: number];

/** A field's alignment: given, else its width up to 8 (u32/i32 → 4, f64/u64 → 8, larger → 8). */
export function fieldAlign(f: Field): number {
  return f[3] ?? Math.min(f[2], 8);
}

/** Fields sorted by offset must not overlap, each is aligned to its width and lies in [0, sizeBytes). */
export function recordProblems(record: string, fields: readonly Field[], sizeBytes: number): string[] {
  const out: string[] = [];
  const names = new Set<string>();
  for (const f of fields) {
    const [name, off, width] = f;
    if (names.has(name)) out.push(`${record}: field ${name} listed twice`);
    names.add(name);
    if (!Number.isInteger(off) || off < 0) out.push(`${record}.${name}: offset ${off} is not a byte offset`);
    if (!Number.isInteger(width) || width <= 0) out.push(`${record}.${name}: width ${width} is not positive`);
    if (off % fieldAlign(f) !== 0) out.push(`${record}.${name}: offset ${off} not ${fieldAlign(f)}-aligned`);
    if (off + width > sizeBytes)
      out.push(`${record}.${name}: ${off}..${off + width - 1} past the size ${sizeBytes}`);
  }
  const sorted = [...fields].sort((a, b) => a[1] - b[1]);
  for (let i = 1; i < sorted.length; i++) {
    const [pn, po, pw] = sorted[i - 1]!;
    const [n, o] = sorted[i]!;
    if (o < po + pw) out.push(`${record}: ${n} at ${o} overlaps ${pn} (${po}..${po + pw - 1})`);
  }
  return out;
}

export interface DiagramRow {
  name: string;
  startB: number;
  /** Exclusive end, when the diagram states one. */
  endB: number | undefined;
  line: string;
}

/** Source text of a module under src/, for the diagram checks. */
export function srcText(relPath: string): string {
  return readFileSync(fileURLToPath(new URL(`../../src/${relPath}`, import.meta.url)), "utf8");
}

/** The lines strictly between the first `from` marker and the next `to` marker after it. */
export function section(text: string, from: string, to: string): string[] {
  const a = text.indexOf(from);
  if (a < 0) throw new Error(`diagram marker not found: ${from}`);
  const lineStart = text.indexOf("\n", a) + 1;
  const b = text.indexOf(to, lineStart);
  if (b < 0) throw new Error(`diagram end marker not found after ${from}: ${to}`);
  return text.slice(lineStart, b).split("\n");
}

/** The title line of the section starting at `from` (for a stated record size). */
export function sectionTitle(text: string, from: string): string {
  const a = text.indexOf(from);
  if (a < 0) throw new Error(`diagram marker not found: ${from}`);
  const end = text.indexOf("\n", a);
  return text.slice(text.lastIndexOf("\n", a) + 1, end);
}

const NAME = String.raw`(?<name>[A-Za-z_(][\w()[\]]*)`;
/** ` *  164..167   mapFloor ...` (end optional: `64..  bitmap`). */
export const ROW_BYTES = new RegExp(String.raw`^\s*(?:\*|//)\s+(?<start>\d+)\.\.(?<end>\d+)?\s+${NAME}`);
/** ` *   3   12..15   bits ...`: word index, then bytes. */
export const ROW_WORD_BYTES = new RegExp(
  String.raw`^\s*(?:\*|//)\s+(?<word>\d+)(?:\.\.)?\s+(?<start>\d+)\.\.(?<end>\d+)?\s+${NAME}`,
);
/** ` *   L+4   nonfullRoot ...` (offset after a lock of L bytes), or ` *   0..L-1   lock`. */
export const ROW_AFTER_LOCK = new RegExp(
  String.raw`^\s*\*\s+(?:L\+(?<start>\d+)(?:\.\.)?|(?<lock>0\.\.L-1))\s+${NAME}`,
);
/** `//    96      8   seed ...`: offset and size in bytes. */
export const ROW_OFFSET_SIZE = new RegExp(String.raw`^\s*//\s+(?<start>\d+)\s+(?<size>\d+)\s+${NAME}`);
/** ` *   4..5 nrequests ...`: word indexes only. */
export const ROW_WORDS = new RegExp(String.raw`^\s*\*\s+(?<word>\d+)(?:\.\.(?<wordEnd>\d+))?\s+${NAME}`);

/**
 * Diagram rows of `lines` that match `pattern` (one of ROW_*), as byte ranges. `lockBytes` resolves `L`;
 * a ROW_WORD_BYTES row whose word index disagrees with its bytes is reported by `diagramProblems`.
 */
export function diagramRows(lines: readonly string[], pattern: RegExp, lockBytes = 0): DiagramRow[] {
  const rows: DiagramRow[] = [];
  for (const line of lines) {
    const g = pattern.exec(line)?.groups;
    if (!g) continue;
    const name = g.name!;
    let startB: number;
    let endB: number | undefined;
    if (g.lock !== undefined) {
      startB = 0;
      endB = lockBytes;
    } else if (pattern === ROW_WORDS) {
      startB = Number(g.word) * 4;
      endB = (Number(g.wordEnd ?? g.word) + 1) * 4;
    } else {
      startB = Number(g.start) + (pattern === ROW_AFTER_LOCK ? lockBytes : 0);
      if (g.size !== undefined) endB = startB + Number(g.size);
      else if (g.end !== undefined) endB = Number(g.end) + 1;
      if (g.word !== undefined && Number(g.word) * 4 !== startB) {
        rows.push({ name: `${name}: word ${g.word} is not byte ${startB}`, startB: -1, endB, line });
        continue;
      }
    }
    rows.push({ name, startB, endB, line });
  }
  return rows;
}

/**
 * The diagram and the fields agree: every named row has fields (joined by "row/part" names) that start
 * where it starts, run without a gap and end where it ends; every field has a row; rows are in order and
 * do not overlap; reserved rows (and names in `reservedNames`) hold no field.
 */
export function diagramProblems(
  record: string,
  rows: readonly DiagramRow[],
  fields: readonly Field[],
  reservedNames: readonly string[] = [],
): string[] {
  const out: string[] = [];
  if (rows.length === 0) return [`${record}: no diagram rows found`];
  for (const r of rows) if (r.startB < 0) out.push(`${record}: diagram row ${r.name}`);
  for (let i = 1; i < rows.length; i++) {
    const p = rows[i - 1]!;
    const r = rows[i]!;
    if (r.startB < (p.endB ?? p.startB + 1))
      out.push(`${record}: diagram row ${r.name} overlaps/precedes ${p.name}`);
  }
  const groups = new Map<string, Field[]>();
  for (const f of fields) {
    const key = f[0].split("/")[0]!;
    groups.set(key, [...(groups.get(key) ?? []), f]);
  }
  const isReserved = (r: DiagramRow) => r.name.startsWith("(") || reservedNames.includes(r.name);
  for (const r of rows) {
    if (r.startB < 0) continue;
    const g = groups.get(r.name);
    if (isReserved(r)) {
      for (const f of fields) {
        const end = r.endB ?? r.startB + 1;
        if (f[1] < end && f[1] + f[2] > r.startB)
          out.push(`${record}: ${f[0]} lies in reserved row ${r.name}`);
      }
      continue;
    }
    if (!g) {
      out.push(`${record}: diagram row ${r.name} (${r.startB}) has no constant`);
      continue;
    }
    const sorted = [...g].sort((a, b) => a[1] - b[1]);
    if (sorted[0]![1] !== r.startB)
      out.push(`${record}: ${r.name} is at ${sorted[0]![1]}, diagram says ${r.startB}`);
    for (let i = 1; i < sorted.length; i++) {
      const [pn, po, pw] = sorted[i - 1]!;
      if (sorted[i]![1] !== po + pw)
        out.push(`${record}: ${sorted[i]![0]} does not follow ${pn} in row ${r.name}`);
    }
    const last = sorted[sorted.length - 1]!;
    if (r.endB !== undefined && last[1] + last[2] !== r.endB) {
      out.push(`${record}: ${r.name} ends at ${last[1] + last[2] - 1}, diagram says ${r.endB - 1}`);
    }
  }
  const named = new Set(rows.map((r) => r.name));
  for (const key of groups.keys())
    if (!named.has(key)) out.push(`${record}: field ${key} is not in the diagram`);
  return out;
}

/** Mask of bits lo..hi (inclusive). */
export function bitRange(lo: number, hi: number): number {
  let m = 0;
  for (let b = lo; b <= hi; b++) m |= 1 << b;
  return m >>> 0;
}

/** Packed-word masks must be disjoint, non-zero and inside 32 bits. */
export function masksProblems(record: string, masks: Readonly<Record<string, number>>): string[] {
  const out: string[] = [];
  let seen = 0;
  for (const [name, mask] of Object.entries(masks)) {
    if (mask === 0 || !Number.isInteger(mask)) out.push(`${record}: ${name} mask empty`);
    if ((seen & mask) !== 0) out.push(`${record}: ${name} mask overlaps an earlier field`);
    if (mask > 0xffffffff || mask < -0x80000000) out.push(`${record}: ${name} mask wider than 32 bits`);
    seen |= mask;
  }
  return out;
}

/** The argument text of each `Atomics.op(` call in `text` (to its closing parenthesis). */
export function atomicsCalls(text: string): string[] {
  const out: string[] = [];
  for (const m of text.matchAll(/\bAtomics\.\w+\(/g)) {
    let depth = 1;
    let i = m.index + m[0].length;
    const start = i;
    while (i < text.length && depth > 0) {
      if (text[i] === "(") depth++;
      else if (text[i] === ")") depth--;
      i++;
    }
    out.push(text.slice(start, i - 1));
  }
  return out;
}

export interface KnownField {
  record: string;
  offsetB: number;
  widthB: number;
}

/**
 * Constants of `known` named in the Atomics calls `calls`, and the problems among them: each must be a
 * 4-byte field at a 4-byte-aligned offset (one Int32Array element).
 */
export function atomicsProblems(
  calls: readonly string[],
  known: ReadonlyMap<string, KnownField>,
): { checked: string[]; problems: string[] } {
  const used = new Set<string>();
  for (const call of calls) for (const id of call.match(/\b[A-Z][A-Z0-9_]+\b/g) ?? []) used.add(id);
  const checked = [...used].filter((c) => known.has(c)).sort();
  const problems = checked
    .map((c) => [c, known.get(c)!] as const)
    .filter(([, f]) => f.widthB !== 4 || f.offsetB % 4 !== 0)
    .map(([c, f]) => `${c} (${f.record}): ${f.widthB} bytes at ${f.offsetB}`);
  return { checked, problems };
}
