// Every packet and key in ../shared/vectors/ipv8-vectors.json (made with py-ipv8): parsed, its
// signature verified (and rejected after a flipped byte), its fields decoded and compared, and the
// packet rebuilt from the decoded fields byte for byte.
#include "tests/testing/vectors.h"

#include <string>

#include <gtest/gtest.h>

#include "wire/hex.h"
#include "wire/keys.h"
#include "wire/packet.h"
#include "wire/payloads.h"

namespace ringv8::wire {
namespace {

using ::ringv8::testing::GoldenVectors;
using ::ringv8::testing::Hex;
using ::ringv8::testing::JsonAddress;
using ::ringv8::testing::VectorKey;
using json = nlohmann::json;

// The interop harness's custom message (community "custom", ids 1 and 2): varlenH data, signed,
// no global time (what py-ipv8's ez_send produces).
struct EchoPayload {
  static constexpr uint8_t kMessageId = 1;
  static constexpr bool kSigned = true;
  Bytes data;
  bool Read(Reader& r) { return r.ReadVarlenH(&data); }
  void Write(Writer& w) const { w.WriteVarlenH(data); }
};

bool Flag(const json& payload, const char* name) { return payload.at(name).get<int>() != 0; }

// Fills `p` from the vector's decoded fields, the way a py-ipv8 user would construct it.
void FromJson(const json& j, IntroductionRequestPayload* p) {
  p->destination_address = JsonAddress(j["destination_address"]);
  p->source_lan_address = JsonAddress(j["source_lan_address"]);
  p->source_wan_address = JsonAddress(j["source_wan_address"]);
  p->connection_type_0 = Flag(j, "connection_type_0");
  p->connection_type_1 = Flag(j, "connection_type_1");
  p->supports_new_style = Flag(j, "supports_new_style");
  p->dflag1 = Flag(j, "dflag1");
  p->dflag2 = Flag(j, "dflag2");
  p->tunnel = Flag(j, "tunnel");
  p->sync = Flag(j, "sync");
  p->advice = Flag(j, "advice");
  p->identifier = j["identifier"].get<uint16_t>();
}

void FromJson(const json& j, NewIntroductionRequestPayload* p) {
  IntroductionRequestPayload old;
  FromJson(j, &old);
  p->destination_address = old.destination_address;
  p->source_lan_address = old.source_lan_address;
  p->source_wan_address = old.source_wan_address;
  p->identifier = old.identifier;
  p->connection_type_0 = old.connection_type_0;
  p->connection_type_1 = old.connection_type_1;
  p->supports_new_style = old.supports_new_style;
  p->dflag1 = old.dflag1;
  p->dflag2 = old.dflag2;
  p->tunnel = old.tunnel;
  p->sync = old.sync;
  p->advice = old.advice;
}

void FromJson(const json& j, IntroductionResponsePayload* p) {
  p->destination_address = JsonAddress(j["destination_address"]);
  p->source_lan_address = JsonAddress(j["source_lan_address"]);
  p->source_wan_address = JsonAddress(j["source_wan_address"]);
  p->lan_introduction_address = JsonAddress(j["introduction_lan_address"]);
  p->wan_introduction_address = JsonAddress(j["introduction_wan_address"]);
  p->connection_type_0 = Flag(j, "connection_type_0");
  p->connection_type_1 = Flag(j, "connection_type_1");
  p->dflag0 = Flag(j, "dflag0");
  p->supports_new_style = Flag(j, "supports_new_style");
  p->intro_supports_new_style = Flag(j, "intro_supports_new_style");
  p->peer_limit_reached = Flag(j, "peer_limit_reached");
  p->dflag4 = Flag(j, "dflag4");
  p->dflag5 = Flag(j, "dflag5");
  p->identifier = j["identifier"].get<uint16_t>();
}

void FromJson(const json& j, NewIntroductionResponsePayload* p) {
  p->destination_address = JsonAddress(j["destination_address"]);
  p->source_lan_address = JsonAddress(j["source_lan_address"]);
  p->source_wan_address = JsonAddress(j["source_wan_address"]);
  p->lan_introduction_address = JsonAddress(j["lan_introduction_address"]);
  p->wan_introduction_address = JsonAddress(j["wan_introduction_address"]);
  p->identifier = j["identifier"].get<uint16_t>();
  p->intro_supports_new_style = Flag(j, "intro_supports_new_style");
  for (size_t i = 0; i < p->flags.size(); ++i) {
    p->flags[i] = Flag(j, ("flag" + std::to_string(i + 1)).c_str());
  }
}

template <typename P>
void PunctureRequestFromJson(const json& j, P* p) {
  p->lan_walker_address = JsonAddress(j["lan_walker_address"]);
  p->wan_walker_address = JsonAddress(j["wan_walker_address"]);
  p->identifier = j["identifier"].get<uint16_t>();
}
void FromJson(const json& j, PunctureRequestPayload* p) { PunctureRequestFromJson(j, p); }
void FromJson(const json& j, NewPunctureRequestPayload* p) { PunctureRequestFromJson(j, p); }

// py-ipv8's old PuncturePayload names its fields after the walker; the wire layout is the same.
void FromJson(const json& j, PuncturePayload* p) {
  p->source_lan_address = JsonAddress(j["lan_walker_address"]);
  p->source_wan_address = JsonAddress(j["wan_walker_address"]);
  p->identifier = j["identifier"].get<uint16_t>();
}

void FromJson(const json& j, NewPuncturePayload* p) {
  p->source_lan_address = JsonAddress(j["source_lan_address"]);
  p->source_wan_address = JsonAddress(j["source_wan_address"]);
  p->identifier = j["identifier"].get<uint16_t>();
}

// Byte fields of payloads are spans: the decoded JSON bytes must outlive the payload.
struct Storage {
  std::vector<uint8_t> a, b;
};

void FromJson(const json& j, SimilarityRequestPayload* p, Storage* s) {
  p->identifier = j["identifier"].get<uint16_t>();
  p->lan_address = JsonAddress(j["lan_address"]);
  p->wan_address = JsonAddress(j["wan_address"]);
  p->connection_type_0 = Flag(j, "connection_type_0");
  p->connection_type_1 = Flag(j, "connection_type_1");
  for (size_t i = 0; i < p->dflags.size(); ++i) {
    p->dflags[i] = Flag(j, ("dflag" + std::to_string(i)).c_str());
  }
  s->a = Hex(j["preference_list"].get<std::string>());
  p->preference_list = s->a;
}

void FromJson(const json& j, SimilarityResponsePayload* p, Storage* s) {
  p->identifier = j["identifier"].get<uint16_t>();
  s->a = Hex(j["preference_list"].get<std::string>());
  s->b = Hex(j["tb_overlap"].get<std::string>());
  p->preference_list = s->a;
  p->tb_overlap = s->b;
}

void FromJson(const json& j, PingPayload* p) { p->identifier = j["identifier"].get<uint16_t>(); }
void FromJson(const json& j, PongPayload* p) { p->identifier = j["identifier"].get<uint16_t>(); }

void FromJson(const json& j, EchoPayload* p, Storage* s) {
  s->a = Hex(j["data"].get<std::string>());
  p->data = s->a;
}

template <typename P>
void CallFromJson(const json& j, P* p, Storage* s) {
  if constexpr (requires { FromJson(j, p, s); }) {
    FromJson(j, p, s);
  } else {
    FromJson(j, p);
  }
}

// Checks one vector packet of payload type P: parse, verify, decode, rebuild.
template <typename P>
void CheckPacket(const json& vectors, const json& v) {
  SCOPED_TRACE(v["name"].get<std::string>());
  const std::vector<uint8_t> wire = Hex(v["hex"].get<std::string>());
  const bool has_global_time = !v["global_time"].is_null();
  const PacketLayout layout{.is_signed = v["signed"].get<bool>(),
                            .has_global_time = has_global_time};
  ASSERT_EQ(wire.size(), v["length"].get<size_t>());

  // Parse and verify.
  auto view = ParsePacket(wire, layout);
  ASSERT_TRUE(view) << view.error().message();
  EXPECT_EQ(view->message_id, v["msg_id"].get<int>());
  EXPECT_EQ(ToHex(view->prefix), "0002" + v["community_id"].get<std::string>());
  if (has_global_time) {
    EXPECT_EQ(view->global_time, v["global_time"].get<uint64_t>());
  }
  EXPECT_FALSE(VerifySignature(*view));
  if (layout.is_signed) {
    EXPECT_EQ(ToHex(view->public_key_bin), v["public_key_bin"].get<std::string>());
    EXPECT_EQ(ToHex(view->signature), v["signature"].get<std::string>());
    EXPECT_EQ(view->signed_bytes().size(), v["signed_bytes_length"].get<size_t>());
    auto signer = VectorKey(vectors, v["signer"].get<std::string>());
    EXPECT_EQ(ToHex(signer.public_key().bin()), v["public_key_bin"].get<std::string>());
    // One flipped bit anywhere (header, payload or signature) breaks the signature.
    for (size_t i = 0; i < wire.size(); i += 7) {
      std::vector<uint8_t> flipped = wire;
      flipped[i] ^= 0x01;
      auto flipped_view = ParsePacket(flipped, layout);
      if (!flipped_view) continue;  // A flipped length field may not parse at all: also refused.
      EXPECT_EQ(VerifySignature(*flipped_view), WireError::kBadSignature) << "byte " << i;
    }
  }

  // Decode the payload and compare it to py-ipv8's decoded fields.
  auto decoded = DecodePayload<P>(view->payload);
  ASSERT_TRUE(decoded) << decoded.error().message();
  P expected;
  Storage storage;
  CallFromJson(v["payload"], &expected, &storage);
  std::vector<uint8_t> a(kMaxDatagramSize), b(kMaxDatagramSize);
  Writer wa(a), wb(b);
  decoded->Write(wa);
  expected.Write(wb);
  EXPECT_EQ(ToHex(wa.written()), ToHex(wb.written()));
  EXPECT_EQ(ToHex(wa.written()), ToHex(view->payload));

  // Rebuild the whole packet from the decoded JSON fields with the signer's key.
  auto key = VectorKey(vectors, layout.is_signed ? v["signer"].get<std::string>() : "key_a");
  std::vector<uint8_t> out(kMaxDatagramSize);
  PacketBuilder builder(out,
                        MakePrefix(*reinterpret_cast<const CommunityId*>(
                            Hex(v["community_id"].get<std::string>()).data())),
                        v["msg_id"].get<uint8_t>());
  if (layout.is_signed) builder.Auth(key.public_key());
  if (has_global_time) builder.GlobalTime(v["global_time"].get<uint64_t>());
  builder.Write(expected);
  auto rebuilt = layout.is_signed ? builder.FinishSigned(key) : builder.FinishUnsigned();
  ASSERT_TRUE(rebuilt);
  EXPECT_EQ(ToHex(*rebuilt), v["hex"].get<std::string>());
}

TEST(GoldenVectors, EveryPacketParsesVerifiesAndRebuildsByteForByte) {
  RINGV8_REQUIRE_GOLDEN_VECTORS();
  const json& vectors = *GoldenVectors();
  int checked = 0;
  for (const json& v : vectors["packets"]) {
    const std::string cls = v["payload_class"].get<std::string>();
    if (cls == "IntroductionRequestPayload") {
      CheckPacket<IntroductionRequestPayload>(vectors, v);
    } else if (cls == "NewIntroductionRequestPayload") {
      CheckPacket<NewIntroductionRequestPayload>(vectors, v);
    } else if (cls == "IntroductionResponsePayload") {
      CheckPacket<IntroductionResponsePayload>(vectors, v);
    } else if (cls == "NewIntroductionResponsePayload") {
      CheckPacket<NewIntroductionResponsePayload>(vectors, v);
    } else if (cls == "PunctureRequestPayload") {
      CheckPacket<PunctureRequestPayload>(vectors, v);
    } else if (cls == "NewPunctureRequestPayload") {
      CheckPacket<NewPunctureRequestPayload>(vectors, v);
    } else if (cls == "PuncturePayload") {
      CheckPacket<PuncturePayload>(vectors, v);
    } else if (cls == "NewPuncturePayload") {
      CheckPacket<NewPuncturePayload>(vectors, v);
    } else if (cls == "SimilarityRequestPayload") {
      CheckPacket<SimilarityRequestPayload>(vectors, v);
    } else if (cls == "SimilarityResponsePayload") {
      CheckPacket<SimilarityResponsePayload>(vectors, v);
    } else if (cls == "PingPayload") {
      CheckPacket<PingPayload>(vectors, v);
    } else if (cls == "PongPayload") {
      CheckPacket<PongPayload>(vectors, v);
    } else if (cls == "EchoRequest" || cls == "EchoReply") {
      CheckPacket<EchoPayload>(vectors, v);
    } else {
      ADD_FAILURE() << "vector with an unknown payload class: " << cls;
      continue;
    }
    ++checked;
  }
  EXPECT_EQ(checked, 22);
}

TEST(GoldenVectors, FieldOffsetsMatchThePacketView) {
  RINGV8_REQUIRE_GOLDEN_VECTORS();
  for (const json& v : (*GoldenVectors())["packets"]) {
    SCOPED_TRACE(v["name"].get<std::string>());
    const auto wire = Hex(v["hex"].get<std::string>());
    auto view = ParsePacket(wire, {.is_signed = v["signed"].get<bool>(),
                                   .has_global_time = !v["global_time"].is_null()});
    ASSERT_TRUE(view);
    size_t payload_start = static_cast<size_t>(view->payload.data() - wire.data());
    for (const json& field : v["fields"]) {
      const std::string name = field["name"].get<std::string>();
      size_t offset = field["offset"].get<size_t>();
      size_t length = field["length"].get<size_t>();
      EXPECT_EQ(ToHex(Bytes(wire).subspan(offset, length)), field["hex"].get<std::string>())
          << name;
      if (name.starts_with("payload.")) {
        EXPECT_GE(offset, payload_start) << name;
        EXPECT_LE(offset + length, payload_start + view->payload.size()) << name;
      }
      if (name == "signature") {
        EXPECT_EQ(offset, payload_start + view->payload.size());
        EXPECT_EQ(length, view->signature.size());
      }
    }
  }
}

TEST(GoldenVectors, KeysReproduceBinsAndMids) {
  RINGV8_REQUIRE_GOLDEN_VECTORS();
  for (const auto& [name, k] : (*GoldenVectors())["keys"].items()) {
    SCOPED_TRACE(name);
    auto key = PrivateKey::FromBin(Hex(k["private_bin"].get<std::string>()));
    ASSERT_TRUE(key);
    EXPECT_EQ(ToHex(key->bin()), k["private_bin"].get<std::string>());
    EXPECT_EQ(ToHex(key->public_key().bin()), k["public_bin"].get<std::string>());
    EXPECT_EQ(ToHex(key->mid()), k["mid"].get<std::string>());
    EXPECT_EQ(key->signature_length(), k["signature_length"].get<size_t>());
    auto pub = PublicKey::FromBin(Hex(k["public_bin"].get<std::string>()));
    ASSERT_TRUE(pub);
    EXPECT_EQ(ToHex(pub->mid()), k["mid"].get<std::string>());
    EXPECT_EQ(ToHex(pub->ed25519_public()), k["public_parts"]["ed25519_public"].get<std::string>());
  }
}

TEST(GoldenVectors, SignaturesReproduceAndVerify) {
  RINGV8_REQUIRE_GOLDEN_VECTORS();
  const json& vectors = *GoldenVectors();
  ASSERT_FALSE(vectors["signatures"].empty());
  for (const json& s : vectors["signatures"]) {
    auto key = VectorKey(vectors, s["key"].get<std::string>());
    auto message = Hex(s["message"].get<std::string>());
    auto signature = key.Sign(message);
    EXPECT_EQ(ToHex(signature), s["signature"].get<std::string>());
    EXPECT_TRUE(key.public_key().Verify(message, signature));
    signature[10] ^= 0x80;
    EXPECT_FALSE(key.public_key().Verify(message, signature));
  }
}

}  // namespace
}  // namespace ringv8::wire
