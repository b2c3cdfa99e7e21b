// Opening the UDP sockets of the real endpoints: non-blocking, close-on-exec, IPV6_V6ONLY for
// IPv6, large socket buffers, SO_RXQ_OVFL so that kernel drops are reported, and py-ipv8's port
// fallback. Also the control-message parsing both backends share.
// Thread-safe (no shared state).
#ifndef RINGV8_RING_INTERNAL_UDP_SOCKET_H_
#define RINGV8_RING_INTERNAL_UDP_SOCKET_H_

#include <sys/socket.h>

#include <cstdint>
#include <optional>
#include <system_error>
#include <vector>

#include "ring/address.h"
#include "ring/endpoint.h"
#include "ring/result.h"

namespace ringv8::internal {

struct UdpSocket {
  int fd = -1;
  Address local;
  bool gro = false;  // UDP_GRO is on (options.gro and the kernel took it).
};

// Binds `bind`; with options.port_fallback tries the following ports while they are taken.
Result<UdpSocket> OpenUdpSocket(const Address& bind, const EndpointOptions& options);

// Space for the control messages the endpoints ask for (SO_RXQ_OVFL, UDP_GRO).
inline constexpr size_t kControlSpace = 64;

// What a received message's control data says, read in one pass: the SO_RXQ_OVFL drop counter
// and, for a GRO read, the UDP_GRO segment size (each if present).
struct ReceiveControl {
  std::optional<uint32_t> drops;
  std::optional<uint16_t> gro_segment;
};
ReceiveControl ReadControl(const msghdr& msg);

// The socket's drop counter now (SO_MEMINFO's SK_MEMINFO_DROPS: the same count SO_RXQ_OVFL
// reports), or nullopt if the kernel does not tell.
std::optional<uint32_t> ReadSocketDrops(int fd);

// Tracks a socket's cumulative drop counter and turns it into new drops. It is read from two
// places: SO_RXQ_OVFL on each received datagram (the count when that datagram was queued, so it
// may be older than what was read before) and SO_MEMINFO now and then (drops after the last
// datagram that arrived): a value not newer than the last one adds nothing.
class OverflowTracker {
 public:
  uint64_t Update(uint32_t cumulative) {
    const auto delta = static_cast<int32_t>(cumulative - last_);  // Wraps correctly at 2^32.
    if (delta <= 0) return 0;
    last_ = cumulative;
    return static_cast<uint64_t>(delta);
  }

 private:
  uint32_t last_ = 0;
};

// The IPv4 and IPv6 sockets of one endpoint.
class SocketSet {
 public:
  struct Socket {
    UdpSocket udp;
    OverflowTracker overflow;
  };

  SocketSet() = default;
  SocketSet(const SocketSet&) = delete;
  SocketSet& operator=(const SocketSet&) = delete;
  ~SocketSet() { CloseAll(); }

  // Opens the sockets `options` asks for; on failure none stays open.
  std::error_code Open(const EndpointOptions& options);
  void CloseAll();
  bool empty() const { return sockets_.empty(); }
  std::vector<Socket>& sockets() { return sockets_; }
  // Whether any socket has UDP_GRO on (its reads may hold up to 64 KiB).
  bool gro() const;
  // Index of the socket for `to`'s family, or -1.
  int IndexFor(const Address& to) const;
  // The bound addresses, in socket order (empty once closed).
  const std::vector<Address>& local_addresses() const { return local_; }
  // Drops since the last datagram that reported them arrive only with the next one: the
  // endpoints call this from a one-second timer, which reads the sockets' counters directly and
  // adds new drops to `stats`, so that a burst of drops followed by silence is counted too.
  void PollDrops(EndpointStats& stats);

 private:
  std::vector<Socket> sockets_;
  std::vector<Address> local_;  // sockets_[i].udp.local.
};

// Checks a Send() before it is queued, counting the refusal: ENOTCONN, EMSGSIZE, EAFNOSUPPORT.
std::error_code CheckSend(bool open, int socket_index, size_t size, EndpointStats& stats);

}  // namespace ringv8::internal

#endif  // RINGV8_RING_INTERNAL_UDP_SOCKET_H_
