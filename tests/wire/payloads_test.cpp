#include "wire/payloads.h"

#include <random>

#include <gtest/gtest.h>

#include "wire/hex.h"
#include "wire/packet.h"

namespace ringv8::wire {
namespace {

Address A(const char* text) { return *Address::Parse(text); }

const std::array<uint8_t, 40> kTwoIds = {1,  2,  3,  4,  5,  6,  7,  8,  9,  10, 11, 12, 13, 14,
                                         15, 16, 17, 18, 19, 20, 21, 22, 23, 24, 25, 26, 27, 28,
                                         29, 30, 31, 32, 33, 34, 35, 36, 37, 38, 39, 40};

// A filled-in sample of each payload (byte tails empty, so every field is fixed-size).
template <typename P>
P Sample();

template <>
IntroductionRequestPayload Sample() {
  IntroductionRequestPayload p;
  p.destination_address = A("145.94.10.20:7759");
  p.source_lan_address = A("192.168.1.10:8090");
  p.source_wan_address = A("82.94.1.10:8090");
  p.identifier = 4660;
  return p;
}
template <>
IntroductionResponsePayload Sample() {
  IntroductionResponsePayload p;
  p.destination_address = A("82.94.1.10:8090");
  p.lan_introduction_address = A("192.168.1.20:9000");
  p.peer_limit_reached = true;
  p.identifier = 7;
  return p;
}
template <>
NewIntroductionRequestPayload Sample() {
  NewIntroductionRequestPayload p;
  p.destination_address = A("[2001:db8::1]:9000");
  p.source_lan_address = A("192.168.1.10:8090");
  p.identifier = 9;
  return p;
}
template <>
NewIntroductionResponsePayload Sample() {
  NewIntroductionResponsePayload p;
  p.destination_address = A("[::1]:1");
  p.wan_introduction_address = A("3.3.3.3:6000");
  p.intro_supports_new_style = true;
  return p;
}
template <>
PunctureRequestPayload Sample() {
  return {A("1.2.3.4:5"), A("6.7.8.9:10"), 11};
}
template <>
NewPunctureRequestPayload Sample() {
  return {A("[::2]:5"), A("6.7.8.9:10"), 11};
}
template <>
PuncturePayload Sample() {
  return {A("1.2.3.4:5"), A("6.7.8.9:10"), 12};
}
template <>
NewPuncturePayload Sample() {
  return {A("1.2.3.4:5"), A("[::3]:10"), 12};
}
template <>
SimilarityRequestPayload Sample() {
  SimilarityRequestPayload p;
  p.identifier = 5;
  p.lan_address = A("192.168.1.10:8090");
  p.preference_list = kTwoIds;
  return p;
}
template <>
SimilarityResponsePayload Sample() {
  SimilarityResponsePayload p;
  p.identifier = 5;
  p.preference_list = kTwoIds;
  return p;
}
template <>
PingPayload Sample() {
  return {.identifier = 3};
}
template <>
PongPayload Sample() {
  return {.identifier = 4};
}
template <>
DiscoveryIntroductionRequestPayload Sample() {
  DiscoveryIntroductionRequestPayload p;
  p.introduce_to[0] = 0xAA;
  p.request = Sample<IntroductionRequestPayload>();
  return p;
}

template <typename P>
std::vector<uint8_t> Encode(const P& p) {
  std::vector<uint8_t> buffer(1024);
  Writer w(buffer);
  p.Write(w);
  EXPECT_TRUE(w.ok());
  buffer.resize(w.size());
  return buffer;
}

// Whether P ends in a `raw` field that takes any number of bytes (then extra bytes are data).
template <typename P>
constexpr bool kEndsInAnyRaw = std::is_same_v<P, IntroductionRequestPayload> ||
                               std::is_same_v<P, IntroductionResponsePayload> ||
                               std::is_same_v<P, NewIntroductionRequestPayload> ||
                               std::is_same_v<P, NewIntroductionResponsePayload> ||
                               std::is_same_v<P, DiscoveryIntroductionRequestPayload>;

template <typename P>
class PayloadTest : public ::testing::Test {};

using AllPayloads =
    ::testing::Types<IntroductionRequestPayload, IntroductionResponsePayload,
                     NewIntroductionRequestPayload, NewIntroductionResponsePayload,
                     PunctureRequestPayload, NewPunctureRequestPayload, PuncturePayload,
                     NewPuncturePayload, SimilarityRequestPayload, SimilarityResponsePayload,
                     PingPayload, PongPayload, DiscoveryIntroductionRequestPayload>;
TYPED_TEST_SUITE(PayloadTest, AllPayloads);

TYPED_TEST(PayloadTest, RoundTrips) {
  auto bytes = Encode(Sample<TypeParam>());
  auto decoded = DecodePayload<TypeParam>(bytes);
  ASSERT_TRUE(decoded) << decoded.error().message();
  EXPECT_EQ(ToHex(Encode(*decoded)), ToHex(bytes));
}

TYPED_TEST(PayloadTest, EveryTruncationIsRejected) {
  auto bytes = Encode(Sample<TypeParam>());
  for (size_t n = 0; n < bytes.size(); ++n) {
    // A fresh copy of exactly n bytes, so the sanitizer sees any read past the end.
    std::vector<uint8_t> cut(bytes.begin(), bytes.begin() + static_cast<ptrdiff_t>(n));
    auto decoded = DecodePayload<TypeParam>(cut);
    if constexpr (std::is_same_v<TypeParam, SimilarityRequestPayload>) {
      // Cutting between whole 20-byte ids leaves a valid, shorter preference list.
      constexpr size_t kHeader = 2 + 6 + 6 + 1;
      if (n >= kHeader && (n - kHeader) % 20 == 0) {
        EXPECT_TRUE(decoded) << "length " << n;
        continue;
      }
    }
    ASSERT_FALSE(decoded) << "length " << n;
    EXPECT_EQ(decoded.error(), WireError::kTruncated) << "length " << n;
  }
}

TYPED_TEST(PayloadTest, TrailingBytesAreRejectedOrBecomeTheRawTail) {
  auto bytes = Encode(Sample<TypeParam>());
  bytes.push_back(0x5A);
  auto decoded = DecodePayload<TypeParam>(bytes);
  if constexpr (kEndsInAnyRaw<TypeParam>) {
    ASSERT_TRUE(decoded);
    EXPECT_EQ(ToHex(Encode(*decoded)), ToHex(bytes));
  } else {
    // Fixed layouts refuse trailing bytes; the 20- and 24-byte unit tails refuse partial units.
    EXPECT_FALSE(decoded);
  }
}

TYPED_TEST(PayloadTest, OversizedInputIsHandled) {
  std::vector<uint8_t> bytes = Encode(Sample<TypeParam>());
  bytes.resize(60000, 0x00);
  auto decoded = DecodePayload<TypeParam>(bytes);
  if constexpr (kEndsInAnyRaw<TypeParam>) {
    ASSERT_TRUE(decoded);
  } else if constexpr (std::is_same_v<TypeParam, SimilarityRequestPayload>) {
    // 60000 - 19 header bytes is not a whole number of 20-byte ids.
    EXPECT_EQ(decoded.error(), WireError::kTruncated);
  } else {
    EXPECT_FALSE(decoded);
  }
}

TYPED_TEST(PayloadTest, RandomInputNeverCrashes) {
  std::mt19937 rng(7);
  auto valid = Encode(Sample<TypeParam>());
  for (int round = 0; round < 2000; ++round) {
    std::vector<uint8_t> bytes = valid;
    bytes.resize(rng() % (valid.size() + 8));
    for (int k = 0; k < 3 && !bytes.empty(); ++k) {
      bytes[rng() % bytes.size()] = static_cast<uint8_t>(rng());
    }
    auto decoded = DecodePayload<TypeParam>(bytes);
    if (decoded) {
      // Whatever decodes must encode back to the same bytes.
      EXPECT_EQ(ToHex(Encode(*decoded)), ToHex(bytes));
    }
  }
}

TEST(Payloads, WrongAddressTagsAreRejected) {
  auto bytes = Encode(Sample<NewPunctureRequestPayload>());
  bytes[0] = 0x02;  // A host name where ip_address allows only IPv4/IPv6.
  EXPECT_EQ(DecodePayload<NewPunctureRequestPayload>(bytes).error(), WireError::kBadAddressType);
  bytes[0] = 0x07;
  EXPECT_EQ(DecodePayload<NewPunctureRequestPayload>(bytes).error(), WireError::kBadAddressType);
}

TEST(Payloads, WrongLengthFieldsAreRejected) {
  auto bytes = Encode(Sample<SimilarityResponsePayload>());
  bytes[3] = 3;  // Claims 3 ids, carries 2.
  EXPECT_EQ(DecodePayload<SimilarityResponsePayload>(bytes).error(), WireError::kTruncated);
  bytes[3] = 1;  // Claims 1 id: the second becomes a 20-byte tb_overlap, not a 24-byte unit.
  EXPECT_EQ(DecodePayload<SimilarityResponsePayload>(bytes).error(), WireError::kTruncated);
}

TEST(Payloads, OldStyleFlagsFollowPyIpv8) {
  // 246 as py-ipv8 sends it: only the advice bit.
  auto request = Encode(Sample<IntroductionRequestPayload>());
  EXPECT_EQ(request[18], 0x01);
  // 245: supports_new_style (0x10) always, peer_limit_reached 0x04.
  auto response = Encode(Sample<IntroductionResponsePayload>());
  EXPECT_EQ(response[30], 0x14);
  // 233: intro_supports_new_style is 0x80.
  auto new_response = Encode(Sample<NewIntroductionResponsePayload>());
  EXPECT_EQ(new_response[new_response.size() - 1], 0x80);
  EXPECT_EQ(DecodeConnectionType(true, false), ConnectionType::kPublic);
  EXPECT_EQ(DecodeConnectionType(true, true), ConnectionType::kSymmetricNat);
  EXPECT_EQ(DecodeConnectionType(false, true), ConnectionType::kNotApplicable);
}

}  // namespace
}  // namespace ringv8::wire
