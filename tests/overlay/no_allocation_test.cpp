// Parsing, verifying and decoding the discovery messages allocates nothing, and neither does a
// Community answering an introduction-request: counted by replacing the global operator new in
// this test binary.
#include <atomic>
#include <cstdlib>
#include <new>

#include <gtest/gtest.h>

#include "overlay/community.h"
#include "tests/testing/memory_node.h"
#include "tests/testing/simulation.h"
#include "tests/testing/vectors.h"
#include "wire/packet.h"
#include "wire/payloads.h"

namespace {
std::atomic<long> g_allocations{0};
}  // namespace

// The replacements pair malloc with free; GCC cannot see that and warns at the call sites.
#pragma GCC diagnostic ignored "-Wmismatched-new-delete"

void* operator new(std::size_t size) {
  g_allocations.fetch_add(1, std::memory_order_relaxed);  // A count only; no ordering needed.
  if (void* p = std::malloc(size == 0 ? 1 : size)) return p;
  throw std::bad_alloc();
}
void operator delete(void* p) noexcept { std::free(p); }
void operator delete(void* p, std::size_t) noexcept { std::free(p); }

namespace ringv8::overlay {
namespace {

using ::ringv8::testing::Hex;

template <wire::Payload P>
long AllocationsToDecode(const std::vector<uint8_t>& wire) {
  const long before = g_allocations.load();
  auto decoded = wire::DecodePacket<P>(wire);
  const long after = g_allocations.load();
  EXPECT_TRUE(decoded) << decoded.error().message();
  return after - before;
}

TEST(NoAllocation, DecodingDiscoveryMessagesAllocatesNothing) {
  // Spec 11.4 P1 (246), P2 (234), P3 (245), P5 (250), P9 (similarity request), P11 (ping).
  auto p1 =
      Hex("00027e313685c1912a141279f8248fc8db5899c5df5af6004a4c69624e61434c504b3aa4e09292b651c278b9"
          "772c569f5fa9bb13d906b46ab68c9df9dc2b4409f8a2098a88e3dd7409f195fd52db2d3cba5d72ca6709bf1d"
          "94121bf3748801b40f6f5c0000000000000001020202021b58c0a8010a1f9a010101011f9a010001b63b2a31"
          "46fad48ff8d6b0b4d83f813d8707f826a69fd30531dd4bd5e55cc7fce464ce1993f3c67c1c3c0e056b1ebe05"
          "7885ae3fc77d74b37dc914c173e72106");
  auto p2 =
      Hex("00027e313685c1912a141279f8248fc8db5899c5df5aea004a4c69624e61434c504b3aa4e09292b651c278b9"
          "772c569f5fa9bb13d906b46ab68c9df9dc2b4409f8a2098a88e3dd7409f195fd52db2d3cba5d72ca6709bf1d"
          "94121bf3748801b40f6f5c000000000000000201020202021b5801c0a8010a1f9a01010101011f9a000200ad"
          "9b625a70eaf11fe72c9511a9bf880e8e6105b731dc0892064afb1a2fb1e67a617e7022a74ab1c823b44355c2"
          "fe6277beaf88d628168accb4ff2899f2f8470a");
  auto p3 =
      Hex("00027e313685c1912a141279f8248fc8db5899c5df5af5004a4c69624e61434c504b3ace8d3ad1ccb633ec7b"
          "70c17814a5c76ecd029685050d344745ba05870e587d598139770ea87d175f56a35466c34c7ecccb8d8a91b4"
          "ee37a25df60f5b8fc9b3940000000000000001010101011f9a0a0000051b58020202021b5800000000000000"
          "0000000000100001df2c61cddd9406b8e10f3c0f9fa6923d5449b8fe38fb9e53c38aa3e0f25ed10a2c159181"
          "81132b725f832d08c373da0269e8ae0900fb991753b332bbbaa7bb06");
  auto p5 = Hex(
      "00027e313685c1912a141279f8248fc8db5899c5df5afa0000000000000003c0a8010a1f9a010101011f9a0007");
  auto p9 =
      Hex("00027e313685c1912a141279f8248fc8db5899c5df5a01004a4c69624e61434c504b3aa4e09292b651c278b9"
          "772c569f5fa9bb13d906b46ab68c9df9dc2b4409f8a2098a88e3dd7409f195fd52db2d3cba5d72ca6709bf1d"
          "94121bf3748801b40f6f5c00000000000000050005c0a8010a1f9a010101011f9a007e313685c1912a141279"
          "f8248fc8db5899c5df5a99d71d6248889d2cdd91ab4f8d04fbbd5861b10b01260985c85c4581f0753f98ad00"
          "818eb85850fd471a68bb1c0fa120887aefc8182d8bd1f64dea9394a1e205");
  auto p11 = Hex("00027e313685c1912a141279f8248fc8db5899c5df5a0300000000000000060006");

  // Warm up once (libsodium's one-time initialisation may allocate).
  (void)AllocationsToDecode<wire::IntroductionRequestPayload>(p1);

  EXPECT_EQ(AllocationsToDecode<wire::IntroductionRequestPayload>(p1), 0);
  EXPECT_EQ(AllocationsToDecode<wire::NewIntroductionRequestPayload>(p2), 0);
  EXPECT_EQ(AllocationsToDecode<wire::IntroductionResponsePayload>(p3), 0);
  EXPECT_EQ(AllocationsToDecode<wire::PunctureRequestPayload>(p5), 0);
  EXPECT_EQ(AllocationsToDecode<wire::SimilarityRequestPayload>(p9), 0);
  EXPECT_EQ(AllocationsToDecode<wire::PingPayload>(p11), 0);
}

TEST(NoAllocation, EncodingIntoABufferAllocatesNothing) {
  std::vector<uint8_t> bin(74, 0x01);
  std::copy(wire::kLibNaClPrivatePrefix.begin(), wire::kLibNaClPrivatePrefix.end(), bin.begin());
  auto key = *wire::PrivateKey::FromBin(bin);
  std::vector<uint8_t> out(wire::kMaxDatagramSize);
  wire::IntroductionRequestPayload request;
  request.identifier = 1;
  const long before = g_allocations.load();
  auto packet = wire::EncodePacket(std::span<uint8_t>(out), wire::MakePrefix(wire::CommunityId{}),
                                   key, 1, request);
  EXPECT_EQ(g_allocations.load() - before, 0);
  EXPECT_TRUE(packet);
}

// Allocations of `round()` once the containers it touches have reached their size.
template <typename F>
long SteadyAllocations(F&& round) {
  for (int i = 0; i < 8; ++i) round();  // Warm up: first contact, hash tables, timer heap.
  const long before = g_allocations.load();
  round();
  return g_allocations.load() - before;
}

TEST(NoAllocation, AnsweringAnIntroductionRequestAllocatesNothing) {
  ::ringv8::testing::Simulation sim;
  ::ringv8::testing::MemoryNode node(sim.net, *Address::Parse("10.3.0.1:8090"));
  auto community = node.MakeCommunity(wire::CommunityId{0x33});
  EndpointOptions options;
  options.ipv4 = Address::Parse("10.3.0.2:8090");
  auto requester = std::move(*sim.net.Open(options));
  const wire::PrivateKey key = ::ringv8::testing::SpecKey(2);
  std::vector<std::vector<uint8_t>> requests;  // Signed 246s, built before counting.
  for (uint16_t i = 1; i <= 16; ++i) {
    wire::IntroductionRequestPayload request;
    request.destination_address = node.address();
    request.source_lan_address = *options.ipv4;
    request.source_wan_address = *options.ipv4;
    request.identifier = i;
    requests.push_back(
        *wire::EncodePacketToVector(wire::MakePrefix(community->community_id()), key, i, request));
  }
  size_t next = 0;
  // One round: the 246 crosses the simulated network, the community answers with a signed 245,
  // which crosses back (the requester has no listener: counted as an unknown prefix).
  auto answered = [&] {
    (void)requester->Send(node.address(), requests[next++ % requests.size()]);
    sim.RunFor(std::chrono::milliseconds(10));
  };
  // The simulator's own cost: the same two transmissions without a community in between.
  std::vector<uint8_t> reply(200, 0);
  auto simulator_only = [&] {
    (void)requester->Send(*Address::Parse("10.3.0.9:1"), reply);  // Unbound: just transmitted.
    (void)node.endpoint->Send(*options.ipv4, reply);
    sim.RunFor(std::chrono::milliseconds(10));
  };
  const uint64_t responses_before = node.endpoint->stats().packets_out.value();
  const long with_community = SteadyAllocations(answered);
  const long simulator = SteadyAllocations(simulator_only);
  EXPECT_EQ(node.endpoint->stats().packets_out.value() - responses_before, 9u + 9u)
      << "each request was answered";
  EXPECT_EQ(community->stats().total_drops(), 0u);
  EXPECT_EQ(with_community - simulator, 0) << "the community allocated while answering";
}

}  // namespace
}  // namespace ringv8::overlay
