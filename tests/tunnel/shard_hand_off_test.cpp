// ShardHandOff: a task runs on the target shard's loop with its community; the queue per shard is
// bounded; a shard that is not attached (or detached) takes nothing and runs nothing.
#include "tunnel/shard_hand_off.h"

#include <chrono>
#include <memory>

#include <gtest/gtest.h>

#include "tests/testing/memory_node.h"
#include "tests/testing/simulation.h"

namespace ringv8::tunnel {
namespace {

using std::chrono::milliseconds;

TEST(ShardHandOff, RunsTasksOnTheTargetWithinItsBound) {
  testing::Simulation sim;
  testing::MemoryNode node(sim.net, *Address::Parse("10.0.0.1:8090"));
  TunnelCommunity community(kPyIpv8TunnelCommunityId, node.my_peer, node.key, *node.endpoint,
                            node.network, *sim.loop);
  ShardHandOff hand_off(2, /*max_pending=*/2);
  int ran = 0;
  auto task = [&](TunnelCommunity& owner) {
    EXPECT_EQ(&owner, &community);
    ++ran;
  };
  EXPECT_FALSE(hand_off.Post(1, task));  // Not attached yet.
  EXPECT_FALSE(hand_off.Post(2, task));  // No such shard.
  hand_off.Attach(1, *sim.loop, community);
  EXPECT_TRUE(hand_off.Post(1, task));
  EXPECT_TRUE(hand_off.Post(1, task));
  EXPECT_FALSE(hand_off.Post(1, task));  // Two wait already.
  EXPECT_EQ(ran, 0);                     // Tasks run on the loop, not in Post.
  sim.RunFor(milliseconds(1));
  EXPECT_EQ(ran, 2);
  EXPECT_TRUE(hand_off.Post(1, task));  // The queue drained.
  hand_off.Detach(1);
  EXPECT_FALSE(hand_off.Post(1, task));
  sim.RunFor(milliseconds(1));
  EXPECT_EQ(ran, 2);  // Queued before Detach: dropped, not run on a community that left.
}

TEST(ShardHandOff, SetShardRefusesAnIndexOutOfRange) {
  testing::Simulation sim;
  testing::MemoryNode node(sim.net, *Address::Parse("10.0.0.1:8090"));
  TunnelCommunity community(kPyIpv8TunnelCommunityId, node.my_peer, node.key, *node.endpoint,
                            node.network, *sim.loop);
  EXPECT_THROW(community.SetShard(2, 2, {}), std::invalid_argument);
  EXPECT_THROW(community.SetShard(0, 0, {}), std::invalid_argument);
  EXPECT_THROW(ShardHandOff(0), std::invalid_argument);
}

}  // namespace
}  // namespace ringv8::tunnel
