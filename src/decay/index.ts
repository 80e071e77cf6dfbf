// decay/ — jemalloc 5.3's smoothstep decay of unused pages: the curve, the per-(arena, state) decay record in
// the heap buffer, the jitter/ticker PRNG and the per-thread decay ticker. Higher layers import from here.
export * from "./decay.js";
export * from "./prng.js";
export * from "./smoothstep.js";
export * from "./ticker.js";
