// The Projector: an in-memory, write-back view of the projection tables (LEDGER_FORMAT.md §10),
// the domain rules (rules.cc) and apply() (apply.cc) work on it.
#include <algorithm>
#include <stdexcept>

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

// Finds key in the cache, loading it from the backing on a miss (absence is cached too).
template <class Map, class Key, class Decode>
auto* lookup(Map& m, const Key& key, ByteView raw_key, const SideReader* backing, Side t,
             Decode decode, bool change = false) {
  auto it = m.find(key);
  if (it == m.end()) {
    using T = typename Map::mapped_type::Value;
    it = m.emplace(key, typename Map::mapped_type{load<T>(backing, t, raw_key, decode)}).first;
  }
  if (!it->second.value) return static_cast<decltype(&*it->second.value)>(nullptr);
  if (change) it->second.dirty = true;
  return &*it->second.value;
}

}  // namespace

AgencyState* Projector::Impl::agency(const AgencyId& id, bool change) {
  return lookup(agencies, id.value, as_bytes(id.value), backing, Side::kAgency,
                pack::decode_agency, change);
}
RecordState* Projector::Impl::record(const EventId& id, bool change) {
  return lookup(records, id, id.view(), backing, Side::kRecord, pack::decode_record, change);
}
ObjectionState* Projector::Impl::objection(const EventId& id, bool change) {
  return lookup(objections, id, id.view(), backing, Side::kObjection, pack::decode_objection,
                change);
}
ComplaintState* Projector::Impl::complaint(const EventId& id, bool change) {
  return lookup(complaints, id, id.view(), backing, Side::kComplaint, pack::decode_complaint,
                change);
}
RecommendationState* Projector::Impl::recommendation(const EventId& id, bool change) {
  return lookup(recommendations, id, id.view(), backing, Side::kRecommendation,
                pack::decode_recommendation, change);
}
RectificationState* Projector::Impl::rectification(const EventId& id) {
  return lookup(rectifications, id, id.view(), backing, Side::kRectification,
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

void Projector::Impl::add_line(TrailKind kind, const std::string& id, const Line& line) {
  std::string k;
  k.reserve(id.size() + 1);
  k.push_back(static_cast<char>(kind));
  k += id;
  auto it = trails.find(k);
  if (it == trails.end()) {
    Trail t;
    t.kind = kind;
    t.id = id;
    if (backing) {
      if (auto last = backing->last_with_prefix(Side::kTrail, pack::trail_prefix(kind, id))) {
        auto lines = pack::decode_lines(last->second);
        if (!lines || lines->empty() || last->first.size() < 8) corrupt(Side::kTrail, last->first);
        t.first = (*lines)[0].seq;
        t.lines = std::move(*lines);
      }
    }
    it = trails.emplace(std::move(k), std::move(t)).first;
  }
  Trail& t = it->second;
  if (t.lines.size() >= pack::kTrailBlockLines) {
    t.full.emplace_back(t.first, std::move(t.lines));
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

namespace {

ByteView id_key(const EventId& id) {
  return id.view();
}
ByteView str_key(const std::string& s) {
  return as_bytes(s);
}

struct ByteLess {
  bool operator()(ByteView a, ByteView b) const {
    return std::lexicographical_compare(a.begin(), a.end(), b.begin(), b.end());
  }
};

template <class Map, class KeyFn>
void flush_sorted(Map& m, Side t, SideWriter& w, KeyFn key_of) {
  std::vector<typename Map::value_type*> dirty;
  for (auto& kv : m)
    if (kv.second.dirty && kv.second.value) dirty.push_back(&kv);
  ByteLess less;
  std::sort(dirty.begin(), dirty.end(),
            [&](auto* a, auto* b) { return less(key_of(a->first), key_of(b->first)); });
  for (auto* kv : dirty) {
    Bytes v;
    if constexpr (std::is_same_v<std::decay_t<decltype(*kv->second.value)>, EventId>)
      v.assign(kv->second.value->bytes.begin(), kv->second.value->bytes.end());
    else
      v = pack::encode(*kv->second.value);
    w.put(t, key_of(kv->first), v);
  }
}

template <class Map>
void mark_clean(Map& m) {
  for (auto& kv : m) kv.second.dirty = false;
}

}  // namespace

void Projector::flush(SideWriter& w, std::uint64_t applied) {
  Impl& m = *impl_;
  flush_sorted(m.agencies, Side::kAgency, w, str_key);
  flush_sorted(m.records, Side::kRecord, w, id_key);
  flush_sorted(m.objections, Side::kObjection, w, id_key);
  flush_sorted(m.complaints, Side::kComplaint, w, id_key);
  flush_sorted(m.receipts, Side::kReceipt, w, str_key);
  flush_sorted(m.recommendations, Side::kRecommendation, w, id_key);
  flush_sorted(m.references, Side::kReference, w, str_key);
  flush_sorted(m.rectifications, Side::kRectification, w, id_key);
  std::sort(m.reports.begin(), m.reports.end());
  for (const auto& [k, v] : m.reports) w.put(Side::kReport, k, v);
  std::vector<Impl::Trail*> trails;
  for (auto& kv : m.trails)
    if (kv.second.dirty) trails.push_back(&kv.second);
  std::sort(trails.begin(), trails.end(), [](const Impl::Trail* a, const Impl::Trail* b) {
    return std::tie(a->kind, a->id) < std::tie(b->kind, b->id);
  });
  for (Impl::Trail* t : trails) {
    for (const auto& [first, lines] : t->full)
      w.put(Side::kTrail, pack::trail_key(t->kind, t->id, first), pack::encode_lines(lines));
    if (!t->lines.empty())
      w.put(Side::kTrail, pack::trail_key(t->kind, t->id, t->first), pack::encode_lines(t->lines));
  }
  std::uint8_t a[8], v[4];
  for (int i = 0; i < 8; ++i) a[i] = static_cast<std::uint8_t>(applied >> (8 * i));
  for (int i = 0; i < 4; ++i) v[i] = static_cast<std::uint8_t>(kProjectionVersion >> (8 * i));
  w.put(Side::kMeta, as_bytes("applied"), ByteView(a, 8));
  w.put(Side::kMeta, as_bytes("version"), ByteView(v, 4));
}

void Projector::flushed() {
  Impl& m = *impl_;
  mark_clean(m.agencies);
  mark_clean(m.records);
  mark_clean(m.objections);
  mark_clean(m.complaints);
  mark_clean(m.receipts);
  mark_clean(m.recommendations);
  mark_clean(m.references);
  mark_clean(m.rectifications);
  m.reports.clear();
  for (auto& kv : m.trails) {
    kv.second.full.clear();
    kv.second.dirty = false;
  }
}

void Projector::forget() {
  const SideReader* backing = impl_->backing;
  DomainRules rules = impl_->rules;
  impl_ = std::make_unique<Impl>();
  impl_->backing = backing;
  impl_->rules = rules;
}

}  // namespace govcredit
