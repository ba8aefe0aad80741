// Internal to the library and the executables' allocator glue (src/base/mimalloc_options.cc).
#pragma once

#include <atomic>
#include <cstddef>
#include <thread>

namespace govcredit {

// Memory that a large in-memory build (the projection rebuild, `verify --projections`) is about
// to allocate, touched ahead of it by a thread that runs only when a core would otherwise be idle;
// or, waited for, the heap a ledger node keeps for its life (NodeOptions::warm_heap_bytes).
//
// Why: the kernel gives a process each page it touches for the first time zeroed, and on a
// virtual machine whose host has taken back the memory the guest freed, that first touch costs
// 1.5-2.6 s per GiB (docs/PERFORMANCE.md §2, §5.19, §5.20). A rebuild of 10M entries touches ~3.4
// GiB, on its applying thread, while the cores are ~30% idle (the reading thread waits for the
// applying one): `govcredit rebuild` of a 10M-entry shard took 9.0 s with this and 10.3 s without
// (medians of seven alternating pairs; 8.3 against 17.5 s in the widest).
//
// How: a region of new address space is handed to the allocator (through the adopter that the
// allocator's glue registered: mimalloc then takes its next segments from it, lowest address
// first), and a thread at SCHED_IDLE populates the region 2 MiB at a time from its start, with
// MADV_POPULATE_WRITE (Linux 5.14), which faults the pages in without writing to them: it cannot
// disturb what the allocator already put there. It stops when the region is done, when the
// kernel refuses (an older kernel: the region is then simply faulted in by its users, as any
// other memory), or when the HeapWarmup is destroyed. Without an adopter (the C library's
// malloc: the sanitizer and fuzzing builds, the test programs) it does nothing.
//
// Memory is not given back: the region stays the allocator's, and what the rebuild frees is
// reused by the next allocations. So a process adopts, over its life, at most the largest
// request made so far (a second rebuild reuses what the first one freed), at most half of the
// memory available when asked (MemAvailable), and nothing under 64 MiB (not worth a thread).
// GOVCREDIT_HEAP_WARMUP=0 in the environment turns it off.
//
// Thread-safety: construct and destroy on one thread; the accessors may be called from any.
class HeapWarmup {
 public:
  struct Options {
    // SCHED_IDLE: the populating thread takes no time from the others. Tests turn it off, to
    // see the region populated on a busy machine.
    bool idle_priority = true;
    // Fresh 2 MiB pages are dear on this VM in some hours (~5-9 ms of the populating thread's CPU
    // per MiB, against ~0.4 ms for 4 KiB pages; docs/PERFORMANCE.md §5.45): so dear that the
    // thread falls behind the rebuild it should run ahead of, which then faults them in itself.
    // When 4 MiB populated in 2 MiB pages cost more than this many ms of the thread's CPU time
    // per MiB, the rest of the region is given 4 KiB pages (MADV_NOHUGEPAGE), for the thread and
    // for the allocator's users alike. Judged on every 4 MiB until it switches, once. Infinity
    // keeps the 2 MiB pages whatever they cost (a ledger node, which waits for its region and
    // then keeps it for its life); 0 switches after the first 4 MiB (tests). A finite value gives
    // way to GOVCREDIT_HEAP_SMALL_PAGES_ABOVE in the environment (ms per MiB; 0 to see the switch
    // in an executable's tests).
    double small_pages_above_ms_per_mib = 2.0;
  };
  explicit HeapWarmup(std::size_t bytes) : HeapWarmup(bytes, Options{}) {}
  HeapWarmup(std::size_t bytes, Options options);
  // Stops the populating thread (after the 2 MiB it is at) and joins it.
  ~HeapWarmup();
  // Blocks until the populating thread has ended: the region done, or refused by the kernel.
  // (A ledger node populates its whole region before it joins its group.)
  void wait();
  HeapWarmup(const HeapWarmup&) = delete;
  HeapWarmup& operator=(const HeapWarmup&) = delete;

  // The region adopted for this request (0 when none), and how much of it is populated so far.
  const std::byte* region() const { return region_; }
  std::size_t region_bytes() const { return region_bytes_; }
  std::size_t populated_bytes() const { return populated_.load(std::memory_order_acquire); }
  // Where in the region 4 KiB pages begin (Options::small_pages_above_ms_per_mib);
  // region_bytes() while the whole region keeps the allocator's pages.
  std::size_t small_pages_from() const { return small_from_.load(std::memory_order_acquire); }
  // Whether the populating thread has ended: the region done, stopped, or refused by the kernel
  // (then refusal() is the errno of MADV_POPULATE_WRITE: EINVAL before Linux 5.14).
  bool finished() const { return finished_.load(std::memory_order_acquire); }
  int refusal() const { return refusal_.load(std::memory_order_acquire); }

  // Total adopted by this process.
  static std::size_t adopted_total();

 private:
  void populate(Options options);

  std::byte* region_ = nullptr;
  std::size_t region_bytes_ = 0;
  std::atomic<std::size_t> populated_{0};
  std::atomic<std::size_t> small_from_{0};
  std::atomic<bool> stop_{false};
  std::atomic<bool> finished_{false};
  std::atomic<int> refusal_{0};
  std::thread thread_;
};

// The allocator's side. adopt(start, bytes) makes the allocator serve from [start, start +
// bytes): readable and writable, all zero, start aligned to 32 MiB and bytes a multiple of it. It
// returns false when the allocator cannot take it (the region is then unmapped). Registered once,
// before main, by the executables linked with mimalloc.
using HeapAdopter = bool (*)(void* start, std::size_t bytes);
void set_heap_adopter(HeapAdopter adopter);

}  // namespace govcredit
