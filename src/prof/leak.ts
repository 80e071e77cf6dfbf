/**
 * leak: prof_fdump at exit — the final dump `<prefix>.<pid>.<seq>.f.heap` and, with opt.prof_leak,
 * jemalloc's leak approximation summary (prof_leakcheck); with opt.prof_leak_error the process then
 * exits with status 1.
 */

import type { HeapCtx } from "../ctx/ctx.js";
import { hostSetExitCode, hostWriteError } from "../platform/index.js";
import { type ProfileData, profCollect } from "./collect.js";
import { profDumpFilename, profDumpToFile } from "./dump.js";

/** The two (or three) lines prof_leakcheck prints, or [] when nothing is live. */
export function leakSummary(data: ProfileData, leakError: boolean): string[] {
  const t = data.total;
  if (t.curbytes === 0) return [];
  // The summary scales the totals, as prof_leakcheck does (jeprof scales each context instead).
  const ratio = t.curbytes / t.curobjs / 2 ** data.lgSample;
  const scale = 1 / (1 - Math.exp(-ratio));
  const bytes = Math.round(t.curbytes * scale);
  const objs = Math.round(t.curobjs * scale);
  const ngctx = data.stacks.filter((s) => s.total.curobjs !== 0).length;
  const lines = [
    `<jemalloc>: Leak approximation summary: ~${bytes} byte${bytes !== 1 ? "s" : ""}, ~${objs} object${objs !== 1 ? "s" : ""}, >= ${ngctx} context${ngctx !== 1 ? "s" : ""}\n`,
    "<jemalloc>: Run jeprof on dump output for leak detail\n",
  ];
  if (leakError) lines.push("<jemalloc>: Exiting with error code because memory leaks were detected\n");
  return lines;
}

/** The exit hook: final dump (when the prefix is not empty), then the leak check. */
export function profLeakAtExit(ctx: HeapCtx): void {
  const file = profDumpFilename(ctx, "f");
  if (file === null) return;
  const data = profCollect(ctx);
  profDumpToFile(ctx, file, data);
  if (!ctx.optRaw.prof_leak) return;
  const lines = leakSummary(data, ctx.optRaw.prof_leak_error);
  for (const l of lines) hostWriteError(l);
  if (lines.length !== 0 && ctx.optRaw.prof_leak_error) hostSetExitCode(1);
}
