// Endpoint: what the protocol layers see of the network. A UDP endpoint that sends datagrams and
// hands each received one to the listener registered for its 22-byte prefix (IPv8's community
// prefix), or to the catch-all listeners (a tracker serves every prefix).
//
// Backends: UringEndpoint (io_uring), MmsgEndpoint (epoll + recvmmsg/sendmmsg) and MemoryEndpoint
// (an in-process network on virtual time). OpenLoopAndEndpoint() in ring/open_endpoint.h picks one.
//
// Thread-affine: call only on the thread that runs the endpoint's EventLoop. stats() counters may
// be read from any thread (see EndpointStats).
#ifndef RINGV8_RING_ENDPOINT_H_
#define RINGV8_RING_ENDPOINT_H_

#include <linux/filter.h>

#include <array>
#include <cstdint>
#include <cstring>
#include <memory>
#include <optional>
#include <span>
#include <system_error>
#include <unordered_map>
#include <vector>

#include "ring/address.h"
#include "ring/endpoint_stats.h"
#include "ring/function_ref.h"
#include "ring/receive_buffers.h"
#include "ring/result.h"
#include "ring/send_buffers.h"

namespace ringv8 {

inline constexpr size_t kPacketPrefixSize = 22;
using PacketPrefix = std::array<uint8_t, kPacketPrefixSize>;
// The largest UDP payload (IPv6 allows 65527 but IPv8 traffic never needs more than IPv4's).
inline constexpr size_t kMaxUdpPayload = 65507;

class EndpointListener {
 public:
  // `datagram` is valid only during the call and is longer than kPacketPrefixSize (it holds a
  // prefix and a message id: Endpoint::Dispatch drops and counts anything shorter), except on a
  // raw endpoint, which hands every datagram (even an empty one) to its catch-all listeners.
  // Called on the loop thread.
  virtual void OnPacket(const Address& source, std::span<const uint8_t> datagram) = 0;

 protected:
  ~EndpointListener() = default;
};

struct EndpointOptions {
  // The IPv4 socket's address (port 0: any free port). Unset: no IPv4 socket.
  std::optional<Address> ipv4 = Address();
  // The IPv6 socket's address (IPV6_V6ONLY). Unset: no IPv6 socket.
  std::optional<Address> ipv6;
  // When a port is taken, try the following ones (py-ipv8 tries up to 10,000).
  bool port_fallback = false;
  int port_attempts = 10000;
  // Receive buffers: io_uring's provided-buffer ring (a power of two, at least 1024 in production;
  // tests use tiny rings to force exhaustion). Each buffer holds one datagram and its headers.
  uint32_t receive_buffers = 2048;
  uint32_t receive_buffer_size = 4096;
  // Set: the sockets receive into these, shared with the other endpoints of the loop given the
  // same (ring/receive_buffers.h), instead of receive_buffers of their own; with gro they must
  // be at least gro_buffer_size (opening fails with EINVAL otherwise). MemoryEndpoint ignores
  // it.
  std::shared_ptr<ReceiveBuffers> shared_receive_buffers;
  // io_uring: read each socket when it is ready (a multishot poll, then recvmmsg into the first
  // buffers of shared_receive_buffers, or 64 of its own, as MmsgEndpoint always does) instead of
  // a multishot receive on a provided-buffer ring. For many sockets that each receive little at
  // a time (an exit's, one per circuit): the ring has the kernel fill a buffer for every read
  // waiting in any of them before the loop handles the first, and hands buffers out in ring
  // order, so at 1,000 sockets each read was handled out of memory; these reads land in the
  // buffers the last read used, still in cache, at the cost of a recvmmsg per ready socket.
  bool receive_when_ready = false;
  // Datagrams queued or in flight at most; Send() fails with ENOBUFS beyond. Their bytes are
  // packed back to back in capacity x 2 KiB reserved (internal::SendArena), which datagrams still
  // queued may hold in 128 KiB blocks before the count is reached: ENOBUFS too.
  uint32_t send_queue_capacity = 4096;
  // Set: the queue's bytes for datagrams up to 2 KiB come from these, shared with the other
  // endpoints of the loop given the same (ring/send_buffers.h); Send() also fails with ENOBUFS
  // when they are all queued. Unset: the endpoint reserves its own. MemoryEndpoint copies each
  // datagram into the network and ignores it.
  std::shared_ptr<SendBuffers> send_buffers;
  // SO_RCVBUF / SO_SNDBUF (the FORCE variants where permitted).
  int socket_buffer_bytes = 8 << 20;
  // SO_REUSEPORT: several endpoints (shards) bind the same port; the kernel spreads the peers
  // over them by source address.
  bool reuse_port = false;
  // With reuse_port: a classic BPF program that picks the socket of the SO_REUSEPORT group for
  // each datagram (SO_ATTACH_REUSEPORT_CBPF; it reads the UDP payload and returns the socket's
  // index in bind order; an index out of range falls back to the kernel's hash). Attached after
  // bind; the group keeps the last program attached. Opening fails with the kernel's error.
  std::vector<sock_filter> reuseport_program;
  // UDP GSO on send: datagrams queued in one loop iteration for the same destination and of the
  // same size (the last may be shorter) leave as one UDP_SEGMENT send of up to 64 datagrams.
  // Turned off per socket when the kernel or the route refuses it (counted: gso_refused).
  bool gso = true;
  // UDP GRO on receive: the kernel may hand several datagrams of one sender in one read (a GSO
  // sender's run, or what a NIC coalesced); they are split before dispatch, so listeners see
  // single datagrams. Such reads need buffers of up to 64 KiB: with GRO the io_uring endpoint
  // receives into `gro_buffers` buffers of `gro_buffer_size` bytes (instead of receive_buffers),
  // MmsgEndpoint into 64 of them. The memory is mapped lazily and a small datagram touches one
  // 4 KiB page of its buffer: small traffic keeps 512 KiB resident, GRO traffic up to 8 MiB. The
  // kernel takes ring buffers in turn, so the ring's size is the distance at which a buffer is
  // reused: 128 keeps it in cache (with 512, `bench forward` moved 10% fewer datagrams per CPU-
  // second); a burst beyond it waits in the socket (counted as buffer_exhausted, not lost).
  bool gro = true;
  uint32_t gro_buffers = 128;
  uint32_t gro_buffer_size = 65536 + 512;
  // Raw: not an IPv8 socket. Every received datagram, whatever its length or prefix, goes to the
  // catch-all listeners (an exit socket carries any UDP payload).
  bool raw = false;
};

class Endpoint {
 public:
  virtual ~Endpoint() = default;
  Endpoint(const Endpoint&) = delete;
  Endpoint& operator=(const Endpoint&) = delete;

  virtual const char* backend_name() const = 0;
  virtual bool is_open() const = 0;
  // Closes the sockets; datagrams still queued are discarded and counted (send_discarded).
  virtual void Close() = 0;
  // Copies `datagram` and queues it for `to`; the loop sends it during its next iteration.
  // Fails at once, counted, with ENOBUFS (queue full), EMSGSIZE (too large), EAFNOSUPPORT (no
  // socket of that family) or ENOTCONN (closed).
  [[nodiscard]] virtual std::error_code Send(const Address& to,
                                             std::span<const uint8_t> datagram) = 0;
  // Send() without the copy: `fill` writes the datagram (at most `max_size` bytes) straight into
  // the send queue's buffer and returns its length; 0 sends nothing. A relay encrypts or
  // decrypts a cell into it. Fails like Send() (checked for `max_size`), before calling `fill`.
  // The default fills a scratch buffer and calls Send().
  using Filler = FunctionRef<size_t(std::span<uint8_t> buffer)>;
  [[nodiscard]] virtual std::error_code SendFilled(const Address& to, size_t max_size, Filler fill);
  // The bound addresses (the real ports when port 0 or a fallback port was used); empty once
  // closed. The span stays valid until the endpoint closes; reading it allocates nothing.
  virtual std::span<const Address> local_addresses() const = 0;
  // This host's interface addresses as IPv8 estimates its LAN address from them (port 0; without
  // 127.0.0.1, 127.0.1.1, 0.0.0.0, 255.255.255.255 and ::1). Real endpoints ask the kernel once per
  // process; MemoryEndpoint returns its own addresses.
  virtual std::span<const Address> interface_addresses() const;
  // Opens another endpoint of the same backend on the same loop (MemoryEndpoint: on the same
  // network), e.g. an exit socket beside the node's socket. EOPNOTSUPP where a backend cannot.
  virtual Result<std::unique_ptr<Endpoint>> OpenAnother(const EndpointOptions& options);

  // Listeners are not owned and must be removed before they are destroyed. Adding and removing
  // inside OnPacket is allowed. Lookup by prefix is O(1).
  void AddListener(const PacketPrefix& prefix, EndpointListener* listener);
  void RemoveListener(const PacketPrefix& prefix, EndpointListener* listener);
  void AddCatchAllListener(EndpointListener* listener);
  void RemoveCatchAllListener(EndpointListener* listener);
  size_t listener_count() const { return routes_.size(); }

  const EndpointStats& stats() const { return stats_; }

 protected:
  Endpoint() = default;
  // Counts one received datagram and hands it to its listeners (or counts the drop).
  void Dispatch(const Address& source, std::span<const uint8_t> datagram);
  // Counts one datagram that the kernel accepted.
  void CountSent(std::span<const uint8_t> datagram);

  EndpointStats stats_;
  bool raw_ = false;  // EndpointOptions::raw; set by the backend when it opens.

 private:
  struct PrefixHash {
    size_t operator()(const PacketPrefix& p) const {
      // Bytes 2..9 are the start of the community id, a SHA-1 output: already uniform.
      uint64_t h;
      std::memcpy(&h, p.data() + 2, sizeof(h));
      return static_cast<size_t>(h ^ (h >> 29));
    }
  };
  struct Route {
    std::vector<EndpointListener*> listeners;
    PrefixStats* stats = nullptr;  // Owned by stats_.
  };
  // The route of `datagram`'s prefix (longer than it), or null; remembered for the next one.
  Route* FindRoute(std::span<const uint8_t> datagram);
  // Removes `listener`, or during Dispatch marks it for Compact().
  void Unlist(std::vector<EndpointListener*>& listeners, EndpointListener* listener);
  void Compact();

  std::unordered_map<PacketPrefix, Route, PrefixHash> routes_;
  // The route of the last datagram dispatched or sent (a relay's cells are mostly of one prefix):
  // its prefix compared first saves the hash lookup. Pointers to map elements survive inserts; it
  // is reset whenever a route is erased.
  const PacketPrefix* last_prefix_ = nullptr;
  Route* last_route_ = nullptr;
  std::vector<EndpointListener*> catch_all_;
  int dispatching_ = 0;            // Nesting depth of Dispatch.
  bool needs_compaction_ = false;  // A listener was removed during Dispatch.
};

// The LAN address IPv8 estimates for `endpoint` (py-ipv8's my_estimated_lan) in `family`: its
// socket's address of that family when that is bound to one IP (the only one peers can reach);
// else this host's first interface address of that family with the socket's port; the loopback
// address (127.0.0.1, ::1) with that port when there is none; the unspecified address with port
// 0 when the endpoint has no socket of that family.
Address EstimatedLanAddress(const Endpoint& endpoint,
                            Address::Family family = Address::Family::kIpv4);

}  // namespace ringv8

#endif  // RINGV8_RING_ENDPOINT_H_
