// The demo data set (src/demo): the same bytes in every run on every machine — `govcredit demo`,
// the tests' shards and the benchmark suite's data rest on that — and every event signed by its
// issuer's key of the time (keys rotate inside the data set).
#include <gtest/gtest.h>

#include "govcredit/codec.h"
#include "govcredit/crypto.h"
#include "govcredit/demo.h"
#include "govcredit/encoding.h"

namespace govcredit {
namespace {

// SHA-256 over every event's wire bytes, each preceded by its length.
std::string digest_of(const demo::World& w) {
  Bytes all;
  for (const Event& e : w.events) {
    Bytes wire = encode_wire(e);
    for (int shift = 24; shift >= 0; shift -= 8)
      all.push_back(static_cast<std::uint8_t>(wire.size() >> shift));
    all.insert(all.end(), wire.begin(), wire.end());
  }
  return to_hex(sha256(ByteView(all.data(), all.size())));
}

TEST(Demo, TheSameBytesInEveryRun) {
  // Recorded from the generator that signed one event after another (834ff4c); a change to the
  // data set's content changes them on purpose, anything else must not.
  EXPECT_EQ(digest_of(demo::generate(demo::Options{})),
            "0681df0d264565a62d06798ee64c1548257e1584f592119fe5c911655e018998");
  EXPECT_EQ(digest_of(demo::generate(demo::Options{.seed = 3, .records = 2000})),
            "0a77c9dc0abdbae792c4cab81a0e030578f9a1050650cb48d159c1f822533b92");
  EXPECT_EQ(digest_of(demo::every_type()),
            "93c2f79f45362bf20bb3a0ce8864b81f1c3d1324360ad9ae34eac8b7a00c4727");
}

TEST(Demo, EveryEventIsSignedByItsIssuersKeyOfTheTime) {
  const demo::World w = demo::generate(demo::Options{.seed = 3, .records = 2000});
  ASSERT_GT(w.events.size(), 8000u);
  std::size_t rotated = 0;
  for (const Event& e : w.events) {
    SCOPED_TRACE(to_hex(e.id));
    const PrivateKey first = demo::key_for(e.issuer), second = demo::key_for(e.issuer, 1);
    const PrivateKey& key = e.key_id == second.key_id() ? second : first;
    rotated += &key == &second;
    EXPECT_TRUE(verify_event_signature(e, key.public_key()).ok());
  }
  EXPECT_GT(rotated, 0u);  // the audit source's key rotates inside the data set
}

}  // namespace
}  // namespace govcredit
