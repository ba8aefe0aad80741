// The canonical binary form: round trips and every way a hostile byte string is refused.
#include <gtest/gtest.h>

#include <cstring>

#include "govcredit/codec.h"
#include "govcredit/demo.h"
#include "support/support.h"

namespace govcredit {
namespace {

const demo::World& every_type_world() {
  static const demo::World w = demo::every_type();
  return w;
}
const Event& first_of(std::string_view type) {
  for (const auto& e : every_type_world().events)
    if (e.type_name() == type) return e;
  throw std::runtime_error("no such type in the demo");
}

Reason decode_reason(const Bytes& b) {
  auto r = decode_wire(b);
  return r ? Reason::kOk : r.status().reason();
}

void put_u64(Bytes& b, std::size_t at, std::uint64_t v) {
  for (int i = 0; i < 8; ++i) b[at + i] = static_cast<std::uint8_t>(v >> (8 * i));
}

TEST(BinaryCodec, EveryTypeRoundTrips) {
  std::set<std::string_view> types;
  for (const auto& e : every_type_world().events) {
    Bytes wire = encode_wire(e);
    auto back = decode_wire(wire);
    ASSERT_TRUE(back) << e.type_name() << ": " << back.status().to_string();
    EXPECT_EQ(*back, e) << e.type_name();
    EXPECT_EQ(encode_wire(*back), wire);
    types.insert(e.type_name());
  }
  EXPECT_EQ(types.size(), kEventTypeCount);
}

TEST(BinaryCodec, SigningInputStartsWithPrefixAndMarker) {
  Bytes in = signing_input(first_of("agency.registered"));
  ASSERT_GT(in.size(), 21u);
  EXPECT_EQ(std::memcmp(in.data(), "govcredit/event/v1\0", 19), 0);
  EXPECT_EQ(in[19], 0x01);  // little endian
  EXPECT_EQ(in[20], 0x01);  // version
}

TEST(BinaryCodec, EveryTruncationIsRejected) {
  Bytes wire = encode_wire(first_of("record.submitted"));
  for (std::size_t n = 0; n < wire.size(); ++n) {
    Bytes cut(wire.begin(), wire.begin() + static_cast<std::ptrdiff_t>(n));
    EXPECT_NE(decode_reason(cut), Reason::kOk) << "length " << n;
  }
}

TEST(BinaryCodec, TrailingBytesAreRejected) {
  const Event& e = first_of("record.submitted");
  Bytes in = signing_input(e);
  in.push_back(0x00);  // one byte too many before the signature
  in.insert(in.end(), e.signature.bytes.begin(), e.signature.bytes.end());
  EXPECT_EQ(decode_reason(in), Reason::kBinaryMalformed);
}

TEST(BinaryCodec, BadPrefixMarkerVersionAndType) {
  Bytes wire = encode_wire(first_of("agency.registered"));
  Bytes b = wire;
  b[0] = 'G';
  EXPECT_EQ(decode_reason(b), Reason::kBinaryMalformed);
  b = wire;
  b[19] = 0x00;  // big-endian marker
  EXPECT_EQ(decode_reason(b), Reason::kBinaryMalformed);
  b = wire;
  b[20] = 0x02;
  EXPECT_EQ(decode_reason(b), Reason::kVersionUnsupported);
  b = wire;
  b[37 + 8] = 'x';  // "agency.registered" -> "xgency.registered"
  EXPECT_EQ(decode_reason(b), Reason::kTypeUnknown);
}

TEST(BinaryCodec, HostileLengthsNeverAllocate) {
  Bytes wire = encode_wire(first_of("agency.registered"));
  // payload.name_zh starts at 150 (see WORKED_EXAMPLE.md).
  Bytes b = wire;
  put_u64(b, 150, 0xFFFFFFFFFFFFFFFFULL);
  EXPECT_EQ(decode_reason(b), Reason::kFieldTooLong);
  b = wire;
  put_u64(b, 150, 120);  // within the field limit but past the end of the input
  EXPECT_EQ(decode_reason(b), Reason::kBinaryMalformed);
  b = wire;
  put_u64(b, 37, 1ULL << 40);  // the type string
  EXPECT_EQ(decode_reason(b), Reason::kFieldTooLong);
}

TEST(BinaryCodec, PresenceFlagMustBeZeroOrOne) {
  Bytes wire = encode_wire(first_of("agency.registered"));
  Bytes b = wire;
  b[268] = 0x02;  // payload.district
  EXPECT_EQ(decode_reason(b), Reason::kBinaryMalformed);
}

TEST(BinaryCodec, OversizeEventIsRejectedBeforeDecoding) {
  Bytes big(kMaxWireEventBytes + 1, 0);
  EXPECT_EQ(decode_reason(big), Reason::kEventTooLarge);
}

TEST(BinaryCodec, InvalidUtf8AndControlCharactersInText) {
  Event e = first_of("record.submitted");
  std::get<RecordSubmitted>(e.payload).title = "bad \xC0\xAF";
  EXPECT_EQ(decode_reason(encode_wire(e)), Reason::kUtf8Invalid);
  std::get<RecordSubmitted>(e.payload).title = std::string("nul\0inside", 10);
  EXPECT_EQ(decode_reason(encode_wire(e)), Reason::kTextControlChar);
  std::get<RecordSubmitted>(e.payload).title = "new\nline";  // title is single-line
  EXPECT_EQ(decode_reason(encode_wire(e)), Reason::kTextControlChar);
  std::get<RecordSubmitted>(e.payload).title = "ok";
  std::get<RecordSubmitted>(e.payload).summary = "multi\nline\tok";
  EXPECT_EQ(decode_reason(encode_wire(e)), Reason::kOk);
}

// The sentence names the field, the list item and the member (built without allocating).
TEST(BinaryCodec, MessagesNameTheItemAndTheMember) {
  Event e = first_of("record.submitted");
  auto& p = std::get<RecordSubmitted>(e.payload);
  ASSERT_FALSE(p.evidence.empty());
  while (p.evidence.size() < 12) p.evidence.push_back(p.evidence[0]);
  p.evidence[11].uri = std::string("tab\tinside");
  auto r = decode_wire(encode_wire(e));
  ASSERT_FALSE(r);
  EXPECT_EQ(r.status().reason(), Reason::kTextControlChar);
  EXPECT_EQ(r.status().message(), "payload.evidence[11].uri contains the control character 0x09");
  e = first_of("record.submitted");
  e.issuer.value = "Not An Id";
  r = decode_wire(encode_wire(e));
  ASSERT_FALSE(r);
  EXPECT_EQ(r.status().message(), "issuer 'Not An Id' is not a principal id");
}

// Decoding into an event (the rebuild decodes each entry where it stays) sets every field,
// whatever the event held before: here a batch-signed event of another type first.
TEST(BinaryCodec, LoggedWireDecodeIntoAnEventReplacesWhatItHeld) {
  std::vector<Event> batch{first_of("record.verified"), first_of("record.verified")};
  sign_batch(batch, *PrivateKey::generate());
  ASSERT_TRUE(batch[1].batch);
  Event out = batch[1];
  for (const auto& e : every_type_world().events) {
    ASSERT_TRUE(decode_logged_wire(encode_wire(e), out)) << e.type_name();
    EXPECT_EQ(out, e) << e.type_name();
    out = batch[1];
  }
  ASSERT_TRUE(decode_logged_wire(encode_wire(batch[0]), out));
  EXPECT_EQ(out, batch[0]);
  Bytes wire = encode_wire(first_of("record.submitted"));
  for (std::size_t n = 0; n < wire.size(); n += 5) {
    Bytes cut(wire.begin(), wire.begin() + static_cast<std::ptrdiff_t>(n));
    EXPECT_EQ(decode_logged_wire(cut, out).reason(), decode_logged_wire(cut).status().reason())
        << "length " << n;
  }
}

// The rebuild's decode of logged entries skips field validation, and nothing else.
TEST(BinaryCodec, LoggedWireDecodeSkipsOnlyValidation) {
  for (const auto& e : every_type_world().events) {
    auto back = decode_logged_wire(encode_wire(e));
    ASSERT_TRUE(back);
    EXPECT_EQ(*back, e);
  }
  Event e = first_of("record.submitted");
  std::get<RecordSubmitted>(e.payload).title = "bad \xC0\xAF";
  EXPECT_EQ(decode_reason(encode_wire(e)), Reason::kUtf8Invalid);
  EXPECT_TRUE(decode_logged_wire(encode_wire(e)));
  Bytes wire = encode_wire(first_of("record.submitted"));
  for (std::size_t n = 0; n < wire.size(); n += 5) {
    Bytes cut(wire.begin(), wire.begin() + static_cast<std::ptrdiff_t>(n));
    EXPECT_FALSE(decode_logged_wire(cut)) << "length " << n;
  }
}

TEST(BinaryCodec, EnumOutsideItsVocabularyIsInvalid) {
  Bytes wire = encode_wire(first_of("agency.registered"));
  Bytes b = wire;
  b[256 + 8] = 'k';  // "city" -> "kity"
  EXPECT_EQ(decode_reason(b), Reason::kFieldInvalid);
}

TEST(Signing, VerifyNamesKeyMismatchAndBadSignature) {
  Event e = first_of("record.submitted");
  PrivateKey signer = demo::key_for(e.issuer);
  EXPECT_TRUE(verify_event_signature(e, signer.public_key()));
  EXPECT_EQ(verify_event_signature(e, demo::key_for(demo::kAuthority).public_key()).reason(),
            Reason::kKeyIdMismatch);
  e.issued_at.ms += 1;
  EXPECT_EQ(verify_event_signature(e, signer.public_key()).reason(), Reason::kSignatureInvalid);
}

}  // namespace
}  // namespace govcredit
