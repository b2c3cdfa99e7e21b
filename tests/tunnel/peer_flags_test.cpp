// Peer flags in the extra_bytes of tunnel introductions (tunnel spec 1.3): py-ipv8's signed
// introductions with flags (tunnel-vectors.json introductions[]) decode to their flags and
// re-encode byte for byte; a TunnelCommunity puts its own flags in every introduction it sends
// and keeps the flags of the peers it hears from.
#include <gtest/gtest.h>

#include "tests/testing/memory_node.h"
#include "tests/testing/simulation.h"
#include "tests/testing/vectors.h"
#include "tunnel/tunnel_community.h"
#include "wire/hex.h"
#include "wire/packet.h"

namespace ringv8::tunnel {
namespace {

using nlohmann::json;
using ::ringv8::testing::Hex;
using ::ringv8::testing::TunnelVectors;

// Decodes the introduction and encodes it again; returns its extra_bytes.
template <typename P>
std::vector<uint8_t> RoundTrip(const json& intro, const wire::PrivateKey& signer) {
  const std::vector<uint8_t> bytes = Hex(intro.at("hex").get<std::string>());
  auto view = wire::ParsePacket(bytes, {.is_signed = true, .has_global_time = true});
  EXPECT_TRUE(view);
  if (!view) return {};
  EXPECT_FALSE(wire::VerifySignature(*view));
  auto payload = wire::DecodePayload<P>(view->payload);
  EXPECT_TRUE(payload);
  if (!payload) return {};
  wire::Prefix prefix;
  std::copy_n(bytes.begin(), prefix.size(), prefix.begin());
  auto again =
      wire::EncodePacketToVector(prefix, signer, intro.at("global_time").get<uint64_t>(), *payload);
  EXPECT_TRUE(again);
  if (again) {
    EXPECT_EQ(wire::ToHex(*again), intro.at("hex").get<std::string>());
  }
  return {payload->extra_bytes.begin(), payload->extra_bytes.end()};
}

TEST(PeerFlagsTest, PyIpv8IntroductionsCarryTheirFlags) {
  RINGV8_REQUIRE_TUNNEL_VECTORS();
  const json& vectors = *TunnelVectors();
  for (const json& intro : vectors.at("introductions")) {
    SCOPED_TRACE(intro.at("name").get<std::string>());
    const wire::PrivateKey signer =
        *wire::PrivateKey::FromBin(Hex(vectors.at("keys")
                                           .at(intro.at("signer").get<std::string>())
                                           .at("private_bin")
                                           .get<std::string>()));
    std::vector<uint8_t> extra;
    switch (intro.at("msg_id").get<int>()) {
      case 234:
        extra = RoundTrip<wire::NewIntroductionRequestPayload>(intro, signer);
        break;
      case 233:
        extra = RoundTrip<wire::NewIntroductionResponsePayload>(intro, signer);
        break;
      case 246:
        extra = RoundTrip<wire::IntroductionRequestPayload>(intro, signer);
        break;
      case 245:
        extra = RoundTrip<wire::IntroductionResponsePayload>(intro, signer);
        break;
      default:
        FAIL() << "unexpected id";
    }
    EXPECT_EQ(wire::ToHex(extra), intro.at("extra_bytes").get<std::string>());
    EXPECT_EQ(ParsePeerFlags(extra), intro.at("peer_flags_value").get<PeerFlags>());
    EXPECT_EQ(EncodePeerFlags(intro.at("peer_flags_value").get<PeerFlags>()),
              (std::array<uint8_t, 2>{extra[0], extra[1]}));
  }
}

TEST(PeerFlagsTest, ParsingFollowsPyIpv8) {
  EXPECT_EQ(ParsePeerFlags({}), PeerFlags{0});
  const uint8_t one[] = {0x01};
  EXPECT_EQ(ParsePeerFlags(one), std::nullopt);  // py-ipv8's parse error: entry unchanged.
  const uint8_t more[] = {0x80, 0x0f, 0xff};
  EXPECT_EQ(ParsePeerFlags(more), PeerFlags{0x800f});  // Extra bytes ignored.
}

struct Tap final : EndpointListener {
  void OnPacket(const Address&, std::span<const uint8_t> datagram) override {
    datagrams.emplace_back(datagram.begin(), datagram.end());
  }
  std::vector<std::vector<uint8_t>> datagrams;
};

TEST(PeerFlagsTest, EveryIntroductionCarriesOwnFlagsAndPeersFlagsAreKept) {
  testing::Simulation sim{TimePoint(std::chrono::seconds(1000))};
  testing::MemoryNode a(sim.net, *Address::Parse("10.0.0.1:8090"));
  testing::MemoryNode b(sim.net, *Address::Parse("10.0.0.2:8090"));
  TunnelSettings relay_only;
  relay_only.peer_flags = kFlagRelay;
  TunnelCommunity ta(kTriblerTunnelCommunityId, a.my_peer, a.key, *a.endpoint, a.network, *sim.loop,
                     {}, relay_only);
  TunnelCommunity tb(kTriblerTunnelCommunityId, b.my_peer, b.key, *b.endpoint, b.network,
                     *sim.loop);
  Tap tap_a, tap_b;
  a.endpoint->AddCatchAllListener(&tap_a);
  b.endpoint->AddCatchAllListener(&tap_b);
  ta.WalkTo(b.address());  // Old style (246/245) first.
  sim.RunFor(std::chrono::milliseconds(100));
  ta.SendIntroductionRequest(*a.network.GetVerifiedByAddress(b.address()));  // New style now.
  sim.RunFor(std::chrono::milliseconds(100));

  int introductions = 0;
  for (auto* tap : {&tap_a, &tap_b}) {
    for (const auto& datagram : tap->datagrams) {
      const uint8_t id = datagram[22];
      if (id != 246 && id != 245 && id != 234 && id != 233) continue;
      ++introductions;
      auto view = wire::ParsePacket(datagram, {.is_signed = true, .has_global_time = true});
      ASSERT_TRUE(view);
      // extra_bytes are the last field before the signature: the 2 bytes before it.
      const size_t end = datagram.size() - 64;
      const PeerFlags expected = tap == &tap_b ? kFlagRelay : kFlagRelay | kFlagSpeedTest;
      EXPECT_EQ(ParsePeerFlags(std::span(datagram).subspan(end - 2, 2)), expected) << int(id);
    }
  }
  EXPECT_EQ(introductions, 4);
  EXPECT_EQ(tb.FlagsOf(*b.network.GetVerifiedByAddress(a.address())), kFlagRelay);
  EXPECT_EQ(ta.FlagsOf(*a.network.GetVerifiedByAddress(b.address())), kFlagRelay | kFlagSpeedTest);
  a.endpoint->RemoveCatchAllListener(&tap_a);
  b.endpoint->RemoveCatchAllListener(&tap_b);
}

}  // namespace
}  // namespace ringv8::tunnel
