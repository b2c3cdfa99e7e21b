// IPv8 packets (spec section 1): prefix, message id, optional authentication header, optional
// global time, payload, optional signature.
//
//   signed:   prefix(22) | id | u16 K | key bin (K) | [u64 global time] | payload | signature
//   unsigned: prefix(22) | id | [u64 global time] | payload
//
// The signature covers every byte before it; its length follows from the key (64 for LibNaCL).
// Whether a message is signed and carries a global time depends on the community and message id,
// so the caller names the layout; every base and DiscoveryCommunity message has a global time.
//
// PacketView splits a datagram without copying: its spans point into the datagram and are valid
// only as long as the datagram is. PacketBuilder writes a packet into a caller-owned buffer.
// Thread-compatible.
#ifndef RINGV8_WIRE_PACKET_H_
#define RINGV8_WIRE_PACKET_H_

#include <array>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <optional>
#include <span>
#include <vector>

#include "ring/result.h"
#include "wire/keys.h"
#include "wire/payloads.h"
#include "wire/serializer.h"

namespace ringv8::wire {

inline constexpr size_t kPrefixSize = 22;
inline constexpr uint8_t kCommunityVersion = 0x02;
// The largest UDP payload over IPv4.
inline constexpr size_t kMaxDatagramSize = 65507;

using CommunityId = std::array<uint8_t, 20>;

// py-ipv8's DiscoveryCommunity, which every node runs (and whose messages a tracker sees).
inline constexpr CommunityId kDiscoveryCommunityId = {0x7e, 0x31, 0x36, 0x85, 0xc1, 0x91, 0x2a,
                                                      0x14, 0x12, 0x79, 0xf8, 0x24, 0x8f, 0xc8,
                                                      0xdb, 0x58, 0x99, 0xc5, 0xdf, 0x5a};
using Prefix = std::array<uint8_t, kPrefixSize>;
// py-ipv8's name for a community id where peers announce the communities they serve.
using ServiceId = CommunityId;

// Hash for community (service) ids and mids: both are SHA-1 outputs, already uniform.
struct ServiceIdHash {
  size_t operator()(const std::array<uint8_t, 20>& id) const {
    uint64_t h;
    std::memcpy(&h, id.data(), sizeof(h));
    return static_cast<size_t>(h);
  }
};

// One buffer per thread for building outgoing packets (an endpoint copies what it sends).
std::span<uint8_t> PacketBuffer();

// 00 02 <community id>.
Prefix MakePrefix(const CommunityId& community_id);

struct PacketLayout {
  bool is_signed = true;
  bool has_global_time = true;
};

// The layout of payload P in a base or Discovery community.
template <Payload P>
constexpr PacketLayout LayoutOf() {
  return {.is_signed = P::kSigned, .has_global_time = true};
}

struct PacketView {
  Bytes datagram;
  Bytes prefix;  // 22 bytes.
  uint8_t message_id = 0;
  Bytes public_key_bin;  // Empty for unsigned packets.
  std::optional<uint64_t> global_time;
  Bytes payload;
  Bytes signature;  // Empty for unsigned packets.

  bool is_signed() const { return !public_key_bin.empty(); }
  // The bytes the signature covers (the whole datagram for unsigned packets).
  Bytes signed_bytes() const { return datagram.first(datagram.size() - signature.size()); }
};

// The message id of a datagram, or kTooShort if it has fewer than 23 bytes.
Result<uint8_t> PeekMessageId(Bytes datagram);

// Splits `datagram` by `layout`. Checks lengths only: call VerifySignature for signed packets.
// Errors: kTooShort, kBadPrefix (first byte not 0), kTruncated, kUnknownKeyType, kBadKey.
Result<PacketView> ParsePacket(Bytes datagram, PacketLayout layout);

// Verifies a signed view's signature with the key in its auth header. Unsigned views verify
// trivially. Errors: kBadSignature, kUnknownKeyType, kBadKey.
// Fuzz builds (RINGV8_FUZZING, `make fuzz`) also accept a signature whose every byte is
// kFuzzSignatureByte; no other build has that code.
inline constexpr uint8_t kFuzzSignatureByte = 0xF0;
[[nodiscard]] std::error_code VerifySignature(const PacketView& view);

// ParsePacket, then VerifySignature, then decodes the payload as P (consuming all of it).
template <Payload P>
struct DecodedPacket {
  PacketView view;
  P payload;
};
template <Payload P>
Result<DecodedPacket<P>> DecodePacket(Bytes datagram, PacketLayout layout = LayoutOf<P>()) {
  auto view = ParsePacket(datagram, layout);
  if (!view) return Unexpected{view.error()};
  if (std::error_code error = VerifySignature(*view)) return Unexpected{error};
  auto payload = DecodePayload<P>(view->payload);
  if (!payload) return Unexpected{payload.error()};
  return DecodedPacket<P>{*view, *payload};
}

// Writes one packet into `out`:
//   PacketBuilder b(out, prefix, id);
//   b.Auth(key.public_key()); b.GlobalTime(gt); b.Write(payload);
//   Result<Bytes> packet = b.FinishSigned(key);   // or FinishUnsigned()
class PacketBuilder {
 public:
  PacketBuilder(std::span<uint8_t> out, const Prefix& prefix, uint8_t message_id);

  void Auth(const PublicKey& key) { writer_.WriteVarlenH(key.bin()); }
  void GlobalTime(uint64_t global_time) { writer_.WriteU64(global_time); }
  template <Payload P>
  void Write(const P& payload) {
    payload.Write(writer_);
  }
  Writer& writer() { return writer_; }

  // Appends the signature of everything written so far. Returns the whole packet.
  Result<std::span<uint8_t>> FinishSigned(const PrivateKey& key);
  Result<std::span<uint8_t>> FinishUnsigned();

 private:
  Writer writer_;
};

// The whole packet for payload P as the base and Discovery communities send it: signed payloads
// get the auth header and a signature from `key`, every payload gets `global_time`.
template <Payload P>
Result<std::span<uint8_t>> EncodePacket(std::span<uint8_t> out, const Prefix& prefix,
                                        const PrivateKey& key, uint64_t global_time,
                                        const P& payload) {
  PacketBuilder builder(out, prefix, P::kMessageId);
  if constexpr (P::kSigned) builder.Auth(key.public_key());
  builder.GlobalTime(global_time);
  builder.Write(payload);
  if constexpr (P::kSigned) {
    return builder.FinishSigned(key);
  } else {
    return builder.FinishUnsigned();
  }
}

// EncodePacket into a new vector (for tests and tools; the packet path uses pooled buffers).
template <Payload P>
Result<std::vector<uint8_t>> EncodePacketToVector(const Prefix& prefix, const PrivateKey& key,
                                                  uint64_t global_time, const P& payload) {
  std::vector<uint8_t> out(kMaxDatagramSize);
  auto packet = EncodePacket(std::span<uint8_t>(out), prefix, key, global_time, payload);
  if (!packet) return Unexpected{packet.error()};
  out.resize(packet->size());
  return out;
}

}  // namespace ringv8::wire

#endif  // RINGV8_WIRE_PACKET_H_
