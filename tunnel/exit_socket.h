// ExitSocket: one circuit's sockets to the Internet at an exit (py-ipv8's TunnelExitSocket, tunnel
// spec 5.7). Every destination sees one source address per circuit, and what comes back on it is
// the circuit's. The sockets are an Endpoint of the node's own backend on the node's loop
// (io_uring or mmsg; sends batched and GSO'd like the node's), opened raw: any UDP payload.
//
// It keeps the circuit's exit budget (bytes per second), the rate at which the circuit may reach
// new destinations, and its counters; the TunnelCommunity decides what may pass.
//
// Thread-affine to the loop. The reply handler is called from the loop, never re-entrantly from
// Send(); it may destroy this socket only by scheduling it (the endpoint is dispatching).
#ifndef RINGV8_TUNNEL_EXIT_SOCKET_H_
#define RINGV8_TUNNEL_EXIT_SOCKET_H_

#include <array>
#include <cstdint>
#include <functional>
#include <memory>
#include <system_error>

#include "ring/clock.h"
#include "ring/endpoint.h"
#include "ring/token_bucket.h"
#include "wire/packet.h"

namespace ringv8::tunnel {

class ExitSocket final : public EndpointListener {
 public:
  using ReplyHandler =
      std::function<void(uint32_t circuit_id, const Address& source, wire::Bytes data)>;

  // The buffers all exit sockets of a community share (ring/send_buffers.h,
  // ring/receive_buffers.h): at most kSharedSendBuffers datagrams queued toward the Internet
  // together, and kSharedReceiveBuffers that replies are read into. The sockets read with UDP
  // GRO, so a receive buffer holds a GRO read (64 KiB): a run of replies from one sender (a bulk
  // download, which a NIC or a GSO sender coalesces) costs one read, not one per datagram
  // (measured, `bench relay --exit`, 1,400 B replies in runs of 16: 0.24-0.36 of the crypto
  // ceiling back without, 0.35-0.56 with). They read when they are ready
  // (EndpointOptions::receive_when_ready), a recvmmsg into the first of these buffers, the ones
  // the last read used: on io_uring's provided-buffer ring, which the kernel fills for every
  // waiting socket before the loop handles the first and hands out in ring order, each of 1,000
  // circuits' replies was read out of memory (`bench relay --exit --circuits 1000`, replies in
  // runs of 16: 0.72-0.76 of the bare exit's rate per CPU-second with a ring of 2,048, 0.90-0.98
  // so). A read takes at most 64 of them (4 MiB mapped; resident as far as reads filled them).
  static constexpr uint32_t kSharedSendBuffers = 8192;
  static constexpr uint32_t kSharedReceiveBuffers = 64;
  static constexpr uint32_t kReceiveBufferSize = 65536 + 512;
  struct SharedBuffers {
    std::shared_ptr<SendBuffers> send;
    std::shared_ptr<ReceiveBuffers> receive;
    static SharedBuffers Make();
  };

  // Options for the endpoint under an exit socket: both families on any port, raw, receiving
  // into the shared buffers with GRO, its sends queued in them.
  static EndpointOptions EndpointOptionsFor(bool ipv6, const SharedBuffers& buffers);

  // Opens the sockets on `node_endpoint`'s loop: IPv4 and, if the host has it, IPv6.
  static Result<std::unique_ptr<ExitSocket>> Open(Endpoint& node_endpoint,
                                                  const SharedBuffers& buffers, uint32_t circuit_id,
                                                  const ReplyHandler* on_reply, TimePoint now,
                                                  double budget_burst, double destination_burst);
  ~ExitSocket();
  ExitSocket(const ExitSocket&) = delete;
  ExitSocket& operator=(const ExitSocket&) = delete;

  [[nodiscard]] std::error_code Send(const Address& to, wire::Bytes data) {
    return endpoint_->Send(to, data);
  }
  bool has_ipv6() const;
  std::span<const Address> local_addresses() const { return endpoint_->local_addresses(); }
  const EndpointStats& endpoint_stats() const { return endpoint_->stats(); }

  // True if `to` is one of the recent destinations (a small cache: a new destination spends the
  // destination budget); RememberDestination adds it, evicting the one in its slot.
  bool KnownDestination(const Address& to) const {
    return recent_[to.Hash() % kRecentDestinations] == to;
  }
  void RememberDestination(const Address& to) { recent_[to.Hash() % kRecentDestinations] = to; }

  TokenBucket& budget() { return budget_; }
  TokenBucket& destinations() { return destinations_; }
  uint64_t bytes_out = 0;
  uint64_t bytes_back = 0;

  void OnPacket(const Address& source, std::span<const uint8_t> datagram) override;

 private:
  ExitSocket(uint32_t circuit_id, std::unique_ptr<Endpoint> endpoint, const ReplyHandler* on_reply,
             TimePoint now, double budget_burst, double destination_burst);

  static constexpr size_t kRecentDestinations = 16;
  uint32_t circuit_id_;
  std::unique_ptr<Endpoint> endpoint_;
  const ReplyHandler* on_reply_;  // The community's; outlives its sockets.
  TokenBucket budget_;            // Exit bytes (max_exit_circuit_rate).
  TokenBucket destinations_;      // New destinations (max_exit_destination_rate).
  std::array<Address, kRecentDestinations> recent_{};
};

}  // namespace ringv8::tunnel

#endif  // RINGV8_TUNNEL_EXIT_SOCKET_H_
