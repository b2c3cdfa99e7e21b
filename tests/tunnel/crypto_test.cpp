// The handshake, session keys and onion layers against tunnel-vectors.json (made with py-ipv8 and
// checked with libsodium), for both layer implementations.
#include "tunnel/crypto.h"

#include <cstring>
#include <map>

#include <gtest/gtest.h>

#include "tests/testing/vectors.h"
#include "tunnel/layer_cipher.h"
#include "wire/hex.h"

namespace ringv8::tunnel {
namespace {

using ::ringv8::testing::Hex;
using ::ringv8::testing::TunnelVectors;

Key32 Key(const nlohmann::json& value) {
  std::vector<uint8_t> bytes = Hex(value.get<std::string>());
  Key32 key{};
  EXPECT_EQ(bytes.size(), key.size());
  std::memcpy(key.data(), bytes.data(), std::min(bytes.size(), key.size()));
  return key;
}

std::string HexOf(std::span<const uint8_t> bytes) { return wire::ToHex(bytes); }

SessionKeys KeysOf(const nlohmann::json& handshake) {
  SharedSecret ss;
  std::vector<uint8_t> bytes = Hex(handshake.at("shared_secret").get<std::string>());
  std::memcpy(ss.data(), bytes.data(), ss.size());
  return DeriveSessionKeys(ss);
}

void ExpectKeys(const SessionKeys& keys, const nlohmann::json& expected) {
  EXPECT_EQ(HexOf(keys.backward.key), expected.at("kb").get<std::string>());
  EXPECT_EQ(HexOf(keys.forward.key), expected.at("kf").get<std::string>());
  EXPECT_EQ(HexOf(keys.backward.salt), expected.at("sb").get<std::string>());
  EXPECT_EQ(HexOf(keys.forward.salt), expected.at("sf").get<std::string>());
  EXPECT_EQ(keys.forward.counter, 1u);
  EXPECT_EQ(keys.backward.counter, 1u);
}

TEST(TunnelCryptoTest, HandshakesMatchPyIpv8BothWays) {
  RINGV8_REQUIRE_TUNNEL_VECTORS();
  for (const auto& h : TunnelVectors()->at("handshakes")) {
    SCOPED_TRACE(h.at("name").get<std::string>());
    const Key32 static_secret = Key(h.at("relay_static_x25519_private"));
    const X25519KeyPair eph =
        X25519KeyPair::FromSecret(Key(h.at("client_ephemeral_x25519_private")));
    const X25519KeyPair tmp = X25519KeyPair::FromSecret(Key(h.at("relay_tmp_x25519_private")));
    EXPECT_EQ(HexOf(eph.public_key), h.at("client_ephemeral_x25519_public").get<std::string>());
    EXPECT_EQ(HexOf(tmp.public_key), h.at("relay_tmp_x25519_public").get<std::string>());
    EXPECT_EQ(HexOf(*SharedKey(tmp.secret, eph.public_key)), h.at("dh_tmp_eph").get<std::string>());
    EXPECT_EQ(HexOf(*SharedKey(static_secret, eph.public_key)),
              h.at("dh_static_eph").get<std::string>());

    std::optional<HopHandshake> hop = AnswerHandshake(static_secret, eph.public_key, tmp);
    ASSERT_TRUE(hop);
    EXPECT_EQ(HexOf(hop->tmp_public), h.at("relay_tmp_x25519_public").get<std::string>());
    EXPECT_EQ(HexOf(hop->auth), h.at("auth").get<std::string>());
    ExpectKeys(hop->keys, h.at("session_keys"));
    ExpectKeys(KeysOf(h), h.at("session_keys"));

    const Key32 static_public = Key(h.at("relay_static_x25519_public"));
    std::optional<SessionKeys> client =
        CompleteHandshake(eph, static_public, hop->tmp_public, hop->auth);
    ASSERT_TRUE(client);
    ExpectKeys(*client, h.at("session_keys"));
    Key32 flipped = hop->auth;
    flipped[7] ^= 0x10;
    EXPECT_FALSE(CompleteHandshake(eph, static_public, hop->tmp_public, flipped));
  }
}

TEST(TunnelCryptoTest, LowOrderCreateKeysAreRefused) {
  RINGV8_REQUIRE_TUNNEL_VECTORS();
  const auto& vectors = *TunnelVectors();
  for (const auto& reject : vectors.at("handshake_rejects")) {
    SCOPED_TRACE(reject.at("name").get<std::string>());
    const std::string relay = reject.at("relay_static").get<std::string>();
    const Key32 static_secret =
        Key(vectors.at("keys").at(relay).at("private_parts").at("x25519_secret"));
    EXPECT_FALSE(SharedKey(static_secret, Key(reject.at("create_key"))));
    EXPECT_FALSE(
        AnswerHandshake(static_secret, Key(reject.at("create_key")), X25519KeyPair::Generate()));
  }
}

class LayerTest : public ::testing::TestWithParam<AeadImpl> {};

TEST_P(LayerTest, SingleLayersSealAndOpenAsPyIpv8) {
  RINGV8_REQUIRE_TUNNEL_VECTORS();
  const auto& vectors = *TunnelVectors();
  const SessionKeys keys = KeysOf(vectors.at("handshakes").at(0));
  LayerCipher cipher(GetParam());
  for (const auto& layer : vectors.at("layers").at("single")) {
    const uint64_t counter = layer.at("counter").get<uint64_t>();
    SCOPED_TRACE(layer.at("direction").get<std::string>() + " " + std::to_string(counter));
    const DirectionKey& key = layer.at("direction") == "forward" ? keys.forward : keys.backward;
    const std::vector<uint8_t> plaintext = Hex(layer.at("plaintext").get<std::string>());
    std::vector<uint8_t> sealed(plaintext.size() + kLayerOverhead);
    cipher.Seal(key, counter, plaintext, sealed.data());
    EXPECT_EQ(HexOf(sealed), layer.at("layer").get<std::string>());

    // In place: the plaintext sits 8 bytes into the output.
    std::vector<uint8_t> in_place(plaintext.size() + kLayerOverhead);
    std::copy(plaintext.begin(), plaintext.end(), in_place.begin() + kLayerCounterSize);
    cipher.Seal(key, counter, std::span(in_place).subspan(kLayerCounterSize, plaintext.size()),
                in_place.data());
    EXPECT_EQ(in_place, sealed);

    std::vector<uint8_t> opened(plaintext.size());
    std::optional<size_t> size = cipher.Open(key, sealed, opened.data());
    ASSERT_TRUE(size);
    EXPECT_EQ(*size, plaintext.size());
    EXPECT_EQ(opened, plaintext);
    size = cipher.Open(key, in_place, in_place.data() + kLayerCounterSize);
    ASSERT_TRUE(size);
    EXPECT_TRUE(std::equal(plaintext.begin(), plaintext.end(), in_place.begin() + 8));
  }
}

TEST_P(LayerTest, DamagedLayersDoNotOpen) {
  RINGV8_REQUIRE_TUNNEL_VECTORS();
  const auto& vectors = *TunnelVectors();
  const SessionKeys keys = KeysOf(vectors.at("handshakes").at(0));
  LayerCipher cipher(GetParam());
  for (const auto& layer : vectors.at("layers").at("must_fail")) {
    SCOPED_TRACE(layer.at("case").get<std::string>());
    const DirectionKey& key = layer.at("direction") == "forward" ? keys.forward : keys.backward;
    const std::vector<uint8_t> bytes = Hex(layer.at("layer").get<std::string>());
    std::vector<uint8_t> out(bytes.size());
    EXPECT_FALSE(cipher.Open(key, bytes, out.data()));
  }
}

// An exit's reply is sealed as its DATA header and the datagram as received: the same layer as
// sealing the two joined, at sizes on both sides of kAuto's switch between the libraries.
TEST_P(LayerTest, TwoPartSealIsTheSealOfBothJoined) {
  LayerCipher cipher(GetParam());
  for (const auto& [head_size, body_size] : std::vector<std::pair<size_t, size_t>>{
           {15, 0}, {0, 40}, {15, 40}, {15, 300}, {0, 1400}, {31, 1404}, {200, 1400}}) {
    SCOPED_TRACE(::testing::Message() << head_size << " + " << body_size);
    std::vector<uint8_t> head(head_size), body(body_size);
    for (size_t i = 0; i < head.size(); ++i) head[i] = static_cast<uint8_t>(i);
    for (size_t i = 0; i < body.size(); ++i) body[i] = static_cast<uint8_t>(7 * i + 1);
    std::vector<uint8_t> joined = head;
    joined.insert(joined.end(), body.begin(), body.end());
    DirectionKey a, b;
    a.key[3] = b.key[3] = 9;
    a.salt[1] = b.salt[1] = 4;
    std::vector<uint8_t> one(joined.size() + kLayerOverhead), two(one.size());
    cipher.SealNext(a, joined, one.data());
    cipher.SealNext(b, head, body, two.data());
    EXPECT_EQ(one, two);
    std::vector<uint8_t> opened(joined.size());
    ASSERT_TRUE(cipher.Open(a, two, opened.data()));
    EXPECT_EQ(opened, joined);
  }
}

TEST_P(LayerTest, ThreeHopOnionBothWays) {
  RINGV8_REQUIRE_TUNNEL_VECTORS();
  const auto& vectors = *TunnelVectors();
  std::map<std::string, SessionKeys> by_name;
  for (const auto& h : vectors.at("handshakes")) by_name[h.at("name")] = KeysOf(h);
  const auto& multi = vectors.at("layers").at("multi_hop");
  LayerCipher cipher(GetParam());

  // Forward: the client seals for hop 3, 2, 1; each hop removes its layer.
  const auto& forward = multi.at("forward");
  std::vector<uint8_t> message = Hex(forward.at("inner").get<std::string>());
  for (int hop = 2; hop >= 0; --hop) {
    SessionKeys& keys = by_name[forward.at("after_hop").at(hop).at("keys_from_handshake")];
    std::vector<uint8_t> sealed(message.size() + kLayerOverhead);
    cipher.SealNext(keys.forward, message, sealed.data());
    message = sealed;
  }
  EXPECT_EQ(HexOf(message), forward.at("client_sends").get<std::string>());
  for (const auto& step : forward.at("after_hop")) {
    const SessionKeys& keys = by_name[step.at("keys_from_handshake")];
    std::vector<uint8_t> opened(message.size() - kLayerOverhead);
    ASSERT_TRUE(cipher.Open(keys.forward, message, opened.data()));
    message = opened;
    EXPECT_EQ(HexOf(message), step.at("message").get<std::string>());
  }

  // Backward: the exit seals, each relay adds a layer, the client opens all three.
  const auto& backward = multi.at("backward");
  message = Hex(backward.at("inner").get<std::string>());
  for (const auto& step : backward.at("after_hop")) {
    SessionKeys& keys = by_name[step.at("keys_from_handshake")];
    std::vector<uint8_t> sealed(message.size() + kLayerOverhead);
    cipher.SealNext(keys.backward, message, sealed.data());
    message = sealed;
    EXPECT_EQ(HexOf(message), step.at("message").get<std::string>());
  }
  EXPECT_EQ(HexOf(message), backward.at("client_receives").get<std::string>());
}

INSTANTIATE_TEST_SUITE_P(BothImplementations, LayerTest,
                         ::testing::Values(AeadImpl::kOpenSsl, AeadImpl::kSodium, AeadImpl::kAuto),
                         [](const auto& info) { return std::string(AeadImplName(info.param)); });

}  // namespace
}  // namespace ringv8::tunnel
