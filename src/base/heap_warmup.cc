#include "heap_warmup.h"

#include <algorithm>
#include <cerrno>
#include <cmath>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <mutex>
#include <string>

#include <pthread.h>
#include <sched.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#ifndef MADV_POPULATE_WRITE
#define MADV_POPULATE_WRITE 23  // Linux 5.14; older C library headers lack the name
#endif

namespace govcredit {
namespace {

constexpr std::size_t kAlign = std::size_t{32} << 20;  // mimalloc 2.0's segment and arena block
constexpr std::size_t kMinRegion = std::size_t{64} << 20;
constexpr std::size_t kStep = std::size_t{2} << 20;  // one transparent huge page
constexpr std::size_t kJudged = 2 * kStep;           // Options::small_pages_above_ms_per_mib

std::atomic<HeapAdopter> g_adopter{nullptr};
std::mutex g_mutex;
std::size_t g_adopted = 0;  // guarded by g_mutex

bool turned_off() {
  const char* e = std::getenv("GOVCREDIT_HEAP_WARMUP");
  return e != nullptr && std::strcmp(e, "0") == 0;
}

double thread_cpu_seconds() {
  timespec t{};
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &t);
  return static_cast<double>(t.tv_sec) + static_cast<double>(t.tv_nsec) * 1e-9;
}

// MemAvailable from /proc/meminfo; the free pages when that cannot be read.
std::size_t available_bytes() {
  std::ifstream in("/proc/meminfo");
  std::string key;
  std::size_t kib = 0;
  std::string unit;
  while (in >> key >> kib >> unit)
    if (key == "MemAvailable:") return kib * 1024;
  const long pages = sysconf(_SC_AVPHYS_PAGES), page = sysconf(_SC_PAGESIZE);
  return pages > 0 && page > 0 ? static_cast<std::size_t>(pages) * static_cast<std::size_t>(page)
                               : 0;
}

// A region of `bytes` (a multiple of kAlign) aligned to kAlign, or nullptr.
std::byte* map_aligned(std::size_t bytes) {
  void* raw = mmap(nullptr, bytes + kAlign, PROT_READ | PROT_WRITE,
                   MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
  if (raw == MAP_FAILED) return nullptr;
  const auto at = reinterpret_cast<std::uintptr_t>(raw);
  const std::uintptr_t start = (at + kAlign - 1) & ~(kAlign - 1);
  if (start > at) munmap(raw, start - at);
  if (const std::size_t tail = at + kAlign - start; tail > 0)
    munmap(reinterpret_cast<void*>(start + bytes), tail);
  return reinterpret_cast<std::byte*>(start);
}

}  // namespace

void set_heap_adopter(HeapAdopter adopter) {
  g_adopter.store(adopter);
}

std::size_t HeapWarmup::adopted_total() {
  std::lock_guard lock(g_mutex);
  return g_adopted;
}

HeapWarmup::HeapWarmup(std::size_t bytes, Options options) {
  const HeapAdopter adopt = g_adopter.load();
  // (A request under the least region needs no look at the memory available, nor the lock.)
  if (adopt == nullptr || bytes < kMinRegion || turned_off()) return;
  {
    std::lock_guard lock(g_mutex);
    const std::size_t want = std::min(bytes, available_bytes() / 2);
    if (want <= g_adopted || want - g_adopted < kMinRegion) return;
    const std::size_t size = (want - g_adopted) / kAlign * kAlign;
    std::byte* p = map_aligned(size);
    if (p == nullptr) return;
    if (!adopt(p, size)) {
      munmap(p, size);
      return;
    }
    g_adopted += size;
    region_ = p;
    region_bytes_ = size;
    small_from_.store(size, std::memory_order_relaxed);
  }
  if (const char* e = std::getenv("GOVCREDIT_HEAP_SMALL_PAGES_ABOVE");
      e != nullptr && std::isfinite(options.small_pages_above_ms_per_mib)) {
    char* end = nullptr;
    const double v = std::strtod(e, &end);
    if (end != e && *end == '\0' && v >= 0) options.small_pages_above_ms_per_mib = v;
  }
  thread_ = std::thread([this, options] { populate(options); });
}

HeapWarmup::~HeapWarmup() {
  stop_.store(true, std::memory_order_relaxed);
  if (thread_.joinable()) thread_.join();
}

void HeapWarmup::wait() {
  if (thread_.joinable()) thread_.join();
}

void HeapWarmup::populate(Options options) {
  if (options.idle_priority) {
    sched_param none{};
    pthread_setschedparam(pthread_self(), SCHED_IDLE, &none);  // if refused, at normal priority
  }
  // The thread's own CPU time: at SCHED_IDLE it waits for idle cores, and that is not the price
  // of the pages. (Steps the allocator's users faulted in first cost ~nothing, so a judgement can
  // only err towards keeping the 2 MiB pages.)
  bool judging = true;
  std::size_t judged_from = 0;
  double judged_since = thread_cpu_seconds();
  for (std::size_t done = 0; done < region_bytes_ && !stop_.load(std::memory_order_relaxed);) {
    const std::size_t n = std::min(kStep, region_bytes_ - done);
    if (madvise(region_ + done, n, MADV_POPULATE_WRITE) != 0) {
      refusal_.store(errno, std::memory_order_release);
      break;
    }
    done += n;
    populated_.store(done, std::memory_order_release);
    if (judging && done - judged_from >= kJudged && done < region_bytes_) {
      const double now = thread_cpu_seconds();
      const double mib = static_cast<double>(done - judged_from) / (1 << 20);
      if ((now - judged_since) * 1e3 > options.small_pages_above_ms_per_mib * mib) {
        judging = false;
        // (Pages already faulted in keep their size; should the kernel refuse, they all do.)
        if (madvise(region_ + done, region_bytes_ - done, MADV_NOHUGEPAGE) == 0)
          small_from_.store(done, std::memory_order_release);
      }
      judged_from = done;
      judged_since = now;
    }
  }
  finished_.store(true, std::memory_order_release);
}

}  // namespace govcredit
