#include <gtest/gtest.h>

#include "overlay/discovery_community.h"
#include "overlay/dispersy_bootstrapper.h"
#include "strategies/edge_walk.h"
#include "strategies/random_churn.h"
#include "strategies/random_walk.h"
#include "tests/testing/memory_node.h"
#include "tests/testing/simulation.h"

namespace ringv8::strategies {
namespace {

using overlay::Community;
using overlay::CommunitySettings;
using overlay::DiscoveryCommunity;
using std::chrono::milliseconds;
using std::chrono::seconds;

struct Node : ::ringv8::testing::MemoryNode {
  Node(MemoryNetwork& net, const Address& address, uint64_t seed) : MemoryNode(net, address) {
    CommunitySettings settings;
    settings.seed = seed;
    discovery = std::make_unique<DiscoveryCommunity>(my_peer, key, *endpoint, network, net.loop(),
                                                     settings);
  }
  std::unique_ptr<DiscoveryCommunity> discovery;
  std::vector<std::unique_ptr<DiscoveryStrategy>> strategies;
};

class StrategiesTest : public ::testing::Test {
 protected:
  StrategiesTest() { sim_.net.SetDefaultLink({.delay = milliseconds(20)}); }

  // `count` nodes that bootstrap through a tracker-like node at 10.20.0.1:6421.
  void MakeNetwork(uint32_t count) {
    nodes_.push_back(std::make_unique<Node>(sim_.net, *Address::Parse("10.20.0.1:6421"), 1));
    Node& hub = *nodes_.back();
    hub.discovery.reset();  // A tracker-like hub: a plain community with no peer limit.
    CommunitySettings unlimited;
    unlimited.max_peers = -1;
    hub_ = hub.MakeCommunity(overlay::kDiscoveryCommunityId, unlimited);
    for (uint32_t i = 0; i < count; ++i) {
      nodes_.push_back(
          std::make_unique<Node>(sim_.net, Address::Ipv4(0x0A150000u + i + 1, 8090), i + 2));
      overlay::DispersyBootstrapperOptions options;
      options.ip_addresses = {*Address::Parse("10.20.0.1:6421")};
      nodes_.back()->discovery->AddBootstrapper(
          std::make_unique<overlay::DispersyBootstrapper>(options));
    }
  }
  // Steps every strategy of every node every 0.5 s (as the scheduler will) for `d`.
  void Walk(Duration d) {
    const TimePoint end = sim_.clock.Now() + d;
    while (sim_.clock.Now() < end) {
      for (auto& node : nodes_) {
        for (auto& strategy : node->strategies) strategy->TakeStep();
      }
      sim_.loop->RunFor(milliseconds(500));
    }
  }

  ::ringv8::testing::Simulation sim_{seconds(1000)};  // Time 0 means "never answered".
  std::vector<std::unique_ptr<Node>> nodes_;
  std::unique_ptr<Community> hub_;
};

TEST_F(StrategiesTest, RandomWalkFindsPeersThroughTheBootstrapNode) {
  MakeNetwork(20);
  for (size_t i = 1; i < nodes_.size(); ++i) {
    nodes_[i]->strategies.push_back(std::make_unique<RandomWalk>(nodes_[i]->discovery.get()));
  }
  Walk(seconds(30));
  for (size_t i = 1; i < nodes_.size(); ++i) {
    EXPECT_GE(nodes_[i]->discovery->GetPeers().size(), 10u) << "node " << i;
  }
  hub_.reset();
}

TEST_F(StrategiesTest, RandomWalkForgetsAddressesThatDoNotAnswer) {
  MakeNetwork(1);
  Node& node = *nodes_[1];
  // A walkable address where nobody listens.
  const Address silent = *Address::Parse("10.99.0.1:1");
  node.network.DiscoverAddress(node.my_peer, silent, overlay::kDiscoveryCommunityId, false);
  RandomWalk walk(node.discovery.get(), {.reset_chance = 0});
  walk.TakeStep();
  EXPECT_EQ(walk.outstanding(), 1u);
  sim_.loop->RunFor(seconds(4));
  walk.TakeStep();  // Past the 3 s timeout: forgotten.
  EXPECT_EQ(node.network.FindAddress(silent), nullptr);
  hub_.reset();
}

TEST_F(StrategiesTest, RandomChurnDropsPeersThatStopAnswering) {
  MakeNetwork(0);
  nodes_.push_back(std::make_unique<Node>(sim_.net, *Address::Parse("10.30.0.1:8090"), 50));
  nodes_.push_back(std::make_unique<Node>(sim_.net, *Address::Parse("10.30.0.2:8090"), 51));
  Node& a = *nodes_[1];
  Node& b = *nodes_[2];
  a.discovery->WalkTo(b.address());
  sim_.loop->RunFor(seconds(1));
  ASSERT_NE(a.network.GetVerifiedByAddress(b.address()), nullptr);
  a.strategies.push_back(std::make_unique<RandomChurn>(a.discovery.get()));
  Walk(seconds(20));  // B answers pings: it stays, and its round trips are measured.
  overlay::Peer* b_at_a = a.network.GetVerifiedByAddress(b.address());
  ASSERT_NE(b_at_a, nullptr);
  EXPECT_GE(b_at_a->ping_count(), 1u);
  b.endpoint->Close();  // B leaves.
  Walk(Seconds(57.5 + 10 + 5));
  EXPECT_EQ(a.network.GetVerifiedByAddress(b.address()), nullptr);
  hub_.reset();
}

TEST_F(StrategiesTest, PeriodicSimilaritySendsAtMostOncePerSecond) {
  MakeNetwork(0);
  nodes_.push_back(std::make_unique<Node>(sim_.net, *Address::Parse("10.31.0.1:8090"), 60));
  nodes_.push_back(std::make_unique<Node>(sim_.net, *Address::Parse("10.31.0.2:8090"), 61));
  Node& a = *nodes_[1];
  Node& b = *nodes_[2];
  a.discovery->WalkTo(b.address());
  sim_.loop->RunFor(seconds(1));
  PeriodicSimilarity similarity(a.discovery.get());
  const uint64_t before = a.endpoint->stats().packets_out.value();
  for (int i = 0; i < 10; ++i) {
    similarity.TakeStep();  // Ten steps within 100 ms: one request.
    sim_.loop->RunFor(milliseconds(10));
  }
  EXPECT_EQ(a.endpoint->stats().packets_out.value() - before, 1u);
  hub_.reset();
}

TEST_F(StrategiesTest, EdgeWalkBuildsEdgesBeyondTheFirstHop) {
  MakeNetwork(30);
  for (size_t i = 1; i < nodes_.size(); ++i) {
    nodes_[i]->strategies.push_back(std::make_unique<RandomWalk>(nodes_[i]->discovery.get()));
  }
  Walk(seconds(20));
  EdgeWalk edges(nodes_[1]->discovery.get(), {.edge_length = 3});
  for (int i = 0; i < 60; ++i) {
    edges.TakeStep();
    sim_.loop->RunFor(milliseconds(500));
  }
  ASSERT_FALSE(edges.complete_edges().empty());
  for (const auto& edge : edges.complete_edges()) EXPECT_GE(edge.size(), 2u);
  hub_.reset();
}

}  // namespace
}  // namespace ringv8::strategies
