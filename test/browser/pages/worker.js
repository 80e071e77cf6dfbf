// A module Web Worker of the browser tests: attaches to the page's heap and runs the page's commands.

import { HDR_LOCK_CTL_B } from "/dist/ctx/header.js";
import { Heap } from "/dist/index.js";
import { lockAcquire, lockRelease } from "/dist/sync/index.js";
import { Cell, Item } from "./shared.js";

let heap = null;

const commands = {
  attach({ buffer }) {
    heap = Heap.attach(buffer);
    return { threadId: heap.threadId };
  },
  alloc({ n, base }) {
    const ptrs = [];
    for (let i = 0; i < n; i++) {
      ptrs.push(Item.alloc(heap, { id: base + i, value: (base + i) * 1.5, label: `item ${base + i}` }));
    }
    return { ptrs };
  },
  // Checks records another thread wrote, bumps their atomic counter, then frees them here.
  verifyFree({ ptrs, base }) {
    let bad = 0;
    for (let i = 0; i < ptrs.length; i++) {
      const v = Item.at(heap, ptrs[i]);
      if (v.id !== base + i || v.value !== (base + i) * 1.5 || v.label !== `item ${base + i}`) bad++;
      Item.fields.hits.add(heap, ptrs[i], 1);
    }
    for (const p of ptrs) Item.free(heap, p);
    return { bad };
  },
  // Fills this thread's cache (small blocks freed to the tcache), keeps a few blocks live.
  churn({ n }) {
    const kept = [];
    for (let round = 0; round < 4; round++) {
      const ps = [];
      for (let i = 0; i < n; i++) ps.push(heap.malloc(8 + ((i * 24) % 1024)));
      for (let i = 0; i < ps.length; i++)
        if (i % 10 === 0) kept.push(ps[i]);
        else heap.free(ps[i]);
    }
    return { kept };
  },
  notifyLater({ ptr, value }) {
    setTimeout(() => {
      Cell.fields.flag.store(heap, ptr, value);
      Cell.fields.flag.notify(heap, ptr);
    }, 20);
    return {};
  },
  // A worker may block: wait() works here and sees the page's store.
  waitBlocking({ ptr, expected, timeoutMs }) {
    return { result: Cell.fields.flag.wait(heap, ptr, expected, timeoutMs) };
  },
  // Holds the heap's ctl lock (what every mallctl takes) until releaseCtl.
  holdCtl() {
    lockAcquire(heap.i32, HDR_LOCK_CTL_B >>> 2, heap.ctx.ownerTag, heap.ctx.lockCtx);
    return {};
  },
  releaseCtl() {
    lockRelease(heap.i32, HDR_LOCK_CTL_B >>> 2, heap.ctx.ownerTag);
    return {};
  },
  detach() {
    heap.detach();
    return {};
  },
};

self.onmessage = (ev) => {
  const { id, cmd, args } = ev.data;
  try {
    self.postMessage({ id, ok: true, value: commands[cmd](args ?? {}) });
  } catch (err) {
    self.postMessage({ id, ok: false, error: String(err?.stack ?? err) });
  }
};
self.postMessage({ ready: true });
