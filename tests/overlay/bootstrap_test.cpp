#include <algorithm>
#include <thread>

#include <gtest/gtest.h>

#include "overlay/community.h"
#include "overlay/dispersy_bootstrapper.h"
#include "ring/memory_endpoint.h"
#include "tests/testing/memory_node.h"
#include "tests/testing/simulation.h"

namespace ringv8::overlay {
namespace {

using std::chrono::milliseconds;

const wire::CommunityId kId = {9, 9, 9, 9, 9, 9, 9, 9, 9, 9, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10};

TEST(DispersyBootstrapper, DefaultsArePyIpv8s) {
  auto defaults = DispersyBootstrapperOptions::Defaults();
  EXPECT_EQ(defaults.ip_addresses.size(), 13u);
  EXPECT_EQ(defaults.dns_addresses.size(), 7u);
  EXPECT_EQ(defaults.ip_addresses.front(), *Address::Parse("130.161.119.206:6421"));
  EXPECT_EQ(defaults.dns_addresses.back().first, "dispersy4.tribler.org");
  EXPECT_EQ(defaults.bootstrap_timeout, std::chrono::seconds(30));
}

struct Node : ::ringv8::testing::MemoryNode {
  Node(MemoryNetwork& net, const Address& address, int max_peers, uint64_t seed)
      : MemoryNode(net, address) {
    CommunitySettings settings;
    settings.max_peers = max_peers;
    settings.seed = seed;
    community = MakeCommunity(kId, settings);
  }
  std::unique_ptr<Community> community;
};

class BootstrapTest : public ::testing::Test {
 protected:
  ::ringv8::testing::Simulation sim_;
  std::vector<std::unique_ptr<Node>> nodes_;
};

// The tracker pattern: a bootstrap node that is blacklisted (never verified) but introduces
// everyone to everyone.
TEST_F(BootstrapTest, NodesFindEachOtherThroughABlacklistedBootstrapNode) {
  const Address hub_address = *Address::Parse("10.7.0.1:6421");
  nodes_.push_back(std::make_unique<Node>(sim_.net, hub_address, -1, 1));
  std::vector<Node*> nodes;
  for (uint32_t i = 0; i < 20; ++i) {
    nodes_.push_back(
        std::make_unique<Node>(sim_.net, Address::Ipv4(0x0A080000u + i + 1, 7000), 30, i + 2));
    Node* node = nodes_.back().get();
    DispersyBootstrapperOptions options;
    options.ip_addresses = {hub_address};
    node->community->AddBootstrapper(std::make_unique<DispersyBootstrapper>(options));
    nodes.push_back(node);
  }
  for (Node* n : nodes) n->community->GetNewIntroduction();  // No peers: bootstrap.
  sim_.loop->RunFor(milliseconds(10));
  for (int round = 0; round < 6; ++round) {
    for (Node* n : nodes) {
      auto walkable = n->community->GetWalkableAddresses();
      if (!walkable.empty()) n->community->WalkTo(walkable[round % walkable.size()]);
      n->community->GetNewIntroduction();  // As RandomWalk does now and then.
    }
    sim_.loop->RunFor(milliseconds(10));
  }
  for (Node* n : nodes) {
    EXPECT_GE(n->community->GetPeers().size(), 2u);
    EXPECT_TRUE(n->network.IsBlacklisted(hub_address));
    EXPECT_EQ(n->network.GetVerifiedByAddress(hub_address), nullptr);
    EXPECT_TRUE(n->community->bootstrappers()[0]->initialized());
  }
  // Within the bootstrap timeout, bootstrapping again does not walk to the hub again.
  const uint64_t sent = nodes[0]->endpoint->stats().packets_out.value();
  nodes[0]->community->Bootstrap();
  EXPECT_EQ(nodes[0]->endpoint->stats().packets_out.value(), sent);
  sim_.clock.Advance(std::chrono::seconds(31));
  nodes[0]->community->Bootstrap();
  EXPECT_EQ(nodes[0]->endpoint->stats().packets_out.value(), sent + 1);
}

TEST_F(BootstrapTest, NamesResolveOffThePacketPath) {
  nodes_.push_back(std::make_unique<Node>(sim_.net, *Address::Parse("10.7.1.1:7000"), 30, 1));
  Node& node = *nodes_.back();
  DispersyBootstrapperOptions options;
  options.ip_addresses = {*Address::Parse("10.7.1.2:6421")};
  // "localhost" resolves from /etc/hosts, without a DNS query (tests send nothing off this host;
  // a name that fails would ask the resolver). The node runs on a MemoryNetwork.
  options.dns_addresses = {{"localhost", 6000}};
  auto owned = std::make_unique<DispersyBootstrapper>(options);
  DispersyBootstrapper* bootstrapper = owned.get();
  node.community->AddBootstrapper(std::move(owned));
  bootstrapper->Initialize(*node.community);
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  while (bootstrapper->ip_addresses().size() < 2 && std::chrono::steady_clock::now() < deadline) {
    sim_.loop->RunOnce(Duration(0));
    std::this_thread::sleep_for(milliseconds(1));
  }
  ASSERT_EQ(bootstrapper->ip_addresses().size(), 2u);
  EXPECT_EQ(bootstrapper->ip_addresses()[1], *Address::Parse("127.0.0.1:6000"));
  EXPECT_TRUE(node.network.IsBlacklisted(*Address::Parse("127.0.0.1:6000")));
}

}  // namespace
}  // namespace ringv8::overlay
