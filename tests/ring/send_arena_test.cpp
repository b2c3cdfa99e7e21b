// SendArena and the send pool on it: datagrams taken one after the other lie back to back, so a
// GSO run coalesces into one iovec (two where it crosses a block); blocks come back once all
// their datagrams did, the last freed first; a full arena refuses and recovers; a datagram
// never written gives its room back; zero-length datagrams keep addresses of their own.
#include "ring/internal/send_arena.h"

#include <cstring>
#include <deque>
#include <vector>

#include <gtest/gtest.h>

#include "ring/internal/send_pool.h"
#include "ring/internal/udp_offload.h"

namespace ringv8::internal {
namespace {

TEST(SendArena, DatagramsTakenInTurnLieBackToBack) {
  SendArena arena(1 << 20);
  std::vector<iovec> iov;
  for (int i = 0; i < 45; ++i) {
    uint8_t* data = arena.Take(1428);  // A relay reserves the cell's size...
    ASSERT_NE(data, nullptr);
    std::memset(data, i, 1400);
    arena.Shrink(data, 1400);  // ...and writes one layer less.
    iov.push_back({data, 1400});
  }
  for (size_t k = 1; k < iov.size(); ++k) {
    EXPECT_EQ(static_cast<uint8_t*>(iov[k - 1].iov_base) + 1400, iov[k].iov_base);
  }
  ASSERT_EQ(CoalesceSegments(iov.data(), iov.size()), 1u);
  EXPECT_EQ(iov[0].iov_len, 45u * 1400);
  const auto* bytes = static_cast<const uint8_t*>(iov[0].iov_base);
  for (int i = 0; i < 45; ++i) EXPECT_EQ(bytes[i * 1400 + 1399], i);
}

TEST(SendArena, CoalesceKeepsApartWhatIsApart) {
  uint8_t a[300], b[300];
  iovec iov[] = {{a, 100}, {a + 100, 100}, {b, 100}, {b + 100, 50}, {a + 200, 100}};
  ASSERT_EQ(CoalesceSegments(iov, 5), 3u);
  EXPECT_EQ(iov[0].iov_base, a);
  EXPECT_EQ(iov[0].iov_len, 200u);
  EXPECT_EQ(iov[1].iov_base, b);
  EXPECT_EQ(iov[1].iov_len, 150u);
  EXPECT_EQ(iov[2].iov_base, a + 200);
  EXPECT_EQ(CoalesceSegments(iov, 0), 0u);
}

TEST(SendArena, ABlockComesBackOnceAllItsDatagramsDidTheLastFreedFirst) {
  SendArena arena(SendArena::kBlockBytes * SendArena::kMinBlocks);
  const size_t per_block = SendArena::kBlockBytes / 2000;
  std::vector<uint8_t*> first, second;
  for (size_t i = 0; i < per_block; ++i) first.push_back(arena.Take(2000));
  for (size_t i = 0; i < per_block; ++i) second.push_back(arena.Take(2000));
  uint8_t* third = arena.Take(2000);  // The third block.
  EXPECT_EQ(arena.blocks_in_use(), 3u);
  for (uint8_t* data : first) arena.Give(data);
  for (size_t i = 0; i + 1 < second.size(); ++i) arena.Give(second[i]);
  EXPECT_EQ(arena.blocks_in_use(), 2u);  // One datagram holds the second block.
  arena.Give(second.back());
  EXPECT_EQ(arena.blocks_in_use(), 1u);
  // Fill the third block: the next is the one freed last (the second), not a fresh one.
  for (size_t i = 1; i < per_block; ++i) EXPECT_EQ(arena.Take(2000), third + i * 2000);
  EXPECT_EQ(arena.Take(2000), second.front());
}

TEST(SendArena, AFullArenaRefusesAndRecovers) {
  SendArena arena(1);  // kMinBlocks blocks.
  ASSERT_EQ(arena.blocks(), SendArena::kMinBlocks);
  std::vector<uint8_t*> taken;
  while (uint8_t* data = arena.Take(SendArena::kBlockBytes)) taken.push_back(data);
  EXPECT_EQ(taken.size(), SendArena::kMinBlocks);
  EXPECT_EQ(arena.Take(1), nullptr);
  arena.Give(taken[1]);
  EXPECT_EQ(arena.Take(100), taken[1]);
}

TEST(SendArena, ADatagramNeverWrittenGivesItsRoomBack) {
  SendArena arena(1 << 20);
  uint8_t* a = arena.Take(1000);
  uint8_t* b = arena.Take(1000);
  arena.Give(b);  // The fill wrote nothing.
  EXPECT_EQ(arena.Take(500), b);
  uint8_t* empty = arena.Take(0);
  arena.Shrink(empty, 0);
  uint8_t* after = arena.Take(10);
  EXPECT_NE(after, empty);  // Zero-length datagrams still have an address of their own.
  arena.Give(empty);        // Not the last: nothing moves.
  EXPECT_EQ(arena.Take(10), after + 10);
  EXPECT_EQ(a + 1000, b);
}

TEST(SendPool, ARunFilledInTurnLeavesFromOneBufferOrTwo) {
  SendPool pool(4096);
  EndpointStats stats;
  std::deque<SendSlot*> queue;
  const Address to = *Address::Parse("127.0.0.1:9");
  for (int round = 0; round < 8; ++round) {
    for (int i = 0; i < 45; ++i) {
      ASSERT_FALSE(FillAndQueue(
          pool, queue, to, 1428,
          [&](std::span<uint8_t> out) {
            std::memset(out.data(), i, 1400);
            return size_t{1400};
          },
          stats));
    }
    ASSERT_EQ(GsoRunLength(queue.begin(), queue.end()), 45u);
    iovec iov[kGsoMaxSegments];
    for (size_t k = 0; k < 45; ++k) iov[k] = queue[k]->iov;
    EXPECT_LE(CoalesceSegments(iov, 45), 2u);  // Two where the run crosses a block.
    for (SendSlot* slot : queue) pool.Release(slot);
    queue.clear();
  }
  EXPECT_EQ(pool.in_use(), 0u);
}

}  // namespace
}  // namespace ringv8::internal
