/**
 * child: the entry of a benchmark child process (one per configuration, see suite.ts). It waits for one
 * request on the IPC channel, runs its cells, sends each result back, then exits.
 */
import { type ChildRequest, serveChildRequest } from "./suite.js";

process.once("message", (req: ChildRequest) => {
  const send = (m: object) =>
    new Promise<void>((resolve, reject) => {
      process.send!(m, undefined, undefined, (e) => (e ? reject(e) : resolve()));
    });
  serveChildRequest(req, send).then(
    () => process.disconnect(),
    (e: unknown) => {
      process.stderr.write(`bench child: ${e instanceof Error ? (e.stack ?? e.message) : String(e)}\n`);
      process.exitCode = 1;
      process.disconnect();
    },
  );
});
