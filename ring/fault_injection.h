// FaultInjection: a test seam that makes the kernel fail on demand, at the points where the
// endpoints and the loop read the kernel's answer. Tests arm a number of failures; the product
// code takes them one by one and handles them exactly as it handles the real errors (counted,
// recovered). With nothing armed a check is one relaxed atomic load.
//
//   FaultInjection::FailSends(3, ENOBUFS);  // The next 3 sends complete with -ENOBUFS.
//
// Thread-safe (process-wide atomics). Tests that arm faults must Reset() when done.
#ifndef RINGV8_RING_FAULT_INJECTION_H_
#define RINGV8_RING_FAULT_INJECTION_H_

#include <atomic>
#include <cstdint>

namespace ringv8 {

class FaultInjection {
 public:
  // The next `count` sends fail with `error` (EAGAIN, ENOBUFS, EPERM, ECONNREFUSED, ...): a
  // send completion with -error (uring) or sendmmsg failing with errno = error (mmsg).
  static void FailSends(int count, int error);
  // The next `count` received datagrams come back as a receive error -error (ENOBUFS on the
  // buffer ring, ...) instead of their data; the datagram is lost, as the kernel would lose it.
  static void FailReceives(int count, int error);
  // The next `count` completions (received datagrams and send completions) are short: a
  // received datagram loses its second half, a send reports half its bytes.
  static void ShortenCompletions(int count);
  // The next `count` GSO sends (several datagrams in one UDP_SEGMENT send) fail with `error`
  // (EIO: no checksum offload; EINVAL: the route's MTU), as a kernel that refuses GSO.
  static void RefuseGso(int count, int error);
  // Every io_uring setup fails with EPERM (as under seccomp or io_uring_disabled) until Reset.
  static void RefuseUringSetup(bool refuse);
  static void Reset();
  // Faults handed out so far (for the figures).
  static uint64_t injected() { return injected_.load(std::memory_order_relaxed); }

  // For ring/: 0 or the error to fake; true if this completion is to be shortened.
  static int TakeSendFailure() { return Take(send_failures_, send_error_); }
  static int TakeReceiveFailure() { return Take(receive_failures_, receive_error_); }
  static int TakeGsoRefusal() { return Take(gso_refusals_, gso_error_); }
  static bool TakeShortCompletion() { return Take(short_completions_, one_) != 0; }
  static bool uring_setup_refused() { return refuse_uring_.load(std::memory_order_relaxed); }

 private:
  static int Take(std::atomic<int>& count, std::atomic<int>& error) {
    if (count.load(std::memory_order_relaxed) <= 0) return 0;
    if (count.fetch_sub(1, std::memory_order_relaxed) <= 0) return 0;
    injected_.fetch_add(1, std::memory_order_relaxed);
    return error.load(std::memory_order_relaxed);
  }

  static inline std::atomic<int> send_failures_{0}, send_error_{0};
  static inline std::atomic<int> receive_failures_{0}, receive_error_{0};
  static inline std::atomic<int> short_completions_{0}, one_{1};
  static inline std::atomic<int> gso_refusals_{0}, gso_error_{0};
  static inline std::atomic<bool> refuse_uring_{false};
  static inline std::atomic<uint64_t> injected_{0};
};

inline void FaultInjection::FailSends(int count, int error) {
  send_error_.store(error);
  send_failures_.store(count);
}
inline void FaultInjection::FailReceives(int count, int error) {
  receive_error_.store(error);
  receive_failures_.store(count);
}
inline void FaultInjection::RefuseGso(int count, int error) {
  gso_error_.store(error);
  gso_refusals_.store(count);
}
inline void FaultInjection::ShortenCompletions(int count) { short_completions_.store(count); }
inline void FaultInjection::RefuseUringSetup(bool refuse) { refuse_uring_.store(refuse); }
inline void FaultInjection::Reset() {
  send_failures_.store(0);
  receive_failures_.store(0);
  short_completions_.store(0);
  gso_refusals_.store(0);
  refuse_uring_.store(false);
}

}  // namespace ringv8

#endif  // RINGV8_RING_FAULT_INJECTION_H_
