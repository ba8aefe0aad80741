// Helpers shared by the tests.
#pragma once

#include <algorithm>
#include <cstdint>
#include <cstdlib>
#include <fstream>
#include <initializer_list>
#include <ostream>
#include <sstream>
#include <string>
#include <vector>

#include "govcredit/codec.h"
#include "govcredit/demo.h"
#include "govcredit/ledger.h"

namespace govcredit {

// How gtest prints a Durability parameter (found by argument-dependent look-up).
inline void PrintTo(Durability d, std::ostream* os) {
  *os << (d == Durability::kOnReturn ? "kOnReturn" : "kByNextCommit");
}

}  // namespace govcredit

namespace govcredit::testing {

// Names a test instantiated for each Durability (INSTANTIATE_TEST_SUITE_P's last argument).
struct DurabilityName {
  template <class ParamInfo>
  std::string operator()(const ParamInfo& p) const {
    return p.param == Durability::kOnReturn ? "OnReturn" : "ByNextCommit";
  }
};

inline std::string source_dir() {
  return GOVCREDIT_SOURCE_DIR;
}

inline std::string slurp(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

inline std::string vector_file(const std::string& vector, const std::string& file) {
  return slurp(source_dir() + "/events/testvectors/" + vector + "/" + file);
}

// Re-signs e with the demo key of its issuer (generation g).
inline Event resigned(Event e, int generation = 0) {
  sign_event(e, demo::key_for(e.issuer, generation));
  return e;
}

// The step of an exhaustive loop that memcheck would take minutes over: ops/valgrind.sh sets
// GOVCREDIT_TEST_STRIDE=4; 1 (every case) otherwise. With it, the byte-flip property test
// (Property.AnySingleByteChangeIsRejected) takes every 4th byte, starting at a different one each
// round, so that the bytes taken still cover every position; the damaged-index cases
// (EventIndex.VerifyNamesTheEntryOfADamagedRun) take one chunk size each, in turn; and
// chunk_levels() below leaves out the smallest chunks.
inline std::size_t exhaustive_stride() {
  const char* s = std::getenv("GOVCREDIT_TEST_STRIDE");
  const long n = s ? std::strtol(s, nullptr, 10) : 1;
  return n >= 1 ? static_cast<std::size_t>(n) : 1;
}

// The chunk sizes (chunks of 2^level entries) a verify test runs at: `levels`, in order. A chunk
// smaller than 2^10 entries hashes the chain on from the last entry that stores one, up to 1023
// entries back (LEDGER_FORMAT.md §2), so that at levels 0-2 an entry is hashed up to hundreds of
// times: under memcheck (GOVCREDIT_TEST_STRIDE > 1, ops/valgrind.sh) the five tests verifying so
// took 121 s of ledger_test's 293. There, a level below 3 is raised to 3 (chunks of 8 entries:
// still many in the tests' logs, at an eighth of level 0's hashing), and each level is taken once.
inline std::vector<std::uint32_t> chunk_levels(std::initializer_list<std::uint32_t> levels) {
  std::vector<std::uint32_t> out;
  for (std::uint32_t level : levels) {
    if (exhaustive_stride() > 1) level = std::max(level, 3u);
    if (std::find(out.begin(), out.end(), level) == out.end()) out.push_back(level);
  }
  return out;
}

// A fresh temporary directory, removed at the end of the scope.
class TempDir {
 public:
  TempDir();
  ~TempDir();
  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

}  // namespace govcredit::testing
