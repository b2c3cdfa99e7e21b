// The TunnelCommunity's messages (tunnel spec 2-3): the cell header, the payloads carried in
// cells, DESTROY (a signed overlay message), the candidate list and the peer flags.
//
// A cell is prefix(22) || 0x00 || circuit_id(4) || plaintext(1) || relay_early(1) || message.
// The message is `cell_id || body`, body = the payload without its leading circuit_id (the header
// carries it), in clear for CREATE/CREATED and under one onion layer per hop otherwise.
//
// Payload structs follow wire/payloads.h: named and laid out as in py-ipv8, Read/Write of the
// body, byte fields as spans into the datagram (valid while it is). Thread-compatible.
#ifndef RINGV8_TUNNEL_PAYLOADS_H_
#define RINGV8_TUNNEL_PAYLOADS_H_

#include <array>
#include <cstdint>
#include <optional>
#include <span>
#include <vector>

#include "ring/address.h"
#include "ring/result.h"
#include "wire/packet.h"
#include "wire/serializer.h"

namespace ringv8::tunnel {

using wire::Bytes;

// ---- Peer flags (spec 1.3): the 2-byte extra_bytes of tunnel introductions ----

enum PeerFlag : uint16_t {
  kFlagRelay = 0x0001,
  kFlagExitBt = 0x0002,
  kFlagExitIpv8 = 0x0004,
  kFlagSpeedTest = 0x0008,
  kFlagExitBackup = 0x4000,  // Tribler only.
  kFlagExitHttp = 0x8000,    // Tribler only; ringv8 never advertises it.
};
using PeerFlags = uint16_t;

// The flags in an introduction's extra_bytes: empty -> 0; one byte -> nullopt (py-ipv8's parse
// error: the entry stays unchanged); more than two -> the first two.
std::optional<PeerFlags> ParsePeerFlags(Bytes extra_bytes);
std::array<uint8_t, 2> EncodePeerFlags(PeerFlags flags);

// ---- Cells (spec 2) ----

inline constexpr size_t kCellHeaderSize = 29;
inline constexpr size_t kCellMinSize = 30;  // A header and at least the cell id.
inline constexpr size_t kCircuitIdOffset = 23;
inline constexpr size_t kRelayEarlyOffset = 28;
// Cells ringv8 sends stay within what Rust peers receive (spec Q15).
inline constexpr size_t kMaxCellSize = 2048;

struct CellHeader {
  uint32_t circuit_id = 0;
  bool plaintext = false;
  bool relay_early = false;
};

// The header of a datagram that starts with the tunnel prefix; nullopt if byte 22 is not the cell
// marker or the datagram is shorter than 30 bytes.
std::optional<CellHeader> ParseCellHeader(Bytes datagram);
// Writes the 29-byte header at `out`.
void WriteCellHeader(const wire::Prefix& prefix, const CellHeader& header, uint8_t* out);
void SetCellCircuitId(uint8_t* datagram, uint32_t circuit_id);

// Cell ids (inner message ids, spec 3.1).
enum CellId : uint8_t {
  kCellData = 1,
  kCellCreate = 2,
  kCellCreated = 3,
  kCellExtend = 4,
  kCellExtended = 5,
  kCellPing = 6,
  kCellPong = 7,
  kCellTestRequest = 19,
  kCellTestResponse = 20,
  kCellRustTestRequest = 21,
  kCellRustTestResponse = 22,
};
// CREATE and CREATED travel in clear; everything else under layers (NO_CRYPTO_PACKETS).
constexpr bool IsPlaintextCellId(uint8_t id) { return id == kCellCreate || id == kCellCreated; }

template <typename P>
concept CellPayload = requires(P p, const P cp, wire::Reader& r, wire::Writer& w) {
  { P::kCellId } -> std::convertible_to<uint8_t>;
  { p.Read(r) } -> std::same_as<bool>;
  cp.Write(w);
};

// Decodes a cell body (after the cell id) as P, which must consume all of it.
template <CellPayload P>
Result<P> DecodeCell(Bytes body) {
  wire::Reader reader(body);
  P payload;
  if (!payload.Read(reader) || !reader.ExpectEnd()) return reader.error();
  return payload;
}

// Writes `cell_id || body` of P at `out`; returns the bytes written.
template <CellPayload P>
Result<std::span<uint8_t>> EncodeCellMessage(const P& payload, std::span<uint8_t> out) {
  wire::Writer writer(out);
  writer.WriteU8(P::kCellId);
  payload.Write(writer);
  if (!writer.ok()) return writer.error();
  return writer.written();
}

// ---- Payloads (after the circuit id) ----

// 1: one UDP payload and its addresses (client -> exit: dest, org 0.0.0.0:0; back: the reverse).
struct DataPayload {
  static constexpr uint8_t kCellId = kCellData;
  wire::AnyAddress dest_address;
  wire::AnyAddress org_address;
  Bytes data;
  bool Read(wire::Reader& r);
  void Write(wire::Writer& w) const;
};

// 2: key = the client's X25519 ephemeral public key; node_public_key = the sender's key bin.
struct CreatePayload {
  static constexpr uint8_t kCellId = kCellCreate;
  uint16_t identifier = 0;
  Bytes node_public_key;
  Bytes key;
  bool Read(wire::Reader& r);
  void Write(wire::Writer& w) const;
};

// 3 (and 5, EXTENDED, the same fields): the hop's tmp key, auth and the sealed candidate list.
template <uint8_t Id>
struct CreatedLikePayload {
  static constexpr uint8_t kCellId = Id;
  uint16_t identifier = 0;
  Bytes key;
  std::array<uint8_t, 32> auth{};
  Bytes candidates_enc;
  bool Read(wire::Reader& r) {
    return r.ReadU16(&identifier) && r.ReadVarlenH(&key) && r.ReadArray(&auth) &&
           r.ReadRaw(&candidates_enc);
  }
  void Write(wire::Writer& w) const {
    w.WriteU16(identifier);
    w.WriteVarlenH(key);
    w.WriteBytes(auth);
    w.WriteRaw(candidates_enc);
  }
};
using CreatedPayload = CreatedLikePayload<kCellCreated>;
using ExtendedPayload = CreatedLikePayload<kCellExtended>;

// 4: add the hop with key node_public_key (at node_addr, or 0.0.0.0:0 = from the candidate list).
struct ExtendPayload {
  static constexpr uint8_t kCellId = kCellExtend;
  uint16_t identifier = 0;
  Bytes node_public_key;
  Bytes key;
  Address node_addr;
  bool Read(wire::Reader& r);
  void Write(wire::Writer& w) const;
};

// 6 / 7.
template <uint8_t Id>
struct IdentifierPayload {
  static constexpr uint8_t kCellId = Id;
  uint16_t identifier = 0;
  bool Read(wire::Reader& r) { return r.ReadU16(&identifier); }
  void Write(wire::Writer& w) const { w.WriteU16(identifier); }
};
using PingPayload = IdentifierPayload<kCellPing>;
using PongPayload = IdentifierPayload<kCellPong>;

// 19 / 20: py-ipv8's speed test (16-bit identifier).
struct TestRequestPayload {
  static constexpr uint8_t kCellId = kCellTestRequest;
  uint16_t identifier = 0;
  uint16_t response_size = 0;
  Bytes data;
  bool Read(wire::Reader& r);
  void Write(wire::Writer& w) const;
};
struct TestResponsePayload {
  static constexpr uint8_t kCellId = kCellTestResponse;
  uint16_t identifier = 0;
  Bytes data;
  bool Read(wire::Reader& r);
  void Write(wire::Writer& w) const;
};

// 8: DESTROY, a signed overlay message without the global-time field (spec 3.3).
struct DestroyPayload {
  static constexpr uint8_t kMessageId = 8;
  static constexpr bool kSigned = true;
  static constexpr bool kGlobalTime = false;
  uint32_t circuit_id = 0;
  uint16_t reason = 0;
  bool Read(wire::Reader& r) { return r.ReadU32(&circuit_id) && r.ReadU16(&reason); }
  void Write(wire::Writer& w) const {
    w.WriteU32(circuit_id);
    w.WriteU16(reason);
  }
};

// DESTROY reasons (py-ipv8 tunnel.py). 0 is never sent (py-ipv8 reads it as "do not send").
enum DestroyReason : uint16_t {
  kDestroyUnknown = 1,
  kDestroyShutdown = 2,
  kDestroyUnneeded = 4,
};

// ---- Candidate list (spec 3.2) ----

// varlenH-list of key bins: relays, then (if any exit) the first exit twice and the exits.
// Writes it at `out`; nullopt if it does not fit.
std::optional<size_t> EncodeCandidateList(std::span<const Bytes> relays,
                                          std::span<const Bytes> exits, std::span<uint8_t> out);
// The client's split at the first adjacent duplicate: relays before it, exits after.
struct CandidateList {
  std::vector<Bytes> relays;
  std::vector<Bytes> exits;
};
Result<CandidateList> DecodeCandidateList(Bytes list);

}  // namespace ringv8::tunnel

#endif  // RINGV8_TUNNEL_PAYLOADS_H_
