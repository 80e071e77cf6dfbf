/** The control words shared by test/workers/fp-step.ts and the tests that drive it (one Int32Array). */
export const FP_PARKED = 0;
export const FP_GO = 1;
/** Never written: the parker sleeps on it for good, the taker for TAKER_SLEEP_MS. */
export const FP_PARK = 2;
/** Set by the taker once it holds a lock taken over from a dead holder, before the repair. */
export const TAKER_PAUSED = 3;
export const FP_CTL_BYTES = 16;
export const TAKER_SLEEP_MS = 1000;
