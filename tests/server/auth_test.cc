// The replay cache of signed requests (auth.h): a nonce is refused while its time could still be
// accepted, forgotten afterwards, and a full cache refuses rather than forgets.
#include <gtest/gtest.h>

#include "govcredit/auth.h"

namespace govcredit::auth {
namespace {

TEST(NonceCache, RefusesAReplayInsideTheWindowAndForgetsAfterIt) {
  NonceCache c;
  const std::int64_t t = 1'800'000'000'000;
  EXPECT_EQ(c.use("k1", "nonce-aaaaaaaaaaaa", t, t), NonceCache::Use::kFirst);
  EXPECT_EQ(c.use("k1", "nonce-aaaaaaaaaaaa", t, t + 1000), NonceCache::Use::kReplayed);
  // The same nonce signed for another time (another bucket) is still the same nonce.
  EXPECT_EQ(c.use("k1", "nonce-aaaaaaaaaaaa", t + 120000, t + 120000), NonceCache::Use::kReplayed);
  // Another key may use it.
  EXPECT_EQ(c.use("k2", "nonce-aaaaaaaaaaaa", t, t), NonceCache::Use::kFirst);
  EXPECT_EQ(c.size(), 2u);
  // Once the signed time is too old to be accepted, the nonce is forgotten (a request carrying
  // it is refused as expired before the cache is asked).
  const std::int64_t later = t + kWindowMs + 2 * 60000 + 1;
  EXPECT_EQ(c.use("k3", "nonce-bbbbbbbbbbbb", later, later), NonceCache::Use::kFirst);
  EXPECT_EQ(c.size(), 1u);
}

TEST(NonceCache, AFullCacheRefusesInsteadOfForgetting) {
  NonceCache c(3);
  const std::int64_t t = 1'800'000'000'000;
  for (int i = 0; i < 3; ++i)
    EXPECT_EQ(c.use("k", "nonce-" + std::to_string(i) + "-xxxxxxxxxx", t, t),
              NonceCache::Use::kFirst);
  EXPECT_EQ(c.use("k", "nonce-9-xxxxxxxxxx", t, t), NonceCache::Use::kFull);
  EXPECT_EQ(c.use("k", "nonce-0-xxxxxxxxxx", t, t), NonceCache::Use::kReplayed);
}

TEST(SigningString, IsTheDocumentedBytes) {
  // docs/API.md §2's example.
  EXPECT_EQ(signing_string("GET", "/v1/agencies/sh.city.finance?as_of=2013-06-30T00:00:00Z",
                           1795959440641, "8f3c0f8a51b44f0f9d6a3c2e1b7a9d10", ""),
            "govcredit-request-v1\nGET\n/v1/agencies/sh.city.finance?as_of=2013-06-30T00:00:00Z\n"
            "1795959440641\n8f3c0f8a51b44f0f9d6a3c2e1b7a9d10\n"
            "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
}

}  // namespace
}  // namespace govcredit::auth
