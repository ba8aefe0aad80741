// mimalloc's options for the executables linked with it (CMake's govcredit_allocator()); set
// before main, so that every later segment mimalloc takes from the system follows them.
//
// large_os_pages: mimalloc asks for 2 MiB pages (transparent huge pages through madvise when no
// huge pages are reserved, as on a default Linux), so that the projections' hundreds of MB of
// small objects take one page fault and one TLB entry per 2 MiB instead of per 4 KiB. A rebuild
// of 1M entries applied its events ~15% faster, for 2% more peak memory in that rebuild and ~60
// MiB more in a small ingesting node; ingest itself ran no faster (docs/PERFORMANCE.md §5.12).
// MIMALLOC_LARGE_OS_PAGES=0 in the environment turns it off again.
#include <cstdlib>

#include <mimalloc.h>

namespace {

const bool kOptionsSet = [] {
  if (std::getenv("MIMALLOC_LARGE_OS_PAGES") == nullptr) mi_option_enable(mi_option_large_os_pages);
  return true;
}();

}  // namespace
