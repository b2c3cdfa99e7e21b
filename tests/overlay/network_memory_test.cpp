// Bytes per verified peer in Network at 100,000 peers (malloc's own accounting, deterministic for
// a given build; the sanitizer build has its own allocator and is skipped).
#include <cstdio>
#include <random>

#include <gtest/gtest.h>
#include <malloc.h>

#include "overlay/network.h"

namespace ringv8::overlay {
namespace {

TEST(NetworkMemory, BytesPerVerifiedPeerAtOneHundredThousand) {
#if defined(__SANITIZE_ADDRESS__)
  GTEST_SKIP() << "ASan replaces malloc; measured in the regular build";
#endif
  constexpr uint32_t kPeers = 100000;
  std::mt19937_64 rng(5);
  std::vector<uint8_t> bin(wire::kLibNaClKeyBinSize);
  std::copy(wire::kLibNaClPublicPrefix.begin(), wire::kLibNaClPublicPrefix.end(), bin.begin());
  const ServiceId service{1, 2, 3};

  const size_t before = mallinfo2().uordblks;
  {
    Network network(kPeers * 2);
    for (uint32_t i = 0; i < kPeers; ++i) {
      for (size_t j = 10; j < bin.size(); ++j) bin[j] = static_cast<uint8_t>(rng());
      auto peer = std::make_shared<Peer>(*wire::PublicKey::FromBin(bin),
                                         Address::Ipv4(0x0B000000u + i, 7000), TimePoint(0));
      peer->SetLanAddress(Address::Ipv4(0xC0A80000u + (i & 0xFFFF), 7000));
      ASSERT_NE(network.AddVerifiedPeer(peer), nullptr);
      network.DiscoverServices(*peer, std::span<const ServiceId>(&service, 1));
    }
    ASSERT_EQ(network.verified_count(), kPeers);
    ASSERT_EQ(network.GetPeersForService(service).size(), kPeers);
    const size_t after = mallinfo2().uordblks;
    const double per_peer = static_cast<double>(after - before) / kPeers;
    std::printf("Network: %.0f bytes per verified peer at %u peers\n", per_peer, kPeers);
    RecordProperty("bytes_per_verified_peer", static_cast<int>(per_peer));
    EXPECT_LT(per_peer, 1000.0);  // A regression guard; the figure itself goes in the README.
  }
}

}  // namespace
}  // namespace ringv8::overlay
