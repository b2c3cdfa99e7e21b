// BareRelay: what a relay's cell path costs with raw syscalls and nothing else, the baseline that
// `ringv8 bench relay` sets ringv8's relay against (beside the crypto ceiling, which no socket
// design reaches: the kernel's part of a cell is on top of its crypto).
//
// A thread pinned to CPU 1 (the relay's core) does the relay's work, the best way the socket API
// allows: reads a batch of datagrams from one UDP socket (UDP_GRO, recvmmsg), finds each cell's
// circuit (a hash map), opens (forward) or seals (backward) one layer straight into the send
// buffer behind the next circuit id, and sends each run of equal-size cells to one next hop as
// one UDP_SEGMENT send (sendmsg), as ringv8's relay groups them.
// No policy, budget, counters, queue or source check: its rate per CPU-second is the floor of
// that design on this machine's kernel.
//
// Thread-safe: address(), sent() and CpuSeconds() from the owner's thread.
#ifndef RINGV8_TESTBED_BARE_RELAY_H_
#define RINGV8_TESTBED_BARE_RELAY_H_

#include <atomic>
#include <cstdint>
#include <thread>
#include <unordered_map>
#include <vector>

#include "ring/address.h"
#include "tunnel/session_keys.h"

namespace ringv8::testbed {

class BareRelay {
 public:
  // One direction of a relayed circuit: cells with `in_id` leave with `out_id` to `to`, their
  // layer opened (forward) or sealed (backward) with `key`.
  struct Hop {
    uint32_t in_id = 0;
    uint32_t out_id = 0;
    bool forward = true;
    tunnel::DirectionKey key;
    Address to;
  };

  // Throws std::runtime_error when the socket cannot be opened.
  explicit BareRelay(const std::vector<Hop>& hops);
  ~BareRelay();
  BareRelay(const BareRelay&) = delete;
  BareRelay& operator=(const BareRelay&) = delete;

  // Where cells go (127.0.0.1, a free port).
  const Address& address() const { return address_; }
  // Cells the kernel took.
  uint64_t sent() const { return sent_.load(std::memory_order_relaxed); }
  double CpuSeconds();

 private:
  struct Route {
    uint32_t out_id;
    bool forward;
    uint32_t to;  // Index into next_hops_.
    tunnel::DirectionKey key;
  };

  void Run();

  std::unordered_map<uint32_t, Route> routes_;
  std::vector<Address> next_hops_;
  Address address_;
  int fd_ = -1;
  std::atomic<bool> stop_{false};
  std::atomic<uint64_t> sent_{0};
  std::thread thread_;
};

}  // namespace ringv8::testbed

#endif  // RINGV8_TESTBED_BARE_RELAY_H_
