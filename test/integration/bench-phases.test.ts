// bench/phases.ts (W4 phase by phase): a small run prints one row per allocator and phase, with
// counts that follow from what each phase does. Times are printed, never checked.
import { execFileSync } from "node:child_process";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";

const ROOT = fileURLToPath(new URL("../..", import.meta.url));

interface Row {
  allocator: string;
  phase: string;
  nsPerCall: number;
  faults: number;
  slabPages: number;
}

function rows(out: string): Row[] {
  return out
    .split("\n")
    .filter((l) => l.startsWith("| ") && !l.startsWith("| allocator"))
    .map((l) => {
      const c = l.split("|").map((x) => x.trim());
      return {
        allocator: c[1]!,
        phase: c[2]!,
        nsPerCall: Number(c[3]),
        faults: Number(c[4]),
        slabPages: c[6] === "—" ? Number.NaN : Number(c[6]),
      };
    });
}

describe("bench/phases.ts", () => {
  it("reports the three W4 phases for each allocator, with the slab pages jemalloc-ts holds", () => {
    const out = execFileSync(
      process.execPath,
      [
        "--import",
        "tsx",
        "bench/phases.ts",
        "--runs",
        "1",
        "--scale",
        "0.02",
        "--conf",
        "default",
        "uint8array",
      ],
      { cwd: ROOT, encoding: "utf8", stdio: ["ignore", "pipe", "pipe"], timeout: 60_000 },
    );
    expect(out).toMatch(/a first write to a page of a fresh buffer: [\d.]+ µs before the runs/);
    const r = rows(out);
    expect(r.map((x) => x.allocator)).toEqual([
      ...Array(3).fill("jemalloc-ts default"),
      ...Array(3).fill("new Uint8Array"),
    ]);
    // Scale 0.02 of 200k / 50k blocks: the names say what ran.
    expect(r[0]!.phase).toBe("1: allocate 4k × 16–512 B");
    expect(r[1]!.phase).toBe("2: free a random 75 %");
    expect(r[2]!.phase).toBe("3: allocate 1k × 1 KiB–4 KiB");
    for (const x of r) {
      expect(x.nsPerCall).toBeGreaterThan(0);
      expect(Number.isInteger(x.faults) && x.faults >= 0).toBe(true);
    }
    const [p1, p2, p3] = r;
    // Phase 2 only frees: no slab is added. Phase 3's 1k blocks of 1–4 KiB need at least 1k × 1 KiB
    // of new slabs (their classes share no slab with phase 1's).
    expect(p1!.slabPages).toBeGreaterThan(0);
    expect(p2!.slabPages).toBeLessThanOrEqual(p1!.slabPages);
    expect(p3!.slabPages - p2!.slabPages).toBeGreaterThanOrEqual((1000 * 1024) / 4096);
    expect(Number.isNaN(r[3]!.slabPages)).toBe(true);
  });

  it("refuses a scale outside (0, 1], naming it", () => {
    let msg = "";
    try {
      execFileSync(process.execPath, ["--import", "tsx", "bench/phases.ts", "--scale", "2"], {
        cwd: ROOT,
        encoding: "utf8",
        stdio: ["ignore", "pipe", "pipe"],
        timeout: 60_000,
      });
    } catch (e) {
      msg = String((e as { stderr?: string }).stderr);
    }
    expect(msg).toContain("--scale must be in (0, 1], got 2");
  });
});
