/**
 * `npm run bench`: the whole suite — every workload under every default configuration and both
 * baselines, each configuration in its own process — printed as one table, with the JSON, the SVG
 * chart and a Markdown copy of the table written to bench/results/latest.{json,svg,md}. Extra arguments go to `jemalloc-ts bench` (e.g. `-- --quick`).
 *
 *   node --import tsx bench/run.ts [--quick] [--workload NAME ...] [--conf STR ...]
 */
import { mkdirSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { runBenchCli } from "../src/cli/bench.js";

const dir = fileURLToPath(new URL("./results/", import.meta.url));
mkdirSync(dir, { recursive: true });
const argv = process.argv.slice(2);
const defaults = [
  ...(argv.includes("--json") ? [] : ["--json", `${dir}latest.json`]),
  ...(argv.includes("--svg") ? [] : ["--svg", `${dir}latest.svg`]),
  ...(argv.includes("--md") ? [] : ["--md", `${dir}latest.md`]),
];
const code = await runBenchCli(
  [...argv, ...defaults],
  (s) => process.stdout.write(s),
  (s) => process.stderr.write(s),
);
process.exitCode = code;
