// Internal to src/projections: the "pack" value encoding of docs/LEDGER_FORMAT.md §10.1, and the
// encoders of every stored state. A Unpack never reads past its input: a length that runs past
// the end, or trailing bytes, make it fail (the stored value is then reported as corrupt).
#pragma once

#include <cstring>
#include <optional>
#include <string>

#include "govcredit/projections.h"

namespace govcredit::pack {

// LEB128: 7 bits per byte, low bits first, the high bit set on every byte but the last; at most
// kMaxVarint bytes. Writes at w and returns the end.
inline constexpr std::size_t kMaxVarint = 10;
inline std::uint8_t* put_varint(std::uint8_t* w, std::uint64_t v) {
  for (; v >= 0x80; v >>= 7) *w++ = static_cast<std::uint8_t>(v | 0x80);
  *w++ = static_cast<std::uint8_t>(v);
  return w;
}

class Pack {
 public:
  Pack() : out(own_) {}
  // Appends to `to` instead of a buffer of its own (many values encoded into one buffer).
  explicit Pack(Bytes& to) : out(to) {}
  Pack(const Pack&) = delete;
  Pack& operator=(const Pack&) = delete;
  Pack& u8(std::uint8_t v) {
    out.push_back(v);
    return *this;
  }
  Pack& u32(std::uint32_t v) { return le(v, 4); }
  Pack& u64(std::uint64_t v) { return le(v, 8); }
  Pack& i64(std::int64_t v) { return le(static_cast<std::uint64_t>(v), 8); }
  Pack& raw(ByteView b) {
    out.insert(out.end(), b.begin(), b.end());
    return *this;
  }
  Pack& str(std::string_view s) {
    u32(static_cast<std::uint32_t>(s.size()));
    return raw(as_bytes(s));
  }

 private:
  Bytes own_;

 public:
  Bytes& out;

 private:
  Pack& le(std::uint64_t v, int n) {
    const std::size_t at = out.size();
    out.resize(at + static_cast<std::size_t>(n));
    for (int i = 0; i < n; ++i, v >>= 8)
      out[at + static_cast<std::size_t>(i)] = static_cast<std::uint8_t>(v);
    return *this;
  }
};

class Unpack {
 public:
  explicit Unpack(ByteView in) : in_(in) {}
  bool ok() const { return ok_; }
  // True when everything was read and nothing is left over.
  bool done() const { return ok_ && pos_ == in_.size(); }
  std::uint8_t u8() { return static_cast<std::uint8_t>(le(1)); }
  std::uint32_t u32() { return static_cast<std::uint32_t>(le(4)); }
  std::uint64_t u64() { return le(8); }
  std::int64_t i64() { return static_cast<std::int64_t>(le(8)); }
  bool flag() { return u8() != 0; }
  // LEB128 as put_varint writes it: at most 10 bytes, nothing above bit 63, and minimal (a
  // last byte of 0 after another byte is refused), so each value has exactly one encoding.
  std::uint64_t varint() {
    std::uint64_t v = 0;
    for (int shift = 0; shift < 64; shift += 7) {
      if (!need(1)) return 0;
      const std::uint8_t b = in_[pos_++];
      if (shift == 63 && b > 1) break;  // bits above 63
      if (b == 0 && shift > 0) break;   // not minimal
      v |= static_cast<std::uint64_t>(b & 0x7f) << shift;
      if (!(b & 0x80)) return v;
    }
    ok_ = false;
    return 0;
  }
  std::string str() {
    std::uint32_t n = u32();
    if (!need(n)) return {};
    std::string s(reinterpret_cast<const char*>(in_.data() + pos_), n);
    pos_ += n;
    return s;
  }
  template <std::size_t N, class Tag>
  FixedBytes<N, Tag> fixed() {
    FixedBytes<N, Tag> f;
    if (!need(N)) return f;
    std::memcpy(f.bytes.data(), in_.data() + pos_, N);
    pos_ += N;
    return f;
  }
  // A list count, bounded by the bytes left (each item takes at least min_item bytes).
  std::uint32_t count(std::size_t min_item) {
    std::uint32_t n = u32();
    if (ok_ && static_cast<std::uint64_t>(n) * min_item > in_.size() - pos_) ok_ = false;
    return ok_ ? n : 0;
  }
  void fail() { ok_ = false; }

 private:
  bool need(std::size_t n) {
    if (!ok_ || n > in_.size() - pos_) ok_ = false;
    return ok_;
  }
  std::uint64_t le(int n) {
    if (!need(static_cast<std::size_t>(n))) return 0;
    std::uint64_t v = 0;
    for (int i = n - 1; i >= 0; --i) v = v << 8 | in_[pos_ + static_cast<std::size_t>(i)];
    pos_ += static_cast<std::size_t>(n);
    return v;
  }
  ByteView in_;
  std::size_t pos_ = 0;
  bool ok_ = true;
};

inline constexpr std::uint8_t kValueVersion = 1;

// encode_to appends the encoding to `out`; encode returns it.
void encode_to(Bytes& out, const AgencyState& s);
void encode_to(Bytes& out, const RecordState& s);
void encode_to(Bytes& out, const ObjectionState& s);
void encode_to(Bytes& out, const ComplaintState& s);
void encode_to(Bytes& out, const RecommendationState& s);
void encode_to(Bytes& out, const RectificationState& s);
template <class State>
Bytes encode(const State& s) {
  Bytes out;
  encode_to(out, s);
  return out;
}
Bytes encode(const ReportState& s);

// nullopt when the bytes are not a well-formed value of that kind.
// An agency's p.agency value holds only the counts of its items and recommendations (stored in
// *items and *recommendations when given); the items themselves are in p.agency_item.
std::optional<AgencyState> decode_agency(ByteView b, std::uint32_t* items = nullptr,
                                         std::uint32_t* recommendations = nullptr);
std::optional<RecordState> decode_record(ByteView b);
std::optional<ObjectionState> decode_objection(ByteView b);
std::optional<ComplaintState> decode_complaint(ByteView b);
std::optional<RecommendationState> decode_recommendation(ByteView b);
std::optional<RectificationState> decode_rectification(ByteView b);
std::optional<ReportState> decode_report(ByteView key, ByteView value);

// p.agency_item (LEDGER_FORMAT.md §10.2): an agency's RecordItems and RecItems in blocks of
// kAgencyBlockItems, keyed `agency ‖ 0x00 ‖ kind ‖ block u32 BE`; block b holds items
// [b·kAgencyBlockItems, (b+1)·kAgencyBlockItems). A change to one item rewrites one block.
inline constexpr std::size_t kAgencyBlockItems = 16;
enum class AgencyItemKind : std::uint8_t { kRecord = 'i', kRecommendation = 'r' };
Bytes agency_item_prefix(std::string_view agency);
Bytes agency_item_key(std::string_view agency, AgencyItemKind kind, std::uint32_t block);
Bytes encode_agency_block(const AgencyState& s, AgencyItemKind kind, std::uint32_t block);
// Reads an agency's state, items included: out = nullopt when it is absent. False when a stored
// value is malformed or the blocks do not add up to the counts its p.agency value gives.
bool load_agency(const SideReader& r, std::string_view id, std::optional<AgencyState>& out);

// p.trail blocks: at most this many lines each (~7 bytes a line, so a block usually stays in its
// leaf page; LEDGER_FORMAT.md §10.2).
inline constexpr std::size_t kTrailBlockLines = 128;
Bytes trail_prefix(TrailKind kind, std::string_view id);
Bytes trail_key(TrailKind kind, std::string_view id, Seq first);
Bytes encode_lines(const std::vector<Line>& lines);
std::optional<std::vector<Line>> decode_lines(ByteView b);

}  // namespace govcredit::pack
