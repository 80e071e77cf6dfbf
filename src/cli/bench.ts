/** `jemalloc-ts bench`. (In progress.) */
export async function runBenchCli(_argv: string[], out: (s: string) => void, _err: (s: string) => void): Promise<number> {
  out("bench: not yet built\n");
  return 0;
}
