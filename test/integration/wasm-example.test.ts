/**
 * The WebAssembly example (examples/wasm, `npm run example:wasm`) runs: the module builds its tree, JS
 * walks it in order, a worker frees the left subtree, the heap checks clean and prints its statistics.
 */
import { execFile } from "node:child_process";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { describe, expect, it } from "vitest";

const ROOT = fileURLToPath(new URL("../..", import.meta.url));

describe("examples/wasm", () => {
  it("builds, walks, frees from a worker and prints malloc_stats_print", async () => {
    const { stdout } = await promisify(execFile)(
      process.execPath,
      ["--import", "tsx", "examples/wasm/run.ts"],
      {
        cwd: ROOT,
        maxBuffer: 1 << 24,
      },
    );
    const nodes = Number(/JS walk: (\d+) nodes holding 200000 keys, in order: true/.exec(stdout)?.[1]);
    expect(nodes).toBeGreaterThan(150_000);
    const m = /worker freed (\d+) nodes; (\d+) remain \((\d+) before\)/.exec(stdout);
    expect(m).not.toBeNull();
    expect(Number(m![1])).toBeGreaterThan(0);
    expect(Number(m![1]) + Number(m![2])).toBe(nodes);
    expect(stdout).toMatch(/memory grew from \d+ to \d+ bytes/);
    expect(stdout).toContain("___ Begin jemalloc statistics ___");
    expect(stdout).toContain("--- End jemalloc statistics ---");
  }, 60_000);
});
