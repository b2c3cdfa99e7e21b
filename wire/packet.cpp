#include "wire/packet.h"

#include <algorithm>

namespace ringv8::wire {

std::span<uint8_t> PacketBuffer() {
  thread_local std::array<uint8_t, kMaxDatagramSize> buffer;
  return buffer;
}

Prefix MakePrefix(const CommunityId& community_id) {
  Prefix prefix;
  prefix[0] = 0x00;
  prefix[1] = kCommunityVersion;
  std::copy(community_id.begin(), community_id.end(), prefix.begin() + 2);
  return prefix;
}

Result<uint8_t> PeekMessageId(Bytes datagram) {
  if (datagram.size() <= kPrefixSize) return WireError::kTooShort;
  return datagram[kPrefixSize];
}

Result<PacketView> ParsePacket(Bytes datagram, PacketLayout layout) {
  if (datagram.size() <= kPrefixSize) return WireError::kTooShort;
  // Byte 1 is the community version; py-ipv8 matches it as part of the prefix, so it is left to
  // the prefix lookup. Byte 0 is always 0.
  if (datagram[0] != 0x00) return WireError::kBadPrefix;

  PacketView view;
  view.datagram = datagram;
  view.prefix = datagram.first(kPrefixSize);
  view.message_id = datagram[kPrefixSize];

  Reader reader(datagram.subspan(kPrefixSize + 1));
  size_t signature_length = 0;
  if (layout.is_signed) {
    if (!reader.ReadVarlenH(&view.public_key_bin)) return reader.error();
    if (view.public_key_bin.empty()) return WireError::kUnknownKeyType;
    auto length = SignatureLengthOf(view.public_key_bin);
    if (!length) return Unexpected{length.error()};
    signature_length = *length;
  }
  if (layout.has_global_time) {
    uint64_t global_time;
    if (!reader.ReadU64(&global_time)) return reader.error();
    view.global_time = global_time;
  }
  if (reader.remaining() < signature_length) return WireError::kTruncated;
  size_t payload_end = datagram.size() - signature_length;
  size_t payload_start = kPrefixSize + 1 + reader.position();
  view.payload = datagram.subspan(payload_start, payload_end - payload_start);
  view.signature = datagram.subspan(payload_end);
  return view;
}

std::error_code VerifySignature(const PacketView& view) {
  if (!view.is_signed()) return {};
  auto key = PublicKey::FromBin(view.public_key_bin);
  if (!key) return key.error();
#ifdef RINGV8_FUZZING
  // Fuzz builds only: one fixed signature passes, so the fuzzer reaches the signed handlers.
  if (std::all_of(view.signature.begin(), view.signature.end(),
                  [](uint8_t b) { return b == kFuzzSignatureByte; })) {
    return {};
  }
#endif
  if (!key->Verify(view.signed_bytes(), view.signature)) return WireError::kBadSignature;
  return {};
}

PacketBuilder::PacketBuilder(std::span<uint8_t> out, const Prefix& prefix, uint8_t message_id)
    : writer_(out) {
  writer_.WriteBytes(prefix);
  writer_.WriteU8(message_id);
}

Result<std::span<uint8_t>> PacketBuilder::FinishSigned(const PrivateKey& key) {
  std::array<uint8_t, kEd25519SignatureSize> signature;
  if (writer_.ok()) key.Sign(writer_.written(), signature);
  writer_.WriteBytes(signature);
  return FinishUnsigned();
}

Result<std::span<uint8_t>> PacketBuilder::FinishUnsigned() {
  if (!writer_.ok()) return writer_.error();
  return writer_.written();
}

}  // namespace ringv8::wire
