// The payloads of the base Community and of DiscoveryCommunity (spec section 3.1).
//
// Each payload is a plain struct named and laid out as in py-ipv8, with:
//   kMessageId, kSigned  - its message id and whether it travels signed;
//   Read(Reader&)        - decodes the fields in wire order (returns reader.ok());
//   Write(Writer&) const - encodes them.
// Byte fields (`extra_bytes`, preference lists) are spans into the datagram: decoding allocates
// nothing, and a decoded payload is valid only while the datagram is. Flags keep their wire bits
// exactly (py-ipv8 inverts `advice` when it decodes a 246; ringv8 keeps the bit as sent), so
// decode -> encode reproduces every packet byte for byte.
//
// Thread-compatible.
#ifndef RINGV8_WIRE_PAYLOADS_H_
#define RINGV8_WIRE_PAYLOADS_H_

#include <array>
#include <cstdint>

#include "ring/address.h"
#include "ring/result.h"
#include "wire/serializer.h"

namespace ringv8::wire {

template <typename P>
concept Payload = requires(P p, const P cp, Reader& r, Writer& w) {
  { P::kMessageId } -> std::convertible_to<uint8_t>;
  { P::kSigned } -> std::convertible_to<bool>;
  { p.Read(r) } -> std::same_as<bool>;
  cp.Write(w);
};

// Decodes `bytes` as P, which must consume all of it.
template <Payload P>
Result<P> DecodePayload(Bytes bytes) {
  Reader reader(bytes);
  P payload;
  if (!payload.Read(reader) || !reader.ExpectEnd()) return reader.error();
  return payload;
}

// The connection type in the first two flag bits. py-ipv8 always sends kUnknown and never acts on
// it.
enum class ConnectionType : uint8_t { kUnknown, kPublic, kSymmetricNat, kNotApplicable };
ConnectionType DecodeConnectionType(bool bit0, bool bit1);

// 246: old-style (IPv4) introduction-request. Flags byte: 0x80 connection_type_0, 0x40
// connection_type_1, 0x20 supports_new_style, 0x10 dflag1, 0x08 dflag2, 0x04 tunnel, 0x02 sync,
// 0x01 advice. py-ipv8 sends 0x01.
struct IntroductionRequestPayload {
  static constexpr uint8_t kMessageId = 246;
  static constexpr bool kSigned = true;
  Address destination_address;
  Address source_lan_address;
  Address source_wan_address;
  bool connection_type_0 = false;
  bool connection_type_1 = false;
  bool supports_new_style = false;
  bool dflag1 = false;
  bool dflag2 = false;
  bool tunnel = false;
  bool sync = false;
  bool advice = true;  // The wire bit; py-ipv8 always sets it.
  uint16_t identifier = 0;
  Bytes extra_bytes;

  bool Read(Reader& reader);
  void Write(Writer& writer) const;
};

// 245: old-style introduction-response. Flags: 0x80 connection_type_0, 0x40 connection_type_1,
// 0x20 dflag0, 0x10 supports_new_style, 0x08 intro_supports_new_style, 0x04 peer_limit_reached,
// 0x02 dflag4, 0x01 dflag5. py-ipv8 always sets supports_new_style.
struct IntroductionResponsePayload {
  static constexpr uint8_t kMessageId = 245;
  static constexpr bool kSigned = true;
  Address destination_address;
  Address source_lan_address;
  Address source_wan_address;
  Address lan_introduction_address;
  Address wan_introduction_address;
  bool connection_type_0 = false;
  bool connection_type_1 = false;
  bool dflag0 = false;
  bool supports_new_style = true;
  bool intro_supports_new_style = false;
  bool peer_limit_reached = false;
  bool dflag4 = false;
  bool dflag5 = false;
  uint16_t identifier = 0;
  Bytes extra_bytes;

  bool Read(Reader& reader);
  void Write(Writer& writer) const;
};

// 234: new-style introduction-request: tagged addresses (IPv4 or IPv6), identifier before the
// flags (same bit names as 246; py-ipv8 sends 0x00).
struct NewIntroductionRequestPayload {
  static constexpr uint8_t kMessageId = 234;
  static constexpr bool kSigned = true;
  Address destination_address;
  Address source_lan_address;
  Address source_wan_address;
  uint16_t identifier = 0;
  bool connection_type_0 = false;
  bool connection_type_1 = false;
  bool supports_new_style = false;
  bool dflag1 = false;
  bool dflag2 = false;
  bool tunnel = false;
  bool sync = false;
  bool advice = false;
  Bytes extra_bytes;

  bool Read(Reader& reader);
  void Write(Writer& writer) const;
};

// 233: new-style introduction-response. Flags: 0x80 intro_supports_new_style, 0x40..0x01
// flag1..flag7 (always 0).
struct NewIntroductionResponsePayload {
  static constexpr uint8_t kMessageId = 233;
  static constexpr bool kSigned = true;
  Address destination_address;
  Address source_lan_address;
  Address source_wan_address;
  Address lan_introduction_address;
  Address wan_introduction_address;
  uint16_t identifier = 0;
  bool intro_supports_new_style = false;
  std::array<bool, 7> flags{};  // flag1..flag7.
  Bytes extra_bytes;

  bool Read(Reader& reader);
  void Write(Writer& writer) const;
};

// 250: old-style puncture-request (unsigned).
struct PunctureRequestPayload {
  static constexpr uint8_t kMessageId = 250;
  static constexpr bool kSigned = false;
  Address lan_walker_address;
  Address wan_walker_address;
  uint16_t identifier = 0;

  bool Read(Reader& reader);
  void Write(Writer& writer) const;
};

// 232: new-style puncture-request (unsigned).
struct NewPunctureRequestPayload {
  static constexpr uint8_t kMessageId = 232;
  static constexpr bool kSigned = false;
  Address lan_walker_address;
  Address wan_walker_address;
  uint16_t identifier = 0;

  bool Read(Reader& reader);
  void Write(Writer& writer) const;
};

// 249: old-style puncture. py-ipv8 puts the walker's address in source_wan_address (spec 3.7).
struct PuncturePayload {
  static constexpr uint8_t kMessageId = 249;
  static constexpr bool kSigned = true;
  Address source_lan_address;
  Address source_wan_address;
  uint16_t identifier = 0;

  bool Read(Reader& reader);
  void Write(Writer& writer) const;
};

// 231: new-style puncture.
struct NewPuncturePayload {
  static constexpr uint8_t kMessageId = 231;
  static constexpr bool kSigned = true;
  Address source_lan_address;
  Address source_wan_address;
  uint16_t identifier = 0;

  bool Read(Reader& reader);
  void Write(Writer& writer) const;
};

// DiscoveryCommunity 1: similarity request. preference_list is a concatenation of 20-byte
// community ids (the raw tail; Read rejects a tail that is not a multiple of 20).
// Flags: 0x80 connection_type_0, 0x40 connection_type_1, 0x20..0x01 dflag0..dflag5.
struct SimilarityRequestPayload {
  static constexpr uint8_t kMessageId = 1;
  static constexpr bool kSigned = true;
  uint16_t identifier = 0;
  Address lan_address;
  Address wan_address;
  bool connection_type_0 = false;
  bool connection_type_1 = false;
  std::array<bool, 6> dflags{};  // dflag0..dflag5.
  Bytes preference_list;

  bool Read(Reader& reader);
  void Write(Writer& writer) const;
};

// DiscoveryCommunity 2: similarity response. preference_list is varlenHx20; tb_overlap is a raw
// tail of (20-byte id, u32) entries that py-ipv8 always sends empty.
struct SimilarityResponsePayload {
  static constexpr uint8_t kMessageId = 2;
  static constexpr bool kSigned = true;
  uint16_t identifier = 0;
  Bytes preference_list;
  Bytes tb_overlap;

  bool Read(Reader& reader);
  void Write(Writer& writer) const;
};

// DiscoveryCommunity 3 and 4: ping and pong (unsigned).
struct PingPayload {
  static constexpr uint8_t kMessageId = 3;
  static constexpr bool kSigned = false;
  uint16_t identifier = 0;

  bool Read(Reader& reader) { return reader.ReadU16(&identifier); }
  void Write(Writer& writer) const { writer.WriteU16(identifier); }
};

struct PongPayload {
  static constexpr uint8_t kMessageId = 4;
  static constexpr bool kSigned = false;
  uint16_t identifier = 0;

  bool Read(Reader& reader) { return reader.ReadU16(&identifier); }
  void Write(Writer& writer) const { writer.WriteU16(identifier); }
};

// The legacy form of 246 that DiscoveryCommunity tries first (only parsed by py-ipv8, never sent):
// a 1-byte marker ('Y') and a 20-byte mid ("introduce me to"), then a normal 246 body.
struct DiscoveryIntroductionRequestPayload {
  static constexpr uint8_t kMessageId = 246;
  static constexpr bool kSigned = true;
  uint8_t introduce_marker = 'Y';
  std::array<uint8_t, 20> introduce_to{};
  IntroductionRequestPayload request;

  bool Read(Reader& reader);
  void Write(Writer& writer) const;
};

}  // namespace ringv8::wire

#endif  // RINGV8_WIRE_PAYLOADS_H_
