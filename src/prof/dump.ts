/**
 * dump: jemalloc's heap_v2 text (prof_dump_header / prof_dump_gctx / MAPPED_LIBRARIES), preceded by
 * a symbol section so that `jeprof --text <file>` reads it without a binary: every JS frame gets a
 * synthetic address and a symbol line. And the file names and sequence numbers of prof.dump,
 * interval, gdump and final dumps (prof_dump_filename).
 */

import type { HeapCtx } from "../ctx/ctx.js";
import { hostPid, hostRelativePath, hostWriteError, hostWriteFile } from "../platform/index.js";
import { type Cnt, FRAME_ADDR_BASE, type ProfileData, printedCnts, profCollect } from "./collect.js";
import {
  PROF_DUMP_ISEQ_B,
  PROF_DUMP_MSEQ_B,
  PROF_DUMP_SEQ_B,
  PROF_DUMP_USEQ_B,
  PROF_NSTRINGS_B,
} from "./layout.js";
import { profPrefix, withProfLock } from "./region.js";
import { parseFrame } from "./stack.js";

/** The program name written as `binary=` and in MAPPED_LIBRARIES. */
export const PROF_BINARY_NAME = "jemalloc-ts-js-frames";

function hex(n: number): string {
  return `0x${n.toString(16).padStart(16, "0")}`;
}

/** A frame's symbol for jeprof: `function@file:line:column` (no parentheses: jeprof strips them). */
export function frameSymbol(text: string): string {
  const f = parseFrame(text);
  // jeprof drops "(…)" and "<…>" from names: keep V8's placeholders readable.
  f.fn = f.fn.replace(/[<>()]/g, "").replace(/ /g, "_") || "anonymous";
  if (f.file === "") return f.fn;
  let file = f.file;
  if (file.startsWith("/")) {
    file = hostRelativePath(file);
  }
  return `${f.fn}@${file}:${f.line}:${f.column}`;
}

function cnts(c: Cnt, data: ProfileData): string {
  const [a, b, x, y] = printedCnts(c, data);
  return `${a}: ${b} [${x}: ${y}]`;
}

/** The dump text: symbol section, heap_v2 profile, MAPPED_LIBRARIES. */
export function formatDump(ctx: HeapCtx, data: ProfileData): string {
  const out: string[] = ["--- symbol", `binary=${PROF_BINARY_NAME}`];
  const seen = new Set<number>();
  const stacks = [...data.stacks].sort((a, b) => b.total.curbytes - a.total.curbytes);
  for (const s of stacks) {
    for (const f of s.frames) {
      if (seen.has(f.addr)) continue;
      seen.add(f.addr);
      out.push(`${hex(f.addr)} ${frameSymbol(f.text)}`);
    }
  }
  out.push("---", "--- heap");
  out.push(`heap_v2/${2 ** data.lgSample}`, `  t*: ${cnts(data.total, data)}`);
  const tids = [...data.threads.keys()].sort((a, b) => a - b);
  for (const tid of tids) {
    const name = data.threadNames.get(tid);
    out.push(`  t${tid}: ${cnts(data.threads.get(tid)!, data)}${name === undefined ? "" : ` ${name}`}`);
  }
  for (const s of stacks) {
    // The first address is the allocation site itself; jeprof subtracts 1 from every caller address.
    const addrs = s.frames.map((f, i) => `0x${(i === 0 ? f.addr : f.addr + 1).toString(16)}`);
    out.push(`@ ${addrs.join(" ")}`, `  t*: ${cnts(s.total, data)}`);
    for (const tid of [...s.byThread.keys()].sort((a, b) => a - b))
      out.push(`  t${tid}: ${cnts(s.byThread.get(tid)!, data)}`);
  }
  const nstrings = ctx.u32[(ctx.profB + PROF_NSTRINGS_B) >>> 2]!;
  const end = FRAME_ADDR_BASE + Math.max(1, nstrings + 1) * 16;
  out.push(
    "",
    "MAPPED_LIBRARIES:",
    `${FRAME_ADDR_BASE.toString(16)}-${end.toString(16)} r-xp 00000000 00:00 0                          ${PROF_BINARY_NAME}`,
    "",
  );
  return out.join("\n");
}

/** The dump text of the heap as it is now. */
export function profDumpText(ctx: HeapCtx): string {
  return formatDump(ctx, profCollect(ctx));
}

export type DumpKind = "m" | "i" | "u" | "f";

const SEQ_FIELD: Record<Exclude<DumpKind, "f">, number> = {
  m: PROF_DUMP_MSEQ_B,
  i: PROF_DUMP_ISEQ_B,
  u: PROF_DUMP_USEQ_B,
};

/**
 * prof_dump_filename: `<prefix>.<pid>.<seq>.<v><vseq>.heap` (final: `<prefix>.<pid>.<seq>.f.heap`),
 * or null when prof.prefix is empty (automatic dumps are off).
 */
export function profDumpFilename(ctx: HeapCtx, kind: DumpKind): string | null {
  return withProfLock(ctx, () => {
    const prefix = profPrefix(ctx);
    if (prefix === "") return null;
    const u32 = ctx.u32;
    const seqW = (ctx.profB + PROF_DUMP_SEQ_B) >>> 2;
    const seq = u32[seqW]!;
    u32[seqW] = seq + 1;
    if (kind === "f") return `${prefix}.${hostPid()}.${seq}.f.heap`;
    const vW = (ctx.profB + SEQ_FIELD[kind]) >>> 2;
    const vseq = u32[vW]!;
    u32[vW] = vseq + 1;
    return `${prefix}.${hostPid()}.${seq}.${kind}${vseq}.heap`;
  });
}

/** Writes the dump to `file`; false (after jemalloc's message on stderr) when it cannot. */
export function profDumpToFile(ctx: HeapCtx, file: string, data: ProfileData = profCollect(ctx)): boolean {
  try {
    hostWriteFile(file, formatDump(ctx, data));
    return true;
  } catch {
    hostWriteError(`<jemalloc>: failed to open "${file}"\n`);
    return false;
  }
}

/** prof_idump / prof_gdump: an automatic dump, skipped when the prefix is empty. */
export function profDumpAuto(ctx: HeapCtx, kind: "i" | "u"): void {
  const file = profDumpFilename(ctx, kind);
  if (file !== null) profDumpToFile(ctx, file);
}
