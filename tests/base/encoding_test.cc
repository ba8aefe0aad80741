#include "govcredit/encoding.h"

#include <gtest/gtest.h>

namespace govcredit {
namespace {

TEST(Hex, RoundTripsAndRejectsOddOrNonHex) {
  Bytes b{0x00, 0x01, 0xab, 0xff};
  EXPECT_EQ(to_hex(b), "0001abff");
  EXPECT_EQ(*from_hex("0001ABff"), b);
  EXPECT_FALSE(from_hex("abc"));
  EXPECT_FALSE(from_hex("zz"));
  EXPECT_FALSE((fixed_from_hex<EventId>("00")));
}

// FixedBytes compares eight bytes at a time (types.h); its order must stay std::array's
// bytewise order, which the event index and the maps keyed by ids rely on.
TEST(FixedBytes, ComparesAsTheBytesDo) {
  std::vector<std::array<std::uint8_t, 16>> raw;
  std::uint64_t x = 0x9e3779b97f4a7c15ULL;
  for (int i = 0; i < 200; ++i) {
    std::array<std::uint8_t, 16> a{};
    for (auto& b : a) {
      x = x * 6364136223846793005ULL + 1442695040888963407ULL;
      // Few distinct byte values, so that many pairs share a prefix and differ late.
      b = static_cast<std::uint8_t>((x >> 60) < 12 ? 0x80 : (x >> 56));
    }
    raw.push_back(a);
  }
  raw.push_back({});
  raw.push_back(raw.front());
  for (const auto& a : raw)
    for (const auto& b : raw) {
      EventId ea{a}, eb{b};
      Digest da, db;
      std::copy(a.begin(), a.end(), da.bytes.begin());
      std::copy(b.begin(), b.end(), db.bytes.begin() + 16);  // differ in the second half too
      std::copy(a.begin(), a.end(), db.bytes.begin());
      std::copy(b.begin(), b.end(), da.bytes.begin() + 16);
      ASSERT_EQ(ea == eb, a == b);
      ASSERT_EQ(ea <=> eb, a <=> b);
      ASSERT_EQ(da == db, da.bytes == db.bytes);
      ASSERT_EQ(da <=> db, da.bytes <=> db.bytes);
    }
}

TEST(Base64, RoundTripsEveryPaddingLength) {
  for (std::size_t n = 0; n < 10; ++n) {
    Bytes b(n);
    for (std::size_t i = 0; i < n; ++i) b[i] = static_cast<std::uint8_t>(i * 37 + 1);
    auto back = from_base64(to_base64(b));
    ASSERT_TRUE(back) << n;
    EXPECT_EQ(*back, b) << n;
  }
  EXPECT_EQ(to_base64(as_bytes("foobar")), "Zm9vYmFy");
  EXPECT_FALSE(from_base64("Zm9"));
  EXPECT_FALSE(from_base64("Zm9v!mFy"));
  EXPECT_FALSE(from_base64("Zm=vYmFy"));
}

TEST(Time, ParsesAndFormatsRfc3339Utc) {
  auto t = parse_time("2013-08-28T09:00:00Z");
  ASSERT_TRUE(t);
  EXPECT_EQ(t->ms, 1377680400000);
  EXPECT_EQ(format_time(*t), "2013-08-28T09:00:00Z");
  EXPECT_EQ(parse_time("2013-08-28T09:00:00.5Z")->ms, 1377680400500);
  EXPECT_EQ(format_time(Timestamp{1377680400500}), "2013-08-28T09:00:00.500Z");
  EXPECT_EQ(parse_time("1970-01-01T00:00:00Z")->ms, 0);
  EXPECT_EQ(parse_time("2012-02-29T23:59:59.999Z")->ms + 1, parse_time("2012-03-01T00:00:00Z")->ms);
}

TEST(Time, RejectsOffsetsImpossibleDatesAndJunk) {
  for (const char* bad :
       {"2013-08-28T09:00:00+08:00", "2013-08-28 09:00:00Z", "2013-02-29T00:00:00Z",
        "2013-13-01T00:00:00Z", "2013-08-28T24:00:00Z", "1969-12-31T23:59:59Z",
        "2013-08-28T09:00:00.1234Z", "2013-08-28T09:00:00.Z", "2013-08-28", ""})
    EXPECT_FALSE(parse_time(bad)) << bad;
}

TEST(Utf8, AcceptsChineseRejectsOverlongsSurrogatesAndTruncation) {
  EXPECT_TRUE(is_valid_utf8("上海市监察局 ok"));
  EXPECT_TRUE(is_valid_utf8("\xF0\x9F\x98\x80"));
  EXPECT_FALSE(is_valid_utf8("\xC0\xAF"));          // overlong '/'
  EXPECT_FALSE(is_valid_utf8("\xED\xA0\x80"));      // surrogate
  EXPECT_FALSE(is_valid_utf8("\xE4\xB8"));          // truncated
  EXPECT_FALSE(is_valid_utf8("\xF4\x90\x80\x80"));  // > U+10FFFF
  EXPECT_FALSE(is_valid_utf8("\xFF"));
}

TEST(Identifier, FollowsThePattern) {
  EXPECT_TRUE(is_identifier("sh.city.finance"));
  EXPECT_TRUE(is_identifier("0a_b-c"));
  EXPECT_FALSE(is_identifier(""));
  EXPECT_FALSE(is_identifier("_system"));
  EXPECT_FALSE(is_identifier("Sh.city"));
  EXPECT_FALSE(is_identifier("a b"));
  EXPECT_FALSE(is_identifier(std::string(65, 'a')));
  EXPECT_TRUE(is_identifier(std::string(64, 'a')));
}

}  // namespace
}  // namespace govcredit
