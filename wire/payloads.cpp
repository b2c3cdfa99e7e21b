#include "wire/payloads.h"

namespace ringv8::wire {

ConnectionType DecodeConnectionType(bool bit0, bool bit1) {
  if (!bit0 && !bit1) return ConnectionType::kUnknown;
  if (bit0 && !bit1) return ConnectionType::kPublic;
  if (bit0 && bit1) return ConnectionType::kSymmetricNat;
  return ConnectionType::kNotApplicable;
}

namespace {

// The eight flags of a 246/234 request, in bit order (0x80 first).
template <typename Request>
Bits RequestFlags(const Request& p) {
  return {p.connection_type_0,
          p.connection_type_1,
          p.supports_new_style,
          p.dflag1,
          p.dflag2,
          p.tunnel,
          p.sync,
          p.advice};
}

template <typename Request>
void SetRequestFlags(const Bits& b, Request* p) {
  p->connection_type_0 = b[0];
  p->connection_type_1 = b[1];
  p->supports_new_style = b[2];
  p->dflag1 = b[3];
  p->dflag2 = b[4];
  p->tunnel = b[5];
  p->sync = b[6];
  p->advice = b[7];
}

}  // namespace

bool IntroductionRequestPayload::Read(Reader& r) {
  Bits bits;
  if (!r.ReadIpv4(&destination_address) || !r.ReadIpv4(&source_lan_address) ||
      !r.ReadIpv4(&source_wan_address) || !r.ReadBits(&bits) || !r.ReadU16(&identifier) ||
      !r.ReadRaw(&extra_bytes)) {
    return false;
  }
  SetRequestFlags(bits, this);
  return true;
}

void IntroductionRequestPayload::Write(Writer& w) const {
  w.WriteIpv4(destination_address);
  w.WriteIpv4(source_lan_address);
  w.WriteIpv4(source_wan_address);
  w.WriteBits(RequestFlags(*this));
  w.WriteU16(identifier);
  w.WriteRaw(extra_bytes);
}

bool IntroductionResponsePayload::Read(Reader& r) {
  Bits b;
  if (!r.ReadIpv4(&destination_address) || !r.ReadIpv4(&source_lan_address) ||
      !r.ReadIpv4(&source_wan_address) || !r.ReadIpv4(&lan_introduction_address) ||
      !r.ReadIpv4(&wan_introduction_address) || !r.ReadBits(&b) || !r.ReadU16(&identifier) ||
      !r.ReadRaw(&extra_bytes)) {
    return false;
  }
  connection_type_0 = b[0];
  connection_type_1 = b[1];
  dflag0 = b[2];
  supports_new_style = b[3];
  intro_supports_new_style = b[4];
  peer_limit_reached = b[5];
  dflag4 = b[6];
  dflag5 = b[7];
  return true;
}

void IntroductionResponsePayload::Write(Writer& w) const {
  w.WriteIpv4(destination_address);
  w.WriteIpv4(source_lan_address);
  w.WriteIpv4(source_wan_address);
  w.WriteIpv4(lan_introduction_address);
  w.WriteIpv4(wan_introduction_address);
  w.WriteBits({connection_type_0, connection_type_1, dflag0, supports_new_style,
               intro_supports_new_style, peer_limit_reached, dflag4, dflag5});
  w.WriteU16(identifier);
  w.WriteRaw(extra_bytes);
}

bool NewIntroductionRequestPayload::Read(Reader& r) {
  Bits bits;
  if (!r.ReadIpAddress(&destination_address) || !r.ReadIpAddress(&source_lan_address) ||
      !r.ReadIpAddress(&source_wan_address) || !r.ReadU16(&identifier) || !r.ReadBits(&bits) ||
      !r.ReadRaw(&extra_bytes)) {
    return false;
  }
  SetRequestFlags(bits, this);
  return true;
}

void NewIntroductionRequestPayload::Write(Writer& w) const {
  w.WriteIpAddress(destination_address);
  w.WriteIpAddress(source_lan_address);
  w.WriteIpAddress(source_wan_address);
  w.WriteU16(identifier);
  w.WriteBits(RequestFlags(*this));
  w.WriteRaw(extra_bytes);
}

bool NewIntroductionResponsePayload::Read(Reader& r) {
  Bits b;
  if (!r.ReadIpAddress(&destination_address) || !r.ReadIpAddress(&source_lan_address) ||
      !r.ReadIpAddress(&source_wan_address) || !r.ReadIpAddress(&lan_introduction_address) ||
      !r.ReadIpAddress(&wan_introduction_address) || !r.ReadU16(&identifier) || !r.ReadBits(&b) ||
      !r.ReadRaw(&extra_bytes)) {
    return false;
  }
  intro_supports_new_style = b[0];
  for (size_t i = 0; i < flags.size(); ++i) flags[i] = b[i + 1];
  return true;
}

void NewIntroductionResponsePayload::Write(Writer& w) const {
  w.WriteIpAddress(destination_address);
  w.WriteIpAddress(source_lan_address);
  w.WriteIpAddress(source_wan_address);
  w.WriteIpAddress(lan_introduction_address);
  w.WriteIpAddress(wan_introduction_address);
  w.WriteU16(identifier);
  Bits b{intro_supports_new_style};
  for (size_t i = 0; i < flags.size(); ++i) b[i + 1] = flags[i];
  w.WriteBits(b);
  w.WriteRaw(extra_bytes);
}

bool PunctureRequestPayload::Read(Reader& r) {
  return r.ReadIpv4(&lan_walker_address) && r.ReadIpv4(&wan_walker_address) &&
         r.ReadU16(&identifier);
}

void PunctureRequestPayload::Write(Writer& w) const {
  w.WriteIpv4(lan_walker_address);
  w.WriteIpv4(wan_walker_address);
  w.WriteU16(identifier);
}

bool NewPunctureRequestPayload::Read(Reader& r) {
  return r.ReadIpAddress(&lan_walker_address) && r.ReadIpAddress(&wan_walker_address) &&
         r.ReadU16(&identifier);
}

void NewPunctureRequestPayload::Write(Writer& w) const {
  w.WriteIpAddress(lan_walker_address);
  w.WriteIpAddress(wan_walker_address);
  w.WriteU16(identifier);
}

bool PuncturePayload::Read(Reader& r) {
  return r.ReadIpv4(&source_lan_address) && r.ReadIpv4(&source_wan_address) &&
         r.ReadU16(&identifier);
}

void PuncturePayload::Write(Writer& w) const {
  w.WriteIpv4(source_lan_address);
  w.WriteIpv4(source_wan_address);
  w.WriteU16(identifier);
}

bool NewPuncturePayload::Read(Reader& r) {
  return r.ReadIpAddress(&source_lan_address) && r.ReadIpAddress(&source_wan_address) &&
         r.ReadU16(&identifier);
}

void NewPuncturePayload::Write(Writer& w) const {
  w.WriteIpAddress(source_lan_address);
  w.WriteIpAddress(source_wan_address);
  w.WriteU16(identifier);
}

bool SimilarityRequestPayload::Read(Reader& r) {
  Bits b;
  if (!r.ReadU16(&identifier) || !r.ReadIpv4(&lan_address) || !r.ReadIpv4(&wan_address) ||
      !r.ReadBits(&b)) {
    return false;
  }
  // py-ipv8 splits the tail into 20-byte ids; a partial id would be a truncated one.
  if (r.remaining() % 20 != 0) return r.Reject(WireError::kTruncated);
  if (!r.ReadRaw(&preference_list)) return false;
  connection_type_0 = b[0];
  connection_type_1 = b[1];
  for (size_t i = 0; i < dflags.size(); ++i) dflags[i] = b[i + 2];
  return true;
}

void SimilarityRequestPayload::Write(Writer& w) const {
  w.WriteU16(identifier);
  w.WriteIpv4(lan_address);
  w.WriteIpv4(wan_address);
  Bits b{connection_type_0, connection_type_1};
  for (size_t i = 0; i < dflags.size(); ++i) b[i + 2] = dflags[i];
  w.WriteBits(b);
  w.WriteRaw(preference_list);
}

bool SimilarityResponsePayload::Read(Reader& r) {
  if (!r.ReadU16(&identifier) || !r.ReadVarlenHx20(&preference_list)) return false;
  // tb_overlap entries are 24 bytes (20-byte id + u32); a partial entry is truncated.
  if (r.remaining() % 24 != 0) return r.Reject(WireError::kTruncated);
  return r.ReadRaw(&tb_overlap);
}

void SimilarityResponsePayload::Write(Writer& w) const {
  w.WriteU16(identifier);
  w.WriteVarlenHx20(preference_list);
  w.WriteRaw(tb_overlap);
}

bool DiscoveryIntroductionRequestPayload::Read(Reader& r) {
  return r.ReadU8(&introduce_marker) && r.ReadArray(&introduce_to) && request.Read(r);
}

void DiscoveryIntroductionRequestPayload::Write(Writer& w) const {
  w.WriteU8(introduce_marker);
  w.WriteBytes(introduce_to);
  request.Write(w);
}

}  // namespace ringv8::wire
