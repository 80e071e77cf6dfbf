// run.mjs: the bench's W1–W5 call sequences on the system's jemalloc 5.3 (bench.c), each paired in the
// same run with jemalloc-ts on the same calls timed the same way (bench/compare.ts's child: the median
// 1024-call chunk). Needs gcc and libjemalloc-dev; run `npm run build` first (the plans come from dist/).
//
//   node scripts/native-bench/run.mjs [--pairs 3] [--workload small-churn mixed large fragmentation records]
//
// Prints a Markdown table, ns per malloc/free call: the fastest of the pairs for each side (on a
// shared machine the slower repetitions mostly measure other processes), and their ratio.
import { spawnSync } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";

const HERE = path.dirname(fileURLToPath(import.meta.url));
const ROOT = path.resolve(HERE, "../..");
const argv = process.argv.slice(2);
const NAMES = {
  "small-churn": "W1 small churn",
  records: "W5 records",
  mixed: "W2 mixed",
  fragmentation: "W4 fragmentation",
  large: "W3 large",
};
const pi = argv.indexOf("--pairs");
const pairs = pi < 0 ? 3 : Number(argv[pi + 1]);
if (!Number.isInteger(pairs) || pairs < 1) {
  console.error(`run.mjs: --pairs must be a positive integer, got ${argv[pi + 1]}`);
  process.exit(2);
}
const wi = argv.indexOf("--workload");
const only = [];
for (let i = wi + 1; wi >= 0 && i < argv.length && !argv[i].startsWith("--"); i++) only.push(argv[i]);
for (const n of only)
  if (!(n in NAMES)) {
    console.error(`run.mjs: unknown workload ${JSON.stringify(n)} (known: ${Object.keys(NAMES).join(", ")})`);
    process.exit(2);
  }
const names = Object.keys(NAMES).filter((n) => only.length === 0 || only.includes(n));

const workloadsJs = path.join(ROOT, "dist/bench/workloads.js");
if (!fs.existsSync(workloadsJs)) {
  console.error(`run.mjs: ${workloadsJs} is missing: run \`npm run build\` first`);
  process.exit(2);
}
const { churnPlan, fragmentationPlan, workload, DEFAULT_SEED } = await import(pathToFileURL(workloadsJs).href);

const work = fs.mkdtempSync(path.join(os.tmpdir(), "native-bench-"));
const exe = path.join(work, "bench");
const cc = spawnSync("gcc", ["-O2", "-o", exe, path.join(HERE, "bench.c"), "-ljemalloc", "-lm"], { encoding: "utf8" });
if (cc.status !== 0) {
  console.error(`run.mjs: gcc failed (needs gcc and libjemalloc-dev):\n${cc.stderr ?? cc.error}`);
  process.exit(1);
}

/** Churn ops per run, as compare.ts's child (its warm-up is a quarter of them more). */
const CHURN_OPS = { "small-churn": 1_000_000, mixed: 500_000, large: 50_000 };
/** compare.ts's records: 1M records after one untimed cycle. */
const RECORDS_TOTAL = 1_000_000;

/** The plan file bench.c reads (see its header). */
function planFile(name) {
  const spec = workload(name, 1).spec;
  let parts;
  if (spec.kind === "churn") {
    const p = churnPlan(spec, DEFAULT_SEED);
    parts = [[1, spec.live, spec.planOps, CHURN_OPS[name]], p.initSizes, p.slots, p.sizes];
  } else if (spec.kind === "records") {
    parts = [[2, spec.live, spec.group, RECORDS_TOTAL / spec.group]];
  } else {
    const p = fragmentationPlan(spec, DEFAULT_SEED);
    const head = [3, p.smallSizes.length, p.freeOrder.length, p.largeSizes.length];
    parts = [head, p.smallSizes, p.freeOrder, p.largeSizes];
  }
  const words = Uint32Array.from(parts.flatMap((a) => Array.from(a)));
  const file = path.join(work, `${name}.plan`);
  fs.writeFileSync(file, Buffer.from(words.buffer));
  return file;
}

function run(cmd, args) {
  const r = spawnSync(cmd, args, { encoding: "utf8", cwd: ROOT });
  if (r.status !== 0) throw new Error(`${path.basename(cmd)} ${args.join(" ")} failed: ${r.stderr}`);
  return Number(r.stdout.trim().split(" ")[0]);
}

const version = spawnSync("sh", ["-c", "dpkg-query -W -f '${Version}' libjemalloc-dev 2>/dev/null"], { encoding: "utf8" });
console.log(`native: libjemalloc ${version.stdout || "(version unknown)"}, gcc -O2; ${pairs} alternating pairs per workload`);
console.log("| workload | native jemalloc | jemalloc-ts | jemalloc-ts ÷ native |");
console.log("|:--|--:|--:|--:|");
for (const name of names) {
  const file = planFile(name);
  let nat = Infinity;
  let ours = Infinity;
  for (let p = 0; p < pairs; p++) {
    process.stderr.write(`\rnative-bench ${name} pair ${p + 1}/${pairs} …   `);
    nat = Math.min(nat, run(exe, [file]));
    ours = Math.min(ours, run(process.execPath, ["--import", "tsx", "bench/compare.ts", "--child", path.join(ROOT, "src"), "stats", name]));
  }
  process.stderr.write("\n");
  console.log(`| ${NAMES[name]} | ${nat.toFixed(1)} | ${ours.toFixed(1)} | ${(ours / nat).toFixed(2)}× |`);
}
fs.rmSync(work, { recursive: true, force: true });
