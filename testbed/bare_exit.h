// BareExit: what an exit's work costs with raw syscalls and nothing else, the baseline that
// `ringv8 bench relay --exit` sets ringv8's exit against at many circuits.
//
// A thread pinned to CPU 1 (the exit's core) does an exit's work one way:
// - out: reads DATA cells from one UDP socket (UDP_GRO, recvmmsg), opens each with its
//   circuit's key (tunnel::LayerCipher: the exit's own primitive) and sends the payload with one
//   sendto() on the circuit's own socket, as an exit must (py-ipv8: one socket per circuit, which
//   the far end sees);
// - back: waits for the circuits' sockets (epoll), reads each ready one (recvmmsg with UDP_GRO,
//   as ringv8's exit sockets read), seals every datagram behind a DATA header into a cell and
//   sends the cells of each wake-up to one address as UDP_SEGMENT sends.
// No policy, budget or counters, and no batching across sockets: the kernel has none for
// datagrams on different sockets, so its rate per CPU-second is the floor of that design here.
//
// Thread-safe: address(), sent() and CpuSeconds() from the owner's thread.
#ifndef RINGV8_TESTBED_BARE_EXIT_H_
#define RINGV8_TESTBED_BARE_EXIT_H_

#include <atomic>
#include <cstdint>
#include <thread>
#include <vector>

#include <pthread.h>

#include "ring/address.h"
#include "tunnel/session_keys.h"

namespace ringv8::testbed {

class BareExit {
 public:
  enum class Direction : uint8_t { kOut, kBack };
  // Circuit `ids[i]` opens (or seals) with `keys[i]` and owns socket i. Out: payloads leave by
  // their circuit's socket to `destination`; back: cells go to `destination` from address().
  // Throws std::runtime_error when a socket cannot be opened.
  BareExit(Direction direction, const std::vector<uint32_t>& ids,
           const std::vector<tunnel::DirectionKey>& keys, const Address& destination);
  ~BareExit();
  BareExit(const BareExit&) = delete;
  BareExit& operator=(const BareExit&) = delete;

  // Where cells go (127.0.0.1, a free port), and where they come from back.
  const Address& address() const { return address_; }
  // The circuits' sockets (127.0.0.1): where replies go.
  const std::vector<Address>& circuit_addresses() const { return circuit_addresses_; }
  // Datagrams the kernel took.
  uint64_t sent() const { return sent_.load(std::memory_order_relaxed); }
  double CpuSeconds();

 private:
  void RunOut();
  void RunBack();

  Direction direction_;
  std::vector<uint32_t> ids_;
  std::vector<tunnel::DirectionKey> keys_;
  Address destination_;
  Address address_;
  int fd_ = -1;
  std::vector<int> circuit_fds_;
  std::vector<Address> circuit_addresses_;
  std::atomic<bool> stop_{false};
  std::atomic<uint64_t> sent_{0};
  std::thread thread_;
};

}  // namespace ringv8::testbed

#endif  // RINGV8_TESTBED_BARE_EXIT_H_
