/*
 * replay.c: replays an allocation trace (the reference format: m c a r f s P D t E, one op per
 * line) with the system's real jemalloc and prints the "jemalloc-replay-1" JSON report the
 * reference files carry. Differential checking only (scripts/native-replay/diff.mjs); never
 * part of the TypeScript build.
 *
 *   gcc -O2 -o replay replay.c -ljemalloc
 *   MALLOC_CONF=tcache:false,narenas:1 ./replay trace.txt [--no-ops] > out.json
 *   ./replay trace.txt --stats-print OPTS [--reports N]   after the replay, N malloc_stats_print
 *                                                        reports (default 1); prints the last
 *
 * The replayer must not disturb the statistics it reports, so none of its own memory comes from
 * malloc: the trace, the id tables and the output buffer are mmap'd, and output goes out through
 * write(2) (stdio would malloc its buffer). The trace must be plain text (gunzip it first).
 *
 * The clock is virtual: this program defines clock_gettime, which takes precedence over libc's
 * for libjemalloc's PLT calls, so time stands still except on `t ms`.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <jemalloc/jemalloc.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

/* ---- virtual clock -------------------------------------------------------------------------- */

static uint64_t vclock_ns = 1000000000ull; /* arbitrary non-zero start */
static uint64_t clock_calls;

int clock_gettime(clockid_t id, struct timespec *ts) {
  (void)id;
  clock_calls++;
  ts->tv_sec = (time_t)(vclock_ns / 1000000000ull);
  ts->tv_nsec = (long)(vclock_ns % 1000000000ull);
  return 0;
}

/* ---- memory that does not come from malloc -------------------------------------------------- */

static void die(const char *msg) {
  ssize_t r = write(2, msg, strlen(msg));
  (void)r;
  _exit(2);
}

static void *raw_mmap(void *addr, size_t len, int prot, int flags, int fd, off_t off) {
  return (void *)syscall(SYS_mmap, addr, len, prot, flags, fd, off);
}

/* The replayer's own memory: straight from the kernel, outside the emulated layout below. */
static void *map(size_t bytes) {
  void *p = raw_mmap(NULL, bytes ? bytes : 1, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
  if (p == MAP_FAILED) die("replay: mmap failed\n");
  return p;
}

/* ---- address layout ------------------------------------------------------------------------- */
/*
 * jemalloc's figures depend on where the kernel puts its mappings: whether a new mapping lands
 * next to an old one (retained extents coalesce) and how it is aligned. A kernel that aligns
 * large anonymous mappings to 2 MiB, plus ASLR, makes them differ from run to run. With
 * NATIVE_REPLAY_LAYOUT=topdown (the default) this program places jemalloc's anonymous mappings
 * itself, as a classic top-down kernel without randomisation or alignment does: each one in the
 * highest free gap of a fixed region that fits it. NATIVE_REPLAY_LAYOUT=kernel leaves it to the
 * kernel.
 */
#define REGION_TOP 0x7e0000000000ull
#define REGION_PAGES (1ull << 24) /* 64 GiB of 4 KiB pages */
#define LAYOUT_PAGE 4096ull
static uint64_t *used_bits; /* one bit per page of the region */
static int layout_mode = -1; /* 1 topdown, 0 kernel */

static int layout_on(void) {
  if (layout_mode < 0) {
    const char *e = getenv("NATIVE_REPLAY_LAYOUT");
    layout_mode = e == NULL || strcmp(e, "kernel") != 0;
    if (layout_mode) used_bits = map(REGION_PAGES / 8);
  }
  return layout_mode;
}

static uint64_t region_base(void) { return REGION_TOP - REGION_PAGES * LAYOUT_PAGE; }

static void mark(uint64_t first, uint64_t n, int used) {
  for (uint64_t i = first; i < first + n; i++) {
    if (used) used_bits[i >> 6] |= 1ull << (i & 63);
    else used_bits[i >> 6] &= ~(1ull << (i & 63));
  }
}

static int page_used(uint64_t i) { return (int)((used_bits[i >> 6] >> (i & 63)) & 1); }

/* Highest run of n free pages; returns its first page or UINT64_MAX. */
static uint64_t highest_gap(uint64_t n) {
  uint64_t run = 0;
  for (uint64_t i = REGION_PAGES; i-- > 0;) {
    if ((i & 63) == 63 && used_bits[i >> 6] == 0 && i >= 63) {
      run += 64;
      i -= 63;
      if (run >= n) return i + run - n;
      continue;
    }
    if (page_used(i)) run = 0;
    else if (++run >= n) return i;
  }
  return UINT64_MAX;
}

void *mmap(void *addr, size_t len, int prot, int flags, int fd, off_t off) {
  if (!layout_on() || (flags & MAP_FIXED) || fd != -1 || !(flags & MAP_ANONYMOUS) || len == 0)
    return raw_mmap(addr, len, prot, flags, fd, off);
  uint64_t n = (len + LAYOUT_PAGE - 1) / LAYOUT_PAGE;
  uint64_t first = UINT64_MAX;
  if (addr != NULL) { /* a hint: honoured if that place is free */
    uint64_t a = (uint64_t)(uintptr_t)addr;
    if (a >= region_base() && a + n * LAYOUT_PAGE <= REGION_TOP && a % LAYOUT_PAGE == 0) {
      uint64_t f = (a - region_base()) / LAYOUT_PAGE, i = 0;
      while (i < n && !page_used(f + i)) i++;
      if (i == n) first = f;
    }
  }
  if (first == UINT64_MAX) first = highest_gap(n);
  if (first == UINT64_MAX) return raw_mmap(addr, len, prot, flags, fd, off);
  void *want = (void *)(uintptr_t)(region_base() + first * LAYOUT_PAGE);
  void *p = raw_mmap(want, len, prot, flags | MAP_FIXED_NOREPLACE, fd, off);
  if (p == want) mark(first, n, 1);
  else if (p != MAP_FAILED) { /* an old kernel without MAP_FIXED_NOREPLACE took it as a hint */
    syscall(SYS_munmap, p, len);
    die("replay: the emulated layout needs MAP_FIXED_NOREPLACE; run with NATIVE_REPLAY_LAYOUT=kernel\n");
  }
  return p;
}

int munmap(void *addr, size_t len) {
  int r = (int)syscall(SYS_munmap, addr, len);
  uint64_t a = (uint64_t)(uintptr_t)addr;
  if (r == 0 && layout_mode == 1 && a >= region_base() && a < REGION_TOP) {
    uint64_t first = (a - region_base()) / LAYOUT_PAGE, n = (len + LAYOUT_PAGE - 1) / LAYOUT_PAGE;
    if (first + n > REGION_PAGES) n = REGION_PAGES - first;
    mark(first, n, 0);
  }
  return r;
}

/* ---- output buffer -------------------------------------------------------------------------- */

static char *out;
static size_t out_len, out_cap;

static void emit(const char *fmt, ...) {
  for (;;) {
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(out + out_len, out_cap - out_len, fmt, ap);
    va_end(ap);
    if (n < 0) die("replay: format error\n");
    if ((size_t)n < out_cap - out_len) {
      out_len += (size_t)n;
      return;
    }
    size_t cap = out_cap * 2 + (size_t)n;
    char *p = mremap(out, out_cap, cap, MREMAP_MAYMOVE);
    if (p == MAP_FAILED) die("replay: mremap failed\n");
    out = p;
    out_cap = cap;
  }
}

static void flush_out(void) {
  size_t off = 0;
  while (off < out_len) {
    ssize_t w = write(1, out + off, out_len - off);
    if (w <= 0) die("replay: write failed\n");
    off += (size_t)w;
  }
}

/* ---- mallctl readers ------------------------------------------------------------------------ */

static char name_buf[256];

static const char *nm(const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(name_buf, sizeof name_buf, fmt, ap);
  va_end(ap);
  return name_buf;
}

/* size_t, uint64_t and ssize_t are all 8 bytes here. */
static int64_t rd8(const char *name) {
  int64_t v = 0;
  size_t len = sizeof v;
  if (mallctl(name, &v, &len, NULL, 0) != 0) {
    char m[300];
    snprintf(m, sizeof m, "replay: mallctl %s failed\n", name);
    die(m);
  }
  return v;
}

static unsigned rdu(const char *name) {
  unsigned v = 0;
  size_t len = sizeof v;
  if (mallctl(name, &v, &len, NULL, 0) != 0) die("replay: mallctl (unsigned) failed\n");
  return v;
}

static bool rdb(const char *name) {
  bool v = false;
  size_t len = sizeof v;
  if (mallctl(name, &v, &len, NULL, 0) != 0) die("replay: mallctl (bool) failed\n");
  return v;
}

static void ctl_do(const char *name) {
  if (mallctl(name, NULL, NULL, NULL, 0) != 0) die("replay: mallctl action failed\n");
}

/* ---- stats JSON ----------------------------------------------------------------------------- */

static const char *const ARENA_FIELDS[] = {
    "dirty_decay_ms", "muzzy_decay_ms", "pactive",       "pdirty",         "pmuzzy",
    "mapped",         "retained",       "base",          "internal",       "metadata_thp",
    "resident",       "extent_avail",   "dirty_npurge",  "dirty_nmadvise", "dirty_purged",
    "muzzy_npurge",   "muzzy_nmadvise", "muzzy_purged",
};
static const char *const CLASS_FIELDS[] = {"allocated", "nmalloc", "ndalloc", "nrequests", "nfills", "nflushes"};
static const char *const BIN_FIELDS[] = {"nmalloc", "ndalloc",       "nrequests", "curregs",  "curslabs",
                                         "nslabs",  "nreslabs",      "nonfull_slabs", "nfills", "nflushes"};
static const char *const LEXT_FIELDS[] = {"nmalloc", "ndalloc", "nrequests", "curlextents"};
static const char *const EXT_FIELDS[] = {"ndirty",      "nmuzzy",      "nretained",
                                         "dirty_bytes", "muzzy_bytes", "retained_bytes"};
#define COUNT(a) (sizeof(a) / sizeof((a)[0]))

static void emit_class(unsigned i, const char *cls) {
  emit("\"%s\":{", cls);
  for (size_t f = 0; f < COUNT(CLASS_FIELDS); f++)
    emit("%s\"%s\":%lld", f ? "," : "", CLASS_FIELDS[f],
         (long long)rd8(nm("stats.arenas.%u.%s.%s", i, cls, CLASS_FIELDS[f])));
  emit("}");
}

static void emit_bins(unsigned i) {
  unsigned nbins = rdu("arenas.nbins");
  emit(",\"bins\":[");
  for (unsigned j = 0; j < nbins; j++) {
    emit("%s{\"j\":%u,\"size\":%lld", j ? "," : "", j, (long long)rd8(nm("arenas.bin.%u.size", j)));
    for (size_t f = 0; f < COUNT(BIN_FIELDS); f++)
      emit(",\"%s\":%lld", BIN_FIELDS[f], (long long)rd8(nm("stats.arenas.%u.bins.%u.%s", i, j, BIN_FIELDS[f])));
    emit("}");
  }
  emit("]");
}

static void emit_lextents(unsigned i) {
  unsigned n = rdu("arenas.nlextents");
  bool first = true;
  emit(",\"lextents\":[");
  for (unsigned j = 0; j < n; j++) {
    int64_t v[COUNT(LEXT_FIELDS)];
    for (size_t f = 0; f < COUNT(LEXT_FIELDS); f++) v[f] = rd8(nm("stats.arenas.%u.lextents.%u.%s", i, j, LEXT_FIELDS[f]));
    if (v[0] == 0 && v[3] == 0) continue;
    emit("%s{\"j\":%u,\"size\":%lld", first ? "" : ",", j, (long long)rd8(nm("arenas.lextent.%u.size", j)));
    for (size_t f = 0; f < COUNT(LEXT_FIELDS); f++) emit(",\"%s\":%lld", LEXT_FIELDS[f], (long long)v[f]);
    emit("}");
    first = false;
  }
  emit("]");
}

/* Page-size classes of the extent caches: index until the ctl says there is no such class. */
static void emit_extents(unsigned i) {
  bool first = true;
  emit(",\"extents\":[");
  for (unsigned j = 0;; j++) {
    int64_t v[COUNT(EXT_FIELDS)];
    size_t len = sizeof v[0];
    v[0] = 0;
    if (mallctl(nm("stats.arenas.%u.extents.%u.ndirty", i, j), &v[0], &len, NULL, 0) != 0) break;
    for (size_t f = 1; f < COUNT(EXT_FIELDS); f++) v[f] = rd8(nm("stats.arenas.%u.extents.%u.%s", i, j, EXT_FIELDS[f]));
    if (v[0] + v[1] + v[2] == 0) continue;
    emit("%s{\"j\":%u", first ? "" : ",", j);
    for (size_t f = 0; f < COUNT(EXT_FIELDS); f++) emit(",\"%s\":%lld", EXT_FIELDS[f], (long long)v[f]);
    emit("}");
    first = false;
  }
  emit("]");
}

static void emit_arena(unsigned i) {
  emit("\"%u\":{", i);
  for (size_t f = 0; f < COUNT(ARENA_FIELDS); f++)
    emit("%s\"%s\":%lld", f ? "," : "", ARENA_FIELDS[f], (long long)rd8(nm("stats.arenas.%u.%s", i, ARENA_FIELDS[f])));
  emit(",");
  emit_class(i, "small");
  emit(",");
  emit_class(i, "large");
  emit_bins(i);
  emit_lextents(i);
  emit_extents(i);
  emit("}");
}

static void emit_stats(void) {
  uint64_t epoch = 1;
  if (mallctl("epoch", NULL, NULL, &epoch, sizeof epoch) != 0) die("replay: epoch failed\n");
  static const char *const TOP[] = {"allocated", "active", "metadata", "metadata_thp",
                                    "resident",  "mapped", "retained", "zero_reallocs"};
  emit("{");
  for (size_t f = 0; f < COUNT(TOP); f++) emit("\"%s\":%lld,", TOP[f], (long long)rd8(nm("stats.%s", TOP[f])));
  emit("\"arenas\":{");
  unsigned narenas = rdu("arenas.narenas");
  bool first = true;
  for (unsigned i = 0; i < narenas; i++) {
    if (!rdb(nm("arena.%u.initialized", i))) continue;
    if (!first) emit(",");
    emit_arena(i);
    first = false;
  }
  emit("}}");
}

/* ---- trace ---------------------------------------------------------------------------------- */

enum { OP_M, OP_C, OP_A, OP_R, OP_F, OP_S, OP_P, OP_D, OP_T, OP_E, NOPS };
static const char OP_CHARS[NOPS] = {'m', 'c', 'a', 'r', 'f', 's', 'P', 'D', 't', 'E'};
static const int OP_NFIELDS[NOPS] = {2, 3, 3, 2, 1, 2, 0, 0, 1, 0};

typedef struct {
  uint8_t op;
  uint64_t f[3];
} op_t;

static op_t *ops;
static size_t nops;

static void parse_trace(const char *path) {
  int fd = open(path, O_RDONLY);
  if (fd < 0) die("replay: cannot open the trace\n");
  struct stat st;
  if (fstat(fd, &st) != 0) die("replay: cannot stat the trace\n");
  size_t size = (size_t)st.st_size;
  char *text = map(size + 1);
  size_t got = 0;
  while (got < size) {
    ssize_t r = read(fd, text + got, size - got);
    if (r <= 0) die("replay: read failed\n");
    got += (size_t)r;
  }
  close(fd);
  text[size] = '\n';
  size_t lines = 1;
  for (size_t i = 0; i < size; i++) lines += text[i] == '\n';
  ops = map(lines * sizeof(op_t));
  char *p = text, *end = text + size + 1;
  size_t lineno = 0;
  while (p < end) {
    char *eol = memchr(p, '\n', (size_t)(end - p));
    lineno++;
    while (p < eol && (*p == ' ' || *p == '\t' || *p == '\r')) p++;
    if (p == eol || *p == '#') {
      p = eol + 1;
      continue;
    }
    int k = 0;
    while (k < NOPS && OP_CHARS[k] != *p) k++;
    if (k == NOPS || (p[1] != ' ' && p[1] != '\t' && p + 1 != eol && p[1] != '\r')) {
      char m[100];
      snprintf(m, sizeof m, "replay: trace line %zu: unknown op\n", lineno);
      die(m);
    }
    p++;
    op_t *o = &ops[nops++];
    o->op = (uint8_t)k;
    for (int f = 0; f < OP_NFIELDS[k]; f++) {
      while (p < eol && (*p == ' ' || *p == '\t')) p++;
      if (p == eol || *p < '0' || *p > '9') {
        char m[100];
        snprintf(m, sizeof m, "replay: trace line %zu: missing field\n", lineno);
        die(m);
      }
      uint64_t v = 0;
      while (p < eol && *p >= '0' && *p <= '9') v = v * 10 + (uint64_t)(*p++ - '0');
      o->f[f] = v;
    }
    p = eol + 1;
  }
}

/* ---- replay --------------------------------------------------------------------------------- */

static void **ptr_of; /* id -> live pointer or NULL */
static uint64_t *req_of;
static uint32_t *usable;
static char *moved;
static size_t nmoved;
static uint64_t counts[NOPS], failed, moved_count, elapsed_ms;
static size_t *snap_ops, nsnaps;
static char **snap_json;
static size_t *snap_len;

static void fail_trace(size_t k, const char *why) {
  char m[120];
  snprintf(m, sizeof m, "replay: trace op %zu: %s\n", k, why);
  die(m);
}

static uint32_t do_alloc(size_t k, const op_t *o) {
  uint64_t id = o->f[0];
  if (ptr_of[id] != NULL) fail_trace(k, "id already live");
  void *p;
  uint64_t req;
  if (o->op == OP_M) {
    p = malloc(o->f[1]);
    req = o->f[1];
  } else if (o->op == OP_C) {
    p = calloc(o->f[1], o->f[2]);
    req = o->f[1] * o->f[2];
  } else {
    p = aligned_alloc(o->f[1], o->f[2]);
    req = o->f[2];
  }
  if (p == NULL) {
    failed++;
    return 0;
  }
  ptr_of[id] = p;
  req_of[id] = req;
  return (uint32_t)malloc_usable_size(p);
}

static uint32_t do_realloc(const op_t *o) {
  uint64_t id = o->f[0], size = o->f[1];
  void *old = ptr_of[id];
  void *p;
  if (old == NULL) {
    p = malloc(size);
    moved[nmoved++] = 'n';
  } else if (size == 0) {
    p = realloc(old, 0); /* opt.zero_realloc "free": frees and returns NULL */
    if (p != NULL) die("replay: realloc(p, 0) returned a block; only zero_realloc:free is supported\n");
    ptr_of[id] = NULL;
    moved[nmoved++] = 'z';
    return 0;
  } else {
    p = realloc(old, size);
    if (p == NULL) {
      moved[nmoved++] = 'x';
    } else {
      moved[nmoved++] = p != old ? '1' : '0';
      moved_count += p != old;
    }
  }
  if (p == NULL) {
    failed++;
    return 0; /* a failed realloc leaves the old block live */
  }
  ptr_of[id] = p;
  req_of[id] = size;
  return (uint32_t)malloc_usable_size(p);
}

static void snapshot(size_t k) {
  char *saved = out;
  size_t saved_len = out_len, saved_cap = out_cap;
  out_cap = 1 << 16;
  out = map(out_cap);
  out_len = 0;
  emit_stats();
  snap_ops[nsnaps] = k;
  snap_json[nsnaps] = out;
  snap_len[nsnaps] = out_len;
  nsnaps++;
  out = saved;
  out_len = saved_len;
  out_cap = saved_cap;
}

static void run(bool per_op) {
  uint64_t max_id = 0;
  size_t nsnap_ops = 0, nreallocs = 0;
  for (size_t k = 0; k < nops; k++) {
    if (ops[k].op <= OP_S && ops[k].f[0] > max_id) max_id = ops[k].f[0];
    nsnap_ops += ops[k].op == OP_E;
    nreallocs += ops[k].op == OP_R;
  }
  if (max_id >= (1u << 26)) die("replay: ids must be below 2^26\n");
  ptr_of = map((max_id + 1) * sizeof(void *));
  req_of = map((max_id + 1) * sizeof(uint64_t));
  usable = map((nops + 1) * sizeof(uint32_t));
  moved = map(nreallocs + 1);
  snap_ops = map((nsnap_ops + 1) * sizeof(size_t));
  snap_json = map((nsnap_ops + 1) * sizeof(char *));
  snap_len = map((nsnap_ops + 1) * sizeof(size_t));
  for (size_t k = 0; k < nops; k++) {
    const op_t *o = &ops[k];
    counts[o->op]++;
    uint32_t u = 0;
    switch (o->op) {
    case OP_M:
    case OP_C:
    case OP_A: u = do_alloc(k, o); break;
    case OP_R: u = do_realloc(o); break;
    case OP_F:
    case OP_S:
      if (ptr_of[o->f[0]] == NULL) fail_trace(k, "id not live");
      if (o->op == OP_F) free(ptr_of[o->f[0]]);
      else sdallocx(ptr_of[o->f[0]], o->f[1], 0);
      ptr_of[o->f[0]] = NULL;
      break;
    case OP_P: ctl_do("arena.4096.purge"); break;
    case OP_D: ctl_do("arena.4096.decay"); break;
    case OP_T:
      vclock_ns += o->f[0] * 1000000ull;
      elapsed_ms += o->f[0];
      ctl_do("arena.4096.decay");
      break;
    case OP_E: snapshot(k); break;
    }
    usable[k] = u;
  }
  (void)per_op;
}

/* ---- report --------------------------------------------------------------------------------- */

static void emit_report(bool per_op) {
  const char *version = NULL;
  size_t len = sizeof version;
  if (mallctl("version", &version, &len, NULL, 0) != 0) die("replay: version failed\n");
  const char *conf = getenv("MALLOC_CONF");
  if (conf == NULL) conf = "";
  uint64_t live = 0, live_req = 0, live_usable = 0;
  uint64_t max_id = 0;
  for (size_t k = 0; k < nops; k++)
    if (ops[k].op <= OP_S && ops[k].f[0] > max_id) max_id = ops[k].f[0];
  for (uint64_t id = 0; id <= max_id && nops > 0; id++) {
    if (ptr_of[id] == NULL) continue;
    live++;
    live_req += req_of[id];
    live_usable += malloc_usable_size(ptr_of[id]);
  }
  emit("{\"format\":\"jemalloc-replay-1\",\"version\":\"%s\",\"clock\":\"virtual\",\"malloc_conf_env\":\"%s\",", version, conf);
  emit("\"snapshots\":[");
  for (size_t s = 0; s < nsnaps; s++) {
    emit("%s{\"op\":%zu,\"stats\":", s ? "," : "", snap_ops[s]);
    emit("%.*s}", (int)snap_len[s], snap_json[s]);
  }
  emit("],\"trace\":{\"nops\":%zu,\"ops\":{", nops);
  for (int k = 0; k < NOPS; k++) emit("%s\"%c\":%llu", k ? "," : "", OP_CHARS[k], (unsigned long long)counts[k]);
  emit("},\"elapsed_ms\":%llu,\"failed\":%llu,\"realloc_moved\":%llu,\"live\":%llu,\"live_requested_bytes\":%llu,"
       "\"live_usable_bytes\":%llu},",
       (unsigned long long)elapsed_ms, (unsigned long long)failed, (unsigned long long)moved_count,
       (unsigned long long)live, (unsigned long long)live_req, (unsigned long long)live_usable);
  emit("\"conf\":{\"page\":%lld,\"quantum\":%lld,\"tcache\":%s,\"retain\":%s,\"narenas\":%u,"
       "\"dirty_decay_ms\":%lld,\"muzzy_decay_ms\":%lld,\"oversize_threshold\":%lld,\"thread_arena\":%u},",
       (long long)rd8("arenas.page"), (long long)rd8("arenas.quantum"), rdb("opt.tcache") ? "true" : "false",
       rdb("opt.retain") ? "true" : "false", rdu("opt.narenas"), (long long)rd8("opt.dirty_decay_ms"),
       (long long)rd8("opt.muzzy_decay_ms"), (long long)rd8("opt.oversize_threshold"), rdu("thread.arena"));
  emit("\"stats\":");
  emit_stats();
  if (per_op) {
    emit(",\"realloc_moved\":\"%.*s\",\"usable\":[", (int)nmoved, moved);
    for (size_t k = 0; k < nops; k++) emit("%s%u", k ? "," : "", usable[k]);
    emit("]");
  }
  emit(",\"oracle\":{\"malloc_conf\":\"%s\",\"runs\":1,\"unstable\":[],\"always_ignore\":["
       "\"stats.metadata\",\"stats.resident\",\"stats.mapped\",\"stats.arenas.*.base\",\"stats.arenas.*.resident\","
       "\"stats.arenas.*.mapped\",\"snapshots.*.stats.metadata\",\"snapshots.*.stats.resident\","
       "\"snapshots.*.stats.mapped\",\"snapshots.*.stats.arenas.*.base\",\"snapshots.*.stats.arenas.*.resident\","
       "\"snapshots.*.stats.arenas.*.mapped\",\"malloc_conf_env\"]}}\n",
       conf);
}

/* malloc_stats_print's callbacks: straight to write(2) (stdio would malloc), or nowhere. */
static void stats_write(void *cbopaque, const char *s) {
  (void)cbopaque;
  for (size_t n = strlen(s); n > 0;) {
    ssize_t w = write(1, s, n);
    if (w <= 0) die("replay: write failed\n");
    s += w;
    n -= (size_t)w;
  }
}

static void stats_discard(void *cbopaque, const char *s) {
  (void)cbopaque;
  (void)s;
}

int main(int argc, char **argv) {
  const char *path = NULL;
  const char *stats_opts = NULL;
  long reports = 1;
  bool per_op = true;
  for (int i = 1; i < argc; i++) {
    if (strcmp(argv[i], "--no-ops") == 0) per_op = false;
    else if (strcmp(argv[i], "--stats-print") == 0 && i + 1 < argc) stats_opts = argv[++i];
    else if (strcmp(argv[i], "--reports") == 0 && i + 1 < argc) {
      reports = strtol(argv[++i], NULL, 10);
      if (reports < 1) die("replay: --reports needs a positive integer\n");
    }
    else if (path == NULL) path = argv[i];
    else die("usage: replay <trace.txt> [--no-ops] [--stats-print OPTS [--reports N]]\n");
  }
  if (path == NULL) die("usage: replay <trace.txt> [--no-ops] [--stats-print OPTS [--reports N]]\n");
  out_cap = 1 << 20;
  out = map(out_cap);
  parse_trace(path);
  run(per_op);
  if (stats_opts != NULL) {
    for (long k = 1; k <= reports; k++) malloc_stats_print(k == reports ? stats_write : stats_discard, NULL, stats_opts);
    return 0;
  }
  emit_report(per_op);
  if (clock_calls == 0 && counts[OP_T] > 0) die("replay: jemalloc never read the interposed clock\n");
  flush_out();
  return 0;
}
