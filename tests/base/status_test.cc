#include "govcredit/status.h"

#include <gtest/gtest.h>

#include <set>

namespace govcredit {
namespace {

TEST(Reason, EveryCodeIsUniqueSnakeCaseAndRoundTrips) {
  std::set<std::string_view> seen;
  for (Reason r : all_reasons()) {
    std::string_view c = reason_code(r);
    EXPECT_TRUE(seen.insert(c).second) << c;
    for (char ch : c)
      EXPECT_TRUE((ch >= 'a' && ch <= 'z') || ch == '_' || (ch >= '0' && ch <= '9')) << c;
    EXPECT_EQ(reason_from_code(c), r);
  }
  EXPECT_FALSE(reason_from_code("no_such_code"));
  // Codes are API: spot-check that the names did not change.
  EXPECT_EQ(reason_code(Reason::kSignatureInvalid), "signature_invalid");
  EXPECT_EQ(reason_code(Reason::kEventIdConflict), "event_id_conflict");
}

TEST(Result, HoldsValueOrStatus) {
  Result<int> ok = 5;
  ASSERT_TRUE(ok);
  EXPECT_EQ(*ok, 5);
  Result<int> bad(Reason::kNotFound, "nothing here");
  ASSERT_FALSE(bad);
  EXPECT_EQ(bad.status().code(), "not_found");
  EXPECT_EQ(bad.status().to_string(), "not_found: nothing here");
}

}  // namespace
}  // namespace govcredit
