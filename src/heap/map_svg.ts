/**
 * map_svg: renders a heap map snapshot (heap.map()) as a standalone SVG string: one band per arena
 * across the carved address space [0, top), each extent a rectangle coloured by its state, a slab's
 * used regions as a darker fill from the bottom (used / nregs of its height), a legend and totals.
 * Neighbouring extents of one state that together are under MERGE_PX wide are drawn as one rectangle
 * (data-count says how many), so a heap of 100 000 extents still gives a small SVG. Elements carry
 * data-* attributes (arena, state, address, size, count) so tools and tests can read it back.
 * Pure string building: runs anywhere (Node, a page, a worker).
 */
import type { ExtentStateName, HeapMapSnapshot, HeapMapTotals } from "./map.js";

export interface HeapMapSvgOptions {
  /** Image width in px (default 960). */
  widthPx?: number;
  /** Title line (default "jemalloc-ts heap map"). */
  title?: string;
}

/** Fill colours by state (the legend shows the same). */
export const HEAP_MAP_COLOURS: Readonly<Record<ExtentStateName, string>> = {
  active: "#3b6fb6",
  dirty: "#d94841",
  muzzy: "#e8a33d",
  retained: "#a7b0bc",
};
const SLAB_USED = "#1d3f73";
const STATES: readonly ExtentStateName[] = ["active", "dirty", "muzzy", "retained"];

const LABEL_PX = 70;
const BAND_PX = 34;
const GAP_PX = 22;
const TOP_PX = 40;

function esc(s: string): string {
  return s.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;").replace(/"/g, "&quot;");
}

/** 1536 → "1.5 KiB". */
export function formatBytes(n: number): string {
  const units = ["B", "KiB", "MiB", "GiB"];
  let u = 0;
  while (n >= 1024 && u < units.length - 1) {
    n /= 1024;
    u++;
  }
  return `${u === 0 ? n : n.toFixed(n < 10 ? 2 : 1)} ${units[u]}`;
}

function totalsText(t: HeapMapTotals): string {
  return STATES.map((s) => `${s} ${formatBytes(t[s])}`).join(" · ");
}

function checkSnapshot(m: HeapMapSnapshot): void {
  if (m === null || typeof m !== "object" || !Array.isArray(m.extents) || !Array.isArray(m.arenas))
    throw new TypeError("heapMapSvg: expected a snapshot from heap.map()");
}

/** A run of extents drawn as one rectangle (adjacent, same state, together narrower than MERGE_PX). */
interface Run {
  state: ExtentStateName;
  address: number;
  size: number;
  count: number;
  x0: number;
  x1: number;
  usedRegs: number;
  nregs: number;
  sizeClass: number | undefined;
}

/** Runs narrower than this keep absorbing neighbours: the SVG stays small however many extents. */
const MERGE_PX = 2;

function runRects(r: Run, arena: number, y: number): string[] {
  const w = Math.max(r.x1 - r.x0, 0.6);
  const data = `data-arena="${arena}" data-state="${r.state}" data-address="${r.address}" data-size="${r.size}" data-count="${r.count}"`;
  const what = r.count === 1 ? "" : ` (${r.count} extents)`;
  const cls = r.sizeClass !== undefined && r.count === 1 ? `, class ${r.sizeClass}` : "";
  const used = r.nregs > 0 ? `, ${r.usedRegs}/${r.nregs} regions used` : "";
  const tip = `${r.state} ${formatBytes(r.size)} at ${r.address}${what}${cls}${used}`;
  const out = [
    `<rect class="extent" ${data} x="${r.x0.toFixed(2)}" y="${y}" width="${w.toFixed(2)}" height="${BAND_PX}" fill="${HEAP_MAP_COLOURS[r.state]}"><title>${esc(tip)}</title></rect>`,
  ];
  if (r.nregs > 0) {
    const h = (r.usedRegs / r.nregs) * BAND_PX;
    out.push(
      `<rect class="slab-fill" data-used="${(r.usedRegs / r.nregs).toFixed(3)}" x="${r.x0.toFixed(2)}" y="${(y + BAND_PX - h).toFixed(2)}" width="${w.toFixed(2)}" height="${h.toFixed(2)}" fill="${SLAB_USED}" pointer-events="none"/>`,
    );
  }
  return out;
}

/** One arena's extents (address order) as rectangles, tiny neighbours merged into runs. */
function arenaRects(m: HeapMapSnapshot, arena: number, y: number, plotPx: number, span: number): string[] {
  const out: string[] = [];
  let run: Run | null = null;
  for (const x of m.extents) {
    if (x.arena !== arena) continue;
    const x0 = LABEL_PX + (x.address / span) * plotPx;
    const x1 = LABEL_PX + ((x.address + x.size) / span) * plotPx;
    if (run !== null && run.state === x.state && x0 - run.x1 < 0.5 && x1 - run.x0 < MERGE_PX) {
      run.x1 = x1;
      run.size += x.size;
      run.count++;
      run.usedRegs += x.nregs === undefined ? 0 : x.nregs - x.nfree!;
      run.nregs += x.nregs ?? 0;
      continue;
    }
    if (run !== null) for (const el of runRects(run, arena, y)) out.push(el);
    run = {
      state: x.state,
      address: x.address,
      size: x.size,
      count: 1,
      x0,
      x1,
      usedRegs: x.nregs === undefined ? 0 : x.nregs - x.nfree!,
      nregs: x.nregs ?? 0,
      sizeClass: x.sizeClass,
    };
  }
  if (run !== null) for (const el of runRects(run, arena, y)) out.push(el);
  return out;
}

/** The arena bands: one <g class="band"> per arena with its extents. */
function bands(m: HeapMapSnapshot, plotPx: number, span: number): string[] {
  const out: string[] = [];
  for (const [i, a] of m.arenas.entries()) {
    const y = TOP_PX + i * (BAND_PX + GAP_PX);
    out.push(`<g class="band" data-arena="${a.index}">`);
    out.push(
      `<rect class="band-bg" x="${LABEL_PX}" y="${y}" width="${plotPx}" height="${BAND_PX}" fill="#f1f3f6" stroke="#d0d5dc"/>`,
    );
    out.push(`<text x="4" y="${y + BAND_PX / 2 + 4}" font-size="12">arena ${a.index}</text>`);
    for (const el of arenaRects(m, a.index, y, plotPx, span)) out.push(el);
    out.push(
      `<text class="band-totals" x="${LABEL_PX}" y="${y + BAND_PX + 13}" font-size="10" fill="#555">${esc(totalsText(a.totals))} · ${a.extents} extents, ${a.slabs} slabs</text>`,
    );
    out.push("</g>");
  }
  return out;
}

function legend(y: number): string[] {
  const out = ['<g class="legend">'];
  let x = LABEL_PX;
  for (const s of STATES) {
    out.push(`<rect x="${x}" y="${y}" width="12" height="12" fill="${HEAP_MAP_COLOURS[s]}"/>`);
    out.push(`<text x="${x + 16}" y="${y + 10}" font-size="11">${s}</text>`);
    x += 84;
  }
  out.push(`<rect x="${x}" y="${y}" width="12" height="12" fill="${SLAB_USED}"/>`);
  out.push(`<text x="${x + 16}" y="${y + 10}" font-size="11">slab regions in use</text>`);
  out.push("</g>");
  return out;
}

/** Renders a snapshot from heap.map() as an SVG document (a string). */
export function heapMapSvg(m: HeapMapSnapshot, options: HeapMapSvgOptions = {}): string {
  checkSnapshot(m);
  const widthPx = options.widthPx ?? 960;
  if (!Number.isFinite(widthPx) || widthPx < 200)
    throw new RangeError(`heapMapSvg: widthPx must be a number ≥ 200, got ${String(widthPx)}`);
  const plotPx = widthPx - LABEL_PX - 10;
  const span = Math.max(m.topBytes, 1);
  const legendY = TOP_PX + m.arenas.length * (BAND_PX + GAP_PX) + 4;
  const heightPx = legendY + 40;
  const title = options.title ?? "jemalloc-ts heap map";
  const parts: string[] = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${widthPx}" height="${heightPx}" viewBox="0 0 ${widthPx} ${heightPx}" font-family="sans-serif">`,
    `<rect width="100%" height="100%" fill="#ffffff"/>`,
    `<text x="4" y="16" font-size="14" font-weight="bold">${esc(title)}</text>`,
    `<text class="axis" x="${LABEL_PX}" y="32" font-size="10" fill="#555">address 0 … ${formatBytes(m.topBytes)} carved (of ${formatBytes(m.maxBytes)}), page ${m.pageBytes} B, ${m.extents.length} extents in ${m.arenas.length} arenas</text>`,
  ];
  for (const el of bands(m, plotPx, span)) parts.push(el);
  parts.push(
    ...legend(legendY),
    `<text class="totals" x="${LABEL_PX}" y="${legendY + 30}" font-size="11">total: ${esc(totalsText(m.totals))}</text>`,
    "</svg>",
  );
  return `${parts.join("\n")}\n`;
}
