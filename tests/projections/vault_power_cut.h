// The script of vault_power_cut_writer.cc, shared with vault_power_cut_test.cc: which keys it puts
// and erases, in which order, and their bytes.
#pragma once

#include <cstring>
#include <string>
#include <vector>

#include "govcredit/crypto.h"
#include "govcredit/privacy.h"

namespace govcredit::testing {

struct VaultStep {
  enum Kind { kPut, kErase } kind;
  int key;
  // The writer's acknowledgement once the step has returned.
  std::string ack() const { return (kind == kPut ? "put " : "erase ") + std::to_string(key); }
};

// Puts keys 0..n-1; after every third put, erases the key put before it; at the end erases key 0.
inline std::vector<VaultStep> vault_script(int n) {
  std::vector<VaultStep> steps;
  for (int i = 0; i < n; ++i) {
    steps.push_back({VaultStep::kPut, i});
    if (i % 3 == 2) steps.push_back({VaultStep::kErase, i - 1});
  }
  steps.push_back({VaultStep::kErase, 0});
  return steps;
}

inline EventId vault_complaint(int i) {
  EventId id;
  const Digest d = sha256("vault power cut complaint " + std::to_string(i));
  std::memcpy(id.bytes.data(), d.bytes.data(), id.bytes.size());
  return id;
}

// 32 bytes no other file holds by chance.
inline DataKey vault_key(int i) {
  DataKey k;
  const Digest d = sha256("vault power cut key " + std::to_string(i));
  std::memcpy(k.bytes.data(), d.bytes.data(), k.bytes.size());
  return k;
}

}  // namespace govcredit::testing
