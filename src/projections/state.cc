// The stored forms of the projection states (docs/LEDGER_FORMAT.md §10.2).
#include "pack.h"

namespace govcredit::pack {
namespace {

template <class E>
E enum_at(Unpack& u) {
  std::uint8_t v = u.u8();
  if (v >= EnumNames<E>::names.size()) u.fail();
  return static_cast<E>(v < EnumNames<E>::names.size() ? v : 0);
}
template <class E>
void put_enum(Pack& p, E e) {
  p.u8(static_cast<std::uint8_t>(e));
}

void put_id(Pack& p, const EventId& id) {
  p.raw(id.view());
}
EventId get_id(Unpack& u) {
  return u.fixed<16, EventIdTag>();
}

// list<line> (LEDGER_FORMAT.md §10.1): each line's seq and at as the zigzag-encoded difference
// from the line before (the first from 0), in wrapping 64-bit arithmetic, so any list round-trips.
std::uint64_t zigzag(std::uint64_t delta) {
  return (delta << 1) ^ (0 - (delta >> 63));
}
std::uint64_t unzigzag(std::uint64_t z) {
  return (z >> 1) ^ (0 - (z & 1));
}
// A rebuild encodes millions of lines (every event adds one to two trails and most to a history),
// so they are written through a pointer into room made once — at most two varints and the type
// a line — and the buffer is then cut to what was written. (resize grows the buffer
// geometrically, so a table-wide buffer is not copied again for every value.)
void put_lines(Pack& p, const std::vector<Line>& lines) {
  constexpr std::size_t kMaxLine = 2 * kMaxVarint + 1;
  p.u32(static_cast<std::uint32_t>(lines.size()));
  Bytes& out = p.out;
  const std::size_t start = out.size();
  out.resize(start + kMaxLine * lines.size());
  std::uint8_t* const begin = out.data() + start;
  std::uint8_t* w = begin;
  std::uint64_t seq = 0, at = 0;
  for (const Line& l : lines) {
    const auto line_at = static_cast<std::uint64_t>(l.at.ms);
    w = put_varint(w, zigzag(l.seq.value - seq));
    w = put_varint(w, zigzag(line_at - at));
    *w++ = l.type;
    seq = l.seq.value;
    at = line_at;
  }
  out.resize(start + static_cast<std::size_t>(w - begin));
}
std::vector<Line> get_lines(Unpack& u) {
  std::vector<Line> out(u.count(3));
  std::uint64_t seq = 0, at = 0;
  for (Line& l : out) {
    seq += unzigzag(u.varint());
    at += unzigzag(u.varint());
    l.seq.value = seq;
    l.at.ms = static_cast<std::int64_t>(at);
    l.type = u.u8();
    if (l.type > 18) u.fail();
  }
  return out;
}

bool version_ok(Unpack& u) {
  return u.u8() == kValueVersion;
}

template <class T>
std::optional<T> finish(Unpack& u, T&& v) {
  if (!u.done()) return std::nullopt;
  return std::move(v);
}

}  // namespace

namespace {

void put_item(Pack& p, const RecordItem& i) {
  put_id(p, i.record);
  p.u64(i.confirmed_seq.value).i64(i.confirmed_at.ms);
  put_enum(p, i.category);
  put_enum(p, i.severity);
  p.u8(i.amended ? 1 : 0);
  if (i.amended) p.u64(i.amended->value);
  put_enum(p, i.end);
  p.i64(i.ended_at.ms).u64(i.ended_seq.value);
}

void get_item(Unpack& u, RecordItem& i) {
  i.record = get_id(u);
  i.confirmed_seq.value = u.u64();
  i.confirmed_at.ms = u.i64();
  i.category = enum_at<Category>(u);
  i.severity = enum_at<Severity>(u);
  if (u.flag()) i.amended = Seq{u.u64()};
  i.end = enum_at<ItemEnd>(u);
  i.ended_at.ms = u.i64();
  i.ended_seq.value = u.u64();
}

void put_item(Pack& p, const RecItem& r) {
  put_id(p, r.id);
  p.u64(r.issued_seq.value).i64(r.issued_at.ms).i64(r.deadline.ms);
  p.u8(r.rectified ? 1 : 0);
  if (r.rectified) p.i64(r.rectified->first.ms).u64(r.rectified->second.value);
  p.u8(r.closed ? 1 : 0);
  if (r.closed) {
    put_enum(p, r.closed->outcome);
    p.i64(r.closed->at.ms).u64(r.closed->seq.value);
  }
}

void get_item(Unpack& u, RecItem& r) {
  r.id = get_id(u);
  r.issued_seq.value = u.u64();
  r.issued_at.ms = u.i64();
  r.deadline.ms = u.i64();
  if (u.flag()) {
    Timestamp at{u.i64()};
    r.rectified = std::make_pair(at, Seq{u.u64()});
  }
  if (u.flag()) {
    RecItem::Closed c;
    c.outcome = enum_at<RecommendationOutcome>(u);
    c.at.ms = u.i64();
    c.seq.value = u.u64();
    r.closed = c;
  }
}

// The smallest encoding of one item (for Unpack::count's bound).
constexpr std::size_t kMinRecordItem = 16 + 8 + 8 + 1 + 1 + 1 + 1 + 8 + 8;
constexpr std::size_t kMinRecItem = 16 + 8 + 8 + 8 + 1 + 1;

template <class Item>
Bytes encode_block(const std::vector<Item>& items, std::uint32_t block) {
  const std::size_t from = std::size_t{block} * kAgencyBlockItems;
  const std::size_t to = std::min(items.size(), from + kAgencyBlockItems);
  Pack p;
  p.u8(kValueVersion).u32(static_cast<std::uint32_t>(to > from ? to - from : 0));
  for (std::size_t i = from; i < to; ++i) put_item(p, items[i]);
  return std::move(p.out);
}

// Appends a block's items to `items`; false when it is malformed.
template <class Item>
bool decode_block(ByteView b, std::size_t min_size, std::vector<Item>& items) {
  Unpack u(b);
  if (!version_ok(u)) return false;
  const std::size_t n = u.count(min_size);
  if (n == 0 || n > kAgencyBlockItems) return false;  // a block holds 1 to 16 items
  const std::size_t at = items.size();
  items.resize(at + n);
  for (std::size_t i = 0; i < n; ++i) get_item(u, items[at + i]);
  return u.done();
}

}  // namespace

void encode_to(Bytes& out, const AgencyState& s) {
  Pack p(out);
  p.u8(kValueVersion).str(s.info.id.value).str(s.info.name_zh).str(s.info.name_en);
  put_enum(p, s.info.level);
  p.u8(s.info.district ? 1 : 0);
  if (s.info.district) p.str(*s.info.district);
  p.u8(s.info.parent ? 1 : 0);
  if (s.info.parent) p.str(s.info.parent->value);
  p.u64(s.registered.value);
  for (const auto& row : s.records)
    for (std::uint32_t n : row) p.u32(n);
  for (std::uint32_t n : s.complaints) p.u32(n);
  p.u32(static_cast<std::uint32_t>(s.items.size()));
  p.u32(static_cast<std::uint32_t>(s.recommendations.size()));
  p.u32(s.compensations).i64(s.compensation_fen).u64(s.events).i64(s.last_at.ms);
}

std::optional<AgencyState> decode_agency(ByteView b, std::uint32_t* items,
                                         std::uint32_t* recommendations) {
  Unpack u(b);
  AgencyState s;
  if (!version_ok(u)) return std::nullopt;
  s.info.id.value = u.str();
  s.info.name_zh = u.str();
  s.info.name_en = u.str();
  s.info.level = enum_at<Level>(u);
  if (u.flag()) s.info.district = u.str();
  if (u.flag()) s.info.parent = AgencyId(u.str());
  s.registered.value = u.u64();
  for (auto& row : s.records)
    for (std::uint32_t& n : row) n = u.u32();
  for (std::uint32_t& n : s.complaints) n = u.u32();
  const std::uint32_t n_items = u.u32(), n_recs = u.u32();
  if (items) *items = n_items;
  if (recommendations) *recommendations = n_recs;
  s.compensations = u.u32();
  s.compensation_fen = u.i64();
  s.events = u.u64();
  s.last_at.ms = u.i64();
  return finish(u, std::move(s));
}

Bytes agency_item_prefix(std::string_view agency) {
  Bytes k(agency.begin(), agency.end());
  k.push_back(0x00);
  return k;
}

Bytes agency_item_key(std::string_view agency, AgencyItemKind kind, std::uint32_t block) {
  Bytes k = agency_item_prefix(agency);
  k.push_back(static_cast<std::uint8_t>(kind));
  for (int i = 3; i >= 0; --i) k.push_back(static_cast<std::uint8_t>(block >> (8 * i)));
  return k;
}

Bytes encode_agency_block(const AgencyState& s, AgencyItemKind kind, std::uint32_t block) {
  return kind == AgencyItemKind::kRecord ? encode_block(s.items, block)
                                         : encode_block(s.recommendations, block);
}

bool load_agency(const SideReader& r, std::string_view id, std::optional<AgencyState>& out) {
  out.reset();
  auto v = r.get(Side::kAgency, as_bytes(id));
  if (!v) return true;
  std::uint32_t n_items = 0, n_recs = 0;
  auto a = decode_agency(*v, &n_items, &n_recs);
  if (!a) return false;
  const Bytes prefix = agency_item_prefix(id);
  bool ok = true;
  r.scan(Side::kAgencyItem, prefix, [&](ByteView k, ByteView b) {
    // Blocks come in key order: kind 'i' before 'r', block numbers from 0 with none missing, and
    // every block full but the last of its kind.
    ok = k.size() == prefix.size() + 5;
    if (!ok) return false;
    const auto kind = static_cast<AgencyItemKind>(k[prefix.size()]);
    std::uint32_t block = 0;
    for (std::size_t i = 0; i < 4; ++i) block = block << 8 | k[prefix.size() + 1 + i];
    auto one = [&](auto& items, std::size_t min_size, std::uint32_t total) {
      return items.size() == std::size_t{block} * kAgencyBlockItems &&
             decode_block(b, min_size, items) && items.size() <= total &&
             (items.size() == total || items.size() % kAgencyBlockItems == 0);
    };
    if (kind == AgencyItemKind::kRecord)
      ok = a->recommendations.empty() && one(a->items, kMinRecordItem, n_items);
    else if (kind == AgencyItemKind::kRecommendation)
      ok = one(a->recommendations, kMinRecItem, n_recs);
    else
      ok = false;
    return ok;
  });
  if (!ok || a->items.size() != n_items || a->recommendations.size() != n_recs) return false;
  out = std::move(a);
  return true;
}

void encode_to(Bytes& out, const RecordState& s) {
  Pack p(out);
  p.u8(kValueVersion).str(s.agency.value).str(s.source.value);
  put_enum(p, s.category);
  p.u8(s.severity ? 1 : 0);
  if (s.severity) put_enum(p, *s.severity);
  put_enum(p, s.phase);
  p.u64(s.submitted.value).i64(s.submitted_at.ms).i64(s.conduct_at.ms);
  p.u8(s.confirmed_at ? 1 : 0);
  if (s.confirmed_at) p.i64(s.confirmed_at->ms);
  p.i64(s.last_at.ms);
  p.u8(s.open_objection ? 1 : 0);
  if (s.open_objection) put_id(p, *s.open_objection);
  p.u32(s.corrections);
  put_lines(p, s.history);
}

std::optional<RecordState> decode_record(ByteView b) {
  Unpack u(b);
  RecordState s;
  if (!version_ok(u)) return std::nullopt;
  s.agency.value = u.str();
  s.source.value = u.str();
  s.category = enum_at<Category>(u);
  if (u.flag()) s.severity = enum_at<Severity>(u);
  s.phase = enum_at<RecordPhase>(u);
  s.submitted.value = u.u64();
  s.submitted_at.ms = u.i64();
  s.conduct_at.ms = u.i64();
  if (u.flag()) s.confirmed_at = Timestamp{u.i64()};
  s.last_at.ms = u.i64();
  if (u.flag()) s.open_objection = get_id(u);
  s.corrections = u.u32();
  s.history = get_lines(u);
  return finish(u, std::move(s));
}

void encode_to(Bytes& out, const ObjectionState& s) {
  Pack p(out);
  p.u8(kValueVersion);
  put_id(p, s.record);
  p.u64(s.raised.value).i64(s.raised_at.ms).u8(s.state).u64(s.resolved.value);
}

std::optional<ObjectionState> decode_objection(ByteView b) {
  Unpack u(b);
  ObjectionState s;
  if (!version_ok(u)) return std::nullopt;
  s.record = get_id(u);
  s.raised.value = u.u64();
  s.raised_at.ms = u.i64();
  s.state = u.u8();
  if (s.state > 2) u.fail();
  s.resolved.value = u.u64();
  return finish(u, std::move(s));
}

void encode_to(Bytes& out, const ComplaintState& s) {
  Pack p(out);
  p.u8(kValueVersion).str(s.agency.value).str(s.receipt);
  p.u8(s.category ? 1 : 0);
  if (s.category) put_enum(p, *s.category);
  p.raw(s.secret_digest.view());
  put_enum(p, s.phase);
  p.u8(s.triage ? 1 : 0);
  if (s.triage) put_enum(p, *s.triage);
  p.u8(s.resolution ? 1 : 0);
  if (s.resolution) put_enum(p, *s.resolution);
  p.u8(s.record ? 1 : 0);
  if (s.record) put_id(p, *s.record);
  p.u64(s.filed.value).i64(s.filed_at.ms).i64(s.last_at.ms).u32(s.triages).u32(s.reopens);
  put_lines(p, s.history);
}

std::optional<ComplaintState> decode_complaint(ByteView b) {
  Unpack u(b);
  ComplaintState s;
  if (!version_ok(u)) return std::nullopt;
  s.agency.value = u.str();
  s.receipt = u.str();
  if (u.flag()) s.category = enum_at<Category>(u);
  s.secret_digest = u.fixed<32, DigestTag>();
  s.phase = enum_at<ComplaintPhase>(u);
  if (u.flag()) s.triage = enum_at<TriageOutcome>(u);
  if (u.flag()) s.resolution = enum_at<ComplaintResolution>(u);
  if (u.flag()) s.record = get_id(u);
  s.filed.value = u.u64();
  s.filed_at.ms = u.i64();
  s.last_at.ms = u.i64();
  s.triages = u.u32();
  s.reopens = u.u32();
  s.history = get_lines(u);
  return finish(u, std::move(s));
}

void encode_to(Bytes& out, const RecommendationState& s) {
  Pack p(out);
  p.u8(kValueVersion).str(s.agency.value).str(s.reference);
  p.u32(static_cast<std::uint32_t>(s.records.size()));
  for (const EventId& r : s.records) put_id(p, r);
  p.u64(s.issued.value).i64(s.issued_at.ms).i64(s.deadline.ms);
  put_enum(p, s.phase);
  p.u32(static_cast<std::uint32_t>(s.rectifications.size()));
  for (const Rectification& r : s.rectifications) {
    put_id(p, r.id);
    p.u64(r.seq.value).i64(r.at.ms);
  }
  p.u8(s.outcome ? 1 : 0);
  if (s.outcome) put_enum(p, *s.outcome);
  p.i64(s.closed_at.ms).u64(s.closed.value).i64(s.last_at.ms);
  put_lines(p, s.history);
}

std::optional<RecommendationState> decode_recommendation(ByteView b) {
  Unpack u(b);
  RecommendationState s;
  if (!version_ok(u)) return std::nullopt;
  s.agency.value = u.str();
  s.reference = u.str();
  s.records.resize(u.count(16));
  for (EventId& r : s.records) r = get_id(u);
  s.issued.value = u.u64();
  s.issued_at.ms = u.i64();
  s.deadline.ms = u.i64();
  s.phase = enum_at<RecommendationPhase>(u);
  s.rectifications.resize(u.count(32));
  for (Rectification& r : s.rectifications) {
    r.id = get_id(u);
    r.seq.value = u.u64();
    r.at.ms = u.i64();
  }
  if (u.flag()) s.outcome = enum_at<RecommendationOutcome>(u);
  s.closed_at.ms = u.i64();
  s.closed.value = u.u64();
  s.last_at.ms = u.i64();
  s.history = get_lines(u);
  return finish(u, std::move(s));
}

void encode_to(Bytes& out, const RectificationState& s) {
  Pack p(out);
  p.u8(kValueVersion);
  put_id(p, s.recommendation);
  p.i64(s.at.ms).u64(s.seq.value);
}

std::optional<RectificationState> decode_rectification(ByteView b) {
  Unpack u(b);
  RectificationState s;
  if (!version_ok(u)) return std::nullopt;
  s.recommendation = get_id(u);
  s.at.ms = u.i64();
  s.seq.value = u.u64();
  return finish(u, std::move(s));
}

Bytes encode(const ReportState& s) {
  Pack p;
  p.u8(kValueVersion).raw(s.content_sha256.view()).i64(s.content_bytes).i64(s.at.ms).str(s.title);
  return std::move(p.out);
}

std::optional<ReportState> decode_report(ByteView key, ByteView value) {
  ReportState s;
  if (key.size() < 10 || key[key.size() - 9] != 0) return std::nullopt;
  s.period.assign(reinterpret_cast<const char*>(key.data()), key.size() - 9);
  for (std::size_t i = key.size() - 8; i < key.size(); ++i) s.seq.value = s.seq.value << 8 | key[i];
  Unpack u(value);
  if (!version_ok(u)) return std::nullopt;
  s.content_sha256 = u.fixed<32, DigestTag>();
  s.content_bytes = u.i64();
  s.at.ms = u.i64();
  s.title = u.str();
  return finish(u, std::move(s));
}

Bytes trail_prefix(TrailKind kind, std::string_view id) {
  Bytes k(id.size() + 2, 0);
  k[0] = static_cast<std::uint8_t>(kind);
  if (!id.empty()) std::memcpy(k.data() + 1, id.data(), id.size());
  return k;
}

Bytes trail_key(TrailKind kind, std::string_view id, Seq first) {
  Bytes k = trail_prefix(kind, id);
  for (int i = 7; i >= 0; --i) k.push_back(static_cast<std::uint8_t>(first.value >> (8 * i)));
  return k;
}

Bytes encode_lines(const std::vector<Line>& lines) {
  Pack p;
  p.u8(kValueVersion);
  put_lines(p, lines);
  return std::move(p.out);
}

std::optional<std::vector<Line>> decode_lines(ByteView b) {
  Unpack u(b);
  if (!version_ok(u)) return std::nullopt;
  auto lines = get_lines(u);
  return finish(u, std::move(lines));
}

}  // namespace govcredit::pack
