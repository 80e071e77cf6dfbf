#!/usr/bin/env node
/**
 * The `jemalloc-ts` command: subcommands dispatch to their own modules.
 *   sizeclasses   print the size-class table of a configuration
 *   replay        replay an allocation trace and print jemalloc's replay JSON
 *   demo          a shared heap across worker threads, with statistics (npm start)
 *   bench         benchmark allocation strategies
 *   prof          top allocation sites and a flame graph of a heap-profile dump
 */
import { runReplayCli } from "./replay_cli.js";
import { runSizeclasses } from "./sizeclasses.js";

const USAGE = `usage: jemalloc-ts <command> [options]

commands:
  sizeclasses [--lg-quantum N] [--lg-page N] [--lg-hugepage N] [--lg-vaddr N] [--json]
  replay <trace | -> [--conf STR] [--lg-quantum N] [--lg-page N] [--lg-hugepage N] [--no-ops]
         [--stats-print OPTS [--reports N]]
  demo [--workers N] [--records N] [--map FILE | --map -] [--browser [--port N]]
  bench [--workload NAME] [--conf STR ...] [--json] [--svg FILE]
  prof <dump> [--top N] [--svg FILE]
`;

export async function main(
  argv: string[],
  out: (s: string) => void,
  err: (s: string) => void,
): Promise<number> {
  const [cmd, ...rest] = argv;
  switch (cmd) {
    case "sizeclasses":
      return runSizeclasses(rest, out, err);
    case "replay":
      return runReplayCli(rest, out, err);
    case "demo": {
      const { runDemo } = await import("./demo.js");
      return runDemo(rest, out, err);
    }
    case "bench": {
      const { runBenchCli } = await import("./bench.js");
      return runBenchCli(rest, out, err);
    }
    case "prof": {
      const { runProfCli } = await import("./prof.js");
      return runProfCli(rest, out, err);
    }
    case undefined:
    case "-h":
    case "--help":
    case "help":
      out(USAGE);
      return cmd === undefined ? 2 : 0;
    default:
      err(`jemalloc-ts: unknown command ${JSON.stringify(cmd)}\n${USAGE}`);
      return 2;
  }
}

const isMain =
  import.meta.url === `file://${process.argv[1]}` ||
  process.argv[1]?.endsWith("/jemalloc-ts") ||
  process.argv[1]?.endsWith("cli/main.js");
if (isMain) {
  main(
    process.argv.slice(2),
    (s) => process.stdout.write(s),
    (s) => process.stderr.write(s),
  ).then(
    (code) => {
      process.exitCode = code;
    },
    (e: unknown) => {
      process.stderr.write(`jemalloc-ts: ${e instanceof Error ? e.message : String(e)}\n`);
      process.exitCode = 1;
    },
  );
}
