// Internal to the library: the batch verdicts' memory (src/registry/registry.cc), tested in
// tests/registry/generations_test.cc.
#pragma once

#include <absl/container/flat_hash_map.h>

#include <cstddef>
#include <utility>

namespace govcredit {

// A map bounded by keeping its entries in two generations: an entry goes into the newer one, and
// when that holds `generation` entries it becomes the older one and the older one is dropped. So
// the last `generation` keys inserted are always found, and at most 2 × generation are held.
template <class Key, class Value, class Hash>
class TwoGenerations {
 public:
  explicit TwoGenerations(std::size_t generation) : generation_(generation) {}

  // The value kept for `key`, the newer generation's when both hold one; nullptr if neither does.
  const Value* find(const Key& key) const {
    for (const Map* m : {&newer_, &older_})
      if (auto it = m->find(key); it != m->end()) return &it->second;
    return nullptr;
  }
  void insert_or_assign(const Key& key, Value value) {
    if (newer_.size() >= generation_ && !newer_.contains(key)) {
      older_ = std::move(newer_);
      newer_.clear();  // a moved-from map is valid but unspecified
    }
    newer_.insert_or_assign(key, std::move(value));
  }
  void clear() {
    newer_.clear();
    older_.clear();
  }
  std::size_t size() const { return newer_.size() + older_.size(); }

 private:
  using Map = absl::flat_hash_map<Key, Value, Hash>;
  std::size_t generation_;
  Map newer_, older_;
};

}  // namespace govcredit
