/**
 * Run as a process (`node --import tsx bg-exit.ts`): starts two background workers and returns
 * without stopping them. The process must still exit by itself.
 */
import { backgroundThreadSet } from "../../src/background/index.js";
import { MALLOCX_ARENA } from "../../src/flags.js";
import { Heap } from "../../src/heap.js";
import { slotsLiveCount } from "../../src/sync/index.js";
import { useTsBackgroundWorkers } from "./bg-common.js";

useTsBackgroundWorkers();
const heap = Heap.create({
  maxBytes: 64 << 20,
  envConf: null,
  conf: "tcache:false,narenas:2,max_background_threads:2",
});
heap.free(heap.mallocx(1 << 16, MALLOCX_ARENA(1)));
const slots0 = slotsLiveCount(heap.ctx.i32, heap.ctx.hdr.slotsB >>> 2);
backgroundThreadSet(heap, true);
const deadline = Date.now() + 20_000;
const poll = (): void => {
  const n = slotsLiveCount(heap.ctx.i32, heap.ctx.hdr.slotsB >>> 2) - slots0;
  if (n === 2) process.stdout.write("workers 2 alive\n");
  else if (Date.now() > deadline) process.stdout.write(`workers ${n} alive after 20 s\n`);
  else setTimeout(poll, 20);
};
poll();
