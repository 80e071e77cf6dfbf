/**
 * reset: arena.<i>.reset and arena.<i>.destroy for manual arenas (jemalloc's arena_reset /
 * arena_destroy). (Implementation in progress: these are the fixed signatures.)
 */
import type { HeapCtx } from "../extent/ctx.js";

/** Result codes, as mallctl maps them: 0 ok, else an errno name. */
export type ArenaOpResult = 0 | "EFAULT" | "ENOENT";

/** Discards every allocation of manual arena `ind`. EFAULT for auto arenas or arenas with threads bound. */
export function arenaReset(_ctx: HeapCtx, _ind: number): ArenaOpResult {
  return "EFAULT";
}

/** reset + full purge + stats merged into the destroyed-arenas record; the index becomes reusable. */
export function arenaDestroy(_ctx: HeapCtx, _ind: number): ArenaOpResult {
  return "EFAULT";
}
