// Randomised properties over a generated history: encode/decode and JSON round trips, sign and
// verify, and "any single-byte change is rejected".
#include <gtest/gtest.h>

#include "govcredit/codec.h"
#include "govcredit/demo.h"
#include "govcredit/registry.h"
#include "support/support.h"

namespace govcredit {
namespace {

const demo::World& generated_world() {
  static const demo::World w = demo::generate(demo::Options{.seed = 99, .records = 60});
  return w;
}

TEST(Property, WireAndJsonRoundTripsForEveryGeneratedEvent) {
  ASSERT_GT(generated_world().events.size(), 200u);
  for (const auto& e : generated_world().events) {
    Bytes wire = encode_wire(e);
    auto back = decode_wire(wire);
    ASSERT_TRUE(back) << back.status().to_string();
    EXPECT_EQ(*back, e);
    auto from_json = event_from_json(event_to_json_text(e));
    ASSERT_TRUE(from_json) << from_json.status().to_string();
    EXPECT_EQ(*from_json, e);
  }
}

TEST(Property, EveryGeneratedEventIsAcceptedInOrder) {
  Registry reg;
  for (const auto& e : generated_world().events) {
    Bytes wire = encode_wire(e);
    Status s = reg.check(e, ByteView(wire.data(), wire.size() - 64));
    ASSERT_TRUE(s) << e.type_name() << " by " << e.issuer.value << ": " << s.to_string();
    reg.apply(e);
  }
}

// Flip every byte of a sample of events, one at a time: the result never decodes to an event
// that verifies under the registry.
TEST(Property, AnySingleByteChangeIsRejected) {
  Registry reg;
  std::uint64_t rng = 12345;
  std::size_t flips = 0;
  const std::size_t stride = testing::exhaustive_stride();
  for (std::size_t i = 0; i < generated_world().events.size(); ++i) {
    const Event& e = generated_world().events[i];
    if (i % 7 == 3) {
      Bytes wire = encode_wire(e);
      for (std::size_t pos = (i / 7) % stride; pos < wire.size(); pos += stride) {
        rng = rng * 6364136223846793005ULL + 1442695040888963407ULL;
        Bytes b = wire;
        b[pos] ^= static_cast<std::uint8_t>((rng >> 33) % 255 + 1);  // never a no-op
        auto d = decode_wire(b);
        if (d) {
          Status s = reg.check(*d, ByteView(b.data(), b.size() - 64));
          ASSERT_FALSE(s) << "byte " << pos << " of " << e.type_name() << " changed undetected";
        }
        ++flips;
      }
    }
    reg.apply(e);
  }
  EXPECT_GT(flips, 5000u / stride);
}

}  // namespace
}  // namespace govcredit
