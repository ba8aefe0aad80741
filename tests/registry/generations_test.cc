// The batch verdicts' bounded memory (src/registry/generations.h): the last `generation` keys
// inserted are always found, and no more than two generations are held.
#include "registry/generations.h"

#include <gtest/gtest.h>

#include <functional>

namespace govcredit {
namespace {

using Map = TwoGenerations<int, int, std::hash<int>>;

TEST(TwoGenerations, TheLastGenerationInsertedIsAlwaysFound) {
  Map m(4);
  for (int i = 0; i < 100; ++i) {
    m.insert_or_assign(i, 10 * i);
    // A map dropped whole when full (the batch verdicts before 2026-12-07) loses the last few
    // right after it drops: it fails here at i = 4.
    for (int back = 0; back < 4 && back <= i; ++back) {
      const int* v = m.find(i - back);
      ASSERT_NE(v, nullptr) << "key " << i - back << " lost after inserting " << i;
      EXPECT_EQ(*v, 10 * (i - back));
    }
    EXPECT_LE(m.size(), 8u);  // two generations at most
  }
  EXPECT_EQ(m.find(0), nullptr);  // long since dropped
}

TEST(TwoGenerations, AKeyInsertedAgainReadsItsNewValue) {
  Map m(2);
  m.insert_or_assign(1, 1);
  m.insert_or_assign(2, 2);
  m.insert_or_assign(3, 3);  // the newer generation {1, 2} becomes the older
  m.insert_or_assign(1, 100);
  ASSERT_NE(m.find(1), nullptr);
  EXPECT_EQ(*m.find(1), 100);
  m.insert_or_assign(1, 101);  // already in the newer generation: replaced, nothing moves
  EXPECT_EQ(*m.find(1), 101);
  ASSERT_NE(m.find(2), nullptr);
  m.clear();
  EXPECT_EQ(m.find(1), nullptr);
  EXPECT_EQ(m.size(), 0u);
}

}  // namespace
}  // namespace govcredit
