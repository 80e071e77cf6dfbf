/**
 * The package entry's import graph (src/index.ts and every module it reaches, statically or through
 * import()) has no `node:` import outside src/platform, and src/platform reaches Node's modules only
 * through process.getBuiltinModule (type-only `typeof import("node:…")` is erased) — so the built dist/ loads in browsers. (The Chromium test loads it
 * for real; this check also runs where no browser is installed.)
 */
import { readFileSync } from "node:fs";
import { dirname, join, relative } from "node:path";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";

const SRC = fileURLToPath(new URL("../../src/", import.meta.url));
const IMPORT_RE =
  /(?:^|\n)\s*(?:import|export)\s[^;]*?from\s+["']([^"']+)["']|(?<!typeof )import\(\s*["']([^"']+)["']\s*\)/g;

function graph(entry: string): Map<string, string[]> {
  const seen = new Map<string, string[]>();
  const todo = [entry];
  while (todo.length > 0) {
    const file = todo.pop()!;
    if (seen.has(file)) continue;
    const text = readFileSync(file, "utf8");
    const specs: string[] = [];
    for (const m of text.matchAll(IMPORT_RE)) specs.push((m[1] ?? m[2])!);
    seen.set(file, specs);
    for (const s of specs) if (s.startsWith(".")) todo.push(join(dirname(file), s.replace(/\.js$/, ".ts")));
  }
  return seen;
}

describe("the package entry's module graph", () => {
  it("imports no node: module (platform reaches Node only at run time)", () => {
    const g = graph(join(SRC, "index.ts"));
    expect(g.size).toBeGreaterThan(50);
    const offenders: string[] = [];
    for (const [file, specs] of g) {
      for (const s of specs)
        if (s.startsWith("node:") || /^(fs|os|url|worker_threads|path)$/.test(s))
          offenders.push(`${relative(SRC, file)} → ${s}`);
    }
    expect(offenders).toEqual([]);
    // The background worker entry too (it is started from the package at run time).
    const bg = graph(join(SRC, "heap/background_worker.ts"));
    const bgOffenders = [...bg].flatMap(([f, specs]) =>
      specs.filter((s) => s.startsWith("node:")).map((s) => `${relative(SRC, f)} → ${s}`),
    );
    expect(bgOffenders).toEqual([]);
    expect(g.has(join(SRC, "platform/index.ts"))).toBe(true);
    expect(readFileSync(join(SRC, "platform/index.ts"), "utf8")).toContain("getBuiltinModule");
  });
});
