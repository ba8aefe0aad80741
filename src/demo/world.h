// Internal to src/demo: the event builder shared by the full generator and every_type().
#pragma once

#include <algorithm>
#include <functional>
#include <string>

#include "govcredit/codec.h"
#include "govcredit/demo.h"

namespace govcredit::demo {

// splitmix64: small, fast, and the same on every platform (std::mt19937 distributions are not).
class Rng {
 public:
  explicit Rng(std::uint64_t seed) : s_(seed) {}
  std::uint64_t next() {
    std::uint64_t z = (s_ += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
  }
  // Uniform in [lo, hi].
  std::int64_t between(std::int64_t lo, std::int64_t hi) {
    return lo + static_cast<std::int64_t>(next() % static_cast<std::uint64_t>(hi - lo + 1));
  }
  bool chance(int percent) { return between(1, 100) <= percent; }
  template <class C>
  const auto& pick(const C& c) {
    return c[static_cast<std::size_t>(between(0, static_cast<std::int64_t>(c.size()) - 1))];
  }

 private:
  std::uint64_t s_;
};

constexpr std::int64_t kDay = 86400000;

class Builder {
 public:
  explicit Builder(std::uint64_t seed) : seed_(seed) {}

  // A fresh deterministic event id.
  EventId next_id() {
    Digest d =
        sha256("govcredit demo event:" + std::to_string(seed_) + ":" + std::to_string(counter_++));
    EventId id;
    std::copy_n(d.bytes.begin(), 16, id.bytes.begin());
    return id;
  }
  // The key a principal signs with now (rotations change it).
  const PrivateKey& signing_key(const PrincipalId& p) {
    auto it = world.keys.find(p);
    if (it == world.keys.end()) it = world.keys.emplace(p, key_for(p)).first;
    return it->second;
  }
  void rotate(const PrincipalId& p, PrivateKey next) {
    world.keys.insert_or_assign(p, std::move(next));
  }

  Event make(const PrincipalId& issuer, AgencyId subject, Timestamp at, Payload payload,
             std::optional<EventId> id = std::nullopt) {
    Event e;
    e.id = id ? *id : next_id();
    e.subject = std::move(subject);
    e.issuer = issuer;
    e.issued_at = at;
    e.payload = std::move(payload);
    sign_event(e, signing_key(issuer));
    return e;
  }
  Event& emit(const PrincipalId& issuer, AgencyId subject, Timestamp at, Payload payload,
              std::optional<EventId> id = std::nullopt) {
    world.events.push_back(make(issuer, std::move(subject), at, std::move(payload), id));
    return world.events.back();
  }

  World world;

 private:
  std::uint64_t seed_;
  std::uint64_t counter_ = 0;
};

}  // namespace govcredit::demo
