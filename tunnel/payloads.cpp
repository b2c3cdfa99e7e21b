#include "tunnel/payloads.h"

#include <cstring>

namespace ringv8::tunnel {

std::optional<PeerFlags> ParsePeerFlags(Bytes extra_bytes) {
  if (extra_bytes.empty()) return PeerFlags{0};
  if (extra_bytes.size() < 2) return std::nullopt;
  return static_cast<PeerFlags>(extra_bytes[0] << 8 | extra_bytes[1]);
}

std::array<uint8_t, 2> EncodePeerFlags(PeerFlags flags) {
  return {static_cast<uint8_t>(flags >> 8), static_cast<uint8_t>(flags)};
}

std::optional<CellHeader> ParseCellHeader(Bytes datagram) {
  if (datagram.size() < kCellMinSize || datagram[22] != 0) return std::nullopt;
  const uint8_t* p = datagram.data() + kCircuitIdOffset;
  CellHeader header;
  header.circuit_id = uint32_t{p[0]} << 24 | uint32_t{p[1]} << 16 | uint32_t{p[2]} << 8 | p[3];
  header.plaintext = p[4] != 0;
  header.relay_early = p[5] != 0;
  return header;
}

void WriteCellHeader(const wire::Prefix& prefix, const CellHeader& header, uint8_t* out) {
  std::memcpy(out, prefix.data(), prefix.size());
  out[22] = 0;
  SetCellCircuitId(out, header.circuit_id);
  out[27] = header.plaintext ? 1 : 0;
  out[kRelayEarlyOffset] = header.relay_early ? 1 : 0;
}

void SetCellCircuitId(uint8_t* datagram, uint32_t circuit_id) {
  uint8_t* p = datagram + kCircuitIdOffset;
  p[0] = static_cast<uint8_t>(circuit_id >> 24);
  p[1] = static_cast<uint8_t>(circuit_id >> 16);
  p[2] = static_cast<uint8_t>(circuit_id >> 8);
  p[3] = static_cast<uint8_t>(circuit_id);
}

bool DataPayload::Read(wire::Reader& r) {
  return r.ReadAddress(&dest_address) && r.ReadAddress(&org_address) && r.ReadRaw(&data);
}

void DataPayload::Write(wire::Writer& w) const {
  w.WriteAddress(dest_address);
  w.WriteAddress(org_address);
  w.WriteRaw(data);
}

bool CreatePayload::Read(wire::Reader& r) {
  return r.ReadU16(&identifier) && r.ReadVarlenH(&node_public_key) && r.ReadVarlenH(&key);
}

void CreatePayload::Write(wire::Writer& w) const {
  w.WriteU16(identifier);
  w.WriteVarlenH(node_public_key);
  w.WriteVarlenH(key);
}

bool ExtendPayload::Read(wire::Reader& r) {
  return r.ReadU16(&identifier) && r.ReadVarlenH(&node_public_key) && r.ReadVarlenH(&key) &&
         r.ReadIpAddress(&node_addr);
}

void ExtendPayload::Write(wire::Writer& w) const {
  w.WriteU16(identifier);
  w.WriteVarlenH(node_public_key);
  w.WriteVarlenH(key);
  w.WriteIpAddress(node_addr);
}

bool TestRequestPayload::Read(wire::Reader& r) {
  return r.ReadU16(&identifier) && r.ReadU16(&response_size) && r.ReadRaw(&data);
}

void TestRequestPayload::Write(wire::Writer& w) const {
  w.WriteU16(identifier);
  w.WriteU16(response_size);
  w.WriteRaw(data);
}

bool TestResponsePayload::Read(wire::Reader& r) {
  return r.ReadU16(&identifier) && r.ReadRaw(&data);
}

void TestResponsePayload::Write(wire::Writer& w) const {
  w.WriteU16(identifier);
  w.WriteRaw(data);
}

std::optional<size_t> EncodeCandidateList(std::span<const Bytes> relays,
                                          std::span<const Bytes> exits, std::span<uint8_t> out) {
  std::vector<Bytes> items(relays.begin(), relays.end());
  if (!exits.empty()) {
    items.push_back(exits.front());  // The first exit twice: the client's separator.
    items.insert(items.end(), exits.begin(), exits.end());
  }
  wire::Writer writer(out);
  writer.WriteVarlenHList(items);
  if (!writer.ok()) return std::nullopt;
  return writer.size();
}

Result<CandidateList> DecodeCandidateList(Bytes list) {
  wire::Reader reader(list);
  std::vector<Bytes> items;
  if (!reader.ReadVarlenHList(&items) || !reader.ExpectEnd()) return reader.error();
  CandidateList out;
  for (size_t i = 0; i < items.size(); ++i) {
    if (i + 1 < items.size() && std::ranges::equal(items[i], items[i + 1])) {
      out.exits.assign(items.begin() + static_cast<ptrdiff_t>(i) + 1, items.end());
      return out;
    }
    out.relays.push_back(items[i]);
  }
  return out;
}

}  // namespace ringv8::tunnel
