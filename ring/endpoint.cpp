#include "ring/endpoint.h"

#include <algorithm>
#include <cerrno>

#include <ifaddrs.h>

namespace ringv8 {

Address EstimatedLanAddress(const Endpoint& endpoint, Address::Family family) {
  const bool v4 = family == Address::Family::kIpv4;
  uint16_t port = 0;
  bool has_socket = false;
  for (const Address& local : endpoint.local_addresses()) {
    if (local.family() != family) continue;
    has_socket = true;
    // Bound to one address (127.0.0.1, a LAN IP): that is the only one peers can reach us at.
    // (py-ipv8 guesses an interface address even then; with its default 0.0.0.0 both agree.)
    if (!local.WithPort(0).is_zero() && local.WithPort(0) != Address::Ipv6({}, 0)) return local;
    port = local.port();
  }
  // No socket of that family: no address to give (and none of the host's to reveal).
  if (!has_socket) return v4 ? Address() : Address::Ipv6({}, 0);
  for (const Address& ip : endpoint.interface_addresses()) {
    if (ip.family() == family) return ip.WithPort(port);
  }
  std::array<uint8_t, 16> loopback6{};
  loopback6[15] = 1;
  return v4 ? Address::Ipv4(0x7F000001u, port) : Address::Ipv6(loopback6, port);
}

void Endpoint::AddListener(const PacketPrefix& prefix, EndpointListener* listener) {
  Route& route = routes_[prefix];
  if (route.stats == nullptr) route.stats = stats_.ForPrefix(prefix);
  route.listeners.push_back(listener);
}

std::span<const Address> Endpoint::interface_addresses() const {
  static const std::vector<Address> addresses = [] {
    std::vector<Address> out;
    ifaddrs* list = nullptr;
    if (getifaddrs(&list) != 0) return out;
    for (ifaddrs* i = list; i != nullptr; i = i->ifa_next) {
      if (i->ifa_addr == nullptr) continue;
      const socklen_t len =
          i->ifa_addr->sa_family == AF_INET6 ? sizeof(sockaddr_in6) : sizeof(sockaddr_in);
      auto a = Address::FromSockaddr(i->ifa_addr, len);
      if (!a) continue;
      const Address ip = a->WithPort(0);
      const std::string text = ip.IpString();
      if (text == "127.0.0.1" || text == "127.0.1.1" || text == "0.0.0.0" ||
          text == "255.255.255.255" || text == "::1") {
        continue;
      }
      out.push_back(ip);
    }
    freeifaddrs(list);
    return out;
  }();
  return addresses;
}

std::error_code Endpoint::SendFilled(const Address& to, size_t max_size, Filler fill) {
  if (max_size > kMaxUdpPayload) {
    stats_.send_too_large.Add();
    return Errno(EMSGSIZE);
  }
  thread_local std::vector<uint8_t> scratch;
  scratch.resize(std::max(scratch.size(), max_size));
  const size_t length = fill(std::span<uint8_t>(scratch.data(), max_size));
  if (length == 0) return {};
  return Send(to, std::span<const uint8_t>(scratch.data(), length));
}

Result<std::unique_ptr<Endpoint>> Endpoint::OpenAnother(const EndpointOptions&) {
  return Unexpected{Errno(EOPNOTSUPP)};
}

void Endpoint::Unlist(std::vector<EndpointListener*>& listeners, EndpointListener* listener) {
  if (dispatching_ > 0) {
    // Keep the vector stable for the Dispatch that is iterating it; Compact() erases later.
    std::replace(listeners.begin(), listeners.end(), listener,
                 static_cast<EndpointListener*>(nullptr));
    needs_compaction_ = true;
    return;
  }
  std::erase(listeners, listener);
}

void Endpoint::RemoveListener(const PacketPrefix& prefix, EndpointListener* listener) {
  auto it = routes_.find(prefix);
  if (it == routes_.end()) return;
  Unlist(it->second.listeners, listener);
  if (it->second.listeners.empty()) {
    last_route_ = nullptr;
    routes_.erase(it);  // Statistics for the prefix stay.
  }
}

void Endpoint::AddCatchAllListener(EndpointListener* listener) { catch_all_.push_back(listener); }

void Endpoint::RemoveCatchAllListener(EndpointListener* listener) { Unlist(catch_all_, listener); }

void Endpoint::Compact() {
  needs_compaction_ = false;
  std::erase(catch_all_, nullptr);
  last_route_ = nullptr;
  for (auto it = routes_.begin(); it != routes_.end();) {
    std::erase(it->second.listeners, nullptr);
    it = it->second.listeners.empty() ? routes_.erase(it) : std::next(it);
  }
}

Endpoint::Route* Endpoint::FindRoute(std::span<const uint8_t> datagram) {
  if (last_route_ != nullptr &&
      std::memcmp(last_prefix_->data(), datagram.data(), kPacketPrefixSize) == 0) {
    return last_route_;
  }
  PacketPrefix prefix;
  std::memcpy(prefix.data(), datagram.data(), kPacketPrefixSize);
  auto it = routes_.find(prefix);
  if (it == routes_.end()) return nullptr;
  last_prefix_ = &it->first;
  last_route_ = &it->second;
  return last_route_;
}

void Endpoint::Dispatch(const Address& source, std::span<const uint8_t> datagram) {
  stats_.packets_in.Add();
  stats_.bytes_in.Add(datagram.size());
  if (raw_) {
    ++dispatching_;
    for (size_t i = 0; i < catch_all_.size(); ++i) {
      if (catch_all_[i] != nullptr) catch_all_[i]->OnPacket(source, datagram);
    }
    if (--dispatching_ == 0 && needs_compaction_) Compact();
    return;
  }
  if (datagram.size() <= kPacketPrefixSize) {
    stats_.too_short.Add();
    return;
  }
  Route* route = FindRoute(datagram);
  if (route == nullptr && catch_all_.empty()) {
    stats_.unknown_prefix.Add();
    return;
  }
  ++dispatching_;
  if (route != nullptr) {
    MessageStats& m = route->stats->by_message_id[datagram[kPacketPrefixSize]];
    m.packets_in.Add();
    m.bytes_in.Add(datagram.size());
    // Index-based: a listener may add listeners (which can grow the vector) while we iterate.
    auto& listeners = route->listeners;
    for (size_t i = 0; i < listeners.size(); ++i) {
      if (listeners[i] != nullptr) listeners[i]->OnPacket(source, datagram);
    }
  }
  for (size_t i = 0; i < catch_all_.size(); ++i) {
    if (catch_all_[i] != nullptr) catch_all_[i]->OnPacket(source, datagram);
  }
  if (--dispatching_ == 0 && needs_compaction_) Compact();
}

void Endpoint::CountSent(std::span<const uint8_t> datagram) {
  stats_.packets_out.Add();
  stats_.bytes_out.Add(datagram.size());
  if (datagram.size() <= kPacketPrefixSize || routes_.empty()) return;
  if (Route* route = FindRoute(datagram)) {
    MessageStats& m = route->stats->by_message_id[datagram[kPacketPrefixSize]];
    m.packets_out.Add();
    m.bytes_out.Add(datagram.size());
  }
}

}  // namespace ringv8
