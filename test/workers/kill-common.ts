/**
 * What test/stress/kill-campaign.test.ts and its worker (kill-load.ts) share: the worker's input and
 * the control words. (Kept apart from the worker entry, which runs on import.)
 */

/** ctl words (Int32Array over KillWorkerData.ctl). */
export const KC_PAUSE = 0; // 1: every worker parks at its next safe point
export const KC_PAUSED = 1; // workers parked at a safe point
export const KC_STOP = 2; // 1: workers detach and exit
export const KC_OPS = 3; // operations done, all workers
export const KC_WORDS = 4;

/** Slots of the cross-worker mailbox (Int32Array over KillWorkerData.mailbox; 0 = empty). */
export const KC_MAILBOX_SLOTS = 256;

export interface KillWorkerData {
  buffer: SharedArrayBuffer;
  ctl: SharedArrayBuffer;
  mailbox: SharedArrayBuffer;
  index: number;
  seed: number;
  maxLive: number;
  lockTimeoutMs: number;
}

/** Worker → supervisor. */
export interface KillMsg {
  index: number;
  kind: "attached" | "poisoned" | "error";
  threadId?: number;
  name?: string;
  message?: string;
}
