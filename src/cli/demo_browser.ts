/**
 * `jemalloc-ts demo --browser`: serves the browser demo (the built package's dist/ and a page that
 * loads dist/cli/demo_page.js) on 127.0.0.1 with the cross-origin isolation headers SharedArrayBuffer
 * needs, prints its URL and serves until interrupted.
 */
import { existsSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { type StaticServer, startStaticServer } from "./serve.js";

export const DEMO_PAGE_HTML = `<!doctype html>
<meta charset="utf-8">
<link rel="icon" href="data:,">
<title>jemalloc-ts: live heap map</title>
<style>
  body { font-family: sans-serif; margin: 16px; }
  #wrap { display: flex; gap: 16px; align-items: flex-start; }
  #stats { font-family: monospace; white-space: pre; font-size: 13px; min-width: 260px; }
</style>
<h1>jemalloc-ts in the browser</h1>
<p>One heap in a SharedArrayBuffer; four module Web Workers allocate and free Msg structs (most frees
cross-thread); the map below is <code>heapMapSvg(heap.map())</code>, redrawn from the page.</p>
<p><button id="stop">stop the workers</button> <span id="note"></span></p>
<div id="wrap"><div id="map"></div><div id="stats"></div></div>
<script type="module" src="/cli/demo_page.js"></script>
`;

/** The directory of the built package (dist/), whether this runs from dist/ or from src/ via tsx. */
export function distDir(): string {
  const here = fileURLToPath(new URL("..", import.meta.url));
  if (existsSync(`${here}/cli/demo_page.js`)) return here;
  return fileURLToPath(new URL("../../dist/", import.meta.url));
}

/** Starts the demo server (port 0: any free port). */
export async function startDemoServer(port = 0): Promise<StaticServer> {
  const dist = distDir();
  if (!existsSync(`${dist}/cli/demo_page.js`))
    throw new Error(`demo --browser: ${dist}cli/demo_page.js is missing; run npm run build first`);
  return startStaticServer({ "/": dist }, port, { "/": DEMO_PAGE_HTML, "/index.html": DEMO_PAGE_HTML });
}

export async function runDemoBrowser(port: number, out: (s: string) => void): Promise<number> {
  const s = await startDemoServer(port);
  out(`jemalloc-ts browser demo: open ${s.origin}/ (Ctrl-C to stop)\n`);
  await new Promise<void>((resolve) => process.once("SIGINT", () => resolve()));
  await s.close();
  return 0;
}
