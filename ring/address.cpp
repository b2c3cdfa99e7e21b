#include "ring/address.h"

#include <arpa/inet.h>

#include <cstring>

namespace ringv8 {

Address Address::Ipv4(std::array<uint8_t, 4> ip, uint16_t port) {
  Address a;
  std::memcpy(a.ip_.data(), ip.data(), 4);
  a.port_ = port;
  return a;
}

Address Address::Ipv4(uint32_t ip_host_order, uint16_t port) {
  return Ipv4({static_cast<uint8_t>(ip_host_order >> 24), static_cast<uint8_t>(ip_host_order >> 16),
               static_cast<uint8_t>(ip_host_order >> 8), static_cast<uint8_t>(ip_host_order)},
              port);
}

Address Address::Ipv6(std::array<uint8_t, 16> ip, uint16_t port) {
  Address a;
  a.family_ = Family::kIpv6;
  a.ip_ = ip;
  a.port_ = port;
  return a;
}

uint32_t Address::ipv4_host_order() const {
  if (!is_v4()) return 0;
  return (uint32_t{ip_[0]} << 24) | (uint32_t{ip_[1]} << 16) | (uint32_t{ip_[2]} << 8) | ip_[3];
}

namespace {

std::optional<uint16_t> ParsePort(std::string_view text) {
  if (text.empty() || text.size() > 5) return std::nullopt;
  uint32_t port = 0;
  for (char c : text) {
    if (c < '0' || c > '9') return std::nullopt;
    port = port * 10 + static_cast<uint32_t>(c - '0');
  }
  if (port > 65535) return std::nullopt;
  return static_cast<uint16_t>(port);
}

}  // namespace

std::optional<Address> Address::ParseIp(std::string_view ip, uint16_t port) {
  char buf[INET6_ADDRSTRLEN + 1];
  if (ip.empty() || ip.size() >= sizeof(buf)) return std::nullopt;
  std::memcpy(buf, ip.data(), ip.size());
  buf[ip.size()] = '\0';
  std::array<uint8_t, 16> bytes{};
  if (inet_pton(AF_INET, buf, bytes.data()) == 1) {
    return Ipv4({bytes[0], bytes[1], bytes[2], bytes[3]}, port);
  }
  if (inet_pton(AF_INET6, buf, bytes.data()) == 1) return Ipv6(bytes, port);
  return std::nullopt;
}

std::optional<Address> Address::Parse(std::string_view text) {
  if (!text.empty() && text.front() == '[') {
    size_t close = text.find("]:");
    if (close == std::string_view::npos) return std::nullopt;
    auto port = ParsePort(text.substr(close + 2));
    if (!port) return std::nullopt;
    auto a = ParseIp(text.substr(1, close - 1), *port);
    if (!a || !a->is_v6()) return std::nullopt;
    return a;
  }
  size_t colon = text.rfind(':');
  if (colon == std::string_view::npos) return std::nullopt;
  auto port = ParsePort(text.substr(colon + 1));
  if (!port) return std::nullopt;
  auto a = ParseIp(text.substr(0, colon), *port);
  if (!a || !a->is_v4()) return std::nullopt;  // Bare IPv6 needs brackets.
  return a;
}

std::optional<Address> Address::FromSockaddr(const sockaddr* addr, socklen_t len) {
  if (addr->sa_family == AF_INET && len >= static_cast<socklen_t>(sizeof(sockaddr_in))) {
    sockaddr_in in;
    std::memcpy(&in, addr, sizeof(in));
    std::array<uint8_t, 4> ip;
    std::memcpy(ip.data(), &in.sin_addr, 4);
    return Ipv4(ip, ntohs(in.sin_port));
  }
  if (addr->sa_family == AF_INET6 && len >= static_cast<socklen_t>(sizeof(sockaddr_in6))) {
    sockaddr_in6 in6;
    std::memcpy(&in6, addr, sizeof(in6));
    std::array<uint8_t, 16> ip;
    std::memcpy(ip.data(), &in6.sin6_addr, 16);
    return Ipv6(ip, ntohs(in6.sin6_port));
  }
  return std::nullopt;
}

std::string Address::IpString() const {
  char buf[INET6_ADDRSTRLEN];
  inet_ntop(is_v4() ? AF_INET : AF_INET6, ip_.data(), buf, sizeof(buf));
  return buf;
}

std::string Address::ToString() const {
  // Appends rather than operator+ chains, which trip a GCC 12 -Wrestrict false positive.
  std::string text;
  if (is_v6()) text.push_back('[');
  text.append(IpString());
  if (is_v6()) text.push_back(']');
  text.push_back(':');
  text.append(std::to_string(port_));
  return text;
}

socklen_t Address::ToSockaddr(sockaddr_storage* out) const {
  // Only the bytes the length covers are written (this runs once per datagram sent).
  if (is_v4()) {
    auto* in = reinterpret_cast<sockaddr_in*>(out);
    *in = sockaddr_in{};
    in->sin_family = AF_INET;
    in->sin_port = htons(port_);
    std::memcpy(&in->sin_addr, ip_.data(), 4);
    return sizeof(sockaddr_in);
  }
  auto* in6 = reinterpret_cast<sockaddr_in6*>(out);
  *in6 = sockaddr_in6{};
  in6->sin6_family = AF_INET6;
  in6->sin6_port = htons(port_);
  std::memcpy(&in6->sin6_addr, ip_.data(), 16);
  return sizeof(sockaddr_in6);
}

size_t Address::Hash() const {
  // FNV-1a over the used bytes; addresses are attacker-chosen but tables that face the network
  // bound their size, so a keyed hash is not needed here.
  uint64_t h = 1469598103934665603ull;
  auto mix = [&h](uint8_t b) {
    h ^= b;
    h *= 1099511628211ull;
  };
  mix(static_cast<uint8_t>(family_));
  for (uint8_t b : ip_bytes()) mix(b);
  mix(static_cast<uint8_t>(port_ >> 8));
  mix(static_cast<uint8_t>(port_));
  return static_cast<size_t>(h);
}

}  // namespace ringv8
