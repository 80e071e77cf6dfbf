/**
 * serve: a small static file server for the browser demo and the browser tests. Binds 127.0.0.1 only,
 * serves files under the given roots (URL prefix → directory), and sends the cross-origin isolation
 * headers (COOP same-origin, COEP require-corp) a page needs for SharedArrayBuffer. GET and HEAD only;
 * paths that leave their root are refused.
 */
import { createReadStream, statSync } from "node:fs";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { extname, join, normalize, resolve, sep } from "node:path";

const TYPES: Record<string, string> = {
  ".html": "text/html; charset=utf-8",
  ".js": "text/javascript; charset=utf-8",
  ".mjs": "text/javascript; charset=utf-8",
  ".map": "application/json",
  ".json": "application/json",
  ".css": "text/css; charset=utf-8",
  ".svg": "image/svg+xml",
  ".png": "image/png",
};

const ISOLATION_HEADERS = {
  "Cross-Origin-Opener-Policy": "same-origin",
  "Cross-Origin-Embedder-Policy": "require-corp",
  "Cross-Origin-Resource-Policy": "same-origin",
  "Cache-Control": "no-store",
};

export interface StaticServer {
  readonly server: Server;
  /** http://127.0.0.1:<port> */
  readonly origin: string;
  close(): Promise<void>;
}

/** The file for a URL path, or null when no root holds it. */
function resolveFile(roots: ReadonlyArray<readonly [string, string]>, urlPath: string): string | null {
  let path: string;
  try {
    path = decodeURIComponent(urlPath.split("?")[0]!);
  } catch {
    return null;
  }
  for (const [prefix, dir] of roots) {
    if (!path.startsWith(prefix)) continue;
    const base = resolve(dir);
    const file = resolve(join(base, normalize(path.slice(prefix.length))));
    if (file !== base && !file.startsWith(base + sep)) return null;
    try {
      const st = statSync(file);
      if (st.isFile()) return file;
      if (st.isDirectory()) {
        const index = join(file, "index.html");
        if (statSync(index, { throwIfNoEntry: false })?.isFile()) return index;
      }
    } catch {
      // not in this root
    }
  }
  return null;
}

/**
 * Starts the server on 127.0.0.1 (port 0: any free port). `roots`: URL prefix → directory; `pages`:
 * exact URL path → HTML served from memory.
 */
export function startStaticServer(
  roots: Record<string, string>,
  port = 0,
  pages: Record<string, string> = {},
): Promise<StaticServer> {
  const list = Object.entries(roots).sort((a, b) => b[0].length - a[0].length);
  const server = createServer((req, res) => {
    if (req.method !== "GET" && req.method !== "HEAD") {
      res.writeHead(405, { Allow: "GET, HEAD" }).end();
      return;
    }
    const page = pages[(req.url ?? "/").split("?")[0]!];
    if (page !== undefined) {
      res.writeHead(200, { "Content-Type": TYPES[".html"]!, ...ISOLATION_HEADERS });
      res.end(req.method === "HEAD" ? undefined : page);
      return;
    }
    const file = resolveFile(list, req.url ?? "/");
    if (file === null) {
      res
        .writeHead(404, { "Content-Type": "text/plain", ...ISOLATION_HEADERS })
        .end(`not found: ${req.url}\n`);
      return;
    }
    res.writeHead(200, {
      "Content-Type": TYPES[extname(file)] ?? "application/octet-stream",
      ...ISOLATION_HEADERS,
    });
    if (req.method === "HEAD") res.end();
    else createReadStream(file).pipe(res);
  });
  return new Promise((resolveStart, reject) => {
    server.once("error", reject);
    server.listen(port, "127.0.0.1", () => {
      const { port: p } = server.address() as AddressInfo;
      resolveStart({
        server,
        origin: `http://127.0.0.1:${p}`,
        close: () => new Promise((r) => server.close(() => r())),
      });
    });
  });
}
