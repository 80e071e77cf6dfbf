/**
 * What test/stress/kill-campaign.test.ts and its worker (kill-load.ts) share: the worker's input and
 * the control words. (Kept apart from the worker entry, which runs on import.)
 */

/** ctl words (Int32Array over KillWorkerData.ctl). */
export const KC_PAUSE = 0; // 1: every worker parks at its next safe point
export const KC_PAUSED = 1; // workers parked at a safe point
export const KC_STOP = 2; // 1: workers detach and exit
export const KC_OPS = 3; // operations done, all workers
/** Per worker (index 0..KC_MAX_WORKERS-1): where it is, for a hang report. */
export const KC_WSTATE = 4; // KC_WSTATE + index: KC_RUNNING / KC_AT_SAFE_POINT / KC_PARKED
/** Per worker: the operation in progress (KC_OP_*) and its argument (size or pointer). */
export const KC_WOP = 8;
export const KC_WARG = 12;
export const KC_MAX_WORKERS = 4;
export const KC_WORDS = 16;

export const KC_RUNNING = 0;
export const KC_AT_SAFE_POINT = 1;
export const KC_PARKED = 2;

export const KC_OP_NONE = 0;
export const KC_OP_MALLOC = 1;
export const KC_OP_FREE = 2;
export const KC_OP_ATTACH = 3;
export const KC_OP_DETACH = 4;
export const KC_OP_NAMES = ["between operations", "malloc", "free", "attach", "detach"];

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
