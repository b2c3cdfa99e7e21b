// Pieces the loopback benchmarks share (testbed/endpoint_bench, testbed/relay_bench): thread
// pinning and CPU time, percentiles, loopback sockets with big buffers, recvmmsg batches that
// read drop counters and GRO segment counts, and a Sink thread that counts what arrives.
// Thread-compatible unless a class says otherwise.
#ifndef RINGV8_TESTBED_BENCH_UTIL_H_
#define RINGV8_TESTBED_BENCH_UTIL_H_

#include <sys/socket.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <span>
#include <thread>
#include <vector>

#include "ring/address.h"
#include "ring/internal/udp_offload.h"

namespace ringv8::testbed {

inline constexpr int kBatch = 64;

// Pins the calling thread to `cpu` when the machine has more than one, so that the sender and the
// receiver do not trade places on the cores between rounds (a large part of the run-to-run noise).
void PinToCpu(int cpu);
// CPU time of the calling thread.
double ThreadCpuSeconds();
// CPU time of another thread (its pthread_t).
double ThreadCpuSeconds(pthread_t thread);
double Median(std::vector<double> values);
double Percentile(std::vector<double> values, double p);

// A UDP socket bound to `at` (127.0.0.1:0 by default), with 8 MiB buffers and SO_RXQ_OVFL, and
// UDP_GRO if asked; the bound address in `*bound`. Throws std::runtime_error.
int LoopbackSocket(Address* bound, bool gro = false,
                   const Address& at = Address::Ipv4(0x7F000001u, 0));

// A socket bound to `at`, which another socket had until a moment ago (the kernel may let an
// io_uring socket go a little after its ring closed): retried for up to a second. A bench that
// sends from or reads at one address in many flows holds it for the whole run, so that no socket
// opened in between is given its port. Throws std::runtime_error.
int HoldAddress(const Address& at);
// Closes its socket when it goes out of scope.
struct HeldSocket {
  int fd;
  ~HeldSocket();
};

// The socket's cumulative drop counter in a received message (SO_RXQ_OVFL), else `last`.
uint32_t DropsIn(msghdr& msg, uint32_t last);
// Datagrams in a received message: a GRO read holds length / segment size (rounded up).
uint64_t DatagramsIn(msghdr& msg, size_t length);
// The GRO segment size of a received message, or 0.
size_t GroSegmentIn(msghdr& msg);

// Points `msg` at `control` (CMSG_SPACE(sizeof(uint16_t)) bytes) holding UDP_SEGMENT = `size`.
void SetUdpSegment(msghdr& msg, uint8_t* control, size_t control_size, uint16_t size);
// Sleeps until `count` sends at `rate` per second from `start` are due (rate 0: no pacing).
void Pace(std::chrono::steady_clock::time_point start, uint64_t count, double rate);

// A batch of receive buffers for recvmmsg, `buffer_size` bytes each. Read() makes ready again
// only the headers the last read filled (the kernel writes nothing into the others), as
// internal::MmsgReader does.
struct ReceiveBatch {
  explicit ReceiveBatch(size_t buffer_size);
  ReceiveBatch(const ReceiveBatch&) = delete;  // The headers point into it.
  ReceiveBatch& operator=(const ReceiveBatch&) = delete;
  // recvmmsg of up to kBatch datagrams from `fd` with `flags`: what it returned.
  int Read(int fd, int flags);
  int filled = 0;
  size_t size;
  std::vector<uint8_t> memory;
  std::vector<sockaddr_storage> names;
  iovec iov[kBatch];
  mmsghdr headers[kBatch];
  alignas(cmsghdr) uint8_t control[kBatch][64];
};

// Calls `datagram(span)` for every datagram of the first `n` messages of a recvmmsg'd `batch`,
// GRO reads split into their segments.
template <typename F>
void ForEachDatagram(ReceiveBatch& batch, int n, F&& datagram) {
  for (int i = 0; i < n; ++i) {
    const size_t length = batch.headers[i].msg_len;
    const size_t segment = GroSegmentIn(batch.headers[i].msg_hdr);
    const size_t step = segment > 0 ? segment : length;
    const uint8_t* data = static_cast<const uint8_t*>(batch.iov[i].iov_base);
    for (size_t at = 0; at < length; at += step) {
      datagram(std::span<const uint8_t>(data + at, std::min(step, length - at)));
    }
  }
}

// Datagrams of one size to one address, written one after the other into one buffer and sent as
// one UDP_SEGMENT send, within the bounds ringv8's endpoints keep (internal::kGsoMaxSegments,
// internal::kGsoMaxBytes: a larger run was cut into datagrams in software before it left, which a
// baseline must not pay either).
class GsoRun {
 public:
  // The socket it sends from, and the addresses it sends to (by index).
  GsoRun(int fd, const std::vector<Address>& destinations);
  // Where the next datagram of `size` bytes to destination `to` goes: the run is sent first if
  // it goes elsewhere, holds another size, or is full. Add() counts it in once written. Null if
  // `size` is more than a datagram holds.
  uint8_t* Room(uint32_t to, size_t size);
  void Add() {
    used_ += size_;
    ++count_;
  }
  // Sends the run (a plain send if it holds one datagram).
  void Flush();
  // Datagrams the kernel took.
  uint64_t sent() const { return sent_; }

 private:
  int fd_;
  std::vector<sockaddr_storage> destinations_;
  std::vector<socklen_t> lengths_;
  std::vector<uint8_t> buffer_;
  size_t used_ = 0, count_ = 0, size_ = 0;
  uint32_t to_ = 0;
  uint64_t sent_ = 0;
};

// Counts the datagrams that arrive on its socket (GRO reads by their segments) until destroyed,
// on its own thread pinned to `cpu`. `inspect`, if given, sees every datagram (GRO reads split).
//
// Without `inspect` the sink stands for another machine: it drains its socket without blocking
// and sleeps 50 us when it is empty, so no reader waits on the socket and a sender on loopback
// does not pay a wake-up per datagram (which it would not pay on a network either). With
// `inspect` (latency probes) it blocks, so a datagram is seen as soon as it arrives.
class Sink {
 public:
  using Inspect = std::function<void(std::span<const uint8_t> datagram)>;
  explicit Sink(const Address& at = Address::Ipv4(0x7F000001u, 0), Inspect inspect = {},
                int cpu = 0);
  // On a socket the caller holds (see GenerateCells(int, ...)): it reads a duplicate, after
  // discarding what earlier flows left in it.
  explicit Sink(int held, Inspect inspect = {}, int cpu = 0);
  ~Sink();
  Sink(const Sink&) = delete;
  Sink& operator=(const Sink&) = delete;
  const Address& address() const { return address_; }
  uint64_t count() const { return count_.load(); }

 private:
  void Run();
  Address address_;
  int fd_;
  Inspect inspect_;
  int cpu_;
  std::atomic<bool> stop_{false};
  std::atomic<uint64_t> count_{0};
  std::thread thread_;
};

}  // namespace ringv8::testbed

#endif  // RINGV8_TESTBED_BENCH_UTIL_H_
