#include <gtest/gtest.h>

#include "govcredit/kafka.h"

namespace govcredit {
namespace {

// Reference values of Kafka's Java Utils.murmur2 (as used by its default partitioner).
TEST(Partitioner, Murmur2MatchesKafkasJavaImplementation) {
  EXPECT_EQ(murmur2("1"), -1993445489);
  EXPECT_EQ(murmur2("12"), 126087238);
  EXPECT_EQ(murmur2("123"), -267702483);
  EXPECT_EQ(murmur2("1234"), -1614185708);
  EXPECT_EQ(murmur2("12345"), -1188365604);
}

TEST(Partitioner, PartitionIsThePositiveHashModuloTheCount) {
  EXPECT_EQ(partition_for_key("1", 7),
            static_cast<int>((static_cast<std::uint32_t>(-1993445489) & 0x7fffffff) % 7));
  for (int n : {1, 2, 4, 16})
    for (const char* k : {"sh.city.finance", "sh.pudong.gov", "_system"}) {
      int p = partition_for_key(k, n);
      EXPECT_GE(p, 0);
      EXPECT_LT(p, n);
    }
}

}  // namespace
}  // namespace govcredit
