// diff.mjs: differential check of jemalloc-ts against the system's real jemalloc (libjemalloc-dev,
// 5.3.0). Needs gcc and libjemalloc-dev; run `npm run build` first (ours runs from dist/).
//
//   node scripts/native-replay/diff.mjs validate            the C replayer vs the 24 reference files
//   node scripts/native-replay/diff.mjs tables              size classes (sizeclasses.c) vs ours' sizeclasses --json
//   node scripts/native-replay/diff.mjs stats [--n 4] [--seed 1] [--nops 2500] [--settings ...] [--reports 2]
//                                                           malloc_stats_print's JSON after each replay,
//                                                           native vs ours, leaf by leaf
//   node scripts/native-replay/diff.mjs run [--n 20] [--seed 1] [--nops 3000]
//        [--settings base,decay0,nodecay,tcache] [--runs 2] [--keep DIR] [--max-lg-align 16] [--small-ticks]
//                                                           generated traces: native vs ours; --settings
//                                                           also takes malloc_conf strings separated by ";"
//                                                           ("narenas:1,tcache_max:4096;base")
//   node scripts/native-replay/diff.mjs min <trace.txt> <setting> [--out min.txt]
//                                                           shrinks a diverging trace
//   node scripts/native-replay/diff.mjs fixture <trace.txt> <setting> <name>
//                                                           writes test/fixtures/native/<name>.txt/.json.gz
//
// Every command takes `--jemalloc DIR`: a build directory of jemalloc 5.3.0 configured with other
// size-class settings (`configure --with-lg-quantum=3 --with-lg-page=16 --with-lg-hugepage=21`,
// then `make lib/libjemalloc.a`). The replayer links that build's static library instead of the
// system's, and ours replays with the LG_QUANTUM, LG_PAGE and LG_HUGEPAGE the build was configured
// with (read from its jemalloc_internal_defs.h).
//
// replay.c places jemalloc's mappings as a classic top-down kernel does (NATIVE_REPLAY_LAYOUT,
// see there), which makes the native figures reproducible; the native side still runs `--runs`
// times and ours must equal one of the runs on every leaf compare.mjs compares.
import { spawnSync } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import zlib from "node:zlib";
import { generate } from "./gen.mjs";

const HERE = path.dirname(fileURLToPath(import.meta.url));
const ROOT = path.resolve(HERE, "../..");
const REF = process.env.JEMALLOC_REFERENCE ?? path.resolve(ROOT, "../shared/reference");
const COMPARE = path.join(REF, "compare.mjs");
const OURS = path.join(ROOT, "dist/cli/main.js");

export const SETTINGS = {
  base: "tcache:false,narenas:1",
  decay0: "tcache:false,narenas:1,dirty_decay_ms:0,muzzy_decay_ms:0",
  nodecay: "tcache:false,narenas:1,dirty_decay_ms:-1,muzzy_decay_ms:-1",
  tcache: "narenas:1",
  noretain: "tcache:false,narenas:1,retain:false",
};
/** The reference files carry per-op output under these settings only. */
const PER_OP = new Set(["base", "tcache"]);
/** A setting is one of the names above, or any malloc_conf string (compared with per-op output). */
const confOf = (setting) => SETTINGS[setting] ?? setting;
const perOp = (setting) => PER_OP.has(setting) || !(setting in SETTINGS);

const work = fs.mkdtempSync(path.join(os.tmpdir(), "native-replay-"));
const BIN = path.join(work, "replay");

/** `--jemalloc DIR`: a jemalloc build directory to link instead of the system library, or null. */
let JEMALLOC_BUILD = null;
/** The build's size-class settings as ours' replay flags (none for the system library). */
let LG_FLAGS = [];

/** Reads `--jemalloc DIR` from `args` and the size-class settings that build was configured with. */
function chooseBuild(args) {
  const i = args.indexOf("--jemalloc");
  if (i < 0) return;
  const dir = args[i + 1];
  if (!dir || !fs.existsSync(path.join(dir, "lib/libjemalloc.a")))
    throw new Error(`--jemalloc ${dir}: no lib/libjemalloc.a there (build-jemalloc.sh makes one)`);
  JEMALLOC_BUILD = path.resolve(dir);
  const defs = fs.readFileSync(path.join(JEMALLOC_BUILD, "include/jemalloc/internal/jemalloc_internal_defs.h"), "utf8");
  const lg = (name) => {
    const m = new RegExp(`^#define ${name} (\\d+)$`, "m").exec(defs);
    if (m === null) throw new Error(`${JEMALLOC_BUILD}: no ${name} in jemalloc_internal_defs.h`);
    return m[1];
  };
  LG_FLAGS = ["--lg-quantum", lg("LG_QUANTUM"), "--lg-page", lg("LG_PAGE"), "--lg-hugepage", lg("LG_HUGEPAGE")];
}

/** Compiles `source` (next to this script) into `out`, linked with the chosen jemalloc. */
function compile(source, out) {
  // Static libjemalloc: the shared one pulls in libstdc++, whose start-up allocation (an 80 KiB
  // large block) would show in every statistic.
  const lib =
    JEMALLOC_BUILD === null
      ? ["-Wl,-Bstatic", "-ljemalloc", "-Wl,-Bdynamic"]
      : [`-I${path.join(JEMALLOC_BUILD, "include")}`, path.join(JEMALLOC_BUILD, "lib/libjemalloc.a")];
  const r = spawnSync("gcc", ["-O2", "-o", out, path.join(HERE, source), ...lib, "-lpthread", "-lm", "-ldl"], {
    encoding: "utf8",
  });
  if (r.status !== 0) throw new Error(`gcc failed (needs gcc and libjemalloc-dev):\n${r.stderr}`);
}

const build = () => compile("replay.c", BIN);

function flatten(x, p = "", out = new Map()) {
  if (typeof x !== "object" || x === null) return out.set(p, x);
  if (Array.isArray(x)) {
    if (x.length && typeof x[0] === "object" && x[0] !== null && "j" in x[0]) for (const e of x) flatten(e, `${p}[${e.j}]`, out);
    else if (x.length && typeof x[0] !== "object") x.forEach((v, i) => out.set(`${p}[${i}]`, v));
    else x.forEach((v, i) => flatten(v, `${p}.${i}`, out));
    if (x.length === 0) out.set(p, "[]");
    return out;
  }
  for (const k of Object.keys(x)) flatten(x[k], p ? `${p}.${k}` : k, out);
  return out;
}
const normalise = (p) => p.replace(/\[\d+\]/g, "[*]").replace(/^snapshots\.\d+/, "snapshots.*").replace(/stats\.arenas\.\d+/, "stats.arenas.*");

const IGNORE = [
  "stats.metadata", "stats.resident", "stats.mapped", "stats.arenas.*.base", "stats.arenas.*.resident",
  "stats.arenas.*.mapped", "malloc_conf_env", "oracle", "version",
];
const ignored = (k) => {
  const n = normalise(k).replace(/^snapshots\.\*\./, "");
  return IGNORE.some((s) => n === s || n.startsWith(`${s}.`));
};

/** Runs the native replayer `runs` times (each run gets its own address layout); returns the outputs. */
function nativeRuns(trace, setting, runs) {
  const args = [trace, ...(perOp(setting) ? [] : ["--no-ops"])];
  const outs = [];
  for (let i = 0; i < runs; i++) {
    const r = spawnSync(BIN, args, { env: { ...process.env, MALLOC_CONF: confOf(setting) }, encoding: "utf8", maxBuffer: 1 << 30 });
    if (r.status !== 0) throw new Error(`native replay failed on ${trace}: ${r.stderr}`);
    outs.push(r.stdout);
  }
  return outs;
}

/** The leaves (normalised, as oracle.unstable lists them) on which flattened outputs `flats` differ. */
function unstableOf(flats) {
  const unstable = new Set();
  const f0 = flats[0];
  for (const f of flats.slice(1)) {
    for (const k of new Set([...f0.keys(), ...f.keys()]))
      if (f0.get(k) !== f.get(k) && !ignored(k)) unstable.add(normalise(k).replace(/\[\*\].*$/, ""));
  }
  return unstable;
}

/** compare.mjs's rule: `k` falls under the unstable pattern `u`. */
const under = (u, k) => {
  const n = normalise(k);
  return n === u || n.startsWith(`${u}.`) || n.startsWith(`${u}[`);
};

/** One native run's JSON, with oracle.unstable = the leaves that differed between the runs. */
function native(trace, setting, runs) {
  const outs = nativeRuns(trace, setting, runs).map((t) => JSON.parse(t));
  const unstable = unstableOf(outs.map((o) => flatten(o)));
  const out = outs[0];
  out.oracle.runs = runs;
  out.oracle.unstable = [...unstable].sort();
  return out;
}

function ours(trace, setting) {
  const args = [OURS, "replay", trace, "--conf", confOf(setting), ...LG_FLAGS, ...(perOp(setting) ? [] : ["--no-ops"])];
  const r = spawnSync(process.execPath, args, { encoding: "utf8", maxBuffer: 1 << 30 });
  if (r.status !== 0) return { error: (r.stderr || r.stdout).trim().split("\n")[0] };
  return { text: r.stdout };
}

/** compare.mjs itself on two files: { same, lines, count }. */
function compare(expectedFile, actualFile) {
  const r = spawnSync(process.execPath, [COMPARE, expectedFile, actualFile], { encoding: "utf8", maxBuffer: 1 << 28 });
  const lines = r.stdout.trim().split("\n");
  return { same: r.status === 0, lines: lines.slice(0, -1), summary: lines.at(-1) };
}

function leafDiffs(fe, fa) {
  const out = [];
  for (const k of new Set([...fe.keys(), ...fa.keys()]))
    if (!ignored(k) && fe.get(k) !== fa.get(k)) out.push(`${k}: native ${JSON.stringify(fe.get(k))}, ours ${JSON.stringify(fa.get(k))}`);
  return out;
}

/**
 * One trace under one setting. The native library's figures can depend on the address layout
 * (where the kernel puts each mapping), so ours must equal at least one of `runs` native runs on
 * every leaf compare.mjs does not always ignore. null if so. Otherwise, when the native runs
 * disagree among themselves, the leaves they disagree on are unstable (the reference files' oracle
 * lists such leaves, and compare.mjs skips them): `stableOnly` says ours equals a native run on every
 * other leaf. Else the closest run's differences.
 */
export function check(trace, setting, runs = 12, keepDir = null) {
  const outs = nativeRuns(trace, setting, runs);
  if (keepDir) fs.writeFileSync(path.join(keepDir, `${path.basename(trace)}.${setting}.native.json`), outs[0]);
  const o = ours(trace, setting);
  if (o.error) return { summary: `ours failed: ${o.error}`, lines: [] };
  const fa = flatten(JSON.parse(o.text));
  // Each distinct output parsed and flattened once (the first is outs[0]: a Set keeps insertion order).
  const variants = [...new Set(outs)].map((t) => JSON.parse(t));
  const flats = variants.map((v) => flatten(v));
  const span = addressSpan(variants[0]);
  let best = null;
  for (const fe of flats) {
    const d = leafDiffs(fe, fa);
    if (d.length === 0) return null;
    if (best === null || d.length < best.length) best = d;
  }
  const beyond = span > BUFFER_LIMIT_BYTES ? `; native address space reached ${span} bytes, beyond the port's 4 GiB buffer` : "";
  if (variants.length > 1) {
    const unstable = [...unstableOf(flats)];
    if (unstable.length > 0 && best.every((line) => unstable.some((u) => under(u, line.slice(0, line.indexOf(": "))))))
      return {
        summary: `identical on every leaf the ${runs} native runs agree on (${variants.length} distinct outputs; unstable natively: ${unstable.join(", ")})`,
        lines: [],
        stableOnly: true,
      };
  }
  return {
    summary: `${best.length} differences from the closest of ${runs} native runs (${variants.length} distinct outputs)${beyond}`,
    lines: best,
    beyond: beyond !== "",
  };
}

/** ours lives in one buffer of at most 4 GiB (32-bit offsets), metadata included. */
const BUFFER_LIMIT_BYTES = 2 ** 32 - 256 * 2 ** 20;

/** The most address space (mapped + retained) the native run held at any report. */
function addressSpan(out) {
  let max = out.stats.mapped + out.stats.retained;
  for (const s of out.snapshots) max = Math.max(max, s.stats.mapped + s.stats.retained);
  return max;
}

/**
 * The C replayer against the reference files: the 24 of the system library, or, with --jemalloc,
 * the base files of the variant with that build's settings (expected/variants/q<Q>-p<P>-h<H>).
 */
function validate() {
  const traces = fs.readdirSync(path.join(REF, "traces")).filter((f) => f.endsWith(".txt.gz"));
  const variant = JEMALLOC_BUILD === null ? null : `q${LG_FLAGS[1]}-p${LG_FLAGS[3]}-h${LG_FLAGS[5]}`;
  const expectedDir = variant === null ? path.join(REF, "expected") : path.join(REF, "expected/variants", variant);
  if (!fs.existsSync(expectedDir)) throw new Error(`no reference files for ${variant} (${expectedDir})`);
  const settings = variant === null ? ["base", "decay0", "nodecay", "tcache"] : ["base"];
  let bad = 0;
  for (const t of traces) {
    const name = t.slice(0, -".txt.gz".length);
    const txt = path.join(work, `${name}.txt`);
    fs.writeFileSync(txt, spawnSync("gzip", ["-dc", path.join(REF, "traces", t)], { maxBuffer: 1 << 30 }).stdout);
    for (const s of settings) {
      const expected = path.join(expectedDir, `${name}.${s}.json.gz`);
      // Variant files carry no per-op output; the replayer then runs without it (as ours does).
      const per = zlib.gunzipSync(fs.readFileSync(expected)).includes('"usable"');
      const nf = path.join(work, `${name}.${s}.json`);
      const out = spawnSync(BIN, [txt, ...(per ? [] : ["--no-ops"])], {
        env: { ...process.env, MALLOC_CONF: confOf(s) },
        encoding: "utf8",
        maxBuffer: 1 << 30,
      });
      if (out.status !== 0) throw new Error(`native replay failed on ${txt}: ${out.stderr}`);
      fs.writeFileSync(nf, out.stdout);
      const c = compare(expected, nf);
      if (!c.same) bad++;
      console.log(`${name} ${s}: ${c.summary}${c.same ? "" : `\n  ${c.lines.slice(0, 5).join("\n  ")}`}`);
    }
  }
  console.log(`${traces.length * settings.length - bad}/${traces.length * settings.length} reference replays reproduced`);
}

/**
 * The size-class tables: sizeclasses.c linked with the chosen jemalloc against ours'
 * `sizeclasses --json` with the same settings (bins, large classes below 4 GiB, nallocx grid).
 */
function tables() {
  const exe = path.join(work, "sizeclasses");
  compile("sizeclasses.c", exe);
  const o = spawnSync(process.execPath, [OURS, "sizeclasses", "--json", ...LG_FLAGS], { encoding: "utf8" });
  if (o.status !== 0) throw new Error(`ours failed: ${o.stderr}`);
  const ours = JSON.parse(o.stdout);
  const n = spawnSync(exe, ours.nallocx_align.sizes.map(String), { encoding: "utf8" });
  if (n.status !== 0) throw new Error(`sizeclasses.c failed: ${n.stderr}`);
  const native = JSON.parse(n.stdout);
  const fn = flatten({ arenas: native.arenas, bins: native.bins, lextents: native.lextents, nallocx: native.nallocx_align });
  const fo = flatten({
    arenas: ours.arenas,
    bins: ours.bins.map(({ i, size, nregs, slab_size, nshards }) => ({ i, size, nregs, slab_size, nshards })),
    lextents: ours.lextents,
    nallocx: { by_lg_align: ours.nallocx_align.by_lg_align },
  });
  const d = leafDiffs(fn, fo);
  console.log(d.length === 0 ? `identical: ${fn.size} values (${native.bins.length} bins, ${native.lextents.length} large classes below 4 GiB, nallocx for ${ours.nallocx_align.sizes.length} sizes × 17 alignments)` : `${d.length} differences\n  ${d.slice(0, 10).join("\n  ")}`);
  if (d.length > 0) process.exitCode = 1;
}

/**
 * malloc_stats_print leaves that differ by design, with the reason (README: "Leaves answered as
 * jemalloc without the feature"), and those that depend on the process (its address layout, clocks
 * and locks), which the replay oracle ignores too.
 */
const STATS_BY_DESIGN = [
  [/^jemalloc\.version$/, "the version string names the port"],
  [/^jemalloc\.config\.malloc_conf$/, "ours replays its conf as the embedded string"],
  [/^jemalloc\.config\.(prof_libgcc|xmalloc)$|^jemalloc\.opt\.xmalloc$/, "no libgcc unwinder; xmalloc built in"],
  [/^jemalloc\.opt\.thp$|\.dss$/, "no THP, no sbrk in a buffer"],
  [/mutex|uptime|\.(metadata|resident|mapped|base)$|background_thread\.run_interval/, "process layout, clocks, locks"],
];
/** Present in ours only when the native build lacks profiling (no --enable-prof; config.prof then differs too). */
const PROF_LEAVES = /^jemalloc\.(opt\.(prof|lg_prof)|prof\.)/;
/** Present in ours only when the native build lacks C++ (--disable-cxx). */
const CXX_LEAF = "jemalloc.opt.experimental_infallible_new";

function statsPrintRun(args) {
  const n = Number(opt(args, "--n", 4));
  const seed0 = Number(opt(args, "--seed", 1));
  const nops = Number(opt(args, "--nops", 2500));
  const reports = opt(args, "--reports", "2");
  const list = opt(args, "--settings", "base;tcache;narenas:1,dirty_decay_ms:0,muzzy_decay_ms:0;narenas:2,tcache_max:4096");
  const settings = list.split(";");
  let same = 0;
  let total = 0;
  for (let seed = seed0; seed < seed0 + n; seed++) {
    const trace = path.join(work, `gen-${seed}.txt`);
    fs.writeFileSync(trace, generate(seed, nops, 16, false));
    for (const setting of settings) {
      total++;
      const args = [trace, "--stats-print", "J", "--reports", reports];
      const nat = spawnSync(BIN, args, { env: { ...process.env, MALLOC_CONF: confOf(setting) }, encoding: "utf8", maxBuffer: 1 << 28 });
      if (nat.status !== 0) throw new Error(`native replay failed: ${nat.stderr}`);
      const our = spawnSync(process.execPath, [OURS, "replay", ...args, "--conf", confOf(setting), ...LG_FLAGS], {
        encoding: "utf8",
        maxBuffer: 1 << 28,
      });
      if (our.status !== 0) throw new Error(`ours failed: ${our.stderr}`);
      const fn = flatten(JSON.parse(nat.stdout));
      const fo = flatten(JSON.parse(our.stdout));
      const nativeProf = fn.get("jemalloc.config.prof") === true;
      const d = [];
      for (const k of new Set([...fn.keys(), ...fo.keys()])) {
        if (STATS_BY_DESIGN.some(([re]) => re.test(k))) continue;
        if (!nativeProf && (k === "jemalloc.config.prof" || (!fn.has(k) && PROF_LEAVES.test(k)))) continue;
        if (!fn.has(k) && k === CXX_LEAF) continue;
        if (fn.get(k) !== fo.get(k)) d.push(`${k}: native ${JSON.stringify(fn.get(k))}, ours ${JSON.stringify(fo.get(k))}`);
      }
      if (d.length === 0) same++;
      console.log(`seed ${seed} ${setting}: ${d.length === 0 ? `identical (${fn.size} leaves)` : `${d.length} differences\n  ${d.slice(0, 6).join("\n  ")}`}`);
    }
  }
  console.log(`${same}/${total} reports identical outside the by-design leaves (${n} traces, report ${reports} of each run)`);
  if (same !== total) process.exitCode = 1;
}

function opt(args, name, dflt) {
  const i = args.indexOf(name);
  return i < 0 ? dflt : args[i + 1];
}

function runMany(args) {
  const n = Number(opt(args, "--n", 20));
  const seed0 = Number(opt(args, "--seed", 1));
  const nops = Number(opt(args, "--nops", 3000));
  const runs = Number(opt(args, "--runs", 2));
  // Names separated by commas, or malloc_conf strings separated by ";" (`--settings "narenas:1,tcache_max:4096;base"`).
  const list = opt(args, "--settings", "base,decay0,nodecay,tcache");
  const settings = list.includes(";") || list.includes(":") ? list.split(";") : list.split(",");
  const keep = opt(args, "--keep", null);
  const maxLgAlign = Number(opt(args, "--max-lg-align", 16));
  if (keep) fs.mkdirSync(keep, { recursive: true });
  let diverging = 0;
  let beyond = 0;
  let stableOnly = 0;
  let total = 0;
  for (let seed = seed0; seed < seed0 + n; seed++) {
    const trace = path.join(keep ?? work, `gen-${seed}.txt`);
    fs.writeFileSync(trace, generate(seed, nops, maxLgAlign, args.includes("--small-ticks")));
    for (const s of settings) {
      total++;
      const d = check(trace, s, runs, keep);
      if (d === null) console.log(`seed ${seed} ${s}: identical`);
      else if (d.stableOnly) {
        stableOnly++;
        console.log(`seed ${seed} ${s}: ${d.summary}`);
      } else {
        if (d.beyond) beyond++;
        else diverging++;
        console.log(`seed ${seed} ${s}: ${d.summary}\n  ${d.lines.slice(0, 4).join("\n  ")}`);
      }
    }
  }
  console.log(
    `${total - diverging - beyond - stableOnly}/${total} trace×setting runs identical, ${stableOnly} identical on the leaves stable natively, ${diverging} diverging, ${beyond} beyond the 4 GiB buffer (${n} traces, settings ${settings.join(",")})`,
  );
}

// ---- minimiser ---------------------------------------------------------------------------------

function parseOps(text) {
  return text.split("\n").filter((l) => l.trim() !== "" && !l.startsWith("#"));
}
const idOf = (line) => (/^[mcarfs] /.test(line) ? Number(line.split(" ")[1]) : -1);

/** Shrinks a diverging trace: shortest diverging prefix, then drops whole id lifetimes and id-less ops. */
function minimise(args) {
  const [file, setting] = args;
  const outFile = opt(args, "--out", `${file}.min.txt`);
  const tmp = path.join(work, "cand.txt");
  const diverges = (lines) => {
    fs.writeFileSync(tmp, `${lines.join("\n")}\n`);
    return check(tmp, setting, 1) !== null;
  };
  let ops = parseOps(fs.readFileSync(file, "utf8"));
  if (!diverges(ops)) throw new Error("the trace does not diverge");
  // Shortest prefix (a prefix of a valid trace is valid); stats are printed at its end.
  let lo = 1;
  let hi = ops.length;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (diverges(ops.slice(0, mid))) hi = mid;
    else lo = mid + 1;
  }
  ops = ops.slice(0, hi);
  console.log(`prefix: ${ops.length} ops`);
  // ddmin over units: an id's whole lifetime, or one id-less op.
  let chunk = 64;
  while (chunk >= 1) {
    let progress = false;
    const units = [];
    const seen = new Map();
    ops.forEach((l, i) => {
      const id = idOf(l);
      if (id < 0) units.push([i]);
      else if (seen.has(id)) seen.get(id).push(i);
      else {
        const u = [i];
        seen.set(id, u);
        units.push(u);
      }
    });
    for (let u = 0; u < units.length; u += chunk) {
      const drop = new Set(units.slice(u, u + chunk).flat());
      const cand = ops.filter((_, i) => !drop.has(i));
      if (cand.length > 0 && diverges(cand)) {
        ops = cand;
        progress = true;
        break;
      }
    }
    if (!progress) chunk >>= 1;
    else console.log(`chunk ${chunk}: ${ops.length} ops`);
  }
  fs.writeFileSync(outFile, `${ops.join("\n")}\n`);
  const d = check(outFile, setting, 12);
  console.log(`${ops.length} ops -> ${outFile}\n${d?.summary}\n  ${d?.lines.slice(0, 10).join("\n  ")}`);
}

/**
 * Writes test/fixtures/native/<name>.txt and .json.gz (a native run, oracle.unstable from 12 runs);
 * refuses a trace whose compared leaves vary between native runs. With --jemalloc, oracle.lg holds the
 * build's size-class settings.
 */
function fixture(args) {
  const [file, setting, name] = args;
  const n = native(file, setting, 12);
  if (n.oracle.unstable.length > 0) throw new Error(`native runs disagree on ${n.oracle.unstable.join(", ")}`);
  const d = check(file, setting, 12);
  if (d !== null) console.log(`note: ours differs (${d.summary})`);
  const dir = path.join(ROOT, "test/fixtures/native");
  fs.mkdirSync(dir, { recursive: true });
  fs.copyFileSync(file, path.join(dir, `${name}.txt`));
  n.oracle.setting = setting;
  // Which placement the native runs had (replay.c: the emulated top-down layout, or the kernel's).
  n.oracle.layout = process.env.NATIVE_REPLAY_LAYOUT === "kernel" ? "kernel" : "topdown";
  // A build with other size-class settings (--jemalloc): the settings ours must replay with.
  if (JEMALLOC_BUILD !== null)
    n.oracle.lg = { lgQuantum: Number(LG_FLAGS[1]), lgPage: Number(LG_FLAGS[3]), lgHugepage: Number(LG_FLAGS[5]) };
  fs.writeFileSync(path.join(dir, `${name}.json.gz`), zlib.gzipSync(`${JSON.stringify(n)}\n`, { level: 9 }));
  console.log(`wrote ${path.join(dir, name)}.txt/.json.gz`);
}

const [cmd, ...rest] = process.argv.slice(2);
const USAGE =
  "usage: diff.mjs validate | tables | stats | run [--n N --seed S --nops N --settings a,b --runs R --keep DIR] | min <trace> <setting> [--out F] | fixture <trace> <setting> <name>; each also [--jemalloc BUILD_DIR]";
try {
  chooseBuild(rest);
  if (cmd !== "tables") build();
  if (cmd === "validate") validate();
  else if (cmd === "tables") tables();
  else if (cmd === "stats") statsPrintRun(rest);
  else if (cmd === "run") runMany(rest);
  else if (cmd === "min") minimise(rest);
  else if (cmd === "fixture") fixture(rest);
  else {
    console.error(USAGE);
    process.exitCode = 2;
  }
} catch (e) {
  console.error(`diff.mjs: ${e.message}`);
  process.exitCode = 2;
} finally {
  fs.rmSync(work, { recursive: true, force: true });
}
