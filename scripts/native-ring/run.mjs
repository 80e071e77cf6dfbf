// run.mjs: cross-thread frees, jemalloc-ts against the system's jemalloc on the same producer-consumer
// workload, alternating in one run. Needs gcc and libjemalloc-dev; run `npm run build` first.
//
//   node scripts/native-ring/run.mjs [--pairs 5]
//
// Each pair runs ring.c (native, 300 timed rounds) and then the bench's producer-consumer cell
// (`jemalloc-ts bench --workload producer-consumer --conf default`), each in its own process, and
// prints both figures (ns per call on each thread, the bench's unit for this workload), the ratio of
// each pair, and the median ratio.
import { spawnSync } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";

const HERE = path.dirname(fileURLToPath(import.meta.url));
const ROOT = path.resolve(HERE, "../..");
const i = process.argv.indexOf("--pairs");
const pairs = i < 0 ? 5 : Number(process.argv[i + 1]);
if (!Number.isInteger(pairs) || pairs < 1) {
  console.error(`run.mjs: --pairs must be a positive integer, got ${process.argv[i + 1]}`);
  process.exit(2);
}
const cli = path.join(ROOT, "dist/cli/main.js");
if (!fs.existsSync(cli)) {
  console.error(`run.mjs: ${cli} is missing: run \`npm run build\` first`);
  process.exit(2);
}

const work = fs.mkdtempSync(path.join(os.tmpdir(), "native-ring-"));
const exe = path.join(work, "ring");
const cc = spawnSync("gcc", ["-O2", "-pthread", "-o", exe, path.join(HERE, "ring.c"), "-ljemalloc"], {
  encoding: "utf8",
});
if (cc.status !== 0) {
  console.error(`run.mjs: gcc failed (needs gcc and libjemalloc-dev):\n${cc.stderr ?? cc.error}`);
  process.exit(1);
}

function native() {
  const r = spawnSync(exe, ["300", "30"], { encoding: "utf8" });
  if (r.status !== 0) throw new Error(`ring failed: ${r.stderr}`);
  return JSON.parse(r.stdout).nsPerCallMedian;
}

function ours() {
  const json = path.join(work, "cell.json");
  const args = [cli, "bench", "--workload", "producer-consumer", "--conf", "default"];
  const r = spawnSync(process.execPath, [...args, "--no-baselines", "--json", json], { encoding: "utf8" });
  if (r.status !== 0) throw new Error(`bench failed: ${r.stderr}`);
  const cell = JSON.parse(fs.readFileSync(json, "utf8")).results.find((c) => c.workload === "producer-consumer");
  return cell.nsPerCall.median;
}

const ratios = [];
console.log("pair  native jemalloc  jemalloc-ts  ratio   (ns per call on each thread)");
for (let p = 1; p <= pairs; p++) {
  const n = native();
  const o = ours();
  ratios.push(o / n);
  console.log(`${String(p).padStart(4)}  ${n.toFixed(2).padStart(15)}  ${o.toFixed(2).padStart(11)}  ${(o / n).toFixed(2)}×`);
}
ratios.sort((a, b) => a - b);
console.log(`median ratio ${ratios[ratios.length >> 1].toFixed(2)}× over ${pairs} pairs`);
fs.rmSync(work, { recursive: true, force: true });
