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
};

// Binds `bind`; with options.port_fallback tries the following ports while they are taken.
Result<UdpSocket> OpenUdpSocket(const Address& bind, const EndpointOptions& options);

// Space for the control messages the endpoints ask for (SO_RXQ_OVFL).
inline constexpr size_t kControlSpace = 64;

// The SO_RXQ_OVFL drop counter in a received message's control data, if present.
std::optional<uint32_t> ReadOverflowCounter(const msghdr& msg);

// Tracks a socket's cumulative SO_RXQ_OVFL counter and turns it into new drops.
class OverflowTracker {
 public:
  uint64_t Update(uint32_t cumulative) {
    uint32_t delta = cumulative - last_;  // Wraps correctly at 2^32.
    last_ = cumulative;
    return delta;
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
  // Index of the socket for `to`'s family, or -1.
  int IndexFor(const Address& to) const;
  std::vector<Address> local_addresses() const;

 private:
  std::vector<Socket> sockets_;
};

// Checks a Send() before it is queued, counting the refusal: ENOTCONN, EMSGSIZE, EAFNOSUPPORT.
std::error_code CheckSend(bool open, int socket_index, size_t size, EndpointStats& stats);

}  // namespace ringv8::internal

#endif  // RINGV8_RING_INTERNAL_UDP_SOCKET_H_
