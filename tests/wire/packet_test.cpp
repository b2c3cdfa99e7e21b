#include "wire/packet.h"

#include <random>
#include <string>

#include <gtest/gtest.h>

#include "tests/testing/memory_node.h"
#include "tests/testing/vectors.h"
#include "wire/hex.h"

namespace ringv8::wire {
namespace {

using ::ringv8::testing::Hex;

using ::ringv8::testing::SpecKey;  // K1, K2, K3 of spec section 11.2.

const CommunityId kDiscoveryId = {0x7e, 0x31, 0x36, 0x85, 0xc1, 0x91, 0x2a, 0x14, 0x12, 0x79,
                                  0xf8, 0x24, 0x8f, 0xc8, 0xdb, 0x58, 0x99, 0xc5, 0xdf, 0x5a};
const CommunityId kWalkId = {0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18, 19};

Address A(const char* text) { return *Address::Parse(text); }

// Spec 11.4 and 11.5: packets made by py-ipv8's packing code.
struct SpecPacket {
  const char* name;
  const char* hex;
};

const SpecPacket kP1 = {
    "P1 246",
    "00027e313685c1912a141279f8248fc8db5899c5df5af6004a4c69624e61434c504b3aa4e09292b651c278b9772c56"
    "9f5fa9bb13d906b46ab68c9df9dc2b4409f8a2098a88e3dd7409f195fd52db2d3cba5d72ca6709bf1d94121bf37488"
    "01b40f6f5c0000000000000001020202021b58c0a8010a1f9a010101011f9a010001b63b2a3146fad48ff8d6b0b4d8"
    "3f813d8707f826a69fd30531dd4bd5e55cc7fce464ce1993f3c67c1c3c0e056b1ebe057885ae3fc77d74b37dc914c1"
    "73e72106"};
const SpecPacket kP2 = {
    "P2 234",
    "00027e313685c1912a141279f8248fc8db5899c5df5aea004a4c69624e61434c504b3aa4e09292b651c278b9772c56"
    "9f5fa9bb13d906b46ab68c9df9dc2b4409f8a2098a88e3dd7409f195fd52db2d3cba5d72ca6709bf1d94121bf37488"
    "01b40f6f5c000000000000000201020202021b5801c0a8010a1f9a01010101011f9a000200ad9b625a70eaf11fe72c"
    "9511a9bf880e8e6105b731dc0892064afb1a2fb1e67a617e7022a74ab1c823b44355c2fe6277beaf88d628168accb4"
    "ff2899f2f8470a"};
const SpecPacket kP3 = {
    "P3 245",
    "00027e313685c1912a141279f8248fc8db5899c5df5af5004a4c69624e61434c504b3ace8d3ad1ccb633ec7b70c178"
    "14a5c76ecd029685050d344745ba05870e587d598139770ea87d175f56a35466c34c7ecccb8d8a91b4ee37a25df60f"
    "5b8fc9b3940000000000000001010101011f9a0a0000051b58020202021b58000000000000000000000000100001df"
    "2c61cddd9406b8e10f3c0f9fa6923d5449b8fe38fb9e53c38aa3e0f25ed10a2c15918181132b725f832d08c373da02"
    "69e8ae0900fb991753b332bbbaa7bb06"};
const SpecPacket kP4 = {
    "P4 233",
    "00027e313685c1912a141279f8248fc8db5899c5df5ae9004a4c69624e61434c504b3ace8d3ad1ccb633ec7b70c178"
    "14a5c76ecd029685050d344745ba05870e587d598139770ea87d175f56a35466c34c7ecccb8d8a91b4ee37a25df60f"
    "5b8fc9b394000000000000000201010101011f9a010a0000051b5801020202021b5801000000000000010000000000"
    "00000200c986ceb56dcbd64480ab45536ee63f7b8dee68b563031d02e5ebd91059ed2f53572149cc60cf9cd6cb5984"
    "b8a8c413e83316bc0ec08db04cfc52214993fb4407"};
const SpecPacket kP5 = {
    "P5 250",
    "00027e313685c1912a141279f8248fc8db5899c5df5afa0000000000000003c0a8010a1f9a010101011f9a0007"};
const SpecPacket kP6 = {"P6 232",
                        "00027e313685c1912a141279f8248fc8db5899c5df5ae8000000000000000401c0a8010a1f"
                        "9a01010101011f9a0007"};
const SpecPacket kP7 = {
    "P7 249",
    "00027e313685c1912a141279f8248fc8db5899c5df5af9004a4c69624e61434c504b3aa4e09292b651c278b9772c56"
    "9f5fa9bb13d906b46ab68c9df9dc2b4409f8a2098a88e3dd7409f195fd52db2d3cba5d72ca6709bf1d94121bf37488"
    "01b40f6f5c0000000000000003c0a8010a1f9a010101011f9a0007d10766f24653acd8999555266601103a90359013"
    "d9dd9b3f00772a0125965f3efdc7cc14183295d8368786ae16bc585c83f9d5c46bbf28acc88fcf2afc72df0f"};
const SpecPacket kP8 = {
    "P8 231",
    "00027e313685c1912a141279f8248fc8db5899c5df5ae7004a4c69624e61434c504b3aa4e09292b651c278b9772c56"
    "9f5fa9bb13d906b46ab68c9df9dc2b4409f8a2098a88e3dd7409f195fd52db2d3cba5d72ca6709bf1d94121bf37488"
    "01b40f6f5c000000000000000401c0a8010a1f9a01010101011f9a00073bab5b71cfa2d3b0f3ee1438965369740891"
    "84782b8d11301a93355fe22c5918b6d84fa1ed647b24c2fb68810bcaac83942818e94b84fd264beb9a32635ba20b"};
const SpecPacket kP9 = {
    "P9 similarity-request",
    "00027e313685c1912a141279f8248fc8db5899c5df5a01004a4c69624e61434c504b3aa4e09292b651c278b9772c56"
    "9f5fa9bb13d906b46ab68c9df9dc2b4409f8a2098a88e3dd7409f195fd52db2d3cba5d72ca6709bf1d94121bf37488"
    "01b40f6f5c00000000000000050005c0a8010a1f9a010101011f9a007e313685c1912a141279f8248fc8db5899c5df"
    "5a99d71d6248889d2cdd91ab4f8d04fbbd5861b10b01260985c85c4581f0753f98ad00818eb85850fd471a68bb1c0f"
    "a120887aefc8182d8bd1f64dea9394a1e205"};
const SpecPacket kP10 = {
    "P10 similarity-response",
    "00027e313685c1912a141279f8248fc8db5899c5df5a02004a4c69624e61434c504b3ace8d3ad1ccb633ec7b70c178"
    "14a5c76ecd029685050d344745ba05870e587d598139770ea87d175f56a35466c34c7ecccb8d8a91b4ee37a25df60f"
    "5b8fc9b394000000000000000504d200017e313685c1912a141279f8248fc8db5899c5df5a8947674eed90c6694b9f"
    "ba8bd4e8ac0c9ee101362b86d44ede2768b8ec383738b145d401f19bb830587dd47fa527159d79d12f598ad8787a1b"
    "0446a8dbe1480d"};
const SpecPacket kP11 = {"P11 ping",
                         "00027e313685c1912a141279f8248fc8db5899c5df5a0300000000000000060006"};
const SpecPacket kP12 = {"P12 pong",
                         "00027e313685c1912a141279f8248fc8db5899c5df5a0400000000000000061234"};
const SpecPacket kP13 = {
    "P13 234 to IPv6",
    "00027e313685c1912a141279f8248fc8db5899c5df5aea004a4c69624e61434c504b3aa4e09292b651c278b9772c56"
    "9f5fa9bb13d906b46ab68c9df9dc2b4409f8a2098a88e3dd7409f195fd52db2d3cba5d72ca6709bf1d94121bf37488"
    "01b40f6f5c00000000000000070320010db8000000000000000000000001232801c0a8010a1f9a01010101011f9a00"
    "07006b50f40847b757fdb527b175de0c8875012de3361403acadc50a39e1e8439f87f1d90cc30929dc4771697ff5e7"
    "666429d9edfae5a13150e38c0afedb03a2810b"};
const SpecPacket kWalk3 = {
    "walk 3: A->B 246",
    "0002000102030405060708090a0b0c0d0e0f10111213f6004a4c69624e61434c504b3aa4e09292b651c278b9772c56"
    "9f5fa9bb13d906b46ab68c9df9dc2b4409f8a2098a88e3dd7409f195fd52db2d3cba5d72ca6709bf1d94121bf37488"
    "01b40f6f5c0000000000000001020202021b58c0a8010a1f9a010101011f9a010001871064536956c8a30ae64937a7"
    "330df8af0fa813b229ab1d6621eadce9cf9d9bbeb65f4a39f7538073c4494ae809453bc5ed57e819da1ca2edf7d2d3"
    "27b61b09"};
const SpecPacket kWalk4 = {
    "walk 4: B->C 250",
    "0002000102030405060708090a0b0c0d0e0f10111213fa0000000000000003020202021b58010101011f9a0001"};
const SpecPacket kWalk5 = {
    "walk 5: B->A 245",
    "0002000102030405060708090a0b0c0d0e0f10111213f5004a4c69624e61434c504b3ace8d3ad1ccb633ec7b70c178"
    "14a5c76ecd029685050d344745ba05870e587d598139770ea87d175f56a35466c34c7ecccb8d8a91b4ee37a25df60f"
    "5b8fc9b3940000000000000002010101011f9a0a0000051b58020202021b58ac100009177003030303177010000164"
    "a1af3a19fced7f4e152624cec2cd42e44a2d55a86c584c91887dbc19cd6d103dd74e3770505d85a663c20060a63205"
    "3c206a4016839131931bdd2f5b74f504"};
const SpecPacket kWalk6 = {
    "walk 6: C->A 249",
    "0002000102030405060708090a0b0c0d0e0f10111213f9004a4c69624e61434c504b3a5dfedd3b6bd47f6fa28ee15d"
    "969d5bb0ea53774d488bdaf9df1c6e0124b3ef22ed4928c628d1c2c6eae90338905995612959273a5c63f93636c146"
    "14ac8737d10000000000000002ac1000091770010101011f9a00016546ff054952f18de3df408ff7764de1b9003e95"
    "9d41edfdb9a5bb60081d73bcfbd1bd652ef40637dcd93268c7badf6a36892b5ce279b1e6c9f6da80b87eb707"};

// A decoded payload with the datagram its byte fields point into.
template <Payload P>
struct Decoded {
  std::vector<uint8_t> wire;  // Moving a vector keeps its buffer, so the spans stay valid.
  P payload;
  const P* operator->() const { return &payload; }
};

// Parses, verifies, decodes as P, and re-encodes with the signer's key: the same bytes.
template <Payload P>
Decoded<P> CheckRoundTrip(const SpecPacket& packet) {
  SCOPED_TRACE(packet.name);
  auto wire = Hex(packet.hex);
  auto decoded = DecodePacket<P>(wire);
  EXPECT_TRUE(decoded) << decoded.error().message();
  if (!decoded) return {};
  const PacketView& view = decoded->view;
  EXPECT_EQ(view.message_id, P::kMessageId);
  EXPECT_EQ(view.is_signed(), P::kSigned);

  PrivateKey signer = SpecKey(1);
  for (uint8_t fill : {1, 2, 3}) {
    PrivateKey candidate = SpecKey(fill);
    if (std::ranges::equal(candidate.public_key().bin(), view.public_key_bin)) signer = candidate;
  }
  Prefix prefix;
  std::copy(view.prefix.begin(), view.prefix.end(), prefix.begin());
  auto rebuilt = EncodePacketToVector(prefix, signer, *view.global_time, decoded->payload);
  EXPECT_TRUE(rebuilt);
  if (rebuilt) {
    EXPECT_EQ(ToHex(*rebuilt), packet.hex);
  }
  P payload = decoded->payload;
  return {std::move(wire), payload};
}

TEST(SpecPackets, EveryPacketRoundTripsByteForByte) {
  CheckRoundTrip<IntroductionRequestPayload>(kP1);
  CheckRoundTrip<NewIntroductionRequestPayload>(kP2);
  CheckRoundTrip<IntroductionResponsePayload>(kP3);
  CheckRoundTrip<NewIntroductionResponsePayload>(kP4);
  CheckRoundTrip<PunctureRequestPayload>(kP5);
  CheckRoundTrip<NewPunctureRequestPayload>(kP6);
  CheckRoundTrip<PuncturePayload>(kP7);
  CheckRoundTrip<NewPuncturePayload>(kP8);
  CheckRoundTrip<SimilarityRequestPayload>(kP9);
  CheckRoundTrip<SimilarityResponsePayload>(kP10);
  CheckRoundTrip<PingPayload>(kP11);
  CheckRoundTrip<PongPayload>(kP12);
  CheckRoundTrip<NewIntroductionRequestPayload>(kP13);
  CheckRoundTrip<IntroductionRequestPayload>(kWalk3);
  CheckRoundTrip<PunctureRequestPayload>(kWalk4);
  CheckRoundTrip<IntroductionResponsePayload>(kWalk5);
  CheckRoundTrip<PuncturePayload>(kWalk6);
}

TEST(SpecPackets, DecodedFieldsMatchTheSpec) {
  auto p1 = CheckRoundTrip<IntroductionRequestPayload>(kP1);
  EXPECT_EQ(p1->destination_address, A("2.2.2.2:7000"));
  EXPECT_EQ(p1->source_lan_address, A("192.168.1.10:8090"));
  EXPECT_EQ(p1->source_wan_address, A("1.1.1.1:8090"));
  EXPECT_TRUE(p1->advice);
  EXPECT_FALSE(p1->supports_new_style);
  EXPECT_EQ(p1->identifier, 1);

  auto p3 = CheckRoundTrip<IntroductionResponsePayload>(kP3);
  EXPECT_TRUE(p3->supports_new_style);
  EXPECT_FALSE(p3->intro_supports_new_style);
  EXPECT_TRUE(p3->lan_introduction_address.is_zero());

  auto p13 = CheckRoundTrip<NewIntroductionRequestPayload>(kP13);
  EXPECT_EQ(p13->destination_address, A("[2001:db8::1]:9000"));

  auto p10 = CheckRoundTrip<SimilarityResponsePayload>(kP10);
  EXPECT_EQ(p10->identifier, 1234);
  EXPECT_EQ(ToHex(p10->preference_list), ToHex(kDiscoveryId));
  EXPECT_TRUE(p10->tb_overlap.empty());

  auto walk5 = CheckRoundTrip<IntroductionResponsePayload>(kWalk5);
  EXPECT_EQ(walk5->lan_introduction_address, A("172.16.0.9:6000"));
  EXPECT_EQ(walk5->wan_introduction_address, A("3.3.3.3:6000"));
}

// Builds packets from their fields alone, as a node would send them.
TEST(SpecPackets, BuiltFromFieldsMatchPyIpv8) {
  PrivateKey k1 = SpecKey(1);
  PrivateKey k2 = SpecKey(2);
  IntroductionRequestPayload p1;
  p1.destination_address = A("2.2.2.2:7000");
  p1.source_lan_address = A("192.168.1.10:8090");
  p1.source_wan_address = A("1.1.1.1:8090");
  p1.identifier = 1;
  EXPECT_EQ(ToHex(*EncodePacketToVector(MakePrefix(kDiscoveryId), k1, 1, p1)), kP1.hex);

  PunctureRequestPayload walk4;
  walk4.lan_walker_address = A("2.2.2.2:7000");
  walk4.wan_walker_address = A("1.1.1.1:8090");
  walk4.identifier = 1;
  EXPECT_EQ(ToHex(*EncodePacketToVector(MakePrefix(kWalkId), k2, 3, walk4)), kWalk4.hex);

  SimilarityRequestPayload p9;
  p9.identifier = 5;
  p9.lan_address = A("192.168.1.10:8090");
  p9.wan_address = A("1.1.1.1:8090");
  p9.preference_list = kDiscoveryId;
  EXPECT_EQ(ToHex(*EncodePacketToVector(MakePrefix(kDiscoveryId), k1, 5, p9)), kP9.hex);

  PingPayload p11{.identifier = 6};
  EXPECT_EQ(ToHex(*EncodePacketToVector(MakePrefix(kDiscoveryId), k1, 6, p11)), kP11.hex);
}

TEST(PacketView, SplitsWithoutCopying) {
  auto wire = Hex(kP1.hex);
  auto view = ParsePacket(wire, LayoutOf<IntroductionRequestPayload>());
  ASSERT_TRUE(view);
  EXPECT_EQ(view->prefix.data(), wire.data());
  EXPECT_EQ(view->public_key_bin.data(), wire.data() + 25);
  EXPECT_EQ(view->public_key_bin.size(), 74u);
  EXPECT_EQ(view->global_time, 1u);
  EXPECT_EQ(view->payload.data(), wire.data() + 107);
  EXPECT_EQ(view->payload.size(), 21u);
  EXPECT_EQ(view->signature.size(), 64u);
  EXPECT_EQ(view->signed_bytes().size(), wire.size() - 64);
}

TEST(PacketView, RejectsShortAndMalformedDatagrams) {
  auto wire = Hex(kP1.hex);
  const PacketLayout signed_layout = LayoutOf<IntroductionRequestPayload>();
  EXPECT_EQ(ParsePacket(Bytes(wire).first(22), signed_layout).error(), WireError::kTooShort);
  EXPECT_EQ(PeekMessageId(Bytes(wire).first(22)).error(), WireError::kTooShort);
  EXPECT_EQ(PeekMessageId(wire).value(), 246);

  auto bad_marker = wire;
  bad_marker[0] = 1;
  EXPECT_EQ(ParsePacket(bad_marker, signed_layout).error(), WireError::kBadPrefix);

  // Every truncation fails cleanly: the key, the global time or the signature is cut.
  for (size_t n = 23; n < 23 + 2 + 74 + 8 + 64; ++n) {
    auto view = ParsePacket(Bytes(wire).first(n), signed_layout);
    EXPECT_FALSE(view) << n;
  }
  // Truncations that leave room for a signature parse but no longer verify.
  for (size_t n = 23 + 2 + 74 + 8 + 64; n < wire.size(); ++n) {
    auto view = ParsePacket(Bytes(wire).first(n), signed_layout);
    ASSERT_TRUE(view) << n;
    EXPECT_EQ(VerifySignature(*view), WireError::kBadSignature) << n;
  }

  // A key length that overruns the datagram, and a key of an unknown type.
  auto long_key = wire;
  long_key[23] = 0xFF;
  EXPECT_EQ(ParsePacket(long_key, signed_layout).error(), WireError::kTruncated);
  auto zero_key = wire;
  zero_key[23] = 0;
  zero_key[24] = 0;
  EXPECT_EQ(ParsePacket(zero_key, signed_layout).error(), WireError::kUnknownKeyType);
  auto odd_key = wire;
  odd_key[25] = 'X';
  EXPECT_EQ(ParsePacket(odd_key, signed_layout).error(), WireError::kUnknownKeyType);
}

TEST(PacketView, DecodePacketReportsEachStage) {
  auto wire = Hex(kP1.hex);
  wire[110] ^= 0x01;  // Inside the payload.
  EXPECT_EQ(DecodePacket<IntroductionRequestPayload>(wire).error(), WireError::kBadSignature);
  auto unsigned_wire = Hex(kP5.hex);
  unsigned_wire.push_back(0);  // Trailing byte after the identifier.
  EXPECT_EQ(DecodePacket<PunctureRequestPayload>(unsigned_wire).error(), WireError::kTrailingBytes);
}

TEST(PacketView, RandomDatagramsNeverCrash) {
  std::mt19937 rng(99);
  auto wire = Hex(kP1.hex);
  for (int round = 0; round < 3000; ++round) {
    // Mutations of a valid packet reach deeper than pure noise.
    std::vector<uint8_t> d = wire;
    d.resize(rng() % (wire.size() + 40));
    for (int k = 0; k < 4; ++k) {
      if (!d.empty()) d[rng() % d.size()] = static_cast<uint8_t>(rng());
    }
    for (bool is_signed : {true, false}) {
      auto view = ParsePacket(d, {.is_signed = is_signed, .has_global_time = true});
      if (!view) continue;
      (void)VerifySignature(*view);
      (void)DecodePayload<IntroductionRequestPayload>(view->payload);
      (void)DecodePayload<NewIntroductionResponsePayload>(view->payload);
    }
  }
}

}  // namespace
}  // namespace ringv8::wire
