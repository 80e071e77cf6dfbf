/**
 * `jemalloc-ts prof <dump> [--top N] [--svg FILE]`: reads a heap dump (prof.dump, prof_final, or
 * heap.profile({ format: "jeprof" })) and prints the top allocation sites by live bytes — function,
 * file:line, live bytes, objects — without Perl; --svg also writes a flame graph of live bytes.
 */
import { readFileSync, writeFileSync } from "node:fs";
import { parseDump } from "../prof/read.js";
import { formatTop, renderFlameSvg, topSites } from "../prof/report.js";

const USAGE = "usage: jemalloc-ts prof <dump> [--top N] [--svg FILE]\n";

export function runProfCli(argv: string[], out: (s: string) => void, err: (s: string) => void): number {
  let file: string | undefined;
  let top = 20;
  let svg: string | undefined;
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    if (a === "--top") {
      const v = Number(argv[++i]);
      if (!Number.isInteger(v) || v <= 0) {
        err(
          `jemalloc-ts prof: --top needs a positive integer, got ${JSON.stringify(argv[i] ?? "")}\n${USAGE}`,
        );
        return 2;
      }
      top = v;
    } else if (a === "--svg") {
      svg = argv[++i];
      if (svg === undefined) {
        err(`jemalloc-ts prof: --svg needs a file name\n${USAGE}`);
        return 2;
      }
    } else if (a.startsWith("-")) {
      err(`jemalloc-ts prof: unknown option ${JSON.stringify(a)}\n${USAGE}`);
      return 2;
    } else if (file === undefined) file = a;
    else {
      err(`jemalloc-ts prof: one dump at a time (got ${JSON.stringify(a)} too)\n${USAGE}`);
      return 2;
    }
  }
  if (file === undefined) {
    err(USAGE);
    return 2;
  }
  let text: string;
  try {
    text = readFileSync(file, "utf8");
  } catch (e) {
    err(`jemalloc-ts prof: cannot read ${file}: ${e instanceof Error ? e.message : String(e)}\n`);
    return 1;
  }
  const dump = parseDump(text);
  out(formatTop(dump, topSites(dump, top)));
  if (svg !== undefined) writeFileSync(svg, renderFlameSvg(dump));
  return 0;
}
