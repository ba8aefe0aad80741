#include "base/heap_warmup.h"

#include <gtest/gtest.h>

#include <cerrno>
#include <chrono>
#include <cinttypes>
#include <cstdint>
#include <cstdio>
#include <fstream>
#include <limits>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include <sys/mman.h>
#include <unistd.h>

namespace govcredit {
namespace {

constexpr std::size_t kMiB = std::size_t{1} << 20;

// The test programs link the C library's malloc, which adopts nothing: this adopter takes the
// regions and keeps them, as mimalloc would, without serving anything from them.
std::vector<std::pair<void*, std::size_t>> g_adopted;
bool keep(void* start, std::size_t bytes) {
  g_adopted.emplace_back(start, bytes);
  return true;
}

std::size_t resident_bytes(const std::byte* p, std::size_t bytes) {
  const std::size_t page = static_cast<std::size_t>(sysconf(_SC_PAGESIZE));
  std::vector<unsigned char> in((bytes + page - 1) / page);
  if (mincore(const_cast<std::byte*>(p), bytes, in.data()) != 0) return 0;
  std::size_t n = 0;
  for (unsigned char c : in) n += (c & 1) ? page : 0;
  return n;
}

// As the executables' glue does under mimalloc's large OS pages: the region marked for 2 MiB pages.
bool keep_huge(void* start, std::size_t bytes) {
  madvise(start, bytes, MADV_HUGEPAGE);
  return keep(start, bytes);
}

// Whether this kernel has transparent huge pages to mark a mapping for (built without them,
// madvise(MADV_HUGEPAGE) and MADV_NOHUGEPAGE fail with EINVAL and a region keeps its pages).
bool kernel_has_huge_pages() {
  void* p = mmap(nullptr, 2 * kMiB, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (p == MAP_FAILED) return false;
  const bool ok = madvise(p, 2 * kMiB, MADV_HUGEPAGE) == 0;
  munmap(p, 2 * kMiB);
  return ok;
}

// The VmFlags line of the mapping that holds p (/proc/self/smaps); "" when none does.
std::string vm_flags_at(const void* p) {
  const auto at = reinterpret_cast<std::uintptr_t>(p);
  std::ifstream smaps("/proc/self/smaps");
  bool inside = false;
  for (std::string line; std::getline(smaps, line);) {
    std::uintptr_t lo = 0, hi = 0;
    if (std::sscanf(line.c_str(), "%" SCNxPTR "-%" SCNxPTR " ", &lo, &hi) == 2 &&
        line.find(':') > line.find(' ')) {
      inside = lo <= at && at < hi;
    } else if (inside && line.rfind("VmFlags:", 0) == 0) {
      return line;
    }
  }
  return "";
}

bool has_flag(const std::string& vm_flags, const char* flag) {
  return (vm_flags + " ").find(std::string(" ") + flag + " ") != std::string::npos;
}

bool wait_for(const HeapWarmup& w, bool (*until)(const HeapWarmup&)) {
  for (int i = 0; i < 6000 && !until(w); ++i)
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  return until(w);
}

// The adopter and the amount adopted are the process's: each test counts from what it finds.
TEST(HeapWarmup, WithoutAnAdopterNothingIsTakenFromTheSystem) {
  set_heap_adopter(nullptr);
  const std::size_t before = HeapWarmup::adopted_total();
  HeapWarmup w(before + 256 * kMiB, {.idle_priority = false});
  EXPECT_EQ(w.region(), nullptr);
  EXPECT_EQ(w.region_bytes(), 0u);
  EXPECT_EQ(HeapWarmup::adopted_total(), before);
}

TEST(HeapWarmup, PopulatesTheAdoptedRegionWithoutWritingToIt) {
  set_heap_adopter(keep);
  const std::size_t before = HeapWarmup::adopted_total();
  const std::size_t regions = g_adopted.size();
  HeapWarmup w(before + 100 * kMiB, {.idle_priority = false});
  ASSERT_EQ(g_adopted.size(), regions + 1);
  EXPECT_EQ(g_adopted.back().first, static_cast<const void*>(w.region()));
  // Rounded down to the allocator's 32 MiB blocks, aligned to them.
  EXPECT_EQ(w.region_bytes(), 96 * kMiB);
  EXPECT_EQ(g_adopted.back().second, 96 * kMiB);
  EXPECT_EQ(reinterpret_cast<std::uintptr_t>(w.region()) % (32 * kMiB), 0u);
  EXPECT_EQ(HeapWarmup::adopted_total(), before + 96 * kMiB);

  ASSERT_TRUE(wait_for(w, [](const HeapWarmup& h) { return h.finished(); }));
  if (w.refusal() == EINVAL) GTEST_SKIP() << "this kernel has no MADV_POPULATE_WRITE (Linux 5.14)";
  EXPECT_EQ(w.refusal(), 0);
  EXPECT_EQ(w.populated_bytes(), w.region_bytes());
  EXPECT_EQ(resident_bytes(w.region(), w.region_bytes()), w.region_bytes());
  for (std::size_t i = 0; i < w.region_bytes(); i += 4096) ASSERT_EQ(w.region()[i], std::byte{0});
}

// Where 2 MiB pages cost more than Options::small_pages_above_ms_per_mib (0 here: any cost), the
// rest of the region, from the first 4 MiB on, is given 4 KiB pages; populated all the same.
TEST(HeapWarmup, GivesTheRestOfTheRegionSmallPagesWhenLargeOnesAreDear) {
  if (!kernel_has_huge_pages()) GTEST_SKIP() << "this kernel has no transparent huge pages";
  set_heap_adopter(keep_huge);
  HeapWarmup w(HeapWarmup::adopted_total() + 64 * kMiB,
               {.idle_priority = false, .small_pages_above_ms_per_mib = 0});
  ASSERT_EQ(w.region_bytes(), 64 * kMiB);
  w.wait();
  if (w.refusal() == EINVAL) GTEST_SKIP() << "this kernel has no MADV_POPULATE_WRITE (Linux 5.14)";
  EXPECT_EQ(w.refusal(), 0);
  EXPECT_EQ(w.populated_bytes(), w.region_bytes());
  EXPECT_EQ(resident_bytes(w.region(), w.region_bytes()), w.region_bytes());
  ASSERT_EQ(w.small_pages_from(), 4 * kMiB);
  const std::string head = vm_flags_at(w.region()),
                    before_switch = vm_flags_at(w.region() + 4 * kMiB - 1),
                    rest = vm_flags_at(w.region() + 4 * kMiB),
                    end = vm_flags_at(w.region() + w.region_bytes() - 1);
  EXPECT_TRUE(has_flag(head, "hg")) << head;
  EXPECT_TRUE(has_flag(before_switch, "hg")) << before_switch;
  EXPECT_TRUE(has_flag(rest, "nh")) << rest;
  EXPECT_FALSE(has_flag(rest, "hg")) << rest;
  EXPECT_TRUE(has_flag(end, "nh")) << end;
  for (std::size_t i = 0; i < w.region_bytes(); i += 4096) ASSERT_EQ(w.region()[i], std::byte{0});
}

// However dear, infinity keeps the allocator's pages (a ledger node's region).
TEST(HeapWarmup, KeepsTheLargePagesWhenToldToWhateverTheyCost) {
  if (!kernel_has_huge_pages()) GTEST_SKIP() << "this kernel has no transparent huge pages";
  set_heap_adopter(keep_huge);
  HeapWarmup w(HeapWarmup::adopted_total() + 64 * kMiB,
               {.idle_priority = false,
                .small_pages_above_ms_per_mib = std::numeric_limits<double>::infinity()});
  ASSERT_EQ(w.region_bytes(), 64 * kMiB);
  w.wait();
  if (w.refusal() == EINVAL) GTEST_SKIP() << "this kernel has no MADV_POPULATE_WRITE (Linux 5.14)";
  EXPECT_EQ(w.populated_bytes(), w.region_bytes());
  EXPECT_EQ(w.small_pages_from(), w.region_bytes());
  const std::string end = vm_flags_at(w.region() + w.region_bytes() - 1);
  EXPECT_TRUE(has_flag(vm_flags_at(w.region()), "hg"));
  EXPECT_TRUE(has_flag(end, "hg")) << end;
  EXPECT_FALSE(has_flag(end, "nh")) << end;
}

// A ledger node waits for its whole region before it joins its group (NodeOptions::
// warm_heap_bytes): wait() returns only once the populating thread is done.
TEST(HeapWarmup, WaitReturnsOnceTheWholeRegionIsPopulated) {
  set_heap_adopter(keep);
  const std::size_t before = HeapWarmup::adopted_total();
  HeapWarmup w(before + 128 * kMiB, {.idle_priority = false});
  ASSERT_EQ(w.region_bytes(), 128 * kMiB);
  w.wait();
  EXPECT_TRUE(w.finished());
  if (w.refusal() == EINVAL) GTEST_SKIP() << "this kernel has no MADV_POPULATE_WRITE (Linux 5.14)";
  EXPECT_EQ(w.refusal(), 0);
  EXPECT_EQ(w.populated_bytes(), w.region_bytes());
  EXPECT_EQ(resident_bytes(w.region(), w.region_bytes()), w.region_bytes());
}

TEST(HeapWarmup, AProcessAdoptsNoMoreThanItsLargestRequest) {
  set_heap_adopter(keep);
  const std::size_t before = HeapWarmup::adopted_total();
  {
    HeapWarmup first(before + 128 * kMiB);
    EXPECT_EQ(first.region_bytes(), 128 * kMiB);
  }
  const std::size_t regions = g_adopted.size();
  {
    HeapWarmup again(before + 128 * kMiB);  // what the first request's user freed serves this one
    EXPECT_EQ(again.region_bytes(), 0u);
    HeapWarmup little_more(before + 128 * kMiB + 40 * kMiB);  // under 64 MiB: not worth a thread
    EXPECT_EQ(little_more.region_bytes(), 0u);
  }
  EXPECT_EQ(g_adopted.size(), regions);
  HeapWarmup more(before + 128 * kMiB + 64 * kMiB);
  EXPECT_EQ(more.region_bytes(), 64 * kMiB);
  EXPECT_EQ(HeapWarmup::adopted_total(), before + 192 * kMiB);
}

TEST(HeapWarmup, StopsWhenDestroyed) {
  set_heap_adopter(keep);
  const std::byte* region;
  std::size_t bytes;
  {
    HeapWarmup w(HeapWarmup::adopted_total() + 1024 * kMiB, {.idle_priority = false});
    region = w.region();
    bytes = w.region_bytes();
    ASSERT_EQ(bytes, 1024 * kMiB);
    ASSERT_TRUE(wait_for(
        w, [](const HeapWarmup& h) { return h.finished() || h.populated_bytes() >= 8 * kMiB; }));
    if (w.refusal() == EINVAL) GTEST_SKIP() << "this kernel has no MADV_POPULATE_WRITE";
  }
  // The thread stopped after the 2 MiB it was at: far from the whole GiB.
  EXPECT_LT(resident_bytes(region, bytes), bytes / 2);
}

TEST(HeapWarmup, GOVCREDIT_HEAP_WARMUP0TurnsItOff) {
  set_heap_adopter(keep);
  ASSERT_EQ(setenv("GOVCREDIT_HEAP_WARMUP", "0", 1), 0);
  HeapWarmup w(HeapWarmup::adopted_total() + 256 * kMiB);
  unsetenv("GOVCREDIT_HEAP_WARMUP");
  EXPECT_EQ(w.region_bytes(), 0u);
}

// Last: it adopts half the memory available, which the requests of the tests above would not get.
TEST(HeapWarmup, NeverMoreThanHalfTheMemoryAvailable) {
  set_heap_adopter(keep);
  const std::size_t before = HeapWarmup::adopted_total();
  const std::size_t physical = static_cast<std::size_t>(sysconf(_SC_PHYS_PAGES)) *
                               static_cast<std::size_t>(sysconf(_SC_PAGESIZE));
  // Four times the machine's memory: a region that size maps (MAP_NORESERVE) unless capped.
  HeapWarmup huge(before + 4 * physical);
  EXPECT_GT(huge.region_bytes(), 0u);
  EXPECT_LE(huge.region_bytes(), physical / 2);  // MemAvailable <= MemTotal
  EXPECT_EQ(HeapWarmup::adopted_total(), before + huge.region_bytes());
}

}  // namespace
}  // namespace govcredit
