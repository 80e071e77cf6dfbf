/** The main job (npm start): a shared heap across worker threads. (In progress.) */
export async function runDemo(_argv: string[], out: (s: string) => void, _err: (s: string) => void): Promise<number> {
  out("demo: not yet built\n");
  return 0;
}
