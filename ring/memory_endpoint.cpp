#include "ring/memory_endpoint.h"

#include <cerrno>

#include "ring/internal/udp_socket.h"

namespace ringv8 {

MemoryNetwork::MemoryNetwork(EventLoop& loop, uint64_t seed) : loop_(loop), rng_(seed) {}

MemoryNetwork::~MemoryNetwork() {
  for (auto& [address, endpoint] : endpoints_) endpoint->network_ = nullptr;
}

void MemoryNetwork::SetLink(const Address& from, const Address& to, const Link& link) {
  links_[{from, to}] = link;
}

std::error_code MemoryNetwork::Bind(MemoryEndpoint* endpoint, Address* address, bool port_fallback,
                                    int attempts) {
  if (address->ip_bytes().size() == 4 ? address->ipv4_host_order() == 0
                                      : address->SameIp(Address::Ipv6({}, 0))) {
    const uint32_t host = next_host_++;
    if (address->is_v4()) {
      *address = Address::Ipv4(0x0A000000u | host, address->port());
    } else {
      std::array<uint8_t, 16> ip{0xfd};
      ip[12] = static_cast<uint8_t>(host >> 24);
      ip[13] = static_cast<uint8_t>(host >> 16);
      ip[14] = static_cast<uint8_t>(host >> 8);
      ip[15] = static_cast<uint8_t>(host);
      *address = Address::Ipv6(ip, address->port());
    }
  }
  if (address->port() == 0) *address = address->WithPort(next_port_++);
  for (int i = 0; i < (port_fallback ? attempts : 1); ++i) {
    Address candidate = address->WithPort(static_cast<uint16_t>(address->port() + i));
    if (endpoints_.emplace(candidate, endpoint).second) {
      *address = candidate;
      return {};
    }
  }
  return Errno(EADDRINUSE);
}

void MemoryNetwork::Unbind(const Address& address) { endpoints_.erase(address); }

Result<std::unique_ptr<MemoryEndpoint>> MemoryNetwork::Open(const EndpointOptions& options) {
  std::unique_ptr<MemoryEndpoint> endpoint(new MemoryEndpoint(this, options));
  for (const auto& bind : {options.ipv4, options.ipv6}) {
    if (!bind) continue;
    Address address = *bind;
    if (auto error = Bind(endpoint.get(), &address, options.port_fallback, options.port_attempts)) {
      endpoint->Close();
      return Unexpected{error};
    }
    endpoint->addresses_.push_back(address);
    endpoint->interface_addresses_.push_back(address.WithPort(0));
  }
  if (endpoint->addresses_.empty()) return Unexpected{Errno(EINVAL)};
  return endpoint;
}

Result<std::unique_ptr<Endpoint>> MemoryEndpoint::OpenAnother(const EndpointOptions& options) {
  if (network_ == nullptr) return Unexpected{Errno(ENOTCONN)};
  auto endpoint = network_->Open(options);
  if (!endpoint) return Unexpected{endpoint.error()};
  return std::unique_ptr<Endpoint>(std::move(*endpoint));
}

void MemoryNetwork::Transmit(MemoryEndpoint* from, const Address& source, const Address& to,
                             std::span<const uint8_t> datagram) {
  if (auto nat = nat_open_.find(source); nat != nat_open_.end()) nat->second.insert(to);
  auto link_it = links_.find({source, to});
  const Link& link = link_it != links_.end() ? link_it->second : default_link_;
  ++from->in_flight_;
  auto release = [alive = from->alive_, from] {
    if (*alive) --from->in_flight_;
  };
  if (link.loss > 0 && std::uniform_real_distribution<double>(0, 1)(rng_) < link.loss) {
    ++lost_;
    loop_.CallLater(link.delay, release);  // A lost datagram still occupies the queue until then.
    return;
  }
  auto data = std::make_shared<std::vector<uint8_t>>(datagram.begin(), datagram.end());
  loop_.CallLater(link.delay, [this, source, to, data, release] {
    release();
    auto it = endpoints_.find(to);
    if (it == endpoints_.end()) {
      ++unreachable_;
      return;
    }
    if (auto nat = nat_open_.find(to); nat != nat_open_.end() && !nat->second.contains(source)) {
      ++nat_dropped_;
      return;
    }
    ++delivered_;
    it->second->Deliver(source, *data);
  });
}

MemoryEndpoint::~MemoryEndpoint() {
  *alive_ = false;
  Close();
}

void MemoryEndpoint::Close() {
  if (network_ == nullptr) return;
  for (const Address& address : addresses_) network_->Unbind(address);
  network_ = nullptr;
}

std::error_code MemoryEndpoint::Send(const Address& to, std::span<const uint8_t> datagram) {
  int index = -1;
  for (size_t i = 0; i < addresses_.size(); ++i) {
    if (addresses_[i].family() == to.family()) index = static_cast<int>(i);
  }
  if (auto error = internal::CheckSend(network_ != nullptr, index, datagram.size(), stats_)) {
    return error;
  }
  if (in_flight_ >= options_.send_queue_capacity) {
    stats_.send_queue_full.Add();
    return Errno(ENOBUFS);
  }
  stats_.CountSendBatch(1);
  CountSent(datagram);
  network_->Transmit(this, addresses_[static_cast<size_t>(index)], to, datagram);
  return {};
}

void MemoryEndpoint::Deliver(const Address& source, std::span<const uint8_t> datagram) {
  if (datagram.size() > options_.receive_buffer_size) {
    stats_.truncated.Add();  // As a real endpoint would: larger than a receive buffer.
    return;
  }
  stats_.CountReceiveBatch(1);
  Dispatch(source, datagram);
}

}  // namespace ringv8
