// gen.mjs: seeded allocation traces (the reference format) in shapes the reference traces do not
// cover, for the differential check against the system's jemalloc (scripts/native-replay/diff.mjs).
//
//   node scripts/native-replay/gen.mjs <seed> [nops] [maxLgAlign] [small-ticks] > trace.txt
//
// A trace is a sequence of phases, each picked at random: class-boundary sizes, calloc/aligned_alloc
// mixes (alignments up to 64 KiB, or 4 MiB), realloc grow/shrink (in place, moving, to size 0), sized frees,
// huge blocks (> oversize_threshold, up to 320 MiB), bursts then mass frees, decay ticks with small
// and large steps, P/D ops and E snapshots. Live huge bytes stay below 1.5 GiB so both sides can
// serve them.

const KiB = 1024;
const MiB = 1024 * KiB;
const HUGE_LIVE_LIMIT = 1536 * MiB;

/** mulberry32: a small seeded PRNG, so a seed names a trace. */
function prng(seed) {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** jemalloc's size classes (lg_quantum 4): 8, 16, 32, 48, 64, then four per doubling. */
function sizeClasses(maxBytes) {
  const out = [8, 16, 32, 48, 64];
  for (let lg = 6; ; lg++) {
    const delta = 2 ** (lg - 2);
    for (let i = 1; i <= 4; i++) {
      const s = 2 ** lg + i * delta;
      if (s > maxBytes) return out;
      out.push(s);
    }
  }
}
const CLASSES = sizeClasses(512 * MiB);

/**
 * `maxLgAlign`: the largest alignment's log2. Alignments above the mappings' own alignment make
 * jemalloc's figures depend on where the kernel put each mapping (see replay.c), so the default
 * stays at 64 KiB; 22 (4 MiB) exercises the rest. `smallTicks`: also `t` steps below 100 ms.
 * jemalloc draws each decay deadline with a jitter seeded by the decay record's address, so a
 * step shorter than two decay intervals (2 × dirty_decay_ms / 200 = 100 ms by default) may or may
 * not advance the epoch depending on where the arena was mapped.
 */
export function generate(seed, nops = 3000, maxLgAlign = 16, smallTicks = false) {
  const rnd = prng(seed);
  const int = (lo, hi) => lo + Math.floor(rnd() * (hi - lo + 1));
  const pick = (xs) => xs[Math.floor(rnd() * xs.length)];
  const lines = [`# gen.mjs seed ${seed}`];
  const live = new Map(); // id -> requested bytes
  const aligned = new Set(); // ids from aligned_alloc: sized free would need their alignment, so they get `f`
  let nextId = 1;
  let hugeLive = 0;
  const emit = (s) => lines.push(s);
  const liveIds = () => [...live.keys()];

  const boundarySize = (maxClass) => {
    const cs = CLASSES.filter((c) => c <= maxClass);
    const c = pick(cs);
    return Math.max(1, c + pick([-1, 0, 0, 1]));
  };
  const anySize = () => {
    const r = rnd();
    if (r < 0.55) return int(1, 4 * KiB);
    if (r < 0.8) return int(4 * KiB, 64 * KiB);
    if (r < 0.95) return int(64 * KiB, 2 * MiB);
    return int(2 * MiB, 7 * MiB);
  };
  const hugeSize = () => pick([8 * MiB, 8 * MiB + 1, 8 * MiB - 1, int(8 * MiB, 40 * MiB), int(40 * MiB, 320 * MiB)]);

  const alloc = (size, kind = pick(["m", "m", "m", "c", "a"])) => {
    if (size >= 8 * MiB - 1 && hugeLive + size > HUGE_LIVE_LIMIT) return;
    const id = nextId++;
    if (kind === "c") {
      const n = pick([1, 1, 2, 3, 8, 16]);
      const each = Math.max(1, Math.floor(size / n));
      emit(`c ${id} ${n} ${each}`);
      live.set(id, n * each);
    } else if (kind === "a") {
      const align = 2 ** int(3, size >= 64 * KiB ? maxLgAlign : Math.min(16, maxLgAlign));
      emit(`a ${id} ${align} ${size}`);
      live.set(id, size);
      aligned.add(id);
    } else {
      emit(`m ${id} ${size}`);
      live.set(id, size);
    }
    if (size >= 8 * MiB - 1) hugeLive += live.get(id);
  };
  const release = (id) => {
    const req = live.get(id);
    if (!aligned.has(id) && rnd() < 0.3) emit(`s ${id} ${req}`);
    else emit(`f ${id}`);
    if (req >= 8 * MiB - 1) hugeLive -= req;
    live.delete(id);
    aligned.delete(id);
  };
  const releaseSome = (frac) => {
    for (const id of liveIds()) if (rnd() < frac) release(id);
  };
  const realloc = (id) => {
    const req = live.get(id);
    const r = rnd();
    let size;
    if (r < 0.08) size = 0;
    else if (r < 0.35) size = req + int(1, Math.max(1, req >> 2)); // small grow: often in place
    else if (r < 0.55) size = Math.max(1, req - int(0, req >> 1)); // shrink
    else if (r < 0.7) size = boundarySize(4 * MiB);
    else if (r < 0.78 && hugeLive < HUGE_LIVE_LIMIT - 400 * MiB) size = hugeSize();
    else size = Math.min(req * int(2, 4), 6 * MiB);
    emit(`r ${id} ${size}`);
    aligned.delete(id); // a realloc'd block is sized by its new request
    if (req >= 8 * MiB - 1) hugeLive -= req;
    if (size === 0) live.delete(id);
    else {
      live.set(id, size);
      if (size >= 8 * MiB - 1) hugeLive += size;
    }
  };
  const TICKS = smallTicks ? [1, 2, 5, 17, 50, 100, 333, 1000, 2500, 10000, 30000] : [100, 150, 333, 1000, 2500, 10000, 30000];
  const tick = () => emit(`t ${pick(TICKS)}`);

  const phases = {
    boundary: (n) => {
      const maxClass = pick([14 * KiB, 64 * KiB, 4 * MiB]);
      for (let i = 0; i < n; i++) {
        if (live.size > 0 && rnd() < 0.4) release(pick(liveIds()));
        else alloc(boundarySize(maxClass), pick(["m", "m", "c", "a"]));
      }
    },
    aligned: (n) => {
      for (let i = 0; i < n; i++) {
        if (live.size > 0 && rnd() < 0.45) release(pick(liveIds()));
        else alloc(rnd() < 0.5 ? anySize() : boundarySize(256 * KiB), pick(["a", "a", "c", "m"]));
      }
    },
    realloc: (n) => {
      for (let i = 0; i < n; i++) {
        const r = rnd();
        if (live.size === 0 || r < 0.2) alloc(anySize());
        else if (r < 0.85) realloc(pick(liveIds()));
        else if (r < 0.9) {
          const size = anySize(); // realloc of an id that is not live: a malloc
          emit(`r ${nextId} ${size}`);
          live.set(nextId++, size);
        }
        else release(pick(liveIds()));
      }
    },
    huge: (n) => {
      for (let i = 0; i < n; i++) {
        const r = rnd();
        if (r < 0.35) alloc(hugeSize(), pick(["m", "c", "a"]));
        else if (r < 0.5) alloc(anySize());
        else if (live.size > 0 && r < 0.85) release(pick(liveIds()));
        else if (live.size > 0) realloc(pick(liveIds()));
        if (rnd() < 0.1) tick();
      }
    },
    burst: (n) => {
      for (let i = 0; i < n; i++) alloc(rnd() < 0.7 ? int(1, 512) : anySize());
      if (rnd() < 0.5) emit("E");
      releaseSome(pick([0.5, 0.9, 1]));
    },
    decay: (n) => {
      for (let i = 0; i < n; i++) {
        const r = rnd();
        if (r < 0.35) alloc(anySize());
        else if (live.size > 0 && r < 0.7) release(pick(liveIds()));
        else if (r < 0.9) tick();
        else if (r < 0.95) emit(pick(["P", "D"]));
        else emit("E");
      }
    },
  };
  const names = Object.keys(phases);
  while (lines.length < nops) {
    phases[pick(names)](int(20, 300));
    if (rnd() < 0.3) emit("E");
    if (rnd() < 0.25) tick();
  }
  emit("E");
  if (rnd() < 0.5) releaseSome(rnd());
  return `${lines.join("\n")}\n`;
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const seed = Number(process.argv[2] ?? 1);
  const nops = Number(process.argv[3] ?? 3000);
  const maxLgAlign = Number(process.argv[4] ?? 16);
  process.stdout.write(generate(seed, nops, maxLgAlign, process.argv[5] === "small-ticks"));
}
