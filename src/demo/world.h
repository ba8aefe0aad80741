// Internal to src/demo: the event builder shared by the full generator and every_type().
#pragma once

#include <algorithm>
#include <atomic>
#include <functional>
#include <map>
#include <string>
#include <thread>
#include <utility>
#include <vector>

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
    deferred_slot_.erase(p);
  }

  Event make(const PrincipalId& issuer, AgencyId subject, Timestamp at, Payload payload,
             std::optional<EventId> id = std::nullopt) {
    Event e =
        unsigned_event(issuer, std::move(subject), at, std::move(payload), id ? *id : next_id());
    sign_event(e, signing_key(issuer));
    return e;
  }
  Event& emit(const PrincipalId& issuer, AgencyId subject, Timestamp at, Payload payload,
              std::optional<EventId> id = std::nullopt) {
    world.events.push_back(make(issuer, std::move(subject), at, std::move(payload), id));
    return world.events.back();
  }

  // Like emit(), the signature made by sign_deferred() with the key the issuer signs with now.
  void emit_deferred(const PrincipalId& issuer, AgencyId subject, Timestamp at, Payload payload,
                     const EventId& id) {
    world.events.push_back(unsigned_event(issuer, std::move(subject), at, std::move(payload), id));
    auto [slot, added] = deferred_slot_.try_emplace(issuer, deferred_keys_.size());
    if (added) deferred_keys_.push_back(signing_key(issuer));
    deferred_.emplace_back(world.events.size() - 1, slot->second);
  }
  // Signs the events emit_deferred() left, on every core. Ed25519's signatures are deterministic
  // (RFC 8032), so the world is byte for byte the one emit() would have built.
  void sign_deferred() {
    const std::size_t n = deferred_.size(), kChunk = 1024;
    std::atomic<std::size_t> next{0};
    auto work = [&] {
      for (std::size_t from; (from = next.fetch_add(kChunk)) < n;)
        for (std::size_t i = from; i < std::min(n, from + kChunk); ++i)
          sign_event(world.events[deferred_[i].first], deferred_keys_[deferred_[i].second]);
    };
    std::vector<std::thread> helpers(
        std::min<std::size_t>(std::max(1u, std::thread::hardware_concurrency()) - 1, n / kChunk));
    for (auto& t : helpers) t = std::thread(work);
    work();
    for (auto& t : helpers) t.join();
    deferred_.clear();
    deferred_keys_.clear();
    deferred_slot_.clear();
  }

  World world;

 private:
  static Event unsigned_event(const PrincipalId& issuer, AgencyId subject, Timestamp at,
                              Payload payload, const EventId& id) {
    Event e;
    e.id = id;
    e.subject = std::move(subject);
    e.issuer = issuer;
    e.issued_at = at;
    e.payload = std::move(payload);
    return e;
  }

  std::uint64_t seed_;
  std::uint64_t counter_ = 0;
  // emit_deferred()'s events (their index in world.events) and the keys they are to be signed
  // with; an issuer's slot is its current key's.
  std::vector<std::pair<std::size_t, std::size_t>> deferred_;
  std::vector<PrivateKey> deferred_keys_;
  std::map<PrincipalId, std::size_t> deferred_slot_;
};

}  // namespace govcredit::demo
