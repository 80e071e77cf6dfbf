/**
 * svg: the results as a grouped bar chart — one group per workload, one bar per configuration (median
 * ns per call, logarithmic axis), with axis labels, a legend and a tooltip title on every bar.
 *
 * Every (workload, configuration) pair gets exactly one `<rect class="bar …">` carrying
 * `data-workload` and `data-config`, so a test (or a script) can find them; a cell with no
 * measurement (skipped, failed) is a zero-height bar with class `missing` and a "×" mark, a
 * partial one is drawn hatched with class `partial`.
 */
import type { CellResult, SuiteReport } from "./result.js";

const PALETTE = [
  "#1f77b4",
  "#2ca02c",
  "#9467bd",
  "#17becf",
  "#8c564b",
  "#bcbd22",
  "#e377c2",
  "#393b79",
  "#637939",
  "#ff7f0e",
  "#7f7f7f",
  "#d62728",
];
const BASELINE_COLORS: Record<string, string> = {
  "thi.ng": "#ff7f0e",
  uint8array: "#7f7f7f",
  "as-tlsf": "#2ca02c",
};

export function escapeXml(s: string): string {
  return s
    .replace(/&/g, "&amp;")
    .replace(/</g, "&lt;")
    .replace(/>/g, "&gt;")
    .replace(/"/g, "&quot;")
    .replace(/'/g, "&apos;");
}

interface Geometry {
  left: number;
  top: number;
  plotH: number;
  barW: number;
  groupGap: number;
  lo: number;
  hi: number;
}

function colorOf(id: string, kind: string, i: number): string {
  return kind === "jemalloc-ts"
    ? PALETTE[i % PALETTE.length]!
    : (BASELINE_COLORS[id] ?? PALETTE[(i + 5) % PALETTE.length]!);
}

/** Decades spanning every measured median (at least one). */
function logRange(results: readonly CellResult[]): { lo: number; hi: number } {
  const vals = results
    .map((r) => r.nsPerCall?.median ?? Number.NaN)
    .filter((v) => Number.isFinite(v) && v > 0);
  if (vals.length === 0) return { lo: 0, hi: 1 };
  const lo = Math.floor(Math.log10(Math.min(...vals)));
  const hi = Math.max(lo + 1, Math.ceil(Math.log10(Math.max(...vals))));
  return { lo, hi };
}

function yOf(g: Geometry, v: number): number {
  const t = (Math.log10(v) - g.lo) / (g.hi - g.lo);
  return g.top + g.plotH * (1 - Math.min(1, Math.max(0, t)));
}

function axes(g: Geometry, plotW: number): string[] {
  const out: string[] = [];
  const bottom = g.top + g.plotH;
  for (let d = g.lo; d <= g.hi; d++) {
    const y = yOf(g, 10 ** d);
    out.push(`<line class="grid" x1="${g.left}" y1="${y}" x2="${g.left + plotW}" y2="${y}" stroke="#ddd"/>`);
    out.push(
      `<text class="tick" x="${g.left - 6}" y="${y + 4}" text-anchor="end" font-size="11">${escapeXml(tickLabel(10 ** d))}</text>`,
    );
  }
  out.push(`<line class="axis" x1="${g.left}" y1="${g.top}" x2="${g.left}" y2="${bottom}" stroke="#000"/>`);
  out.push(
    `<line class="axis" x1="${g.left}" y1="${bottom}" x2="${g.left + plotW}" y2="${bottom}" stroke="#000"/>`,
  );
  const midY = g.top + g.plotH / 2;
  out.push(
    `<text class="axis-label" x="18" y="${midY}" transform="rotate(-90 18 ${midY})" text-anchor="middle" font-size="12">ns per malloc/free call (median, log scale)</text>`,
  );
  out.push(
    `<text class="axis-label" x="${g.left + plotW / 2}" y="${bottom + 40}" text-anchor="middle" font-size="12">workload</text>`,
  );
  return out;
}

function tickLabel(v: number): string {
  if (v >= 1e6) return `${v / 1e6} ms`;
  if (v >= 1e3) return `${v / 1e3} µs`;
  return `${v} ns`;
}

function bar(
  g: Geometry,
  r: CellResult | undefined,
  w: string,
  id: string,
  x: number,
  color: string,
): string[] {
  const bottom = g.top + g.plotH;
  const v = r?.nsPerCall?.median;
  const attrs = `data-workload="${escapeXml(w)}" data-config="${escapeXml(id)}"`;
  if (
    r === undefined ||
    v === undefined ||
    !Number.isFinite(v) ||
    v <= 0 ||
    r.status === "skipped" ||
    r.status === "error"
  ) {
    const why = r === undefined ? "not run" : `${r.status}${r.note ? `: ${r.note}` : ""}`;
    return [
      `<rect class="bar missing" ${attrs} x="${x}" y="${bottom}" width="${g.barW}" height="0" fill="${color}"><title>${escapeXml(`${w} × ${id}: ${why}`)}</title></rect>`,
      `<text class="na" x="${x + g.barW / 2}" y="${bottom - 3}" text-anchor="middle" font-size="9" fill="#888">×</text>`,
    ];
  }
  const y = yOf(g, v);
  const cls = r.status === "partial" ? "bar partial" : "bar";
  const fill = r.status === "partial" ? "url(#hatch)" : color;
  const tip = `${w} × ${r.label}: ${v.toFixed(1)} ns/call${r.status === "partial" ? " (partial)" : ""}`;
  return [
    `<rect class="${cls}" ${attrs} x="${x}" y="${y}" width="${g.barW}" height="${Math.max(0.5, bottom - y)}" fill="${fill}" stroke="${color}"><title>${escapeXml(tip)}</title></rect>`,
  ];
}

/** Legend columns wide enough for the longest label (about 6.5 px per character at 11 px). */
function legendColumns(rep: SuiteReport, width: number): { colW: number; cols: number } {
  const longest = Math.max(...rep.strategies.map((s) => s.label.length), 1);
  const colW = Math.ceil(longest * 6.5) + 28;
  return { colW, cols: Math.max(1, Math.floor(width / colW)) };
}

function legend(
  rep: SuiteReport,
  x0: number,
  y0: number,
  colors: string[],
  colW: number,
  cols: number,
): string[] {
  const out = [`<g class="legend">`];
  rep.strategies.forEach((s, i) => {
    const x = x0 + (i % cols) * colW;
    const y = y0 + Math.floor(i / cols) * 18;
    out.push(
      `<g class="legend-item" data-config="${escapeXml(s.id)}"><rect x="${x}" y="${y - 10}" width="12" height="12" fill="${colors[i]}"/><text x="${x + 18}" y="${y}" font-size="11">${escapeXml(s.label)}</text></g>`,
    );
  });
  out.push("</g>");
  return out;
}

/** The chart as a standalone SVG document. */
export function renderSvg(rep: SuiteReport): string {
  const nw = rep.workloads.length;
  const nc = rep.strategies.length;
  const { lo, hi } = logRange(rep.results);
  const g: Geometry = { left: 80, top: 50, plotH: 320, barW: 12, groupGap: 28, lo, hi };
  const groupW = nc * g.barW + g.groupGap;
  const plotW = Math.max(nw * groupW, 600);
  const { colW, cols } = legendColumns(rep, plotW);
  const legendRows = Math.ceil(nc / cols);
  const width = g.left + plotW + 20;
  const height = g.top + g.plotH + 60 + legendRows * 18 + 20;
  const colors = rep.strategies.map((s, i) => colorOf(s.id, s.kind, i));
  const byKey = new Map(rep.results.map((r) => [`${r.workload}\u0000${r.strategy}`, r]));
  const out = [
    `<?xml version="1.0" encoding="UTF-8"?>`,
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" font-family="sans-serif">`,
    `<defs><pattern id="hatch" width="4" height="4" patternUnits="userSpaceOnUse" patternTransform="rotate(45)"><rect width="2" height="4" fill="#999"/></pattern></defs>`,
    `<rect x="0" y="0" width="${width}" height="${height}" fill="#fff"/>`,
    `<text class="title" x="${g.left}" y="20" font-size="14" font-weight="bold">jemalloc-ts bench: ns per malloc/free call by workload and configuration</text>`,
    `<text class="subtitle" x="${g.left}" y="36" font-size="11" fill="#555">${escapeXml(`${rep.date} · ${rep.machine.cpu} × ${rep.machine.cpus} · node ${rep.node} · ${rep.quick ? "quick" : "full"} run`)}</text>`,
    ...axes(g, plotW),
  ];
  rep.workloads.forEach((w, wi) => {
    const gx = g.left + g.groupGap / 2 + wi * groupW;
    out.push(`<g class="group" data-workload="${escapeXml(w.name)}">`);
    rep.strategies.forEach((s, si) => {
      out.push(...bar(g, byKey.get(`${w.name}\u0000${s.id}`), w.name, s.id, gx + si * g.barW, colors[si]!));
    });
    out.push(
      `<text class="group-label" x="${gx + (nc * g.barW) / 2}" y="${g.top + g.plotH + 16}" text-anchor="middle" font-size="11">${escapeXml(w.name)}</text>`,
    );
    out.push("</g>");
  });
  out.push(...legend(rep, g.left, g.top + g.plotH + 68, colors, colW, cols), "</svg>");
  return `${out.join("\n")}\n`;
}
