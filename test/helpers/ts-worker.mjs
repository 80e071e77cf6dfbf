// Bootstrap for worker_threads that run TypeScript sources in tests: registers tsx's loader in the
// worker, then imports the entry module named in workerData.__entry. Node 20 cannot strip types itself.
import { workerData } from "node:worker_threads";
import { register } from "tsx/esm/api";

register();
await import(workerData.__entry);
