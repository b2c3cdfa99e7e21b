// EndpointStats: what an endpoint moved and everything it dropped, by reason.
//
// Counters have one writer, the endpoint's loop thread, and may be read from any thread (relaxed
// atomics: a reader sees each counter's recent value, not a consistent snapshot of all of them).
// Per-prefix tables are created on the loop thread when a listener registers; read them on that
// thread (post a closure to the loop to read them from elsewhere).
#ifndef RINGV8_RING_ENDPOINT_STATS_H_
#define RINGV8_RING_ENDPOINT_STATS_H_

#include <array>
#include <atomic>
#include <cstdint>
#include <map>
#include <memory>
#include <string>

#include "ring/stats.h"

namespace ringv8 {

// A counter with a single writer. Add is a relaxed load and store (no locked instruction): only
// the owning thread writes, and readers only need a recent value.
class Counter {
 public:
  void Add(uint64_t n = 1) {
    value_.store(value_.load(std::memory_order_relaxed) + n, std::memory_order_relaxed);
  }
  uint64_t value() const { return value_.load(std::memory_order_relaxed); }

 private:
  std::atomic<uint64_t> value_{0};
};

// py-ipv8's NetworkStat: packets and bytes per message id, each way.
struct MessageStats {
  Counter packets_in, bytes_in, packets_out, bytes_out;
};

struct PrefixStats {
  std::array<MessageStats, 256> by_message_id;
};

class EndpointStats {
 public:
  static constexpr int kMaxErrno = 134;
  static constexpr int kBatchBuckets = 9;  // 1, 2-3, 4-7, ..., 128-255, 256+.

  Counter packets_in, bytes_in, packets_out, bytes_out;
  // Drops on receive.
  // The socket buffer overflowed (SO_RXQ_OVFL): buffers the kernel dropped. With GRO one buffer
  // may hold up to 64 datagrams of one sender, so this counts at least the datagrams lost.
  Counter kernel_drops;
  Counter truncated;         // Larger than a receive buffer (MSG_TRUNC).
  Counter buffer_exhausted;  // io_uring ran out of provided buffers (ENOBUFS); receive re-armed.
  Counter too_short;         // Fewer than 23 bytes: no prefix and message id.
  Counter unknown_prefix;    // No listener for the prefix and no catch-all listener.
  Counter receive_errors;    // Other receive failures.
  // Drops on send.
  Counter send_queue_full;  // Send() refused: the bounded queue was full.
  Counter send_too_large;   // Send() refused: larger than the largest datagram.
  Counter send_errors;      // The kernel refused a datagram; by errno below.
  Counter send_discarded;   // Still queued when the endpoint closed.
  Counter send_short;       // The kernel reported fewer bytes sent than the datagram had.
  std::array<Counter, kMaxErrno + 1> send_errors_by_errno;
  // UDP GSO: sends that carried several datagrams (UDP_SEGMENT), the datagrams they carried, and
  // refusals (the datagrams were resent one by one and GSO stays off for that socket).
  Counter gso_sends, gso_segments, gso_refused;
  // UDP GRO: reads that held several datagrams, and the datagrams they held.
  Counter gro_reads, gro_segments;
  // Work.
  Counter kernel_entries;  // Syscalls / io_uring_enter calls made for this endpoint.
  Counter receive_rearms;  // Multishot receives re-armed.
  std::array<Counter, kBatchBuckets> receive_batches, send_batches;

  void CountSendError(int error);
  // A receive the kernel failed: ENOBUFS counts as buffer_exhausted, ECANCELED (closing) not at
  // all, anything else as receive_errors.
  void CountReceiveError(int error);
  static int BatchBucket(uint64_t size);
  void CountReceiveBatch(uint64_t size) { receive_batches[BatchBucket(size)].Add(); }
  void CountSendBatch(uint64_t size) { send_batches[BatchBucket(size)].Add(); }
  // Every counter above with its name and kind (ring/stats.h): the one list of what an endpoint
  // counts, and of which of its counters are drops.
  template <typename F>
  void Visit(F&& fn) const {
    using enum StatKind;
    auto v = [](const Counter& c) { return static_cast<double>(c.value()); };
    fn(Stat{"packets_in", kCounter, "Datagrams received."}, v(packets_in));
    fn(Stat{"bytes_in", kCounter, "Bytes received."}, v(bytes_in));
    fn(Stat{"packets_out", kCounter, "Datagrams sent."}, v(packets_out));
    fn(Stat{"bytes_out", kCounter, "Bytes sent."}, v(bytes_out));
    fn(Stat{"kernel_entries", kCounter, "Syscalls and io_uring_enter calls."}, v(kernel_entries));
    fn(Stat{"receive_rearms", kCounter, "Multishot receives re-armed."}, v(receive_rearms));
    fn(Stat{"gso_sends", kCounter, "UDP GSO sends (several datagrams each)."}, v(gso_sends));
    fn(Stat{"gso_segments", kCounter, "Datagrams sent by UDP GSO."}, v(gso_segments));
    fn(Stat{"gso_refused", kCounter, "GSO sends refused (resent one by one; GSO off)."},
       v(gso_refused));
    fn(Stat{"gro_reads", kCounter, "UDP GRO reads (several datagrams each)."}, v(gro_reads));
    fn(Stat{"gro_segments", kCounter, "Datagrams received in GRO reads."}, v(gro_segments));
    // Not a loss: the datagrams wait in the socket until buffers return.
    fn(Stat{"buffer_exhausted", kCounter, "Receives that found no free buffer."},
       v(buffer_exhausted));
    fn(Stat{"kernel_drops", kReceiveDrop,
            "The socket buffer overflowed (kernel buffers; with GRO one may hold many)."},
       v(kernel_drops));
    fn(Stat{"truncated", kReceiveDrop, "Larger than a receive buffer."}, v(truncated));
    fn(Stat{"too_short", kReceiveDrop, "Shorter than a prefix and message id."}, v(too_short));
    fn(Stat{"unknown_prefix", kReceiveDrop, "No listener for the prefix."}, v(unknown_prefix));
    fn(Stat{"receive_errors", kReceiveDrop, "Other receive failures."}, v(receive_errors));
    fn(Stat{"send_queue_full", kSendDrop, "The send queue was full."}, v(send_queue_full));
    fn(Stat{"send_too_large", kSendDrop, "Larger than the largest datagram."}, v(send_too_large));
    fn(Stat{"send_errors", kSendDrop, "The kernel refused the datagram."}, v(send_errors));
    fn(Stat{"send_discarded", kSendDrop, "Still queued when the endpoint closed."},
       v(send_discarded));
    fn(Stat{"send_short", kSendDrop, "The kernel sent fewer bytes than given."}, v(send_short));
  }

  // Per prefix (22 bytes) and message id; only prefixes that have a listener are kept, so the
  // table is bounded by the registrations, not by what arrives.
  PrefixStats* ForPrefix(const std::array<uint8_t, 22>& prefix);
  PrefixStats* FindPrefix(const std::array<uint8_t, 22>& prefix) const;
  const std::map<std::array<uint8_t, 22>, std::unique_ptr<PrefixStats>>& prefixes() const {
    return prefixes_;
  }

 private:
  std::map<std::array<uint8_t, 22>, std::unique_ptr<PrefixStats>> prefixes_;
};

}  // namespace ringv8

#endif  // RINGV8_RING_ENDPOINT_STATS_H_
