// The tracker on the in-memory network with a virtual clock: introductions stay within a
// community, liveness pings remove silent peers, the token bucket holds, the table is bounded.
#include "tracker/tracker.h"

#include <gtest/gtest.h>

#include "overlay/dispersy_bootstrapper.h"
#include "tests/tracker/tracker_fixture.h"

namespace ringv8::tracker {
namespace {

using ::ringv8::testing::MemoryNode;
using std::chrono::milliseconds;
using std::chrono::seconds;

using TrackerTest = TrackerFixture;

TEST_F(TrackerTest, IntroducesPeersOfTheSameCommunityOnly) {
  StartTracker();
  auto a1 = Node("10.0.1.1:8090", 1), a2 = Node("10.0.1.2:8090", 2), b1 = Node("10.0.2.1:8090", 3);
  auto a1x = a1->MakeCommunity(kX), a2x = a2->MakeCommunity(kX), b1y = b1->MakeCommunity(kY);
  const Address tracker = tracker_node_.address();
  a1x->WalkTo(tracker);
  sim_.loop->RunFor(milliseconds(100));
  a2x->WalkTo(tracker);
  b1y->WalkTo(tracker);
  sim_.loop->RunFor(milliseconds(100));

  EXPECT_EQ(tracker_->stats().requests, 3u);
  EXPECT_EQ(tracker_->stats().responses, 3u);
  EXPECT_EQ(tracker_->stats().introductions, 1u);  // a1 to a2; nobody for a1 (first) or b1.
  EXPECT_EQ(table_->PeersIn(kX), 2u);
  EXPECT_EQ(table_->PeersIn(kY), 1u);
  EXPECT_EQ(table_->stats().services, 2u);
  // a2 learned a1's address for X; b1 learned nothing.
  auto walkable = a2x->GetWalkableAddresses();
  EXPECT_NE(std::find(walkable.begin(), walkable.end(), a1->address()), walkable.end());
  EXPECT_TRUE(b1y->GetWalkableAddresses().empty() ||
              b1y->GetWalkableAddresses() == std::vector<Address>{tracker});
  // Without a bootstrapper's blacklist, a2 verifies the tracker from its signed response, as
  // py-ipv8 does (DispersyBootstrapper blacklists its trackers; tracker_cli_test has that case).
  EXPECT_EQ(a2x->GetPeers().size(), 1u);
  // a1 got the puncture request and punctured towards a2.
  EXPECT_GT(a1->endpoint->stats().packets_out.value(), 1u);
}

TEST_F(TrackerTest, SilentPeersArePingedAndRemoved) {
  StartTracker();
  auto alive = Node("10.0.1.1:8090", 1), silent = Node("10.0.1.2:8090", 2);
  auto alive_x = alive->MakeCommunity(kX), silent_x = silent->MakeCommunity(kX);
  alive_x->WalkTo(tracker_node_.address());
  silent_x->WalkTo(tracker_node_.address());
  sim_.loop->RunFor(milliseconds(100));
  ASSERT_EQ(table_->PeersIn(kX), 2u);
  silent_x.reset();
  silent->endpoint->Close();  // Gone without a word.

  // The first pings come within 1.5 ping intervals (15 s), the timeout 5 s later.
  sim_.loop->RunFor(seconds(21));
  EXPECT_GE(tracker_->stats().pings, 2u);
  EXPECT_GE(tracker_->stats().ping_answers, 1u);
  EXPECT_EQ(tracker_->stats().ping_timeouts, 1u);
  EXPECT_EQ(tracker_->stats().forgotten, 1u);
  EXPECT_EQ(table_->PeersIn(kX), 1u);
  EXPECT_TRUE(table_->Contains(kX, alive->key.mid()));
  EXPECT_FALSE(table_->Contains(kX, silent->key.mid()));
  EXPECT_EQ(tracker_->local_peers(), 1u);

  sim_.loop->RunFor(seconds(60));  // The live one keeps answering.
  EXPECT_TRUE(table_->Contains(kX, alive->key.mid()));
  EXPECT_GE(tracker_->stats().ping_answers, 6u);
}

// py-ipv8's tracker is a Community: its responses and liveness pings carry its estimated LAN
// address with its port (a ping used to say 0.0.0.0:0).
TEST_F(TrackerTest, ResponsesAndPingsCarryTheTrackersAddress) {
  StartTracker();
  auto peer = Node("10.0.1.1:8090", 1);
  auto peer_x = peer->MakeCommunity(kX);
  struct Capture final : EndpointListener {
    void OnPacket(const Address&, std::span<const uint8_t> d) override {
      if (d[wire::kPrefixSize] == wire::IntroductionResponsePayload::kMessageId) {
        auto decoded = wire::DecodePacket<wire::IntroductionResponsePayload>(d);
        if (decoded) response = decoded->payload.source_lan_address;
        if (decoded) response_wan = decoded->payload.source_wan_address;
      }
      if (d[wire::kPrefixSize] == wire::IntroductionRequestPayload::kMessageId) {
        auto decoded = wire::DecodePacket<wire::IntroductionRequestPayload>(d);
        if (decoded) ping = decoded->payload.source_lan_address;
        if (decoded) ping_wan = decoded->payload.source_wan_address;
      }
    }
    Address response, response_wan, ping, ping_wan;
  } capture;
  peer->endpoint->AddCatchAllListener(&capture);
  peer_x->WalkTo(tracker_node_.address());
  sim_.loop->RunFor(seconds(16));  // A first ping comes within 1.5 ping intervals.
  peer->endpoint->RemoveCatchAllListener(&capture);
  ASSERT_GE(tracker_->stats().pings, 1u);
  EXPECT_EQ(capture.response, tracker_node_.address());
  EXPECT_EQ(capture.response_wan, tracker_node_.address());
  EXPECT_EQ(capture.ping, tracker_node_.address());
  EXPECT_EQ(capture.ping_wan, tracker_node_.address());
}

// Punctures and DiscoveryCommunity's similarity-requests are what peers normally send a tracker:
// counted as ignored, not as unknown-message drops; other ids still are.
TEST_F(TrackerTest, PuncturesAndSimilarityRequestsAreIgnoredNotDropped) {
  StartTracker();
  auto peer = Node("10.0.1.1:8090", 1);
  const wire::PrivateKey& key = peer->key;
  wire::PuncturePayload puncture;
  puncture.identifier = 1;
  wire::SimilarityRequestPayload similarity;
  similarity.identifier = 2;
  similarity.preference_list = wire::kDiscoveryCommunityId;
  for (const auto& packet :
       {*wire::EncodePacketToVector(wire::MakePrefix(kX), key, 1, puncture),
        *wire::EncodePacketToVector(wire::MakePrefix(wire::kDiscoveryCommunityId), key, 2,
                                    similarity),
        *wire::EncodePacketToVector(wire::MakePrefix(kX), key, 3, similarity)}) {
    (void)peer->endpoint->Send(tracker_node_.address(), packet);
  }
  sim_.loop->RunFor(milliseconds(100));
  EXPECT_EQ(tracker_->stats().ignored, 2u);
  EXPECT_EQ(tracker_->stats().unknown_message, 1u);  // Id 1 outside DiscoveryCommunity.
}

TEST_F(TrackerTest, PingsOfPeersThatRegisteredTogetherAreSpread) {
  StartTracker();
  constexpr int kPeers = 100;
  std::vector<std::unique_ptr<MemoryNode>> nodes;
  std::vector<std::unique_ptr<overlay::Community>> communities;
  for (int i = 0; i < kPeers; ++i) {
    const std::string address = "10.0.3." + std::to_string(i + 1) + ":8090";
    nodes.push_back(Node(address, static_cast<uint8_t>(i + 1)));
    communities.push_back(nodes.back()->MakeCommunity(kX));
    communities.back()->WalkTo(tracker_node_.address());  // All in the same instant.
  }
  sim_.loop->RunFor(milliseconds(100));
  ASSERT_EQ(tracker_->local_peers(), static_cast<size_t>(kPeers));

  // First pings fall within 0.5-1.5 ping intervals (5-15 s): about 10 a second, not 100 at once.
  std::vector<uint64_t> per_second;
  uint64_t seen = 0;
  for (int second = 0; second < 14; ++second) {
    sim_.loop->RunFor(seconds(1));
    per_second.push_back(tracker_->stats().pings - seen);
    seen = tracker_->stats().pings;
  }
  for (int second = 0; second < 4; ++second) EXPECT_EQ(per_second[second], 0u) << second;
  EXPECT_LE(*std::max_element(per_second.begin(), per_second.end()), 25u);
  EXPECT_GE(seen, 80u);
  sim_.loop->RunFor(seconds(8));  // Every peer answers: none is lost.
  EXPECT_EQ(tracker_->stats().ping_timeouts, 0u);
  EXPECT_EQ(tracker_->stats().ping_answers, tracker_->stats().pings);
  EXPECT_EQ(tracker_->local_peers(), static_cast<size_t>(kPeers));
}

TEST_F(TrackerTest, TokenBucketLimitsResponsesPerSource) {
  StartTracker({.responses_per_second = 10, .response_burst = 20});
  auto node = Node("10.0.1.1:8090", 1);
  auto x = node->MakeCommunity(kX);
  for (int i = 0; i < 100; ++i) x->WalkTo(tracker_node_.address());  // One instant.
  sim_.loop->RunFor(milliseconds(100));
  EXPECT_EQ(tracker_->stats().responses, 20u);  // The burst.
  EXPECT_EQ(tracker_->stats().rate_limited, 80u);
  sim_.loop->RunFor(seconds(2));  // The bucket refills.
  for (int s = 0; s < 10; ++s) {  // 5 per second offered, under the rate: all answered.
    for (int i = 0; i < 5; ++i) x->WalkTo(tracker_node_.address());
    sim_.loop->RunFor(seconds(1));
  }
  EXPECT_EQ(tracker_->stats().responses, 70u);
  EXPECT_EQ(tracker_->stats().rate_limited, 80u);
}

TEST_F(TrackerTest, ForgedAndMalformedRequestsChangeNothing) {
  StartTracker();
  auto node = Node("10.0.1.1:8090", 1);
  auto x = node->MakeCommunity(kX);
  x->WalkTo(tracker_node_.address());
  sim_.loop->RunFor(milliseconds(100));
  const auto& sent = node->endpoint->stats();
  ASSERT_EQ(sent.packets_out.value(), 1u);
  // Replays of a request with one flipped bit each, sent from another address.
  wire::IntroductionRequestPayload request;
  request.destination_address = tracker_node_.address();
  std::vector<uint8_t> packet =
      *wire::EncodePacketToVector(wire::MakePrefix(kY), node->key, 1, request);
  auto other = Node("10.0.9.9:8090", 5);
  for (size_t i = wire::kPrefixSize + 1; i < packet.size(); i += 5) {
    std::vector<uint8_t> bad = packet;
    bad[i] ^= 0x10;
    (void)other->endpoint->Send(tracker_node_.address(), bad);
  }
  sim_.loop->RunFor(milliseconds(100));
  EXPECT_EQ(tracker_->stats().requests, 1u);
  EXPECT_EQ(table_->stats().entries, 1u);
  const uint64_t dropped = static_cast<uint64_t>(StatsSnapshot::Of(tracker_->stats()).Drops());
  EXPECT_EQ(dropped, (packet.size() - wire::kPrefixSize - 1 + 4) / 5);
}

TEST(TrackerTableTest, BoundedPerServiceAndInTotal) {
  TrackerTable table({.max_per_service = 3, .max_entries = 5});
  auto peer = [](uint8_t n, int64_t seen) {
    TrackerPeer p;
    p.mid = {n};
    p.last_seen = TimePoint(seen);
    return p;
  };
  for (uint8_t n = 1; n <= 3; ++n) ASSERT_TRUE(table.Upsert(kX, peer(n, 100 + n)));
  ASSERT_TRUE(table.Upsert(kX, peer(1, 200)));  // Refreshing is not growing.
  ASSERT_TRUE(table.Upsert(kX, peer(4, 300)));  // Full service: the longest silent (2) goes.
  EXPECT_EQ(table.PeersIn(kX), 3u);
  EXPECT_FALSE(table.Contains(kX, wire::Mid{2}));
  EXPECT_EQ(table.stats().evicted_service_full, 1u);

  ASSERT_TRUE(table.Upsert(kY, peer(5, 100)));
  ASSERT_TRUE(table.Upsert(kY, peer(6, 101)));  // 5 entries: full.
  ASSERT_TRUE(table.Upsert(kY, peer(7, 102)));  // Evicts within Y.
  EXPECT_EQ(table.stats().entries, 5u);
  EXPECT_EQ(table.stats().evicted_table_full, 1u);
  EXPECT_FALSE(table.Upsert(wire::CommunityId{0xC3}, peer(8, 103)));  // A new service: refused.
  EXPECT_EQ(table.stats().refused_table_full, 1u);
  EXPECT_EQ(table.stats().services, 2u);

  // PickOther never returns the excluded peer and reaches every other one.
  std::set<uint8_t> picked;
  for (uint64_t r = 0; r < 100; ++r) {
    auto other = table.PickOther(kX, wire::Mid{1}, r);
    ASSERT_TRUE(other);
    EXPECT_NE(other->mid, wire::Mid{1});
    picked.insert(other->mid[0]);
  }
  EXPECT_EQ(picked.size(), 2u);
  EXPECT_TRUE(table.Remove(kY, wire::Mid{6}));
  EXPECT_FALSE(table.Remove(kY, wire::Mid{6}));
  EXPECT_EQ(table.stats().entries, 4u);
}

}  // namespace
}  // namespace ringv8::tracker
