/*
 * sizeclasses.c: the size-class answers of the jemalloc it is linked with, as JSON, for
 * `diff.mjs tables` to compare with `jemalloc-ts sizeclasses --json`:
 *
 *   sizeclasses SIZE...     arenas.{quantum,page,tcache_max,nbins,nhbins,nlextents},
 *                           arenas.bin.<i>.{size,nregs,slab_size,nshards}, every
 *                           arenas.lextent.<i>.size below 2^32, and nallocx(SIZE,
 *                           MALLOCX_LG_ALIGN(lg)) for lg 0..16 (0: no flag).
 */
#include <jemalloc/jemalloc.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

static size_t read_size(const char *name) {
  size_t v = 0, len = sizeof v;
  if (mallctl(name, &v, &len, NULL, 0) != 0) { fprintf(stderr, "mallctl %s failed\n", name); exit(1); }
  return v;
}

static unsigned read_unsigned(const char *name) {
  unsigned v = 0;
  size_t len = sizeof v;
  if (mallctl(name, &v, &len, NULL, 0) != 0) { fprintf(stderr, "mallctl %s failed\n", name); exit(1); }
  return v;
}

static uint32_t read_u32(const char *name) {
  uint32_t v = 0;
  size_t len = sizeof v;
  if (mallctl(name, &v, &len, NULL, 0) != 0) { fprintf(stderr, "mallctl %s failed\n", name); exit(1); }
  return v;
}

int main(int argc, char **argv) {
  char name[128];
  unsigned nbins = read_unsigned("arenas.nbins");
  unsigned nlextents = read_unsigned("arenas.nlextents");
  printf("{\"arenas\":{\"quantum\":%zu,\"page\":%zu,\"tcache_max\":%zu,\"nbins\":%u,\"nhbins\":%u,\"nlextents\":%u},",
         read_size("arenas.quantum"), read_size("arenas.page"), read_size("arenas.tcache_max"), nbins,
         read_unsigned("arenas.nhbins"), nlextents);
  printf("\"bins\":[");
  for (unsigned i = 0; i < nbins; i++) {
    size_t size, slab_size;
    uint32_t nregs, nshards;
    snprintf(name, sizeof name, "arenas.bin.%u.size", i);
    size = read_size(name);
    snprintf(name, sizeof name, "arenas.bin.%u.nregs", i);
    nregs = read_u32(name);
    snprintf(name, sizeof name, "arenas.bin.%u.slab_size", i);
    slab_size = read_size(name);
    snprintf(name, sizeof name, "arenas.bin.%u.nshards", i);
    nshards = read_u32(name);
    printf("%s{\"i\":%u,\"size\":%zu,\"nregs\":%u,\"slab_size\":%zu,\"nshards\":%u}", i ? "," : "", i, size, nregs,
           slab_size, nshards);
  }
  printf("],\"lextents\":[");
  for (unsigned i = 0; i < nlextents; i++) {
    snprintf(name, sizeof name, "arenas.lextent.%u.size", i);
    size_t size = read_size(name);
    if (size >= ((size_t)1 << 32)) break;
    printf("%s%zu", i ? "," : "", size);
  }
  printf("],\"nallocx_align\":{\"by_lg_align\":[");
  for (int lg = 0; lg <= 16; lg++) {
    printf("%s[", lg ? "," : "");
    for (int k = 1; k < argc; k++)
      printf("%s%zu", k > 1 ? "," : "", nallocx(strtoull(argv[k], NULL, 10), lg ? MALLOCX_LG_ALIGN(lg) : 0));
    printf("]");
  }
  printf("]}}\n");
  return 0;
}
