// Internal to src/projections: the Projector's in-memory state.
#pragma once

#include <cstring>
#include <optional>
#include <set>
#include <string>
#include <unordered_map>
#include <utility>
#include <vector>

#include <absl/container/node_hash_map.h>

#include "govcredit/projections.h"
#include "govcredit/seeded_hash.h"

namespace govcredit {
namespace projections_internal {

// A cached object: absent (value empty) or present, and whether it changed since the last flush.
template <class T>
struct Slot {
  using Value = T;
  std::optional<T> value;
  bool dirty = false;
};

// Event ids are the publishers' choice (events/FORMAT.md §1), so seeded (seeded_hash.h). The
// seed changes the tables' iteration order between processes; nothing written depends on it: the
// flush sorts every table it writes, and which states keep_states() leaves in the StateCache
// changes only which are loaded again, not their values
// (Projections.StateCacheKeepsWhatTheTablesWouldLoad).
struct IdHash {
  std::size_t operator()(const EventId& id) const { return seeded_hash16(id.bytes.data()); }
};
// Two 8-byte compares instead of a memcmp call (look-ups by id are the projector's hottest path).
struct IdEq {
  bool operator()(const EventId& a, const EventId& b) const {
    std::uint64_t a0, a1, b0, b1;
    std::memcpy(&a0, a.bytes.data(), 8);
    std::memcpy(&a1, a.bytes.data() + 8, 8);
    std::memcpy(&b0, b.bytes.data(), 8);
    std::memcpy(&b1, b.bytes.data() + 8, 8);
    return a0 == b0 && a1 == b1;
  }
};

// A name (an agency's or a principal's id) with its hash, computed once for the several tables
// an event's subject is looked up in (its state, its trail, its item blocks): string hashing
// was ~5% of applying an event.
struct Hashed {
  std::string_view name;
  std::size_t hash;
  explicit Hashed(std::string_view n) : name(n), hash(std::hash<std::string_view>{}(n)) {}
};
// std::hash<std::string> and std::hash<std::string_view> agree, so a table hashed with this finds
// a Hashed's name under its hash.
struct NameHash {
  using is_transparent = void;
  std::size_t operator()(std::string_view n) const noexcept {
    return std::hash<std::string_view>{}(n);
  }
  std::size_t operator()(const Hashed& h) const noexcept { return h.hash; }
};
struct NameEq {
  using is_transparent = void;
  bool operator()(std::string_view a, std::string_view b) const noexcept { return a == b; }
  bool operator()(const Hashed& a, std::string_view b) const noexcept { return a.name == b; }
  bool operator()(std::string_view a, const Hashed& b) const noexcept { return a == b.name; }
};

}  // namespace projections_internal

struct StateCache::Impl {
  // Abseil's node_hash_map, as the Projector's tables (below): a look-up probes control bytes
  // instead of a prime bucket's chain, and find_record() and the like hand out stable pointers.
  template <class T>
  using ById =
      absl::node_hash_map<EventId, T, projections_internal::IdHash, projections_internal::IdEq>;

  // Objects of one kind (records, complaints, recommendations): those kept go into `young`; when
  // it holds half the limit it becomes `old`, and the old `old` is dropped: those not used since.
  template <class T>
  struct Generations {
    ById<T> young, old;
    std::size_t size() const { return young.size() + old.size(); }
    void clear() {
      young.clear();
      old.clear();
    }
    // Moves the state out, if held.
    std::optional<T> take(const EventId& id) {
      for (auto* m : {&young, &old}) {
        auto it = m->find(id);
        if (it == m->end()) continue;
        std::optional<T> v(std::move(it->second));
        m->erase(it);
        return v;
      }
      return std::nullopt;
    }
    void keep(const EventId& id, T&& v, std::size_t max) {
      if (max < 2) return;
      if (young.size() >= max / 2) {
        old = std::move(young);
        young.clear();
      }
      old.erase(id);
      young.insert_or_assign(id, std::move(v));
    }
    const T* find(const EventId& id) const {
      for (const auto* m : {&young, &old})
        if (auto it = m->find(id); it != m->end()) return &it->second;
      return nullptr;
    }
  };

  std::unordered_map<std::string, AgencyState, projections_internal::NameHash,
                     projections_internal::NameEq>
      agencies;
  std::size_t max_items = 0;
  std::size_t items = 0;  // the agencies' record and recommendation items
  Generations<RecordState> records;
  Generations<ComplaintState> complaints;
  Generations<RecommendationState> recommendations;
  std::size_t max_objects = 0;  // of each kind
  std::uint64_t applied = 0;

  static std::size_t items_of(const AgencyState& a) {
    return a.items.size() + a.recommendations.size();
  }
  void clear();
  // Move a state out, if held.
  std::optional<AgencyState> take(const projections_internal::Hashed& agency);
  void keep(const std::string& agency, AgencyState&& a);
};

// The Projector's tables are Abseil's node_hash_map: the same interface and pointer stability as
// std::unordered_map (apply() holds pointers into one table while it inserts into others, and
// the flush sorts pointers to the rows), but a look-up probes a small array of control bytes
// instead of taking the hash modulo a prime and following a bucket's chain. The hash maps were
// over half of applying an event; a rebuild in memory ran 1.2-1.5 × as fast (PERFORMANCE.md §5.16).
struct Projector::Impl {
  template <class T>
  using Slot = projections_internal::Slot<T>;
  template <class T>
  using ById = absl::node_hash_map<EventId, Slot<T>, projections_internal::IdHash,
                                   projections_internal::IdEq>;

  const SideReader* backing = nullptr;
  DomainRules rules;
  StateCache* cache = nullptr;  // consulted before the backing for the states it keeps

  template <class T>
  using ByName = absl::node_hash_map<std::string, T, projections_internal::NameHash,
                                     projections_internal::NameEq>;
  using Hashed = projections_internal::Hashed;

  ByName<Slot<AgencyState>> agencies;
  ById<RecordState> records;
  ById<ObjectionState> objections;
  ById<ComplaintState> complaints;
  ById<RecommendationState> recommendations;
  ById<RectificationState> rectifications;
  absl::node_hash_map<std::string, Slot<EventId>> receipts;
  absl::node_hash_map<std::string, Slot<EventId>> references;
  std::vector<std::pair<Bytes, Bytes>> reports;  // new p.report entries
  // Per agency, the p.agency_item blocks changed since the last flush (LEDGER_FORMAT.md §10.2).
  struct ItemBlocks {
    std::set<std::uint32_t> records, recommendations;
  };
  ByName<ItemBlocks> item_blocks;

  // The open (last) block of one audit trail, and blocks filled since the last flush — encoded
  // as they fill (a line takes 6-8 bytes encoded against 24 in a Line: at 10M entries the trails
  // held ~480 MB of lines until the flush), the open block's vector then reused.
  struct Trail {
    TrailKind kind = TrailKind::kAgency;
    std::string id;
    Seq first;
    std::vector<Line> lines;
    std::vector<std::pair<Seq, Bytes>> full;  // (first seq, pack::encode_lines of the block)
    bool dirty = false;
  };
  ByName<Trail> agency_trails, principal_trails;  // key: the id

  // Look-ups that load on a miss; nullptr / nullopt when absent. With change = true a present
  // object is marked changed (to be written back by flush()).
  AgencyState* agency(const AgencyId& id, bool change = false);
  AgencyState* agency(const Hashed& id, bool change = false);
  RecordState* record(const EventId& id, bool change = false);
  ObjectionState* objection(const EventId& id, bool change = false);
  ComplaintState* complaint(const EventId& id, bool change = false);
  RecommendationState* recommendation(const EventId& id, bool change = false);
  RectificationState* rectification(const EventId& id);
  std::optional<EventId> receipt(const std::string& r);
  std::optional<EventId> reference(const std::string& r);
  // An object of a kind the StateCache keeps: from the cache when it holds it, else loaded.
  template <class T, class Decode>
  T* cached_object(ById<T>& m, StateCache::Impl::Generations<T> StateCache::Impl::*kept,
                   const EventId& id, Side t, Decode decode, bool change);

  // Creates or replaces an object.
  template <class Map, class K, class T>
  T& put(Map& m, const K& k, T v) {
    auto& slot = m[k];
    slot.value = std::move(v);
    slot.dirty = true;
    return *slot.value;
  }

  void add_line(TrailKind kind, const Hashed& id, const Line& line);

  void apply(const Event& e, Seq seq);
  Status check(const Event& e, Role issuer_role);
};

}  // namespace govcredit
