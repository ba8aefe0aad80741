// mimalloc's options for the executables linked with it (CMake's govcredit_allocator()); set
// before main, so that every later segment mimalloc takes from the system follows them.
//
// large_os_pages: mimalloc asks for 2 MiB pages (transparent huge pages through madvise when no
// huge pages are reserved, as on a default Linux), so that the projections' hundreds of MB of
// small objects take one page fault and one TLB entry per 2 MiB instead of per 4 KiB. A rebuild
// of 1M entries applied its events ~15% faster, for 2% more peak memory in that rebuild and ~60
// MiB more in a small ingesting node; ingest itself ran no faster (docs/PERFORMANCE.md §5.12).
// MIMALLOC_LARGE_OS_PAGES=0 in the environment turns it off again.
//
// The heap warm-up (heap_warmup.h) hands mimalloc regions to serve its next segments from, as an
// arena it manages (mi_manage_os_memory), marked for 2 MiB pages as mimalloc's own are.
#include <cstdlib>

#include <mimalloc.h>
#include <sys/mman.h>

#include "heap_warmup.h"

namespace {

bool adopt(void* start, std::size_t bytes) {
  if (mi_option_is_enabled(mi_option_large_os_pages)) madvise(start, bytes, MADV_HUGEPAGE);
  return mi_manage_os_memory(start, bytes, /*is_committed=*/true, /*is_large=*/false,
                             /*is_zero=*/true, /*numa_node=*/-1);
}

const bool kOptionsSet = [] {
  if (std::getenv("MIMALLOC_LARGE_OS_PAGES") == nullptr) mi_option_enable(mi_option_large_os_pages);
  govcredit::set_heap_adopter(adopt);
  return true;
}();

}  // namespace
