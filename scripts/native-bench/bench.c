/*
 * bench.c: the bench's W1-W5 call sequences on the system's jemalloc, timed as bench/compare.ts times
 * jemalloc-ts (median chunk of wall-clock time, ns per malloc/free call). run.mjs writes the plan file
 * (src/bench/workloads.ts's plans, the same seed) and pairs each figure with compare.ts's child.
 *
 *   bench <plan file>      prints "<ns per call> <cpu ns per call>" (cpu: churn workloads only, else nan)
 *
 * Plan file: little-endian u32 words. kind (1 churn, 2 records, 3 fragmentation), then
 *   churn:          live, planOps, ops, initSizes[live], slots[planOps], sizes[planOps]
 *   records:        live, group, batches
 *   fragmentation:  nSmall, nFree, nLarge, smallSizes[nSmall], freeOrder[nFree], largeSizes[nLarge]
 */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <jemalloc/jemalloc.h>

#define CHUNK 1024

static uint32_t *words;
static size_t nwords, at;

static uint32_t next(void) {
  if (at >= nwords) {
    fprintf(stderr, "bench: plan file ends early at word %zu\n", at);
    exit(2);
  }
  return words[at++];
}
static uint32_t *array(size_t n) {
  if (at + n > nwords) {
    fprintf(stderr, "bench: plan file ends early (an array of %zu words at word %zu)\n", n, at);
    exit(2);
  }
  uint32_t *p = words + at;
  at += n;
  return p;
}

static double now_ns(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return t.tv_sec * 1e9 + t.tv_nsec;
}
static double cpu_ns(void) {
  struct timespec t;
  clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &t);
  return t.tv_sec * 1e9 + t.tv_nsec;
}
static int cmp(const void *a, const void *b) {
  double x = *(const double *)a, y = *(const double *)b;
  return x < y ? -1 : x > y;
}
static double median(double *xs, size_t n) {
  qsort(xs, n, sizeof *xs, cmp);
  return xs[n >> 1];
}
static void *must(void *p, size_t size) {
  if (p == NULL) {
    fprintf(stderr, "bench: malloc(%zu) returned NULL\n", size);
    exit(1);
  }
  return p;
}

/* Churn: `ops` steps (free slot, malloc next size) from step `from`, in chunks; median ns per step. */
static double churn_timed(void **h, const uint32_t *slots, const uint32_t *sizes, uint32_t mask,
                          size_t from, size_t ops, double *per) {
  size_t n = 0;
  for (size_t i = 0; i < ops; i += CHUNK) {
    size_t end = i + CHUNK < ops ? i + CHUNK : ops;
    double t0 = now_ns();
    for (size_t k = from + i; k < from + end; k++) {
      uint32_t s = slots[k & mask];
      free(h[s]);
      h[s] = must(malloc(sizes[k & mask]), sizes[k & mask]);
    }
    per[n++] = (now_ns() - t0) / (double)(end - i);
  }
  return median(per, n);
}

static void churn(void) {
  uint32_t live = next(), planOps = next(), ops = next();
  const uint32_t *init = array(live), *slots = array(planOps), *sizes = array(planOps);
  void **h = calloc(live, sizeof *h);
  double *per = calloc(ops / CHUNK + 2, sizeof *per);
  for (uint32_t i = 0; i < live; i++) h[i] = must(malloc(init[i]), init[i]);
  churn_timed(h, slots, sizes, planOps - 1, 0, ops >> 2, per); /* warm-up, as compare.ts */
  double c0 = cpu_ns();
  double ns = churn_timed(h, slots, sizes, planOps - 1, ops >> 2, ops, per) / 2;
  double cpu = (cpu_ns() - c0) / (2.0 * ops);
  printf("%.2f %.2f\n", ns, cpu);
}

/* Records: batches of `group` 48-byte records (12 words written each), at most live/group batches, FIFO. */
static double records_timed(uint32_t **h, uint32_t live, uint32_t group, uint32_t batches, uint32_t *seq,
                            uint32_t *nextSlot, double *per) {
  for (uint32_t b = 0; b < batches; b++) {
    double t0 = now_ns();
    uint32_t nx = *nextSlot;
    for (uint32_t j = 0; j < group; j++) free(h[nx + j]);
    for (uint32_t j = 0; j < group; j++) {
      uint32_t *p = must(malloc(48), 48);
      for (int w = 0; w < 12; w++) p[w] = *seq + w;
      h[nx + j] = p;
      (*seq)++;
    }
    *nextSlot = nx + group == live ? 0 : nx + group;
    per[b] = (now_ns() - t0) / (2.0 * group);
  }
  return median(per, batches);
}

static void records(void) {
  uint32_t live = next(), group = next(), batches = next();
  uint32_t **h = calloc(live, sizeof *h);
  double *per = calloc(batches > live / group ? batches : live / group, sizeof *per);
  uint32_t seq = 0, nx = 0;
  records_timed(h, live, group, live / group, &seq, &nx, per);
  printf("%.2f nan\n", records_timed(h, live, group, batches, &seq, &nx, per));
}

/* Fragmentation: three phases on a fresh arena each pass; the pass's calls weighted by phase medians. */
static double phase(void **out, const uint32_t *sizes, void **src, const uint32_t *order, size_t n, double *per) {
  size_t m = 0;
  for (size_t i = 0; i < n; i += CHUNK) {
    size_t end = i + CHUNK < n ? i + CHUNK : n;
    double t0 = now_ns();
    if (out != NULL)
      for (size_t k = i; k < end; k++) out[k] = must(malloc(sizes[k]), sizes[k]);
    else
      for (size_t k = i; k < end; k++) free(src[order[k]]);
    per[m++] = (now_ns() - t0) / (double)(end - i);
  }
  return median(per, m);
}

static void fragmentation(void) {
  uint32_t nSmall = next(), nFree = next(), nLarge = next();
  const uint32_t *small = array(nSmall), *order = array(nFree), *large = array(nLarge);
  double *per = calloc(nSmall / CHUNK + 2, sizeof *per);
  double best = INFINITY;
  for (int pass = 0; pass < 3; pass++) {
    /* A fresh allocator per pass: a new arena, its thread cache flushed to it (compare.ts: a new heap). */
    unsigned arena;
    size_t sz = sizeof arena;
    if (mallctl("arenas.create", &arena, &sz, NULL, 0) != 0 || mallctl("thread.tcache.flush", NULL, NULL, NULL, 0) != 0) {
      fprintf(stderr, "bench: mallctl arenas.create failed\n");
      exit(1);
    }
    if (mallctl("thread.arena", NULL, NULL, &arena, sizeof arena) != 0) exit(1);
    void **s = calloc(nSmall, sizeof *s), **l = calloc(nLarge, sizeof *l);
    double a = phase(s, small, NULL, NULL, nSmall, per);
    double b = phase(NULL, NULL, s, order, nFree, per);
    double c = phase(l, large, NULL, NULL, nLarge, per);
    double t = (a * nSmall + b * nFree + c * nLarge) / (double)(nSmall + nFree + nLarge);
    if (pass > 0 && t < best) best = t; /* the first pass warms up, as compare.ts */
  }
  printf("%.2f nan\n", best);
}

int main(int argc, char **argv) {
  if (argc != 2) {
    fprintf(stderr, "usage: bench <plan file>\n");
    return 2;
  }
  FILE *f = fopen(argv[1], "rb");
  if (f == NULL) {
    perror(argv[1]);
    return 2;
  }
  fseek(f, 0, SEEK_END);
  long bytes = ftell(f);
  fseek(f, 0, SEEK_SET);
  words = malloc(bytes);
  nwords = fread(words, 4, bytes / 4, f);
  fclose(f);
  switch (next()) {
    case 1: churn(); break;
    case 2: records(); break;
    case 3: fragmentation(); break;
    default: fprintf(stderr, "bench: unknown plan kind\n"); return 2;
  }
  return 0;
}
