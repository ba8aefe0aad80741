// Helpers shared by the tests.
#pragma once

#include <cstdlib>
#include <fstream>
#include <ostream>
#include <sstream>
#include <string>

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

// The step of an exhaustive loop that memcheck would take minutes over (so far one: every byte of
// an event flipped, Property.AnySingleByteChangeIsRejected): ops/valgrind.sh sets
// GOVCREDIT_TEST_STRIDE=4 and the loop then takes every 4th case, starting at a different one
// each round, so that the cases taken still cover every position. 1 (every case) otherwise.
inline std::size_t exhaustive_stride() {
  const char* s = std::getenv("GOVCREDIT_TEST_STRIDE");
  const long n = s ? std::strtol(s, nullptr, 10) : 1;
  return n >= 1 ? static_cast<std::size_t>(n) : 1;
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
