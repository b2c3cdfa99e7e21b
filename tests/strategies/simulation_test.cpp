// The deterministic simulation: 50 nodes, each in the same 20 communities plus
// DiscoveryCommunity, bootstrapping through a tracker-like node; RandomWalk (target 20) in every
// community, RandomChurn and PeriodicSimilarity (py-ipv8's default DiscoveryCommunity strategies),
// stepped by one StepScheduler per node on virtual time.
#include "tests/testing/simulation.h"

#include <algorithm>
#include <cstdio>

#include <gtest/gtest.h>

#include "overlay/dispersy_bootstrapper.h"
#include "strategies/random_churn.h"
#include "strategies/random_walk.h"
#include "strategies/step_scheduler.h"
#include "tests/testing/memory_node.h"

namespace ringv8::strategies {
namespace {

using std::chrono::milliseconds;
using std::chrono::seconds;

constexpr int kCommunities = 20;
constexpr int kNodes = 50;
constexpr int kTarget = 20;

wire::CommunityId CommunityNumber(int i) { return {0xC0, static_cast<uint8_t>(i)}; }

struct SimNode : ::ringv8::testing::MemoryNode {
  SimNode(MemoryNetwork& net, const Address& address, const Address& tracker, uint64_t seed)
      : MemoryNode(net, address, ::ringv8::testing::SpecKey(static_cast<uint8_t>(seed))),
        scheduler() {
    overlay::CommunitySettings settings;
    settings.seed = seed;
    discovery = std::make_unique<overlay::DiscoveryCommunity>(my_peer, key, *endpoint, network,
                                                              net.loop(), settings);
    // DiscoveryCommunity's strategies as in py-ipv8's default configuration: the similarity
    // exchange is what tells a node which of its peers serve which of its communities.
    churn = std::make_unique<RandomChurn>(discovery.get());
    similarity = std::make_unique<PeriodicSimilarity>(discovery.get());
    scheduler.Add(churn.get(), -1);
    scheduler.Add(similarity.get(), -1);
    for (int c = 0; c < kCommunities; ++c) {
      settings.seed = seed * 100 + static_cast<uint64_t>(c);
      communities.push_back(MakeCommunity(CommunityNumber(c), settings));
      overlay::DispersyBootstrapperOptions options;
      options.ip_addresses = {tracker};
      communities.back()->AddBootstrapper(std::make_unique<overlay::DispersyBootstrapper>(options));
      walks.push_back(std::make_unique<RandomWalk>(communities.back().get()));
      scheduler.Add(walks.back().get(), kTarget);
    }
  }
  ~SimNode() { scheduler.Detach(); }

  std::unique_ptr<overlay::DiscoveryCommunity> discovery;
  std::unique_ptr<RandomChurn> churn;
  std::unique_ptr<PeriodicSimilarity> similarity;
  std::vector<std::unique_ptr<overlay::Community>> communities;
  std::vector<std::unique_ptr<RandomWalk>> walks;
  StepScheduler scheduler;
};

TEST(Simulation, NodesReachTheirTargetAndChurnRemovesTheOnesThatLeave) {
  ::ringv8::testing::Simulation sim(seconds(1000), /*seed=*/42);
  auto& clock = sim.clock;
  auto& loop = sim.loop;
  MemoryNetwork& net = sim.net;
  net.SetDefaultLink({.delay = milliseconds(15)});

  // The tracker: one unlimited community per id, as a bootstrap server serves every community.
  const Address tracker_address = *Address::Parse("10.200.0.1:6421");
  ::ringv8::testing::MemoryNode tracker(net, tracker_address, ::ringv8::testing::SpecKey(200));
  std::vector<std::unique_ptr<overlay::Community>> tracker_communities;
  overlay::CommunitySettings unlimited;
  unlimited.max_peers = -1;
  unlimited.seed = 7;  // Everything in the simulation is seeded: every run is the same.
  for (int c = 0; c < kCommunities; ++c) {
    tracker_communities.push_back(tracker.MakeCommunity(CommunityNumber(c), unlimited));
  }

  std::vector<std::unique_ptr<SimNode>> nodes;
  for (int i = 0; i < kNodes; ++i) {
    nodes.push_back(
        std::make_unique<SimNode>(net, Address::Ipv4(0x0AC80100u + static_cast<uint32_t>(i), 8090),
                                  tracker_address, static_cast<uint64_t>(i + 1)));
    nodes.back()->scheduler.Attach(*loop);
  }

  // Phase 1: everyone reaches 20 peers in every community within 60 simulated seconds.
  TimePoint reached{0};
  for (int s = 0; s < 60 * 2 && reached == TimePoint(0); ++s) {
    loop->RunFor(milliseconds(500));
    bool all = true;
    for (const auto& node : nodes) {
      for (const auto& community : node->communities) {
        all = all && community->GetPeers().size() >= static_cast<size_t>(kTarget);
      }
    }
    if (all) reached = clock.Now();
  }
  if (reached == TimePoint(0)) {
    size_t min_peers = SIZE_MAX;
    for (const auto& node : nodes) {
      for (const auto& community : node->communities) {
        min_peers = std::min(min_peers, community->GetPeers().size());
      }
    }
    ADD_FAILURE() << "fewest peers in a community: " << min_peers;
  }
  ASSERT_NE(reached, TimePoint(0)) << "not every node reached its target within 60 s";
  std::printf("all %d nodes reached %d peers in %d communities after %.1f s\n", kNodes, kTarget,
              kCommunities, std::chrono::duration<double>(reached - seconds(1000)).count());

  // Phase 2: a third of the nodes leave; RandomChurn removes them everywhere within the drop
  // time plus one churn round (ping_interval).
  std::vector<Address> gone;
  for (int i = 0; i < kNodes / 3; ++i) {
    gone.push_back(nodes.back()->address());
    nodes.pop_back();
  }
  loop->RunFor(Seconds(57.5 + 10.0 + 5.0));
  size_t remaining_references = 0;
  for (const auto& node : nodes) {
    for (const Address& address : gone) {
      if (node->network.GetVerifiedByAddress(address) != nullptr) ++remaining_references;
    }
  }
  EXPECT_EQ(remaining_references, 0u);
  for (const auto& node : nodes) EXPECT_EQ(node->discovery->stats().total_drops(), 0u);
  nodes.clear();
  tracker_communities.clear();
}

}  // namespace
}  // namespace ringv8::strategies
