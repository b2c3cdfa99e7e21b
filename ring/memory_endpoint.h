// MemoryNetwork and MemoryEndpoint: an in-process UDP network on the loop's clock, with per-link
// delay and loss, for deterministic protocol tests and simulations of thousands of nodes.
//
// A datagram sent at time t arrives at t + delay through a loop timer (after every datagram sent
// earlier on the same loop with the same delay), unless the link's seeded random loss drops it.
// With a VirtualClock loop, a whole scenario runs without sleeping and gives the same result on
// every run. Each endpoint has its own address (10.x.y.z by default); sending to an address no
// endpoint holds is counted as unreachable.
//
// Thread-affine: the network and its endpoints belong to the loop's thread.
#ifndef RINGV8_RING_MEMORY_ENDPOINT_H_
#define RINGV8_RING_MEMORY_ENDPOINT_H_

#include <cstdint>
#include <map>
#include <memory>
#include <random>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include "ring/endpoint.h"
#include "ring/event_loop.h"

namespace ringv8 {

class MemoryEndpoint;

class MemoryNetwork {
 public:
  struct Link {
    Duration delay{0};
    double loss = 0.0;  // Probability in [0, 1].
  };

  // `loop` is not owned and must outlive the network and its endpoints.
  explicit MemoryNetwork(EventLoop& loop, uint64_t seed = 1);
  ~MemoryNetwork();
  MemoryNetwork(const MemoryNetwork&) = delete;
  MemoryNetwork& operator=(const MemoryNetwork&) = delete;

  // Opens an endpoint at options.ipv4 / options.ipv6; a zero IP (0.0.0.0 or ::) gets a fresh
  // address, port 0 a fresh port. Fails with EADDRINUSE when the address is taken (or, with
  // port_fallback, when no following port is free).
  Result<std::unique_ptr<MemoryEndpoint>> Open(const EndpointOptions& options);

  void SetDefaultLink(const Link& link) { default_link_ = link; }
  // Link from one address to another (one direction).
  void SetLink(const Address& from, const Address& to, const Link& link);

  // Puts `address` behind a NAT: datagrams to it are dropped unless it has sent to their source
  // before (an address- and port-restricted NAT mapping, which a puncture opens).
  void SetNat(const Address& address) { nat_open_[address]; }

  EventLoop& loop() { return loop_; }
  uint64_t nat_dropped() const { return nat_dropped_; }
  uint64_t delivered() const { return delivered_; }
  uint64_t lost() const { return lost_; }
  uint64_t unreachable() const { return unreachable_; }

 private:
  friend class MemoryEndpoint;
  std::error_code Bind(MemoryEndpoint* endpoint, Address* address, bool port_fallback,
                       int attempts);
  void Unbind(const Address& address);
  void Transmit(MemoryEndpoint* from, const Address& source, const Address& to,
                std::span<const uint8_t> datagram);

  EventLoop& loop_;
  std::mt19937_64 rng_;
  Link default_link_;
  std::map<std::pair<Address, Address>, Link> links_;
  std::unordered_map<Address, MemoryEndpoint*> endpoints_;
  uint32_t next_host_ = 1;
  uint16_t next_port_ = 1024;
  std::unordered_map<Address, std::unordered_set<Address>> nat_open_;  // Inside -> contacted.
  uint64_t delivered_ = 0, lost_ = 0, unreachable_ = 0, nat_dropped_ = 0;
};

class MemoryEndpoint final : public Endpoint {
 public:
  ~MemoryEndpoint() override;

  const char* backend_name() const override { return "memory"; }
  bool is_open() const override { return network_ != nullptr; }
  void Close() override;
  [[nodiscard]] std::error_code Send(const Address& to, std::span<const uint8_t> datagram) override;
  std::span<const Address> local_addresses() const override { return addresses_; }
  std::span<const Address> interface_addresses() const override { return interface_addresses_; }
  // Another endpoint on the same network; fails with ENOTCONN once closed.
  Result<std::unique_ptr<Endpoint>> OpenAnother(const EndpointOptions& options) override;

 private:
  friend class MemoryNetwork;
  MemoryEndpoint(MemoryNetwork* network, const EndpointOptions& options)
      : network_(network), options_(options) {
    raw_ = options.raw;
  }
  void Deliver(const Address& source, std::span<const uint8_t> datagram);

  MemoryNetwork* network_;  // Not owned; null once closed.
  EndpointOptions options_;
  std::vector<Address> addresses_;
  std::vector<Address> interface_addresses_;  // addresses_ with port 0.
  uint32_t in_flight_ = 0;  // Sent and not yet delivered or lost: the bounded send queue.
  std::shared_ptr<bool> alive_ = std::make_shared<bool>(true);
};

}  // namespace ringv8

#endif  // RINGV8_RING_MEMORY_ENDPOINT_H_
