import { describe, expect, it } from "vitest";
import { type CellResult, REPORT_FORMAT, type SuiteReport } from "../../src/bench/result.js";
import { FOOTPRINT_MEANING, parseStrategy } from "../../src/bench/strategies.js";
import { escapeXml, renderSvg } from "../../src/bench/svg.js";
import { formatMarkdown, formatTable } from "../../src/bench/table.js";

/** A minimal XML reader: enough to check well-formedness and find elements with their attributes. */
interface XmlElement {
  name: string;
  attrs: Record<string, string>;
  children: XmlElement[];
  text: string;
}

function parseXml(src: string): XmlElement {
  const root: XmlElement = { name: "#document", attrs: {}, children: [], text: "" };
  const stack: XmlElement[] = [root];
  const tag = /<(\/?)([A-Za-z_][\w:.-]*)((?:\s+[\w:.-]+\s*=\s*(?:"[^"]*"|'[^']*'))*)\s*(\/?)>/y;
  const attr = /([\w:.-]+)\s*=\s*(?:"([^"]*)"|'([^']*)')/g;
  let i = 0;
  while (i < src.length) {
    if (src.startsWith("<?", i)) {
      const end = src.indexOf("?>", i);
      if (end < 0) throw new Error(`unterminated processing instruction at ${i}`);
      i = end + 2;
    } else if (src.startsWith("<!--", i)) {
      const end = src.indexOf("-->", i);
      if (end < 0) throw new Error(`unterminated comment at ${i}`);
      i = end + 3;
    } else if (src[i] === "<") {
      tag.lastIndex = i;
      const m = tag.exec(src);
      if (m === null) throw new Error(`malformed tag at ${i}: ${src.slice(i, i + 40)}`);
      const [whole, close, name, attrText, selfClose] = m;
      if (close) {
        const top = stack.pop();
        if (top === undefined || top.name !== name)
          throw new Error(`</${name}> closes <${top?.name}> at ${i}`);
      } else {
        const el: XmlElement = { name: name!, attrs: {}, children: [], text: "" };
        for (const a of attrText!.matchAll(attr)) el.attrs[a[1]!] = unescapeXml(a[2] ?? a[3] ?? "");
        stack[stack.length - 1]!.children.push(el);
        if (!selfClose) stack.push(el);
      }
      i += whole!.length;
    } else {
      const next = src.indexOf("<", i);
      const text = src.slice(i, next < 0 ? src.length : next);
      if (/[<>]/.test(text) || /&(?!(amp|lt|gt|quot|apos);)/.test(text))
        throw new Error(`bad character data at ${i}`);
      stack[stack.length - 1]!.text += unescapeXml(text);
      i = next < 0 ? src.length : next;
    }
  }
  if (stack.length !== 1) throw new Error(`unclosed <${stack[stack.length - 1]!.name}>`);
  return root;
}

function unescapeXml(s: string): string {
  return s
    .replace(/&lt;/g, "<")
    .replace(/&gt;/g, ">")
    .replace(/&quot;/g, '"')
    .replace(/&apos;/g, "'")
    .replace(/&amp;/g, "&");
}

function findAll(el: XmlElement, pred: (e: XmlElement) => boolean, out: XmlElement[] = []): XmlElement[] {
  if (pred(el)) out.push(el);
  for (const c of el.children) findAll(c, pred, out);
  return out;
}

function textOf(el: XmlElement): string {
  return el.text + el.children.map(textOf).join("");
}

function cell(workload: string, id: string, status: CellResult["status"], ns: number | null): CellResult {
  const s = parseStrategy(id);
  return {
    workload,
    strategy: s.id,
    label: s.label,
    kind: s.kind,
    status,
    note: status === "ok" ? undefined : `${status} because <reasons> & "quotes"`,
    callsPerIteration: 2048,
    nsPerCall:
      ns === null
        ? null
        : {
            median: ns,
            mad: ns / 10,
            mean: ns,
            min: ns / 2,
            max: ns * 2,
            p75: ns,
            p99: ns * 2,
            samples: 12,
            faultsPerCall: 0.5,
          },
    footprint:
      ns === null
        ? null
        : {
            inUseHighWater: 1380,
            mappedHighWater: 4000,
            peakLiveRequested: 1000,
            ratio: 1.38,
            mappedRatio: 4,
            bufferBytes: 2 ** 30,
          },
    wallMs: 10,
  };
}

function syntheticReport(): SuiteReport {
  const ids = ["default", "tcache:false", "lg_page:16", "thi.ng", "uint8array"];
  const workloads = ["small-churn", "fragmentation", "producer-consumer"];
  const results: CellResult[] = [];
  workloads.forEach((w, wi) => {
    ids.forEach((id, i) => {
      const skipped = w === "producer-consumer" && (id === "thi.ng" || id === "uint8array");
      const partial = w === "fragmentation" && id === "thi.ng";
      results.push(
        cell(
          w,
          id,
          skipped ? "skipped" : partial ? "partial" : "ok",
          skipped ? null : 20 * (i + 1) * 10 ** wi,
        ),
      );
    });
  });
  return {
    format: REPORT_FORMAT,
    date: "2026-05-26T10:00:00.000Z",
    machine: {
      cpu: "Test CPU <x>",
      cpus: 2,
      arch: "x64",
      platform: "linux",
      release: "6.0",
      totalMemBytes: 2 ** 34,
    },
    node: "v20.0.0",
    quick: true,
    scale: 0.1,
    seed: 1,
    isolated: true,
    strategies: ids.map((id) => {
      const { label, kind, conf } = parseStrategy(id);
      return { id: parseStrategy(id).id, label, kind, conf };
    }),
    workloads: workloads.map((name) => ({
      name,
      description: `${name} description`,
      callsPerIteration: 2048,
    })),
    footprintMeaning: FOOTPRINT_MEANING,
    results,
    totalMs: 1234,
  };
}

describe("bench SVG chart", () => {
  const rep = syntheticReport();
  const doc = parseXml(renderSvg(rep));
  const svg = doc.children[0]!;

  it("is one well-formed <svg> document", () => {
    expect(doc.children.length).toBe(1);
    expect(svg.name).toBe("svg");
    expect(svg.attrs.xmlns).toBe("http://www.w3.org/2000/svg");
    expect(Number(svg.attrs.width)).toBeGreaterThan(0);
  });

  it("has exactly one bar per configuration × workload", () => {
    const bars = findAll(svg, (e) => e.name === "rect" && (e.attrs.class ?? "").split(" ").includes("bar"));
    expect(bars.length).toBe(rep.strategies.length * rep.workloads.length);
    const keys = new Set(bars.map((b) => `${b.attrs["data-workload"]}|${b.attrs["data-config"]}`));
    for (const w of rep.workloads)
      for (const s of rep.strategies) expect(keys.has(`${w.name}|${s.id}`)).toBe(true);
    expect(keys.size).toBe(bars.length);
  });

  it("draws taller bars for slower cells (log scale), marks skipped and partial cells", () => {
    const bars = findAll(svg, (e) => e.name === "rect" && (e.attrs.class ?? "").includes("bar"));
    const h = (w: string, c: string) =>
      Number(bars.find((b) => b.attrs["data-workload"] === w && b.attrs["data-config"] === c)!.attrs.height);
    expect(h("small-churn", "tcache:false")).toBeGreaterThan(h("small-churn", "default"));
    expect(h("fragmentation", "default")).toBeGreaterThan(h("small-churn", "default"));
    const missing = bars.filter((b) => b.attrs.class!.includes("missing"));
    expect(missing.map((b) => `${b.attrs["data-workload"]}|${b.attrs["data-config"]}`).sort()).toEqual([
      "producer-consumer|thi.ng",
      "producer-consumer|uint8array",
    ]);
    expect(missing.every((b) => Number(b.attrs.height) === 0)).toBe(true);
    expect(bars.filter((b) => b.attrs.class!.includes("partial")).length).toBe(1);
    const tip = findAll(missing[0]!, (e) => e.name === "title")[0]!;
    expect(textOf(tip)).toContain('<reasons> & "quotes"');
  });

  it("has axis labels and a legend entry per configuration", () => {
    const labels = findAll(svg, (e) => e.name === "text" && e.attrs.class === "axis-label").map(textOf);
    expect(labels.some((l) => l.includes("ns per malloc/free call"))).toBe(true);
    expect(labels).toContain("workload");
    const legend = findAll(svg, (e) => e.attrs.class === "legend-item").map((e) => e.attrs["data-config"]);
    expect(legend).toEqual(rep.strategies.map((s) => s.id));
    const groups = findAll(svg, (e) => e.attrs.class === "group-label").map(textOf);
    expect(groups).toEqual(rep.workloads.map((w) => w.name));
    const ticks = findAll(svg, (e) => e.attrs.class === "tick").map(textOf);
    expect(ticks).toContain("10 ns");
    expect(ticks).toContain("10 µs");
  });

  it("escapes XML in every text it writes", () => {
    expect(escapeXml(`a<b>&"c'`)).toBe("a&lt;b&gt;&amp;&quot;c&apos;");
    expect(textOf(svg)).toContain("Test CPU <x>");
  });

  it("the XML reader itself rejects what is not well-formed", () => {
    expect(() => parseXml("<svg><g></svg>")).toThrow(/closes/);
    expect(() => parseXml("<svg>")).toThrow(/unclosed/);
    expect(() => parseXml("<svg>a & b</svg>")).toThrow(/bad character/);
  });
});

describe("bench table", () => {
  const rep = syntheticReport();
  const text = formatTable(rep);

  it("names the date, machine, Node version and the baselines measured in the same run", () => {
    expect(text).toContain("2026-05-26T10:00:00.000Z");
    expect(text).toContain("Test CPU <x> × 2 CPUs");
    expect(text).toContain("node v20.0.0");
    expect(text).toMatch(/baselines measured in this run: @thi\.ng\/malloc, new Uint8Array/);
  });

  it("has one row per cell, ratios against the fastest ok cell, and footnotes for non-ok cells", () => {
    const rows = text
      .split("\n")
      .filter((l) => /^[\w-]*\s+(jemalloc-ts \S+|@thi\.ng\/malloc|new Uint8Array)\s+[\d—]/.test(l));
    expect(rows.length).toBe(rep.results.length);
    expect(rows[0]).toMatch(
      /^small-churn\s+jemalloc-ts default\s+20\.00\s+10\.0%\s+1\.00×\s+12\s+0\.50\s+1\.38\s+4\.00/,
    );
    expect(rows[1]).toMatch(/jemalloc-ts tcache:false\s+40\.00\s+10\.0%\s+2\.00×/);
    expect(text).toMatch(/skipped \[\d\]/);
    expect(text).toMatch(/\[\d\] skipped because <reasons>/);
    expect(text).toContain("in use = stats.active (pages of live extents and slabs); mapped = stats.mapped");
  });

  it("has a Markdown form with the same rows for a README", () => {
    const md = formatMarkdown(rep);
    const lines = md.split("\n");
    expect(lines[0]).toBe("**jemalloc-ts bench, 2026-05-26T10:00:00.000Z**");
    expect(md).toContain("- baselines measured in this run: @thi.ng/malloc, new Uint8Array");
    const tableRows = lines.filter((l) => l.startsWith("| ") && !l.startsWith("| workload"));
    expect(tableRows).toHaveLength(rep.results.length);
    expect(tableRows.every((l) => l.split(" | ").length === 10)).toBe(true);
    expect(tableRows[0]).toMatch(/^\| \*\*small-churn\*\* \| jemalloc-ts default \| 20\.00 \|/);
    expect(lines).toContain("|:--|:--|--:|--:|--:|--:|--:|--:|--:|:--|");
    expect(text).toContain("faults/call: the process's minor page faults while timed");
  });
});
