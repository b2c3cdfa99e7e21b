#include "overlay/discovery_community.h"

#include <gtest/gtest.h>

#include "ring/memory_endpoint.h"
#include "tests/testing/memory_node.h"
#include "tests/testing/simulation.h"
#include "wire/hex.h"

namespace ringv8::overlay {
namespace {

using std::chrono::milliseconds;

const wire::CommunityId kCustomId = {1,  2,  3,  4,  5,  6,  7,  8,  9,  10,
                                     11, 12, 13, 14, 15, 16, 17, 18, 19, 20};

// A node with DiscoveryCommunity and a second overlay under the same key.
struct DiscoveryNode : ::ringv8::testing::MemoryNode {
  DiscoveryNode(MemoryNetwork& net, const Address& address, uint64_t seed, int max_peers = 30)
      : MemoryNode(net, address) {
    CommunitySettings settings;
    settings.seed = seed;
    settings.max_peers = max_peers;
    discovery = std::make_unique<DiscoveryCommunity>(my_peer, key, *endpoint, network, net.loop(),
                                                     settings);
    custom = MakeCommunity(kCustomId, settings);
  }

  std::unique_ptr<DiscoveryCommunity> discovery;
  std::unique_ptr<Community> custom;
};

class DiscoveryTest : public ::testing::Test {
 protected:
  DiscoveryTest() {
    a_ = std::make_unique<DiscoveryNode>(sim_.net, *Address::Parse("10.9.0.1:8090"), 1);
    b_ = std::make_unique<DiscoveryNode>(sim_.net, *Address::Parse("10.9.0.2:8090"), 2);
  }
  ~DiscoveryTest() override {
    a_.reset();
    b_.reset();
  }
  void Run(Duration d = milliseconds(500)) { sim_.loop->RunFor(d); }

  ::ringv8::testing::Simulation sim_;
  std::unique_ptr<DiscoveryNode> a_, b_;
};

TEST_F(DiscoveryTest, SimilarityExchangeRegistersServicesAcrossOverlays) {
  a_->discovery->WalkTo(b_->address());
  Run();
  // B verified A through Discovery; A's similarity request told B about the custom overlay.
  Peer* a_at_b = b_->network.GetVerifiedByAddress(a_->address());
  ASSERT_NE(a_at_b, nullptr);
  EXPECT_TRUE(b_->network.PeerHasService(*a_at_b, kDiscoveryCommunityId));
  EXPECT_TRUE(b_->network.PeerHasService(*a_at_b, kCustomId));
  // B's similarity response told A the same about B.
  Peer* b_at_a = a_->network.GetVerifiedByAddress(b_->address());
  ASSERT_NE(b_at_a, nullptr);
  EXPECT_TRUE(a_->network.PeerHasService(*b_at_a, kCustomId));
  EXPECT_EQ(a_->custom->GetPeers().size(), 1u);
  EXPECT_EQ(b_->custom->GetPeers().size(), 1u);
  EXPECT_EQ(a_->discovery->stats().total_drops(), 0u);
  EXPECT_EQ(b_->discovery->stats().total_drops(), 0u);
}

TEST_F(DiscoveryTest, PingPongRecordsRoundTrips) {
  sim_.net.SetDefaultLink({.delay = milliseconds(40)});
  a_->discovery->WalkTo(b_->address());
  Run();
  Peer* b_at_a = a_->network.GetVerifiedByAddress(b_->address());
  ASSERT_NE(b_at_a, nullptr);
  for (int i = 0; i < 3; ++i) {
    a_->discovery->SendPing(*b_at_a);
    Run();
  }
  ASSERT_EQ(b_at_a->ping_count(), 3u);
  EXPECT_NEAR(*b_at_a->median_ping(), 0.080, 1e-6);
  EXPECT_EQ(a_->discovery->request_cache().size(), 0u);
}

TEST_F(DiscoveryTest, AnUnansweredPingTimesOut) {
  a_->discovery->WalkTo(b_->address());
  Run();
  Peer* b_at_a = a_->network.GetVerifiedByAddress(b_->address());
  ASSERT_NE(b_at_a, nullptr);
  b_->endpoint->Close();
  a_->discovery->SendPing(*b_at_a);
  EXPECT_EQ(a_->discovery->request_cache().size(), 1u);
  Run(std::chrono::seconds(6));
  EXPECT_EQ(a_->discovery->request_cache().size(), 0u);
  EXPECT_EQ(a_->discovery->request_cache().timeouts(), 1u);
  EXPECT_EQ(b_at_a->ping_count(), 0u);
}

TEST_F(DiscoveryTest, AnswersEveryIntroductionRequestOldStyle) {
  // A new-style-capable peer still gets 245 from DiscoveryCommunity for its 246 (spec 3.9).
  wire::IntroductionRequestPayload request;
  request.destination_address = b_->address();
  request.supports_new_style = true;
  request.identifier = 77;
  wire::PrivateKey stranger = wire::PrivateKey::Generate();
  auto packet =
      *wire::EncodePacketToVector(wire::MakePrefix(kDiscoveryCommunityId), stranger, 77, request);
  struct Capture final : EndpointListener {
    void OnPacket(const Address&, std::span<const uint8_t> d) override {
      ids.push_back(d[wire::kPrefixSize]);
    }
    std::vector<uint8_t> ids;
  } capture;
  a_->endpoint->AddCatchAllListener(&capture);
  (void)a_->endpoint->Send(b_->address(), packet);
  Run();
  ASSERT_FALSE(capture.ids.empty());
  EXPECT_EQ(capture.ids[0], 245);
  Peer* stranger_at_b = b_->network.GetVerifiedByPublicKeyBin(stranger.public_key().bin());
  ASSERT_NE(stranger_at_b, nullptr);
  EXPECT_FALSE(stranger_at_b->new_style_intro);  // 0x20 is ignored here.
  a_->endpoint->RemoveCatchAllListener(&capture);
}

// py-ipv8 drops an unsolicited similarity-response from a new key only when the community has
// more than max_peers peers (`0 <= max_peers < len(get_peers())`), not when it has exactly that
// many.
TEST_F(DiscoveryTest, ASimilarityResponseIsDroppedOnlyAboveMaxPeers) {
  DiscoveryNode c(sim_.net, *Address::Parse("10.9.0.3:8090"), 3, /*max_peers=*/1);
  std::vector<std::unique_ptr<MemoryEndpoint>> senders;
  auto respond = [&](const char* from) {
    EndpointOptions options;
    options.ipv4 = Address::Parse(from);
    senders.push_back(std::move(*sim_.net.Open(options)));
    wire::SimilarityResponsePayload response;
    response.identifier = 1;
    response.preference_list = kDiscoveryCommunityId;
    auto packet = *wire::EncodePacketToVector(wire::MakePrefix(kDiscoveryCommunityId),
                                              wire::PrivateKey::Generate(), 5, response);
    (void)senders.back()->Send(c.address(), packet);
    Run();
  };
  respond("10.9.1.1:8090");  // 0 peers: taken.
  ASSERT_EQ(c.discovery->GetPeers().size(), 1u);
  respond("10.9.1.2:8090");  // Exactly max_peers (1): still taken, as py-ipv8 does.
  EXPECT_EQ(c.discovery->GetPeers().size(), 2u);
  EXPECT_EQ(c.discovery->stats().peer_limit, 0u);
  respond("10.9.1.3:8090");  // More than max_peers: dropped and counted.
  EXPECT_EQ(c.discovery->GetPeers().size(), 2u);
  EXPECT_EQ(c.discovery->stats().peer_limit, 1u);
}

}  // namespace
}  // namespace ringv8::overlay
