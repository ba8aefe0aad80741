// Experiment: hold N MiB of populated anonymous memory and release it to the kernel in step with
// a file's growth, so that the page cache the file grows into takes host-backed pages.
#define _GNU_SOURCE
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include <sched.h>
int main(int argc, char** argv) {
  if (argc < 4) { fprintf(stderr, "pool FILE POOL_MIB AHEAD_MIB\n"); return 2; }
  const char* file = argv[1];
  size_t pool = (size_t)atol(argv[2]) << 20, ahead = (size_t)atol(argv[3]) << 20;
  char* p = mmap(NULL, pool, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (p == MAP_FAILED) { perror("mmap"); return 1; }
  madvise(p, pool, MADV_NOHUGEPAGE);
  struct timespec t0, t1; clock_gettime(CLOCK_MONOTONIC, &t0);
  for (size_t i = 0; i < pool; i += 4096) p[i] = 1;
  clock_gettime(CLOCK_MONOTONIC, &t1);
  fprintf(stderr, "pool: %zu MiB populated in %.2f s\n", pool >> 20,
          (t1.tv_sec - t0.tv_sec) + (t1.tv_nsec - t0.tv_nsec) / 1e9);
  fflush(stderr);
  size_t released = 0, base = (size_t)-1;
  const size_t chunk = 4 << 20;
  for (;;) {
    struct stat st;
    if (stat(file, &st) == 0) {
      size_t used = (size_t)st.st_size;
      if (base == (size_t)-1) base = used;
      size_t want = used - base + ahead;
      while (released + chunk <= want && released + chunk <= pool) {
        madvise(p + released, chunk, MADV_DONTNEED);
        released += chunk;
      }
      if (released + chunk > pool) { fprintf(stderr, "pool: all released\n"); return 0; }
    }
    usleep(1000);
  }
}
