/**
 * spawnTsWorker: start a worker_thread whose entry is a TypeScript module (tests only).
 * The entry receives `workerData` as given (plus `__entry`).
 */
import { Worker } from "node:worker_threads";

const BOOT = new URL("./ts-worker.mjs", import.meta.url);

export function spawnTsWorker(entry: URL, data: Record<string, unknown> = {}): Worker {
  return new Worker(BOOT, { workerData: { ...data, __entry: entry.href } });
}

/** Resolves with the worker's first message; rejects on error or on exit before a message. */
export function firstMessage<T>(w: Worker): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    w.once("message", (m: T) => resolve(m));
    w.once("error", reject);
    w.once("exit", (code) => reject(new Error(`worker exited with code ${code} before replying`)));
  });
}
