#include "overlay/network.h"

#include <string>

#include <gtest/gtest.h>

#include "tests/testing/vectors.h"
#include "wire/hex.h"

namespace ringv8::overlay {
namespace {

using ::ringv8::testing::Hex;

std::shared_ptr<Peer> MakePeer(uint8_t fill, const char* address) {
  std::vector<uint8_t> bin(74, fill);
  std::copy(wire::kLibNaClPublicPrefix.begin(), wire::kLibNaClPublicPrefix.end(), bin.begin());
  return std::make_shared<Peer>(*wire::PublicKey::FromBin(bin), *Address::Parse(address),
                                TimePoint(0));
}

const ServiceId kService{1};

// Spec 11.1 (py-ipv8's test_network.py).
TEST(Network, LoadsPyIpv8Snapshots) {
  const auto snapshot = Hex("0136e23871e14a0146c8b71ded8f01c2742aae557a018f5dfeafa386");
  Network network;
  EXPECT_EQ(network.LoadSnapshot(snapshot), 4u);
  EXPECT_NE(network.FindAddress(*Address::Parse("54.226.56.113:57674")), nullptr);
  EXPECT_NE(network.FindAddress(*Address::Parse("143.93.254.175:41862")), nullptr);
  Network without_first;
  EXPECT_EQ(without_first.LoadSnapshot(wire::Bytes(snapshot).subspan(1)), 0u);
  Network without_last;
  EXPECT_EQ(without_last.LoadSnapshot(wire::Bytes(snapshot).first(snapshot.size() - 1)), 3u);
}

TEST(Network, SnapshotRoundTripsVerifiedPeers) {
  Network network;
  network.AddVerifiedPeer(MakePeer(1, "1.2.3.4:5"));
  network.AddVerifiedPeer(MakePeer(2, "[2001:db8::1]:6"));
  Network other;
  EXPECT_EQ(other.LoadSnapshot(network.Snapshot()), 2u);
}

TEST(Network, VerifiesMergesAndRemovesPeers) {
  Network network;
  auto a = MakePeer(1, "1.1.1.1:1");
  ASSERT_EQ(network.AddVerifiedPeer(a), a.get());
  // The same key from another address merges into the known peer.
  auto again = MakePeer(1, "[::1]:1");
  EXPECT_EQ(network.AddVerifiedPeer(again), a.get());
  EXPECT_EQ(network.GetVerifiedByAddress(*Address::Parse("[::1]:1")), a.get());
  EXPECT_EQ(network.verified_count(), 1u);
  network.DiscoverServices(*a, std::span<const ServiceId>(&kService, 1));
  EXPECT_EQ(network.GetPeersForService(kService).size(), 1u);
  network.RemoveByAddress(*Address::Parse("1.1.1.1:1"));
  EXPECT_EQ(network.verified_count(), 0u);
  EXPECT_TRUE(network.GetPeersForService(kService).empty());
  // Unlike py-ipv8, the key can be verified again.
  EXPECT_NE(network.AddVerifiedPeer(MakePeer(1, "1.1.1.1:1")), nullptr);
}

TEST(Network, ServiceMembershipStaysConsistentWhenPeersLeave) {
  Network network;
  std::vector<std::shared_ptr<Peer>> peers;
  const ServiceId other{2};
  const ServiceId both[] = {kService, other};
  for (uint8_t i = 1; i <= 5; ++i) {
    peers.push_back(MakePeer(i, ("1.1.1." + std::to_string(i) + ":1").c_str()));
    network.AddVerifiedPeer(peers.back());
    network.DiscoverServices(*peers.back(), both);
  }
  network.RemovePeer(*peers[0]);  // Swap-removes from the middle of both service lists.
  network.RemovePeer(*peers[2]);
  ASSERT_EQ(network.GetPeersForService(kService).size(), 3u);
  ASSERT_EQ(network.GetPeersForService(other).size(), 3u);
  for (Peer* p : network.GetPeersForService(kService)) {
    EXPECT_TRUE(network.PeerHasService(*p, other));
    EXPECT_NE(network.GetVerifiedByPublicKeyBin(p->public_key_bin()), nullptr);
  }
  for (size_t i : {1u, 3u, 4u}) network.RemovePeer(*peers[i]);
  EXPECT_TRUE(network.GetPeersForService(kService).empty());
  EXPECT_TRUE(network.GetPeersForService(other).empty());
  EXPECT_EQ(network.verified_count(), 0u);
}

TEST(Network, BlacklistsKeepTrackersAndOurselvesOut) {
  Network network;
  network.AddToBlacklist(*Address::Parse("9.9.9.9:6421"));
  EXPECT_EQ(network.AddVerifiedPeer(MakePeer(1, "9.9.9.9:6421")), nullptr);
  auto me = MakePeer(2, "1.1.1.1:1");
  network.AddBlacklistedMid(me->mid());
  EXPECT_EQ(network.AddVerifiedPeer(me), nullptr);
  // An introduction by a blacklisted responder is still walkable for its service.
  network.DiscoverAddress(MakePeer(1, "9.9.9.9:6421"), *Address::Parse("5.5.5.5:5"), kService,
                          false);
  EXPECT_EQ(network.GetWalkableAddresses(&kService),
            (std::vector<Address>{*Address::Parse("5.5.5.5:5")}));
}

TEST(Network, WalkableAddressesFollowIntroducersAndStyle) {
  Network network;
  auto introducer = MakePeer(1, "1.1.1.1:1");
  network.DiscoverAddress(introducer, *Address::Parse("2.2.2.2:2"), kService, true);
  network.DiscoverAddress(introducer, *Address::Parse("3.3.3.3:3"), std::nullopt, false);
  EXPECT_TRUE(network.IsNewStyle(*Address::Parse("2.2.2.2:2")));
  EXPECT_EQ(network.GetIntroductionsFrom(*introducer).size(), 2u);
  EXPECT_EQ(network.GetWalkableAddresses(&kService).size(), 1u);  // 3.3.3.3 has no service yet.
  network.DiscoverServices(*introducer, std::span<const ServiceId>(&kService, 1));
  EXPECT_EQ(network.GetWalkableAddresses(&kService).size(), 2u);  // Its introducer offers it.
  EXPECT_EQ(network.GetWalkableAddresses(&kService, /*old_style=*/true).size(), 1u);
  // Removing the introducer keeps what it introduced (as py-ipv8 does); the next introduction of
  // those addresses may replace their introducer.
  EXPECT_EQ(network.verified_count(), 1u);
  network.RemovePeer(*introducer);
  EXPECT_EQ(network.verified_count(), 0u);
  EXPECT_EQ(network.GetIntroductionsFrom(*introducer).size(), 2u);
  auto other = MakePeer(2, "4.4.4.4:4");
  network.DiscoverAddress(other, *Address::Parse("2.2.2.2:2"), kService, false);
  EXPECT_EQ(network.FindAddress(*Address::Parse("2.2.2.2:2"))->introducer, other);
  EXPECT_FALSE(network.IsNewStyle(*Address::Parse("2.2.2.2:2")));
}

TEST(Network, TheWalkableTableIsBounded) {
  Network network(/*max_addresses=*/100);
  auto introducer = MakePeer(1, "1.1.1.1:1");
  for (uint32_t i = 0; i < 1000; ++i) {
    network.DiscoverAddress(introducer, Address::Ipv4(0x0C000000u + i, 1), kService, false);
  }
  EXPECT_EQ(network.address_count(), 100u);
  EXPECT_EQ(network.addresses_refused(), 900u);
}

}  // namespace
}  // namespace ringv8::overlay
