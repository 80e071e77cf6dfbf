/**
 * The built package in a real browser: headless Chromium (the system's /usr/bin/chromium, driven by
 * puppeteer-core) loads dist/ unmodified from a 127.0.0.1 static server with COOP/COEP, and the page
 * (test/browser/pages/main.js) runs each scenario with module Web Workers: a heap shared by the page and
 * two workers (structs, cross-thread frees, check()), background purge threads started and stopped from
 * the page, waitAsync, reclaiming a terminated worker, and the heap map. Builds dist/ first when it is
 * older than src/. Skips, saying why, only when no Chromium is installed.
 */
import { spawn } from "node:child_process";
import { existsSync, mkdtempSync, readdirSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import type { Browser, Page } from "puppeteer-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startDemoServer } from "../../src/cli/demo_browser.js";
import { type StaticServer, startStaticServer } from "../../src/cli/serve.js";

const ROOT = fileURLToPath(new URL("../..", import.meta.url));
const CHROMIUM = ["/usr/bin/chromium", "/usr/bin/chromium-browser", "/usr/bin/google-chrome"].find((p) =>
  existsSync(p),
);
if (CHROMIUM === undefined) {
  console.warn(
    "browser tests skipped: no Chromium found (/usr/bin/chromium); install it with `apt-get install -y chromium`",
  );
}

function newestMtime(dir: string): number {
  let t = 0;
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const p = join(dir, e.name);
    t = Math.max(t, e.isDirectory() ? newestMtime(p) : statSync(p).mtimeMs);
  }
  return t;
}

/**
 * Runs `npm run build` unless dist/ is newer than every source file. Asynchronously: a fork whose event
 * loop is blocked for long misses vitest's RPC deadlines.
 */
async function buildIfStale(): Promise<void> {
  const entry = join(ROOT, "dist/index.js");
  if (existsSync(entry) && statSync(entry).mtimeMs >= newestMtime(join(ROOT, "src"))) return;
  let output = "";
  const code = await new Promise<number | null>((resolve, reject) => {
    const child = spawn("npm", ["run", "build"], { cwd: ROOT });
    child.stdout.on("data", (d) => (output += String(d)));
    child.stderr.on("data", (d) => (output += String(d)));
    child.once("error", reject);
    child.once("close", resolve);
  });
  if (code !== 0) throw new Error(`npm run build failed (exit ${code}):\n${output}`);
}

describe.skipIf(CHROMIUM === undefined)("in headless Chromium", () => {
  let server: StaticServer;
  let browser: Browser;
  let page: Page;
  let profile: string;
  const pageErrors: string[] = [];

  beforeAll(async () => {
    await buildIfStale();
    server = await startStaticServer({
      "/dist/": join(ROOT, "dist"),
      "/test/browser/": join(ROOT, "test/browser"),
    });
    profile = mkdtempSync(join(tmpdir(), "jemalloc-ts-chromium-"));
    const puppeteer = await import("puppeteer-core");
    browser = await puppeteer.launch({
      executablePath: CHROMIUM,
      headless: true,
      userDataDir: profile,
      args: [
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--no-first-run",
        "--disable-dev-shm-usage",
      ],
      protocolTimeout: 90_000,
    });
    page = await browser.newPage();
    page.on("pageerror", (e) => pageErrors.push(String(e)));
    page.on("console", (m) => {
      if (m.type() === "error") pageErrors.push(m.text());
    });
    await page.goto(`${server.origin}/test/browser/pages/index.html`);
    await page.waitForFunction(
      "window.pageReady === true || document.getElementById('status').textContent !== 'loading'",
      {
        timeout: 30_000,
      },
    );
  });

  afterAll(async () => {
    await browser?.close();
    await server?.close();
    if (profile) rmSync(profile, { recursive: true, force: true });
  });

  // biome-ignore lint/suspicious/noExplicitAny: results are plain JSON from the page
  async function run(name: string): Promise<any> {
    const r = (await page.evaluate(
      (n) => (globalThis as never as { runScenario(n: string): unknown }).runScenario(n),
      name,
    )) as {
      ok: boolean;
      value?: unknown;
      error?: string;
    };
    if (!r.ok)
      throw new Error(
        `scenario ${name} failed in the page:\n${r.error}\npage errors: ${pageErrors.join("\n")}`,
      );
    return r.value;
  }

  it("loads dist/index.js unmodified (no node: imports), cross-origin isolated", async () => {
    expect(await page.evaluate("window.pageReady")).toBe(true);
    expect(await page.evaluate("self.crossOriginIsolated")).toBe(true);
  });

  it("a heap shared by the page and two module workers: structs, cross-thread frees, check()", async () => {
    const r = await run("shared");
    expect(r.crossOriginIsolated).toBe(true);
    expect(r.canBlock).toBe(false); // the page's locks spin, never Atomics.wait
    expect(new Set(r.threadIds).size).toBe(3);
    expect([r.pageBad, r.badA, r.badB]).toEqual([0, 0, 0]);
    expect(r.checkLiveExtents).toBeGreaterThan(0);
    expect(r.checkEndExtents).toBeGreaterThan(0);
    expect(r.allocated).toBe(0);
    expect(r.liveSlots).toBe(1);
  });

  it("background threads on a page: module workers purge, the page stops them without blocking", async () => {
    const r = await run("background");
    expect(r.dirtyBefore).toBeGreaterThan(0);
    expect(r.flagOn).toBe(true);
    expect(r.stats.numThreads).toBe(2);
    expect(r.stats.numRuns).toBeGreaterThan(0);
    expect(r.slotsAfterStop).toBe(1);
    expect(r.slotsEnd).toBe(1);
    expect(r.flagEnd).toBe(false);
  });

  it("atomic struct fields: wait refuses on the page naming waitAsync; waitAsync resolves", async () => {
    const r = await run("waitAsync");
    expect(r.waitError).toMatch(/cannot block.*Cell\.flag\.waitAsync/);
    expect(r.notified).toBe("ok");
    expect(r.value).toBe(7);
    expect(r.notEqual).toBe("not-equal");
    expect(r.timedOut).toBe("timed-out");
    expect(r.workerWait).toBe("ok");
  });

  it("heap.watch(worker, threadId) + heap.terminate(worker) reclaim a terminated worker", async () => {
    const r = await run("reclaim");
    expect(r.watchError).toMatch(/heap\.watch\(worker, threadId\)/);
    expect(r.slotsBefore).toBe(2);
    expect(r.slotsAfter).toBe(1);
    expect(r.reports).toHaveLength(1);
    expect(r.reports[0]).toMatchObject({ threadId: r.threadId, badCacheEntries: 0, cacheRecordBad: false });
    expect(r.keptCount).toBeGreaterThan(0);
    expect(r.allocated).toBe(0);
  });

  it("a lock held by a worker: the page spins, then fails with a LockTimeoutError naming the lock word and its owner", async () => {
    const r = await run("pageLocks");
    expect(r.canBlock).toBe(false);
    expect(r.name).toBe("LockTimeoutError");
    expect(r.error).toMatch(
      /lock .* \(word \d+\) not acquired within \d+ ms: held by owner slot 1 .*still alive/,
    );
  });

  it("the heap map renders in the page (parsed by the browser's SVG parser)", async () => {
    const r = await run("map");
    expect(r.parseError).toBe(false);
    expect(r.bands).toEqual(["0", "1"]);
    expect(r.rects).toBeGreaterThan(0);
    expect(r.extentsDrawn).toBe(r.extents);
  });

  it("the demo page (demo --browser): workers run, the live map and the stats are drawn", async () => {
    const demo = await startDemoServer(0);
    const p = await browser.newPage();
    const errors: string[] = [];
    p.on("pageerror", (e) => errors.push(String(e)));
    try {
      await p.goto(`${demo.origin}/`);
      // Redrawn while the workers run: wait for all four arenas' bands, live slabs, every worker busy.
      await p.waitForFunction(
        () => {
          const doc = (
            globalThis as never as {
              document: {
                querySelector(s: string): { innerHTML: string; textContent: string | null } | null;
              };
            }
          ).document;
          const svg = doc.querySelector("#map")?.innerHTML ?? "";
          const stats = doc.querySelector("#stats")?.textContent ?? "";
          return (
            (svg.match(/class="band"/g) ?? []).length >= 4 &&
            svg.includes("slab-fill") &&
            (stats.match(/received [1-9]/g) ?? []).length === 4
          );
        },
        { timeout: 45_000, polling: 200 },
      );
      const stats = await p.$eval("#stats", (e) => e.textContent ?? "");
      expect(stats).toMatch(/allocated [\d.]+ MiB/);
      expect(stats).toMatch(/worker 3: received [1-9]/);
      expect(stats).toMatch(/background threads: [1-9]/);
      expect(await p.$eval("#note", (e) => e.textContent)).toBe("");
      await p.click("#stop");
      expect(errors).toEqual([]);
    } finally {
      await p.close();
      await demo.close();
    }
  });

  it("no errors reached the page's console", () => {
    expect(pageErrors).toEqual([]);
  });

  // Last: a 404 and the error report reach the console on purpose.
  it("background thread 0 whose script fails to load: flag and count rolled back, the console says why", async () => {
    const r = await run("backgroundFails");
    expect(r.flagOn).toBe(true);
    expect(r.threadsOn).toBe(1);
    expect(r.flagEnd).toBe(false);
    expect(r.threadsEnd).toBe(0);
    expect(r.slots).toBe(1);
    expect(pageErrors.join("\n")).toMatch(
      /background thread 0 could not start .*background_thread is off again/,
    );
  });
});
