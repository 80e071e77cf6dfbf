/**
 * imports: the import graph of a TypeScript source tree, read as text (tests only). Every static
 * `import … from`, `import type … from`, `export … from`, side-effect `import "…"` and dynamic
 * `import("…")` with a relative specifier is an edge; type-only imports count (they still tie files
 * together). A worker entry named by `new URL("…", import.meta.url)` is not an import: it starts a
 * module graph of its own, in another thread. Used by the layering test.
 */
import { readdirSync, readFileSync } from "node:fs";
import { dirname, join, normalize, relative, sep } from "node:path";

export interface ImportGraph {
  /** File paths relative to the root, with "/" separators. */
  files: string[];
  /** file → the files it imports (relative to the root). */
  edges: Map<string, string[]>;
}

const SPECIFIER = /(?:\bfrom\s*|\bimport\s*\(\s*|^\s*import\s+)["'](\.{1,2}\/[^"']+)["']/gm;

function listTs(dir: string, out: string[]): void {
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const p = join(dir, e.name);
    if (e.isDirectory()) listTs(p, out);
    else if (p.endsWith(".ts") && !p.endsWith(".d.ts")) out.push(p);
  }
}

function toPosix(p: string): string {
  return p.split(sep).join("/");
}

/** Reads every .ts file below `root` and resolves its relative imports to files of the tree. */
export function readImportGraph(root: string): ImportGraph {
  const abs: string[] = [];
  listTs(root, abs);
  const files = abs.map((f) => toPosix(relative(root, f))).sort();
  const known = new Set(files);
  const edges = new Map<string, string[]>();
  for (const f of files) {
    const text = readFileSync(join(root, f), "utf8");
    const targets = new Set<string>();
    for (const m of text.matchAll(SPECIFIER)) {
      const spec = m[1]!;
      const resolved = toPosix(normalize(join(dirname(f), spec))).replace(/\.js$/, ".ts");
      if (known.has(resolved)) targets.add(resolved);
    }
    edges.set(f, [...targets].sort());
  }
  return { files, edges };
}

/** Strongly connected components with more than one file, or a file importing itself (Tarjan). */
export function importCycles(g: ImportGraph): string[][] {
  let next = 0;
  const index = new Map<string, number>();
  const low = new Map<string, number>();
  const onStack = new Set<string>();
  const stack: string[] = [];
  const cycles: string[][] = [];
  const visit = (v: string): void => {
    index.set(v, next);
    low.set(v, next);
    next++;
    stack.push(v);
    onStack.add(v);
    for (const w of g.edges.get(v) ?? []) {
      if (!index.has(w)) {
        visit(w);
        low.set(v, Math.min(low.get(v)!, low.get(w)!));
      } else if (onStack.has(w)) low.set(v, Math.min(low.get(v)!, index.get(w)!));
    }
    if (low.get(v) === index.get(v)) {
      const scc: string[] = [];
      let w: string;
      do {
        w = stack.pop()!;
        onStack.delete(w);
        scc.push(w);
      } while (w !== v);
      if (scc.length > 1 || (g.edges.get(v) ?? []).includes(v)) cycles.push(scc.sort());
    }
  };
  for (const f of g.files) if (!index.has(f)) visit(f);
  return cycles;
}

/** The room of a file: its top-level folder, or the file itself when it sits at the root. */
export function roomOf(file: string): string {
  const slash = file.indexOf("/");
  return slash < 0 ? file : file.slice(0, slash);
}

/**
 * Imports that break the floors: a file may import files of its own room or of a room on a lower
 * floor; rooms on the same floor are independent of each other. `floors` lists rooms bottom up, one
 * entry per floor (rooms sharing a floor in one array); a room missing from it is reported too.
 */
export function layeringViolations(g: ImportGraph, floors: readonly (readonly string[])[]): string[] {
  const floorOf = new Map<string, number>();
  floors.forEach((rooms, i) => {
    for (const r of rooms) floorOf.set(r, i);
  });
  const out: string[] = [];
  for (const f of g.files) {
    const from = roomOf(f);
    const ff = floorOf.get(from);
    if (ff === undefined) {
      out.push(`${f}: room "${from}" is on no floor`);
      continue;
    }
    for (const t of g.edges.get(f) ?? []) {
      const to = roomOf(t);
      if (to === from) continue;
      const tf = floorOf.get(to);
      if (tf === undefined) continue; // reported for its own files
      if (tf > ff) out.push(`${f} -> ${t}: up from floor ${ff} (${from}) to ${tf} (${to})`);
      else if (tf === ff) out.push(`${f} -> ${t}: sideways between ${from} and ${to} on floor ${ff}`);
    }
  }
  return out;
}
