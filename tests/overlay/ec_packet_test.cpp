// Packets signed by legacy EC keys (the public trackers' sect163k1) are verified and accepted;
// ringv8 never signs with EC keys, so the test signs with OpenSSL itself.
#include <openssl/bn.h>
#include <openssl/ecdsa.h>
#include <openssl/evp.h>
#include <openssl/x509.h>

#include <gtest/gtest.h>

#include "overlay/community.h"
#include "ring/memory_endpoint.h"
#include "tests/testing/simulation.h"
#include "tests/testing/vectors.h"
#include "wire/hex.h"

namespace ringv8::overlay {
namespace {

using ::ringv8::testing::Hex;

// Spec 11.2's sect163k1 key.
const char* kPrivateDer =
    "305302010104150314aeceb66a02cddc955ea85a5e64ea51b6cd9411a00706052b81040001a12e032c0004045f"
    "20134393be98bc7946b1b737ce4441633243f9064cbed69ed0cad028aec3c066359719166b197805";
const char* kPublicDer =
    "3040301006072a8648ce3d020106052b81040001032c0004045f20134393be98bc7946b1b737ce4441633243f9"
    "064cbed69ed0cad028aec3c066359719166b197805";

// ECDSA-SHA1 as r || s, each 21 bytes (sect163k1), as py-ipv8 writes it.
std::vector<uint8_t> EcSign(wire::Bytes message) {
  auto der = Hex(kPrivateDer);
  const unsigned char* p = der.data();
  EVP_PKEY* pkey = d2i_AutoPrivateKey(nullptr, &p, static_cast<long>(der.size()));
  EXPECT_NE(pkey, nullptr);
  EVP_MD_CTX* ctx = EVP_MD_CTX_new();
  size_t length = 0;
  EVP_DigestSignInit(ctx, nullptr, EVP_sha1(), nullptr, pkey);
  EVP_DigestSign(ctx, nullptr, &length, message.data(), message.size());
  std::vector<uint8_t> der_signature(length);
  EVP_DigestSign(ctx, der_signature.data(), &length, message.data(), message.size());
  EVP_MD_CTX_free(ctx);
  EVP_PKEY_free(pkey);
  const unsigned char* q = der_signature.data();
  ECDSA_SIG* sig = d2i_ECDSA_SIG(nullptr, &q, static_cast<long>(length));
  std::vector<uint8_t> raw(42);
  BN_bn2binpad(ECDSA_SIG_get0_r(sig), raw.data(), 21);
  BN_bn2binpad(ECDSA_SIG_get0_s(sig), raw.data() + 21, 21);
  ECDSA_SIG_free(sig);
  return raw;
}

TEST(EcSignedPackets, ACommunityVerifiesAndAnswersAnEcSignedRequest) {
  ::ringv8::testing::Simulation sim;
  auto& clock = sim.clock;
  auto& loop = sim.loop;
  MemoryNetwork& net = sim.net;
  EndpointOptions options;
  options.ipv4 = Address::Parse("10.6.0.1:8090");
  auto endpoint = *net.Open(options);
  options.ipv4 = Address::Parse("10.6.0.2:6421");
  auto tracker_endpoint = *net.Open(options);
  Network network;
  wire::PrivateKey key = wire::PrivateKey::Generate();
  auto me = std::make_shared<Peer>(key.public_key(), *options.ipv4, clock.Now());
  const wire::CommunityId id{7, 7, 7};
  Community community(id, me, key, *endpoint, network, *loop);

  // A 246 signed by the EC key, as a tracker's liveness check is.
  auto tracker_key = *wire::PublicKey::FromBin(Hex(kPublicDer));
  std::vector<uint8_t> buffer(2048);
  wire::PacketBuilder builder(buffer, community.prefix(),
                              wire::IntroductionRequestPayload::kMessageId);
  builder.Auth(tracker_key);
  builder.GlobalTime(3);
  wire::IntroductionRequestPayload request;
  request.destination_address = endpoint->local_addresses()[0];
  request.identifier = 3;
  builder.Write(request);
  const auto signature = EcSign(builder.writer().written());
  builder.writer().WriteBytes(signature);
  auto packet = *builder.FinishUnsigned();
  ASSERT_EQ(packet.size(), 23u + 2 + 66 + 8 + 21 + 42);

  // Our own parser splits it with S = 42 and verifies it.
  auto view = wire::ParsePacket(packet, wire::LayoutOf<wire::IntroductionRequestPayload>());
  ASSERT_TRUE(view);
  EXPECT_EQ(view->signature.size(), 42u);
  EXPECT_FALSE(VerifySignature(*view));

  (void)tracker_endpoint->Send(endpoint->local_addresses()[0], packet);
  loop->RunFor(std::chrono::milliseconds(10));
  Peer* tracker = network.GetVerifiedByPublicKeyBin(Hex(kPublicDer));
  ASSERT_NE(tracker, nullptr);
  EXPECT_EQ(tracker->key().type(), wire::PublicKey::Type::kEc);
  EXPECT_EQ(tracker_endpoint->stats().packets_in.value(), 1u);  // The 245 answer.
  EXPECT_EQ(community.stats().total_drops(), 0u);

  // A flipped bit in the EC signature is a counted drop.
  std::vector<uint8_t> bad(packet.begin(), packet.end());
  bad.back() ^= 1;
  (void)tracker_endpoint->Send(endpoint->local_addresses()[0], bad);
  loop->RunFor(std::chrono::milliseconds(10));
  EXPECT_EQ(community.stats().drops[static_cast<int>(wire::WireError::kBadSignature)], 1u);
}

}  // namespace
}  // namespace ringv8::overlay
