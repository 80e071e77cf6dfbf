// ring.c: the producer-consumer workload (src/bench/workloads.ts, "producer-consumer") on the system's
// real jemalloc, for the bench's cross-thread figure to be compared with. One thread mallocs 8–256 B
// blocks (uniform, from a seeded plan of 65536 sizes) and passes them through a single-producer
// single-consumer ring of 4096 slots; the other frees them. Same ring protocol as src/bench/ring.ts:
// head and tail counters 64 bytes apart, published every 64 items and before waiting.
//
// A round is 32768 items; both threads start together at a shared round counter and the round's time
// is the later of the two finishing times, as the bench's worker cells take it. Prints the median
// round's ns per call as the bench counts calls for this workload: each thread makes `items` calls a
// round (mallocs on one, frees on the other, at the same time), so a round's time ÷ items; over
// `rounds` timed rounds after `warm` untimed ones.
//
//   gcc -O2 -pthread -o ring ring.c -ljemalloc && ./ring [rounds=300] [warm=30]
#define _GNU_SOURCE
#include <jemalloc/jemalloc.h>
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#define SLOTS 4096u
#define PUBLISH_EVERY 64u
#define ITEMS 32768u
#define PLAN 65536u
#define SPINS_BEFORE_YIELD 256

struct ring {
  _Alignas(64) _Atomic uint32_t head;
  _Alignas(64) _Atomic uint32_t tail;
  _Alignas(64) void *slot[SLOTS];
};

static struct ring ring;
static uint16_t sizes[PLAN];
static _Atomic uint32_t start_round; // the round both threads may start (0: none yet)
static _Atomic int done_count;
static double round_end_ns[2];

static double now_ns(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return ts.tv_sec * 1e9 + ts.tv_nsec;
}

static void wait_round(uint32_t r) {
  while (atomic_load_explicit(&start_round, memory_order_acquire) < r) sched_yield();
}

static uint32_t plan_cursor;

static void produce(void) {
  uint32_t head = atomic_load_explicit(&ring.head, memory_order_relaxed);
  uint32_t tail = atomic_load_explicit(&ring.tail, memory_order_acquire);
  for (uint32_t made = 1; made <= ITEMS; made++) {
    if (head - tail >= SLOTS) {
      atomic_store_explicit(&ring.head, head, memory_order_release);
      int spins = 0;
      do {
        if (++spins > SPINS_BEFORE_YIELD) sched_yield();
        tail = atomic_load_explicit(&ring.tail, memory_order_acquire);
      } while (head - tail >= SLOTS);
    }
    void *p = malloc(sizes[plan_cursor++ & (PLAN - 1)]);
    if (p == NULL) abort();
    ring.slot[head & (SLOTS - 1)] = p;
    head++;
    if (made % PUBLISH_EVERY == 0) atomic_store_explicit(&ring.head, head, memory_order_release);
  }
  atomic_store_explicit(&ring.head, head, memory_order_release);
}

static void consume(void) {
  uint32_t tail = atomic_load_explicit(&ring.tail, memory_order_relaxed);
  uint32_t head = atomic_load_explicit(&ring.head, memory_order_acquire);
  for (uint32_t taken = 1; taken <= ITEMS; taken++) {
    if (head == tail) {
      atomic_store_explicit(&ring.tail, tail, memory_order_release);
      int spins = 0;
      do {
        if (++spins > SPINS_BEFORE_YIELD) sched_yield();
        head = atomic_load_explicit(&ring.head, memory_order_acquire);
      } while (head == tail);
    }
    free(ring.slot[tail & (SLOTS - 1)]);
    tail++;
    if (taken % PUBLISH_EVERY == 0) atomic_store_explicit(&ring.tail, tail, memory_order_release);
  }
  atomic_store_explicit(&ring.tail, tail, memory_order_release);
}

static uint32_t total_rounds;

static void *worker(void *arg) {
  int role = (int)(intptr_t)arg;
  for (uint32_t r = 1; r <= total_rounds; r++) {
    wait_round(r);
    if (role == 0) produce();
    else consume();
    round_end_ns[role] = now_ns();
    atomic_fetch_add_explicit(&done_count, 1, memory_order_acq_rel);
  }
  return NULL;
}

static int cmp_double(const void *a, const void *b) {
  double x = *(const double *)a, y = *(const double *)b;
  return x < y ? -1 : x > y;
}

int main(int argc, char **argv) {
  uint32_t rounds = argc > 1 ? (uint32_t)atoi(argv[1]) : 300;
  uint32_t warm = argc > 2 ? (uint32_t)atoi(argv[2]) : 30;
  if (rounds == 0) {
    fprintf(stderr, "ring: rounds must be a positive integer, got %s\n", argv[1]);
    return 2;
  }
  total_rounds = warm + rounds;
  uint64_t x = 20260526;
  for (uint32_t i = 0; i < PLAN; i++) {
    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    sizes[i] = (uint16_t)(8 + x % 249);
  }
  const char *version = "?";
  size_t len = sizeof(version);
  mallctl("version", &version, &len, NULL, 0);

  pthread_t t[2];
  for (int i = 0; i < 2; i++) pthread_create(&t[i], NULL, worker, (void *)(intptr_t)i);
  double *per_call = calloc(rounds, sizeof(double));
  for (uint32_t r = 1; r <= total_rounds; r++) {
    double t0 = now_ns();
    atomic_store_explicit(&start_round, r, memory_order_release);
    while (atomic_load_explicit(&done_count, memory_order_acquire) < (int)(2 * r)) sched_yield();
    double end = round_end_ns[0] > round_end_ns[1] ? round_end_ns[0] : round_end_ns[1];
    if (r > warm) per_call[r - warm - 1] = (end - t0) / ITEMS;
  }
  for (int i = 0; i < 2; i++) pthread_join(t[i], NULL);
  qsort(per_call, rounds, sizeof(double), cmp_double);
  printf("{\"jemalloc\":\"%s\",\"rounds\":%u,\"itemsPerRound\":%u,\"nsPerCallMedian\":%.2f,\"nsPerCallMin\":%.2f}\n",
         version, rounds, ITEMS, per_call[rounds / 2], per_call[0]);
  free(per_call);
  return 0;
}
