// memory_latency: how long one core waits for a load from memory no cache holds, as JSON — the
// host probe's third figure (tools/host_probe.py, docs/PERFORMANCE.md §2). The projection
// rebuild's applying thread and the log's decoding wait mostly on such loads, and their rates
// moved by a third between hours of the same build while SHA-256 on one core did not (§2, which
// also has what half an hour of samples found: the rebuild followed its kernel time more).
//
//   memory_latency [--mib 256] [--out FILE]
//
// One 64-byte line per slot of MIB of memory (2 MiB pages where transparent huge pages allow, as
// mimalloc's are), linked into one random cycle (Sattolo's shuffle, a fixed seed), then followed
// load by load, each address depending on the one before: nanoseconds per load, the best of three
// passes over every line. The memory is touched before it is timed.
#include <sys/mman.h>

#include <CLI/CLI.hpp>
#include <chrono>
#include <cstdint>
#include <random>
#include <vector>

#include "bench_util.h"

namespace {

struct alignas(64) Line {
  Line* next;
};

// Nanoseconds per dependent load over `n` lines linked into one random cycle.
double chase(Line* lines, std::size_t n) {
  std::vector<std::uint32_t> order(n);
  for (std::size_t i = 0; i < n; ++i) order[i] = static_cast<std::uint32_t>(i);
  std::mt19937_64 rng(20261205);
  for (std::size_t i = n - 1; i > 0; --i)  // Sattolo: one cycle through every line
    std::swap(order[i], order[std::uniform_int_distribution<std::size_t>(0, i - 1)(rng)]);
  for (std::size_t i = 0; i < n; ++i) lines[order[i]].next = &lines[order[(i + 1) % n]];
  double best = 1e300;
  for (int pass = 0; pass < 3; ++pass) {
    const Line* p = &lines[order[0]];
    const auto t0 = std::chrono::steady_clock::now();
    for (std::size_t i = 0; i < n; ++i) p = p->next;
    const std::chrono::duration<double, std::nano> took = std::chrono::steady_clock::now() - t0;
    if (p != &lines[order[0]]) return -1;  // not one cycle: a bug, never a figure
    best = std::min(best, took.count() / static_cast<double>(n));
  }
  return best;
}

}  // namespace

int main(int argc, char** argv) {
  using namespace govcredit;
  CLI::App app{"One core's wait for a load from memory no cache holds, in ns, as JSON."};
  std::size_t mib = 256;
  std::string out = "bench-results/memory-latency.json";
  app.add_option("--mib", mib, "MiB of memory to chase through (far larger than the caches)")
      ->capture_default_str()
      ->check(CLI::Range(16, 16384));
  app.add_option("--out", out, "result JSON")->capture_default_str();
  CLI11_PARSE(app, argc, argv);

  const std::size_t bytes = mib << 20;
  void* m = mmap(nullptr, bytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (m == MAP_FAILED) {
    std::cerr << "memory_latency: cannot map " << mib << " MiB\n";
    return 1;
  }
  madvise(m, bytes, MADV_HUGEPAGE);
  const double ns = chase(static_cast<Line*>(m), bytes / sizeof(Line));
  munmap(m, bytes);
  if (ns <= 0) {
    std::cerr << "memory_latency: the lines did not form one cycle\n";
    return 1;
  }
  bench::write_result(out, {{"mib", mib}, {"ns_per_dependent_load", ns}});
  return 0;
}
