// Address: an IPv4 or IPv6 UDP socket address (IP and port), as IPv8 uses them.
//
// A value type: hashable, totally ordered, printable ("1.2.3.4:80", "[::1]:80") and parsable from
// the same forms. The default Address is IPv4 0.0.0.0:0, which IPv8 uses for "no address".
// Thread-compatible.
#ifndef RINGV8_RING_ADDRESS_H_
#define RINGV8_RING_ADDRESS_H_

#include <netinet/in.h>
#include <sys/socket.h>

#include <array>
#include <compare>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <optional>
#include <span>
#include <string>
#include <string_view>

namespace ringv8 {

class Address {
 public:
  enum class Family : uint8_t { kIpv4 = 4, kIpv6 = 6 };

  // 0.0.0.0:0.
  constexpr Address() = default;

  static Address Ipv4(std::array<uint8_t, 4> ip, uint16_t port);
  static Address Ipv4(uint32_t ip_host_order, uint16_t port);
  static Address Ipv6(std::array<uint8_t, 16> ip, uint16_t port);

  // Parses "a.b.c.d:port", "[v6]:port"; nullopt on anything else.
  static std::optional<Address> Parse(std::string_view text);
  // Parses a bare IP ("a.b.c.d" or "v6") with the given port.
  static std::optional<Address> ParseIp(std::string_view ip, uint16_t port);
  // From a kernel socket address (AF_INET or AF_INET6); nullopt for other families.
  static std::optional<Address> FromSockaddr(const sockaddr* addr, socklen_t len);

  Family family() const { return family_; }
  bool is_v4() const { return family_ == Family::kIpv4; }
  bool is_v6() const { return family_ == Family::kIpv6; }
  uint16_t port() const { return port_; }
  // 4 bytes for IPv4, 16 for IPv6, network order.
  std::span<const uint8_t> ip_bytes() const {
    return std::span<const uint8_t>(ip_.data(), is_v4() ? 4 : 16);
  }
  // IPv4 address in host order (0 for IPv6).
  uint32_t ipv4_host_order() const;

  // 0.0.0.0:0 (IPv8's "unknown address").
  bool is_zero() const { return *this == Address(); }
  // Same IP, ignoring the port.
  bool SameIp(const Address& other) const { return family_ == other.family_ && ip_ == other.ip_; }
  Address WithPort(uint16_t port) const {
    Address copy = *this;
    copy.port_ = port;
    return copy;
  }

  // "1.2.3.4:80" or "[::1]:80".
  std::string ToString() const;
  // "1.2.3.4" or "::1".
  std::string IpString() const;
  // Fills a sockaddr_in/sockaddr_in6; returns its length.
  socklen_t ToSockaddr(sockaddr_storage* out) const;

  friend bool operator==(const Address&, const Address&) = default;
  friend auto operator<=>(const Address&, const Address&) = default;

  size_t Hash() const;

 private:
  Family family_ = Family::kIpv4;
  uint16_t port_ = 0;
  std::array<uint8_t, 16> ip_{};  // IPv4 uses the first 4 bytes; the rest stay zero.
};

}  // namespace ringv8

template <>
struct std::hash<ringv8::Address> {
  size_t operator()(const ringv8::Address& a) const { return a.Hash(); }
};

#endif  // RINGV8_RING_ADDRESS_H_
