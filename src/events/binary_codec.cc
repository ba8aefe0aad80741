// The canonical binary form (events/FORMAT.md §2) through cereal's portable binary archive.
// cereal supplies byte order and the u64 size tags; the bounded readers below check every
// length against the field's limit and the bytes remaining *before* allocating, because cereal's
// own std::string loader would resize to whatever a hostile length says. Events are written with
// cereal's PortableBinaryOutputArchive and read with SpanInputArchive (below), a cereal archive
// that reads the same bytes straight from memory.
#include <cereal/archives/portable_binary.hpp>

#include <algorithm>
#include <bit>
#include <cstring>
#include <ostream>
#include <streambuf>

#include "decode_error.h"
#include "govcredit/codec.h"
#include "govcredit/encoding.h"
#include "govcredit/merkle.h"

namespace govcredit {
namespace {

using events_internal::DecodeError;
using events_internal::fail;

// An output streambuf appending to a byte vector (no std::string copies).
class VectorSink : public std::streambuf {
 public:
  explicit VectorSink(Bytes& out) : out_(out) {}

 protected:
  std::streamsize xsputn(const char* s, std::streamsize n) override {
    out_.insert(out_.end(), s, s + n);
    return n;
  }
  int_type overflow(int_type c) override {
    if (c != traits_type::eof()) out_.push_back(static_cast<std::uint8_t>(c));
    return c;
  }

 private:
  Bytes& out_;
};

// cereal's PortableBinaryInputArchive, for little-endian input held in memory: the same bytes
// read the same way (values little endian, size tags u64), without the std::istream and
// streambuf calls that PortableBinaryInputArchive makes for every field. Those calls were a
// quarter of decoding a logged event (docs/PERFORMANCE.md §5.3). Like it, the constructor reads
// the byte-order marker, which must be 0x01; reading past the end throws cereal::Exception.
class SpanInputArchive
    : public cereal::InputArchive<SpanInputArchive, cereal::AllowEmptyClassElision> {
 public:
  explicit SpanInputArchive(ByteView in) : InputArchive(this), in_(in) {
    std::uint8_t little_endian = 0;
    (*this)(little_endian);
    if (little_endian != 1) throw cereal::Exception("the input is not little endian");
  }
  std::size_t remaining() const { return in_.size() - at_; }

  // The next n bytes, consumed.
  ByteView take(std::size_t n) {
    if (n > remaining()) [[unlikely]]
      overrun(n);
    ByteView out = in_.subspan(at_, n);
    at_ += n;
    return out;
  }
  // A number, read as cereal reads an arithmetic value (the same bytes), without going through
  // the archive's dispatch, which a rebuild's profile showed for every size tag (§5.17).
  template <class T>
  requires std::is_arithmetic_v<T>
  void number(T& v) { loadBinary<sizeof(T)>(&v, sizeof(T)); }
  template <std::size_t DataSize>
  void loadBinary(void* data, std::size_t size) {
    ByteView from = take(size);
    std::memcpy(data, from.data(), size);
    if constexpr (std::endian::native == std::endian::big && DataSize > 1) {
      auto* p = static_cast<std::uint8_t*>(data);
      for (std::size_t i = 0; i < size; i += DataSize) std::reverse(p + i, p + i + DataSize);
    }
  }

 private:
  [[noreturn, gnu::cold, gnu::noinline]] void overrun(std::size_t n) const {
    throw cereal::Exception("failed to read " + std::to_string(n) +
                            " bytes: " + std::to_string(remaining()) + " left");
  }

  ByteView in_;
  std::size_t at_ = 0;
};

template <class T>
std::enable_if_t<std::is_arithmetic_v<T>> CEREAL_LOAD_FUNCTION_NAME(SpanInputArchive& ar, T& t) {
  ar.loadBinary<sizeof(T)>(std::addressof(t), sizeof(t));
}
template <class T>
void CEREAL_LOAD_FUNCTION_NAME(SpanInputArchive& ar, cereal::BinaryData<T>& bd) {
  ar.loadBinary<sizeof(std::remove_pointer_t<T>)>(bd.data, bd.size);
}
template <class T>
void CEREAL_SERIALIZE_FUNCTION_NAME(SpanInputArchive& ar, cereal::SizeTag<T>& t) {
  ar(t.size);
}

constexpr std::size_t kEnvelopeStringMax = 64;

struct Writer {
  cereal::PortableBinaryOutputArchive& ar;

  void str(std::string_view s) {
    ar(cereal::make_size_tag(static_cast<std::uint64_t>(s.size())));
    ar(cereal::binary_data(s.data(), s.size()));
  }
  void operator()(std::string_view, const std::string& s, const FieldSpec&) { str(s); }
  template <class Tag>
  void operator()(std::string_view, const StrongString<Tag>& s, const FieldSpec&) {
    str(s.value);
  }
  template <DomainEnum E>
  void operator()(std::string_view, const E& e, const FieldSpec&) {
    str(enum_name(e));
  }
  void operator()(std::string_view, const Timestamp& t, const FieldSpec&) { ar(t.ms); }
  void operator()(std::string_view, const std::int64_t& v, const FieldSpec&) { ar(v); }
  template <std::size_t N, class Tag>
  void operator()(std::string_view, const FixedBytes<N, Tag>& f, const FieldSpec&) {
    ar(cereal::binary_data(f.bytes.data(), N));
  }
  void operator()(std::string_view, const Bytes& b, const FieldSpec&) {
    ar(cereal::make_size_tag(static_cast<std::uint64_t>(b.size())));
    ar(cereal::binary_data(b.data(), b.size()));
  }
  void operator()(std::string_view name, const Evidence& ev, const FieldSpec&) {
    const_cast<Evidence&>(ev).fields(
        [&](std::string_view n, auto& m, const FieldSpec& s) { (*this)(n, m, s); });
    (void)name;
  }
  template <class T>
  void operator()(std::string_view name, const std::optional<T>& o, const FieldSpec& spec) {
    std::uint8_t present = o.has_value() ? 1 : 0;
    ar(present);
    if (o) (*this)(name, *o, spec);
  }
  template <class T>
  void operator()(std::string_view name, const std::vector<T>& v, const FieldSpec& spec) {
    ar(cereal::make_size_tag(static_cast<std::uint64_t>(v.size())));
    for (const auto& item : v) (*this)(name, item, spec);
  }
};

struct Reader {
  SpanInputArchive& ar;

  std::uint64_t length(std::string_view name, std::size_t max) {
    std::uint64_t n = 0;
    ar.number(n);  // a size tag: u64
    if (n > max)
      fail(Reason::kFieldTooLong, std::string(name) + ": " + std::to_string(n) +
                                      " exceeds the limit of " + std::to_string(max));
    if (n > ar.remaining())
      fail(Reason::kBinaryMalformed,
           std::string(name) + ": length " + std::to_string(n) + " runs past the end of the event");
    return n;
  }
  // A string field, in place (valid while the input is).
  std::string_view view(std::string_view name, std::size_t max) {
    ByteView b = ar.take(length(name, max));
    return std::string_view(reinterpret_cast<const char*>(b.data()), b.size());
  }
  std::string str(std::string_view name, std::size_t max) { return std::string(view(name, max)); }
  void operator()(std::string_view name, std::string& s, const FieldSpec& spec) {
    s = str(name, spec.max_len);
  }
  template <class Tag>
  void operator()(std::string_view name, StrongString<Tag>& s, const FieldSpec&) {
    s.value = str(name, kEnvelopeStringMax);
  }
  template <DomainEnum E>
  void operator()(std::string_view name, E& e, const FieldSpec&) {
    const std::string_view s = view(name, 32);
    auto v = enum_from_name<E>(s);
    if (!v)
      fail(Reason::kFieldInvalid,
           std::string(name) + ": '" + std::string(s) + "' is not a known value");
    e = *v;
  }
  void operator()(std::string_view, Timestamp& t, const FieldSpec&) { ar.number(t.ms); }
  void operator()(std::string_view, std::int64_t& v, const FieldSpec&) { ar.number(v); }
  template <std::size_t N, class Tag>
  void operator()(std::string_view, FixedBytes<N, Tag>& f, const FieldSpec&) {
    ar(cereal::binary_data(f.bytes.data(), N));
  }
  void operator()(std::string_view name, Bytes& b, const FieldSpec& spec) {
    ByteView v = ar.take(length(name, spec.max_len));
    b.assign(v.begin(), v.end());
  }
  void operator()(std::string_view, Evidence& ev, const FieldSpec&) {
    ev.fields([&](std::string_view n, auto& m, const FieldSpec& s) { (*this)(n, m, s); });
  }
  template <class T>
  void operator()(std::string_view name, std::optional<T>& o, const FieldSpec& spec) {
    std::uint8_t present = 0;
    ar.number(present);
    if (present > 1)
      fail(Reason::kBinaryMalformed, std::string(name) + ": presence flag must be 0 or 1");
    if (present == 0) {
      o.reset();
      return;
    }
    T value{};
    (*this)(name, value, spec);
    o = std::move(value);
  }
  template <class T>
  void operator()(std::string_view name, std::vector<T>& v, const FieldSpec& spec) {
    std::uint64_t n = 0;
    ar.number(n);  // a size tag: u64
    if (n > spec.max_items)
      fail(Reason::kFieldTooLong, std::string(name) + ": " + std::to_string(n) +
                                      " items exceed the limit of " +
                                      std::to_string(spec.max_items));
    if (n > ar.remaining())  // every item takes at least one byte
      fail(Reason::kBinaryMalformed, std::string(name) + ": item count runs past the end");
    v.assign(n, T{});
    for (auto& item : v) (*this)(name, item, spec);
  }
};

// Writes the signing input; when layout is given, records where each top-level field ends.
void write_signing_input(const Event& e, Bytes& out, std::vector<FieldExtent>* layout = nullptr) {
  auto mark = [&](std::string name, std::size_t begin) {
    if (layout) layout->push_back({std::move(name), begin, out.size() - begin});
  };
  out.insert(out.end(), kEventSigningPrefix.begin(), kEventSigningPrefix.end());
  mark("prefix", 0);
  VectorSink sink(out);
  std::ostream os(&sink);
  std::size_t at = out.size();
  cereal::PortableBinaryOutputArchive ar(os);  // writes the 0x01 little-endian marker
  mark("marker", at);
  Writer w{ar};
  at = out.size();
  ar(e.version);
  mark("v", at);
  at = out.size();
  ar(cereal::binary_data(e.id.bytes.data(), e.id.bytes.size()));
  mark("id", at);
  at = out.size();
  w.str(e.type_name());
  mark("type", at);
  at = out.size();
  w.str(e.subject.value);
  mark("subject", at);
  at = out.size();
  w.str(e.issuer.value);
  mark("issuer", at);
  at = out.size();
  w.str(e.key_id.value);
  mark("key_id", at);
  at = out.size();
  ar(e.issued_at.ms);
  mark("issued_at", at);
  std::visit(
      [&](const auto& p) {
        using P = std::decay_t<decltype(p)>;
        const_cast<P&>(p).fields([&](std::string_view n, const auto& m, const FieldSpec& s) {
          std::size_t begin = out.size();
          w(n, m, s);
          mark("payload." + std::string(n), begin);
        });
      },
      e.payload);
}

}  // namespace

Bytes signing_input(const Event& e) {
  Bytes out;
  out.reserve(512);
  write_signing_input(e, out);
  return out;
}

namespace {

void put_u32(Bytes& out, std::uint32_t v) {
  for (int i = 0; i < 4; ++i) out.push_back(static_cast<std::uint8_t>(v >> (8 * i)));
}
std::uint32_t get_u32(const std::uint8_t* p) {
  return std::uint32_t{p[0]} | std::uint32_t{p[1]} << 8 | std::uint32_t{p[2]} << 16 |
         std::uint32_t{p[3]} << 24;
}

}  // namespace

Bytes encode_wire(const Event& e) {
  Bytes out;
  out.reserve(576);
  write_signing_input(e, out);
  if (e.batch) {
    out.push_back(kBatchTrailerVersion);
    put_u32(out, e.batch->size);
    put_u32(out, e.batch->index);
    out.push_back(static_cast<std::uint8_t>(e.batch->path.size()));
    for (const Digest& d : e.batch->path) out.insert(out.end(), d.bytes.begin(), d.bytes.end());
  }
  out.insert(out.end(), e.signature.bytes.begin(), e.signature.bytes.end());
  return out;
}

std::size_t wire_trailer_size(const Event& e) {
  return e.batch ? kBatchTrailerFixed + 32 * e.batch->path.size() + 64 : 64;
}

Bytes batch_signing_input(std::uint32_t size, const Digest& root) {
  Bytes out(kBatchSigningPrefix.begin(), kBatchSigningPrefix.end());
  put_u32(out, size);
  out.insert(out.end(), root.bytes.begin(), root.bytes.end());
  return out;
}

std::optional<Digest> batch_root(const Event& e, ByteView signing) {
  if (!e.batch) return std::nullopt;
  return merkle::root_from_path(merkle::leaf_hash(signing), e.batch->index, e.batch->size,
                                e.batch->path);
}

bool signature_valid(const Event& e, ByteView signing, const PublicKey& key) {
  if (!e.batch) return key.verify(signing, e.signature);
  auto root = batch_root(e, signing);
  return root && key.verify(batch_signing_input(e.batch->size, *root), e.signature);
}

void sign_batch(std::span<Event> events, const PrivateKey& key) {
  const std::size_t n = events.size();
  if (n == 0) return;
  // The tree's complete subtrees, level by level, from the leaves up.
  std::vector<std::vector<Digest>> levels(1);
  for (Event& e : events) {
    e.key_id = key.key_id();
    levels[0].push_back(merkle::leaf_hash(signing_input(e)));
  }
  while (levels.back().size() > 1) {
    const auto& below = levels.back();
    std::vector<Digest> up;
    for (std::size_t i = 0; i + 1 < below.size(); i += 2)
      up.push_back(merkle::node_hash(below[i], below[i + 1]));
    levels.push_back(std::move(up));
  }
  merkle::SubtreeFn subtree = [&](std::uint32_t level, std::uint64_t index) {
    return levels[level][index];
  };
  const Digest root = merkle::root_hash(n, subtree);
  const Signature sig = key.sign(batch_signing_input(static_cast<std::uint32_t>(n), root));
  for (std::size_t i = 0; i < n; ++i) {
    events[i].batch = BatchProof{static_cast<std::uint32_t>(n), static_cast<std::uint32_t>(i),
                                 merkle::inclusion_proof(i, n, subtree)};
    events[i].signature = sig;
  }
}

namespace {
Status decode(ByteView wire, bool validate, Event& e);
}  // namespace

Result<Event> decode_wire(ByteView wire) {
  Event e;
  if (Status s = decode(wire, true, e); !s) return s;
  return e;
}
Result<Event> decode_logged_wire(ByteView wire) {
  Event e;
  if (Status s = decode(wire, false, e); !s) return s;
  return e;
}
Status decode_logged_wire(ByteView wire, Event& out) {
  return decode(wire, false, out);
}

namespace {

// Decodes into e, every field of which it sets (e's earlier content does not matter).
Status decode(ByteView wire, bool validate, Event& e) {
  if (wire.size() > kMaxWireEventBytes)
    return Status(Reason::kEventTooLarge, "the event is " + std::to_string(wire.size()) +
                                              " bytes; the limit is " +
                                              std::to_string(kMaxWireEventBytes));
  constexpr std::size_t kMin = kEventSigningPrefix.size() + 2 + 16 + 64;
  if (wire.size() < kMin)
    return Status(Reason::kBinaryMalformed, "the event is too short to be an event");
  if (std::memcmp(wire.data(), kEventSigningPrefix.data(), kEventSigningPrefix.size()) != 0)
    return Status(Reason::kBinaryMalformed, "the event does not start with the govcredit prefix");
  if (wire[kEventSigningPrefix.size()] != 0x01)
    return Status(Reason::kBinaryMalformed, "the byte-order marker must be 0x01 (little endian)");
  e.batch.reset();
  try {
    // Both forms end in the 64-byte signature; before it comes the signing input, which is
    // self-delimiting, and, for a batch-signed event, the rest of the batch trailer (§2b). No
    // field of the signing input can reach into the signature.
    ByteView body =
        wire.subspan(kEventSigningPrefix.size(), wire.size() - 64 - kEventSigningPrefix.size());
    SpanInputArchive ar(body);
    Reader r{ar};
    ar.number(e.version);
    if (e.version != kFormatVersion)
      return Status(Reason::kVersionUnsupported,
                    "format version " + std::to_string(e.version) + " is not supported");
    ar(cereal::binary_data(e.id.bytes.data(), e.id.bytes.size()));
    const std::string_view type = r.view("type", kEnvelopeStringMax);
    if (!emplace_payload_for_type(type, e.payload))
      return Status(Reason::kTypeUnknown, "unknown event type '" + std::string(type) + "'");
    e.subject.value = r.str("subject", kEnvelopeStringMax);
    e.issuer.value = r.str("issuer", kEnvelopeStringMax);
    e.key_id.value = r.str("key_id", kEnvelopeStringMax);
    ar.number(e.issued_at.ms);
    std::visit(
        [&](auto& p) {
          p.fields([&](std::string_view n, auto& m, const FieldSpec& s) { r(n, m, s); });
        },
        e.payload);
    const std::size_t rest = ar.remaining();  // between the signing input and the signature
    if (rest != 0) {
      const std::uint8_t* t = wire.data() + wire.size() - 64 - rest;
      if (rest < kBatchTrailerFixed || t[0] != kBatchTrailerVersion)
        return Status(Reason::kBinaryMalformed,
                      std::to_string(rest) + " unexpected bytes after the payload");
      BatchProof b;
      b.size = get_u32(t + 1);
      b.index = get_u32(t + 5);
      const std::size_t k = t[9];
      if (rest != kBatchTrailerFixed + 32 * k)
        return Status(Reason::kBinaryMalformed, "the batch trailer's length is wrong");
      if (b.size == 0 || b.size > kMaxBatchEvents || b.index >= b.size ||
          k != merkle::inclusion_path_length(b.index, b.size))
        return Status(Reason::kBinaryMalformed,
                      "the batch trailer's size, index or path length is impossible");
      b.path.resize(k);
      for (std::size_t i = 0; i < k; ++i)
        std::memcpy(b.path[i].bytes.data(), t + kBatchTrailerFixed + 32 * i, 32);
      e.batch = std::move(b);
    }
    std::memcpy(e.signature.bytes.data(), wire.data() + wire.size() - 64, 64);
  } catch (const DecodeError& err) {
    return err.status;
  } catch (const cereal::Exception&) {
    return Status(Reason::kBinaryMalformed, "the event ends in the middle of a field");
  } catch (const std::exception& ex) {
    return Status(Reason::kBinaryMalformed,
                  std::string("the event cannot be decoded: ") + ex.what());
  }
  if (validate)
    if (Status v = validate_event(e); !v) return v;
  return Status::ok();
}

}  // namespace

std::vector<FieldExtent> signing_input_layout(const Event& e) {
  Bytes out;
  std::vector<FieldExtent> layout;
  write_signing_input(e, out, &layout);
  return layout;
}

Digest event_digest(ByteView wire) {
  return sha256(wire);
}

void sign_event(Event& e, const PrivateKey& key) {
  e.key_id = key.key_id();
  e.batch.reset();
  e.signature = key.sign(signing_input(e));
}

Status verify_event_signature(const Event& e, const PublicKey& key) {
  if (key.key_id() != e.key_id)
    return Status(Reason::kKeyIdMismatch, "the event names key " + e.key_id.value +
                                              " but the given key is " + key.key_id().value);
  if (!signature_valid(e, signing_input(e), key))
    return Status(
        Reason::kSignatureInvalid,
        "the signature does not match the event's canonical bytes under key " + e.key_id.value);
  return Status::ok();
}

}  // namespace govcredit
