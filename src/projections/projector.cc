// The Projector: an in-memory, write-back view of the projection tables (LEDGER_FORMAT.md §10),
// the domain rules (rules.cc) and apply() (apply.cc) work on it.
#include <algorithm>
#include <cstring>
#include <exception>
#include <future>
#include <stdexcept>
#include <thread>
#include <tuple>

#include "encoded.h"
#include "pack.h"
#include "projector_impl.h"

namespace govcredit {

std::uint8_t event_type_code(const Event& e) {
  return static_cast<std::uint8_t>(e.payload.index());
}

std::string_view event_type_from_code(std::uint8_t code) {
  return code < kEventTypeCount ? event_type_name(EventType{code}) : std::string_view("unknown");
}

std::uint32_t AgencyState::records_in(RecordPhase p) const {
  std::uint32_t n = 0;
  for (const auto& row : records) n += row[static_cast<std::size_t>(p)];
  return n;
}

namespace {

[[noreturn]] void corrupt(Side t, ByteView key) {
  throw std::runtime_error("projection table " + std::string(side_name(t)) +
                           " holds a corrupt value (key of " + std::to_string(key.size()) +
                           " bytes); run `govcredit rebuild`");
}

template <class T, class Decode>
std::optional<T> load(const SideReader* backing, Side t, ByteView key, Decode decode) {
  if (backing == nullptr) return std::nullopt;
  auto v = backing->get(t, key);
  if (!v) return std::nullopt;
  auto d = decode(*v);
  if (!d) corrupt(t, key);
  return d;
}

std::optional<EventId> decode_id(ByteView b) {
  if (b.size() != 16) return std::nullopt;
  EventId id;
  std::copy(b.begin(), b.end(), id.bytes.begin());
  return id;
}

// The key a table stores for a look-up key.
const EventId& stored_key(const EventId& id) {
  return id;
}
const std::string& stored_key(const std::string& name) {
  return name;
}
std::string stored_key(const projections_internal::Hashed& h) {
  return std::string(h.name);
}

// Finds key in the cache, calling load() on a miss (absence is cached too).
template <class Map, class Key, class Load>
auto* lookup_with(Map& m, const Key& key, Load load, bool change) {
  auto it = m.find(key);
  if (it == m.end()) it = m.emplace(stored_key(key), typename Map::mapped_type{load()}).first;
  if (!it->second.value) return static_cast<decltype(&*it->second.value)>(nullptr);
  if (change) it->second.dirty = true;
  return &*it->second.value;
}

// The same for a table whose rows are one value each.
template <class Map, class Key, class Decode>
auto* lookup(Map& m, const Key& key, ByteView raw_key, const SideReader* backing, Side t,
             Decode decode, bool change = false) {
  using T = typename Map::mapped_type::Value;
  return lookup_with(
      m, key, [&] { return load<T>(backing, t, raw_key, decode); }, change);
}

// Loads an object (a table keyed by seq and id, found through the id's seq).
template <class Decode>
auto load_object(const SideReader* backing, Side t, const EventId& id, Decode decode)
    -> decltype(decode(ByteView{})) {
  if (backing == nullptr) return std::nullopt;
  auto v = backing->get_object(t, id);
  if (!v) return std::nullopt;
  auto d = decode(*v);
  if (!d) corrupt(t, id.view());
  return d;
}

// The same as lookup() for an object table.
template <class Map, class Decode>
auto* lookup_object(Map& m, const EventId& id, const SideReader* backing, Side t, Decode decode,
                    bool change = false) {
  return lookup_with(
      m, id, [&] { return load_object(backing, t, id, decode); }, change);
}

}  // namespace

template <class T, class Decode>
T* Projector::Impl::cached_object(ById<T>& m,
                                  StateCache::Impl::Generations<T> StateCache::Impl::*kept,
                                  const EventId& id, Side t, Decode decode, bool change) {
  auto load = [&] {
    std::optional<T> v;
    if (cache != nullptr && (v = (cache->impl_.get()->*kept).take(id))) return v;
    return load_object(backing, t, id, decode);
  };
  return lookup_with(m, id, load, change);
}

AgencyState* Projector::Impl::agency(const AgencyId& id, bool change) {
  return agency(Hashed(id.value), change);
}
AgencyState* Projector::Impl::agency(const Hashed& id, bool change) {
  auto load = [&] {  // the state and its item blocks
    std::optional<AgencyState> a;
    if (cache != nullptr && (a = cache->impl_->take(id))) return a;
    if (backing != nullptr && !pack::load_agency(*backing, id.name, a))
      corrupt(Side::kAgency, as_bytes(id.name));
    return a;
  };
  return lookup_with(agencies, id, load, change);
}
RecordState* Projector::Impl::record(const EventId& id, bool change) {
  return cached_object(records, &StateCache::Impl::records, id, Side::kRecord, pack::decode_record,
                       change);
}
ObjectionState* Projector::Impl::objection(const EventId& id, bool change) {
  return lookup_object(objections, id, backing, Side::kObjection, pack::decode_objection, change);
}
ComplaintState* Projector::Impl::complaint(const EventId& id, bool change) {
  return cached_object(complaints, &StateCache::Impl::complaints, id, Side::kComplaint,
                       pack::decode_complaint, change);
}
RecommendationState* Projector::Impl::recommendation(const EventId& id, bool change) {
  return cached_object(recommendations, &StateCache::Impl::recommendations, id,
                       Side::kRecommendation, pack::decode_recommendation, change);
}
RectificationState* Projector::Impl::rectification(const EventId& id) {
  return lookup_object(rectifications, id, backing, Side::kRectification,
                       pack::decode_rectification);
}
std::optional<EventId> Projector::Impl::receipt(const std::string& r) {
  auto* id = lookup(receipts, r, as_bytes(r), backing, Side::kReceipt, decode_id);
  return id ? std::optional<EventId>(*id) : std::nullopt;
}
std::optional<EventId> Projector::Impl::reference(const std::string& r) {
  auto* id = lookup(references, r, as_bytes(r), backing, Side::kReference, decode_id);
  return id ? std::optional<EventId>(*id) : std::nullopt;
}

void Projector::Impl::add_line(TrailKind kind, const Hashed& id, const Line& line) {
  auto& trails = kind == TrailKind::kAgency ? agency_trails : principal_trails;
  auto it = trails.find(id);
  if (it == trails.end()) {
    Trail t;
    t.kind = kind;
    t.id = std::string(id.name);
    if (backing) {
      if (auto last = backing->last_with_prefix(Side::kTrail, pack::trail_prefix(kind, t.id))) {
        auto lines = pack::decode_lines(last->second);
        if (!lines || lines->empty() || last->first.size() < 8) corrupt(Side::kTrail, last->first);
        t.first = (*lines)[0].seq;
        t.lines = std::move(*lines);
      }
    }
    std::string key = t.id;
    it = trails.emplace(std::move(key), std::move(t)).first;
  }
  Trail& t = it->second;
  if (t.lines.size() >= pack::kTrailBlockLines) {
    t.full.emplace_back(t.first, pack::encode_lines(t.lines));
    t.lines.clear();
  }
  if (t.lines.empty()) t.first = line.seq;
  t.lines.push_back(line);
  t.dirty = true;
}

Projector::Projector(const SideReader* backing, DomainRules rules)
    : impl_(std::make_unique<Impl>()) {
  impl_->backing = backing;
  impl_->rules = rules;
}
Projector::~Projector() = default;
Projector::Projector(Projector&&) noexcept = default;
Projector& Projector::operator=(Projector&&) noexcept = default;

const AgencyState* Projector::agency(const AgencyId& id) {
  return impl_->agency(id);
}
const RecordState* Projector::record(const EventId& id) {
  return impl_->record(id);
}
const ComplaintState* Projector::complaint(const EventId& id) {
  return impl_->complaint(id);
}
const RecommendationState* Projector::recommendation(const EventId& id) {
  return impl_->recommendation(id);
}

void StateCache::Impl::clear() {
  agencies.clear();
  items = 0;
  records.clear();
  complaints.clear();
  recommendations.clear();
}

std::optional<AgencyState> StateCache::Impl::take(const projections_internal::Hashed& agency) {
  auto it = agencies.find(agency);
  if (it == agencies.end()) return std::nullopt;
  std::optional<AgencyState> a(std::move(it->second));
  agencies.erase(it);
  items -= items_of(*a);
  return a;
}

void StateCache::Impl::keep(const std::string& agency, AgencyState&& a) {
  const std::size_t n = items_of(a);
  if (items + n > max_items) return;
  if (agencies.try_emplace(agency, std::move(a)).second) items += n;
}

StateCache::StateCache(std::size_t max_items, std::size_t max_objects)
    : impl_(std::make_unique<Impl>()) {
  impl_->max_items = max_items;
  impl_->max_objects = max_objects;
}
StateCache::~StateCache() = default;
StateCache::StateCache(StateCache&&) noexcept = default;
StateCache& StateCache::operator=(StateCache&&) noexcept = default;

void StateCache::expect_applied(std::uint64_t applied) {
  if (applied == impl_->applied) return;
  impl_->clear();
  impl_->applied = applied;
}
std::size_t StateCache::agencies() const {
  return impl_->agencies.size();
}
std::size_t StateCache::items() const {
  return impl_->items;
}
std::size_t StateCache::records() const {
  return impl_->records.size();
}
std::size_t StateCache::complaints() const {
  return impl_->complaints.size();
}
std::size_t StateCache::recommendations() const {
  return impl_->recommendations.size();
}
const AgencyState* StateCache::find(std::string_view agency) const {
  auto it = impl_->agencies.find(agency);
  return it == impl_->agencies.end() ? nullptr : &it->second;
}
const RecordState* StateCache::find_record(const EventId& id) const {
  return impl_->records.find(id);
}
const ComplaintState* StateCache::find_complaint(const EventId& id) const {
  return impl_->complaints.find(id);
}
const RecommendationState* StateCache::find_recommendation(const EventId& id) const {
  return impl_->recommendations.find(id);
}

void Projector::use_cache(StateCache& cache, std::uint64_t applied) {
  cache.expect_applied(applied);
  impl_->cache = &cache;
}

void Projector::keep_states(StateCache& cache, std::uint64_t applied) {
  impl_->cache = nullptr;
  // The states left in the cache are those this transaction did not touch: still current.
  StateCache::Impl& c = *cache.impl_;
  c.applied = applied;
  for (auto& [id, slot] : impl_->agencies)
    if (slot.value) c.keep(id, std::move(*slot.value));
  impl_->agencies.clear();
  auto keep = [&](auto& slots, auto& kept) {
    for (auto& [id, slot] : slots)
      if (slot.value) kept.keep(id, std::move(*slot.value), c.max_objects);
    slots.clear();
  };
  keep(impl_->records, c.records);
  keep(impl_->complaints, c.complaints);
  keep(impl_->recommendations, c.recommendations);
}

namespace {

ByteView str_key(const std::string& s) {
  return as_bytes(s);
}

std::uint64_t load_be(const std::uint8_t* p) {
  std::uint64_t v = 0;
  for (int i = 0; i < 8; ++i) v = v << 8 | p[i];
  return v;
}

// Bytewise order (LMDB's), with a fast path for event ids.
struct ByteLess {
  bool operator()(ByteView a, ByteView b) const {
    if (a.size() == 16 && b.size() == 16) {
      std::uint64_t a0 = load_be(a.data()), b0 = load_be(b.data());
      if (a0 != b0) return a0 < b0;
      return load_be(a.data() + 8) < load_be(b.data() + 8);
    }
    return std::lexicographical_compare(a.begin(), a.end(), b.begin(), b.end());
  }
};

using projections_internal::Encoded;

// The same interface as Encoded, for the tables flush()'s own thread writes: each row is written
// as soon as it is encoded, through one buffer, instead of the whole table being encoded into
// memory first.
template <class Write>
struct Streamed {
  Write write;
  Encoded one;

  template <class Value>
  void add(ByteView key, const Value& value) {
    one.clear();
    one.add(key, value);
    one.for_each(write);
  }
};

// A row to sort: its key's first 16 bytes (zero-padded, as two big-endian words) next to the
// pointer, so that the sort compares in its own array and follows a pointer into the hash map's
// nodes only when two keys share those 16 bytes (ids never do). Sorting the bare pointers, which
// did that for every comparison, was the largest single item of a large flush.
template <class Row>
struct SortItem {
  std::uint64_t hi, lo;
  ByteView key;
  Row* row;
};

template <class Row>
SortItem<Row> sort_item(ByteView key, Row* row) {
  std::uint8_t head[16] = {};
  std::memcpy(head, key.data(), std::min<std::size_t>(16, key.size()));
  return {load_be(head), load_be(head + 8), key, row};
}

template <class Map, class KeyFn, class Out>
void encode_sorted(Map& m, KeyFn key_of, Out& out) {
  using Item = SortItem<typename Map::value_type>;
  std::vector<Item> items;
  items.reserve(m.size());
  for (auto& kv : m)
    if (kv.second.dirty && kv.second.value) items.push_back(sort_item(key_of(kv.first), &kv));
  ByteLess less;
  std::sort(items.begin(), items.end(), [&](const Item& a, const Item& b) {
    if (a.hi != b.hi) return a.hi < b.hi;
    if (a.lo != b.lo) return a.lo < b.lo;
    return less(a.key, b.key);
  });
  for (const Item& item : items) out.add(item.key, *item.row->second.value);
}

// The seq of the log entry that created an object: the first part of its key.
Seq created(const RecordState& s) {
  return s.submitted;
}
Seq created(const ObjectionState& s) {
  return s.raised;
}
Seq created(const ComplaintState& s) {
  return s.filed;
}
Seq created(const RecommendationState& s) {
  return s.issued;
}
Seq created(const RectificationState& s) {
  return s.seq;
}

// encode_sorted for an object table: the changed objects in the order of their keys, `seq ‖ id`.
template <class Map, class Out>
void encode_objects(Map& m, Out& out) {
  struct Item {
    std::uint64_t seq;
    const typename Map::value_type* row;
  };
  std::vector<Item> items;
  items.reserve(m.size());
  for (auto& kv : m)
    if (kv.second.dirty && kv.second.value) items.push_back({created(*kv.second.value).value, &kv});
  // (One entry creates one object of a table, so seqs differ; the ids only make the order total.)
  std::sort(items.begin(), items.end(), [](const Item& a, const Item& b) {
    if (a.seq != b.seq) return a.seq < b.seq;
    return a.row->first.bytes < b.row->first.bytes;
  });
  for (const Item& item : items) {
    const ObjectKey key = object_key(Seq{item.seq}, item.row->first);
    out.add(ByteView(key.data(), key.size()), *item.row->second.value);
  }
}

// The changed item blocks of every agency, in key order.
void encode_item_blocks(const Projector::Impl& m, Encoded& out) {
  std::vector<std::pair<Bytes, Bytes>> blocks;
  for (const auto& [id, changed] : m.item_blocks) {
    auto it = m.agencies.find(id);
    if (it == m.agencies.end() || !it->second.value) continue;
    for (auto [kind, numbers] : {std::pair{pack::AgencyItemKind::kRecord, &changed.records},
                                 {pack::AgencyItemKind::kRecommendation, &changed.recommendations}})
      for (std::uint32_t b : *numbers)
        blocks.emplace_back(pack::agency_item_key(id, kind, b),
                            pack::encode_agency_block(*it->second.value, kind, b));
  }
  std::sort(blocks.begin(), blocks.end());
  for (const auto& [k, v] : blocks) out.add_encoded(k, v);
}

// The changed trails' filled blocks and open block, in key order.
void encode_trails(const Projector::Impl& m, Encoded& out) {
  std::vector<const Projector::Impl::Trail*> trails;
  for (const auto* kind : {&m.agency_trails, &m.principal_trails})
    for (const auto& kv : *kind)
      if (kv.second.dirty) trails.push_back(&kv.second);
  std::sort(trails.begin(), trails.end(), [](const auto* a, const auto* b) {
    return std::tie(a->kind, a->id) < std::tie(b->kind, b->id);
  });
  for (const auto* t : trails) {
    for (const auto& [first, block] : t->full)
      out.add_encoded(pack::trail_key(t->kind, t->id, first), block);
    if (!t->lines.empty())
      out.add_encoded(pack::trail_key(t->kind, t->id, t->first), pack::encode_lines(t->lines));
  }
}

}  // namespace

void Projector::reserve(std::uint64_t events) {
  Impl& m = *impl_;
  m.records.reserve(events / 3);
  m.complaints.reserve(events / 8);
  m.receipts.reserve(events / 8);
  m.recommendations.reserve(events / 16);
  m.references.reserve(events / 16);
  m.rectifications.reserve(events / 16);
}

void Projector::flush(SideWriter& w, std::uint64_t applied, bool empty_tables) {
  Impl& m = *impl_;
  auto write = [&w, empty_tables](Side t, ByteView k, ByteView v) {
    if (empty_tables)
      w.append(t, k, v);
    else
      w.put(t, k, v);
  };
  // Sorting and encoding is most of a large flush. A second thread encodes the records (the
  // biggest table), then the agencies' item blocks and the trails, while this one encodes and
  // writes the other tables a row at a time, then writes what the second thread encoded (rows
  // of different tables can go into the transaction in any order; each table's in key order).
  // At 10M entries this thread used to encode the item blocks and the trails after the records,
  // with the other thread idle: 1.7 of the flush's 3.6 s (2.8 s now).
  Encoded records, blocks, trails;
  std::promise<void> records_done, blocks_done, trails_done;
  auto records_ready = records_done.get_future(), blocks_ready = blocks_done.get_future(),
       trails_ready = trails_done.get_future();
  auto encode_in_order = [&] {
    std::promise<void>* pending[] = {&records_done, &blocks_done, &trails_done};
    std::size_t done = 0;
    try {
      encode_objects(m.records, records);
      records_done.set_value();
      ++done;
      encode_item_blocks(m, blocks);
      blocks_done.set_value();
      ++done;
      encode_trails(m, trails);
      trails_done.set_value();
      ++done;
    } catch (...) {
      for (; done < 3; ++done) pending[done]->set_exception(std::current_exception());
    }
  };
  std::thread helper;
  struct JoinOnExit {
    std::thread& t;
    ~JoinOnExit() {
      if (t.joinable()) t.join();  // on every path: it reads the state
    }
  } join_on_exit{helper};
  if (m.records.size() > 20000)
    helper = std::thread(encode_in_order);
  else
    encode_in_order();
  auto streamed = [&](Side t) {
    auto to_table = [&write, t](ByteView k, ByteView v) { write(t, k, v); };
    return Streamed<decltype(to_table)>{to_table, Encoded(4096)};
  };
  auto agencies = streamed(Side::kAgency);
  encode_sorted(m.agencies, str_key, agencies);
  auto objections = streamed(Side::kObjection);
  encode_objects(m.objections, objections);
  auto complaints = streamed(Side::kComplaint);
  encode_objects(m.complaints, complaints);
  auto receipts = streamed(Side::kReceipt);
  encode_sorted(m.receipts, str_key, receipts);
  auto recommendations = streamed(Side::kRecommendation);
  encode_objects(m.recommendations, recommendations);
  auto references = streamed(Side::kReference);
  encode_sorted(m.references, str_key, references);
  auto rectifications = streamed(Side::kRectification);
  encode_objects(m.rectifications, rectifications);
  std::sort(m.reports.begin(), m.reports.end());
  for (const auto& [k, v] : m.reports) write(Side::kReport, k, v);
  // Each of the second thread's tables is written as soon as it is encoded (get() rethrows
  // what encoding it threw).
  records_ready.get();
  records.drain([&](ByteView k, ByteView v) { write(Side::kRecord, k, v); });
  blocks_ready.get();
  blocks.drain([&](ByteView k, ByteView v) { write(Side::kAgencyItem, k, v); });
  trails_ready.get();
  trails.drain([&](ByteView k, ByteView v) { write(Side::kTrail, k, v); });
  std::uint8_t ap[8], v[4];
  for (int i = 0; i < 8; ++i) ap[i] = static_cast<std::uint8_t>(applied >> (8 * i));
  for (int i = 0; i < 4; ++i) v[i] = static_cast<std::uint8_t>(kProjectionVersion >> (8 * i));
  write(Side::kMeta, as_bytes("applied"), ByteView(ap, 8));
  write(Side::kMeta, as_bytes("version"), ByteView(v, 4));
}

}  // namespace govcredit
