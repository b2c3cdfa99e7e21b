// FlatIdMap against std::unordered_map under a long random sequence of inserts, replacements,
// erases and lookups (tombstones reused, growth and cleaning rehashes), and its bounds.
#include "tunnel/flat_id_map.h"

#include <random>
#include <unordered_map>

#include <gtest/gtest.h>

namespace ringv8::tunnel {
namespace {

TEST(FlatIdMap, BehavesAsAMapUnderRandomOperations) {
  FlatIdMap map;
  std::unordered_map<uint32_t, uint32_t> reference;
  std::mt19937 rng(7);
  // Ids from a small range, so that inserts hit erased ids (tombstones) and existing ones.
  std::uniform_int_distribution<uint32_t> id(0, 5000), op(0, 9), value(0, FlatIdMap::kMaxValue);
  for (int i = 0; i < 200000; ++i) {
    const uint32_t k = id(rng);
    switch (op(rng)) {
      case 0:
      case 1:
      case 2:
      case 3: {
        const uint32_t v = value(rng);
        ASSERT_TRUE(map.Insert(k, v));
        reference[k] = v;
        break;
      }
      case 4:
      case 5:
        ASSERT_EQ(map.Erase(k), reference.erase(k) == 1);
        break;
      default: {
        auto it = reference.find(k);
        ASSERT_EQ(map.Find(k), it == reference.end() ? FlatIdMap::kMissing : it->second) << k;
      }
    }
    ASSERT_EQ(map.size(), reference.size());
  }
  for (const auto& [k, v] : reference) ASSERT_EQ(map.Find(k), v);
  EXPECT_LE(map.MemoryBytes(), 8 * 4 * 8192u);  // At most a quarter full once grown.
}

TEST(FlatIdMap, IdsAnywhereInTheRangeAndValueBounds) {
  FlatIdMap map;
  EXPECT_EQ(map.Find(0), FlatIdMap::kMissing);
  EXPECT_FALSE(map.Erase(0));
  for (uint32_t k : {0u, 1u, 0xFFFFFFFFu, 0xFFFFFFFEu, 0x80000000u}) {
    ASSERT_TRUE(map.Insert(k, k & FlatIdMap::kMaxValue));
  }
  for (uint32_t k : {0u, 1u, 0xFFFFFFFFu, 0xFFFFFFFEu, 0x80000000u}) {
    EXPECT_EQ(map.Find(k), k & FlatIdMap::kMaxValue);
  }
  EXPECT_FALSE(map.Insert(9, FlatIdMap::kMaxValue + 1));
  EXPECT_EQ(map.size(), 5u);
  map.Clear();
  EXPECT_TRUE(map.empty());
  EXPECT_EQ(map.Find(1), FlatIdMap::kMissing);
}

TEST(FlatIdMap, ChurnDoesNotGrowTheTable) {
  FlatIdMap map;
  for (uint32_t k = 0; k < 1000; ++k) ASSERT_TRUE(map.Insert(k, k));
  size_t bytes = 0;
  for (uint32_t round = 1; round < 100; ++round) {  // Old ids go, new ones come.
    for (uint32_t k = 0; k < 1000; ++k) {
      ASSERT_TRUE(map.Erase((round - 1) * 1000 + k));
      ASSERT_TRUE(map.Insert(round * 1000 + k, k));
    }
    if (round == 2) bytes = map.MemoryBytes();
    // Tombstones are cleaned by rehashing in place once the live entries have room.
    if (round > 2) {
      ASSERT_EQ(map.MemoryBytes(), bytes) << "round " << round;
    }
  }
  EXPECT_EQ(map.size(), 1000u);
  EXPECT_LE(bytes, 4 * 1024 * 8u);  // At most four slots per entry.
}

}  // namespace
}  // namespace ringv8::tunnel
