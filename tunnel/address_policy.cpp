#include "tunnel/address_policy.h"

#include <cstdint>

namespace ringv8::tunnel {
namespace {

struct Ipv4Range {
  uint32_t base;
  int bits;
};

// RFC 6890 and successors: never a public unicast destination.
constexpr Ipv4Range kSpecialIpv4[] = {
    {0x00000000, 8},   // 0.0.0.0/8 "this network"
    {0x0A000000, 8},   // 10/8 private
    {0x64400000, 10},  // 100.64/10 shared (CGNAT)
    {0x7F000000, 8},   // 127/8 loopback
    {0xA9FE0000, 16},  // 169.254/16 link-local
    {0xAC100000, 12},  // 172.16/12 private
    {0xC0000000, 24},  // 192.0.0/24 IETF protocol assignments
    {0xC0000200, 24},  // 192.0.2/24 TEST-NET-1
    {0xC0A80000, 16},  // 192.168/16 private
    {0xC6120000, 15},  // 198.18/15 benchmarking
    {0xC6336400, 24},  // 198.51.100/24 TEST-NET-2
    {0xCB007100, 24},  // 203.0.113/24 TEST-NET-3
    {0xE0000000, 4},   // 224/4 multicast
    {0xF0000000, 4},   // 240/4 reserved, and the broadcast address
};

bool InRange(uint32_t ip, const Ipv4Range& range) {
  const uint32_t mask = range.bits == 0 ? 0 : ~uint32_t{0} << (32 - range.bits);
  return (ip & mask) == range.base;
}

}  // namespace

bool IsLoopbackAddress(const Address& address) {
  if (address.is_v4()) return (address.ipv4_host_order() >> 24) == 127;
  auto ip = address.ip_bytes();
  for (size_t i = 0; i < 15; ++i) {
    if (ip[i] != 0) return false;
  }
  return ip[15] == 1;
}

bool IsPublicAddress(const Address& address) {
  if (address.is_v4()) {
    const uint32_t ip = address.ipv4_host_order();
    for (const Ipv4Range& range : kSpecialIpv4) {
      if (InRange(ip, range)) return false;
    }
    return true;
  }
  // IPv6: only 2000::/3 is global unicast; inside it, documentation 2001:db8::/32 and the
  // IETF block 2001::/23 (Teredo, benchmarking, ORCHID...) are refused.
  auto ip = address.ip_bytes();
  if ((ip[0] & 0xE0) != 0x20) return false;
  if (ip[0] == 0x20 && ip[1] == 0x01 && ip[2] == 0x0d && ip[3] == 0xb8) return false;
  if (ip[0] == 0x20 && ip[1] == 0x01 && ip[2] < 0x02) return false;
  return true;
}

}  // namespace ringv8::tunnel
