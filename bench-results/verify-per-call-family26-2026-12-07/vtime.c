// LD_PRELOAD wrapper: time spent in libsodium's crypto_sign_verify_detached, per call, thread CPU
// clock and wall clock, printed at exit of every process that called it.
#define _GNU_SOURCE
#include <dlfcn.h>
#include <stdatomic.h>
#include <stdio.h>
#include <time.h>
#include <unistd.h>
static _Atomic unsigned long long calls, cpu_ns, wall_ns;
typedef int (*fn_t)(const unsigned char*, const unsigned char*, unsigned long long, const unsigned char*);
static fn_t real;
static unsigned long long ns(clockid_t c) { struct timespec t; clock_gettime(c, &t); return t.tv_sec * 1000000000ULL + t.tv_nsec; }
int crypto_sign_verify_detached(const unsigned char* sig, const unsigned char* m, unsigned long long mlen, const unsigned char* pk) {
  if (!real) real = (fn_t)dlsym(RTLD_NEXT, "crypto_sign_verify_detached");
  unsigned long long c0 = ns(CLOCK_THREAD_CPUTIME_ID), w0 = ns(CLOCK_MONOTONIC);
  int r = real(sig, m, mlen, pk);
  unsigned long long c1 = ns(CLOCK_THREAD_CPUTIME_ID), w1 = ns(CLOCK_MONOTONIC);
  unsigned long long n = ++calls; cpu_ns += c1 - c0; wall_ns += w1 - w0;
  if (n % 5000 == 0) {
    static unsigned long long last_cpu, last_wall;
    unsigned long long c = cpu_ns, w = wall_ns;
    fprintf(stderr, "VTIME %.3f pid %d calls %llu last 5000: cpu %.2f us/call wall %.2f us/call\n",
            ns(CLOCK_REALTIME) / 1e9, getpid(), n, (c - last_cpu) / 5e3 / 1e3, (w - last_wall) / 5e3 / 1e3);
    last_cpu = c; last_wall = w;
  }
  return r;
}
__attribute__((destructor)) static void report(void) {
  if (calls) fprintf(stderr, "VTIME pid %d calls %llu cpu %.2f us/call wall %.2f us/call\n", getpid(), calls, cpu_ns / 1e3 / calls, wall_ns / 1e3 / calls);
}
