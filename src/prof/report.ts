/**
 * report: what `jemalloc-ts prof <dump>` prints — the top allocation sites by live bytes (flat: the
 * innermost frame holds them) and a flame graph of live bytes (SVG, outermost frame at the bottom).
 */
import { type ParsedDump, splitSymbol } from "./read.js";

function escapeXml(s: string): string {
  return s.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;").replace(/"/g, "&quot;");
}

export interface TopRow {
  fn: string;
  where: string;
  bytes: number;
  objects: number;
}

/** Sites by live bytes held, largest first. */
export function topSites(dump: ParsedDump, n: number): TopRow[] {
  const bySite = new Map<string, TopRow>();
  for (const s of dump.stacks) {
    const sym = s.frames[0] ?? "(unknown)";
    let row = bySite.get(sym);
    if (row === undefined) {
      row = { ...splitSymbol(sym), bytes: 0, objects: 0 };
      bySite.set(sym, row);
    }
    row.bytes += s.bytes;
    row.objects += s.objects;
  }
  return [...bySite.values()].sort((a, b) => b.bytes - a.bytes).slice(0, n);
}

export function formatTop(dump: ParsedDump, rows: readonly TopRow[]): string {
  const total = dump.stacks.reduce((a, s) => a + s.bytes, 0);
  const head = ["function", "file:line", "live bytes", "%", "objects"];
  const body = rows.map((r) => [
    r.fn,
    r.where,
    String(Math.round(r.bytes)),
    total > 0 ? ((100 * r.bytes) / total).toFixed(1) : "0.0",
    String(Math.round(r.objects)),
  ]);
  const widths = head.map((h, i) => Math.max(h.length, ...body.map((r) => r[i]!.length)));
  const line = (cells: string[]) =>
    cells.map((c, i) => (i >= 2 ? c.padStart(widths[i]!) : c.padEnd(widths[i]!))).join("  ");
  const out = [
    `Total: ${Math.round(total)} live bytes in ${dump.stacks.length} stacks (sample period ${dump.samplePeriod})`,
    line(head),
    ...body.map(line),
  ];
  return `${out.join("\n")}\n`;
}

interface FlameNode {
  name: string;
  bytes: number;
  children: Map<string, FlameNode>;
}

function flameTree(dump: ParsedDump): FlameNode {
  const root: FlameNode = { name: "all", bytes: 0, children: new Map() };
  for (const s of dump.stacks) {
    root.bytes += s.bytes;
    let node = root;
    for (let i = s.frames.length - 1; i >= 0; i--) {
      const name = s.frames[i]!;
      let c = node.children.get(name);
      if (c === undefined) {
        c = { name, bytes: 0, children: new Map() };
        node.children.set(name, c);
      }
      c.bytes += s.bytes;
      node = c;
    }
  }
  return root;
}

const ROW_H = 18;
const WIDTH = 1200;
const COLORS = ["#e45c3a", "#f08b3a", "#f2b33d", "#e8743b", "#d9534f", "#f0a04b"];

interface Placed {
  node: FlameNode;
  x: number;
  depth: number;
  w: number;
}

/** A flame graph of live bytes: one `<g class="frame">` per node, with a tooltip title. */
export function renderFlameSvg(dump: ParsedDump): string {
  const root = flameTree(dump);
  const placed: Placed[] = [];
  const walk = (n: FlameNode, x: number, depth: number): void => {
    const w = root.bytes > 0 ? (n.bytes / root.bytes) * WIDTH : 0;
    if (w < 0.3) return;
    placed.push({ node: n, x, depth, w });
    let cx = x;
    for (const c of [...n.children.values()].sort((a, b) => a.name.localeCompare(b.name))) {
      walk(c, cx, depth + 1);
      cx += (c.bytes / root.bytes) * WIDTH;
    }
  };
  walk(root, 0, 0);
  const depthMax = placed.reduce((m, p) => Math.max(m, p.depth), 0);
  const height = (depthMax + 1) * ROW_H + 30;
  return [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${WIDTH}" height="${height}" font-family="monospace" font-size="11">`,
    `<text x="4" y="14">live bytes by stack: ${Math.round(root.bytes)} bytes (sample period ${dump.samplePeriod})</text>`,
    ...placed.map((p) => frameRect(p, height - (p.depth + 1) * ROW_H, root.bytes)),
    "</svg>",
    "",
  ].join("\n");
}

/** One frame, outermost at the bottom (row `y`). */
function frameRect(p: Placed, y: number, total: number): string {
  const n = p.node;
  const pct = total > 0 ? ((100 * n.bytes) / total).toFixed(2) : "0";
  const title = escapeXml(`${n.name}: ${Math.round(n.bytes)} bytes (${pct} %)`);
  const color = COLORS[Math.abs(hash(n.name)) % COLORS.length]!;
  const label = p.w > 40 ? escapeXml(splitSymbol(n.name).fn.slice(0, Math.floor(p.w / 7))) : "";
  return (
    `<g class="frame" data-bytes="${Math.round(n.bytes)}"><title>${title}</title>` +
    `<rect x="${p.x.toFixed(2)}" y="${y}" width="${p.w.toFixed(2)}" height="${ROW_H - 1}" fill="${color}"/>` +
    `<text x="${(p.x + 3).toFixed(2)}" y="${y + 12}">${label}</text></g>`
  );
}

function hash(s: string): number {
  let h = 0;
  for (let i = 0; i < s.length; i++) h = (Math.imul(h, 31) + s.charCodeAt(i)) | 0;
  return h;
}
