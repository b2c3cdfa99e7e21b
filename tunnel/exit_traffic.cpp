#include "tunnel/exit_traffic.h"

#include <cstring>

namespace ringv8::tunnel {
namespace {

uint32_t ReadBe32(const uint8_t* p) {
  return uint32_t{p[0]} << 24 | uint32_t{p[1]} << 16 | uint32_t{p[2]} << 8 | uint32_t{p[3]};
}

}  // namespace

bool IsUtp(Bytes data) {
  return data.size() >= 20 && (data[0] >> 4) <= 4 && (data[0] & 0x0f) == 1 && data[1] <= 3;
}

bool IsUdpTracker(Bytes data) {
  // Requests carry the action at offset 8 (after the connection id), responses at offset 0.
  return (data.size() >= 8 && ReadBe32(data.data()) <= 3) ||
         (data.size() >= 12 && ReadBe32(data.data() + 8) <= 3);
}

bool IsDht(Bytes data) { return data.size() > 1 && data.front() == 'd' && data.back() == 'e'; }

bool IsBitTorrent(Bytes data) { return IsUtp(data) || IsUdpTracker(data) || IsDht(data); }

bool IsIpv8(Bytes data) {
  return data.size() >= 23 && data[0] == 0x00 && (data[1] == 0x01 || data[1] == 0x02);
}

ExitClass ClassifyExit(Bytes data, PeerFlags flags, const PacketPrefix& own_prefix) {
  const bool ipv8 = IsIpv8(data);
  if ((flags & kFlagExitBt) != 0 && IsBitTorrent(data)) return ExitClass::kBitTorrent;
  if (ipv8 && (flags & kFlagExitIpv8) != 0) return ExitClass::kIpv8;
  if (ipv8 && std::memcmp(data.data(), own_prefix.data(), own_prefix.size()) == 0) {
    return ExitClass::kOwnTunnel;
  }
  return ExitClass::kRefused;
}

}  // namespace ringv8::tunnel
