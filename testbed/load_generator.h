// LoadGenerator: N UDP sockets on 127.0.0.1 that send datagrams to one target and count what
// comes back, for `ringv8 bench tracker` and `ringv8 bench abuse`.
//
// What each socket sends is the caller's (a RequestSource: pre-signed requests, fresh keys,
// garbage). Three ways to send:
// - closed loop: at most `window` requests in flight, at most one per socket; a response (or a
//   1 s timeout) frees the socket; latencies are measured;
// - open loop at a rate, one in flight per socket (latency under a steady load);
// - flood at a rate: fire and forget, round-robin over the sockets, whatever comes back.
// Received datagrams are counted by message id and by second of the phase. A closed loop polls
// (a reply never pays for waking the generator); open loops sleep until the next send is due.
// Thread-compatible: one thread drives it.
#ifndef RINGV8_TESTBED_LOAD_GENERATOR_H_
#define RINGV8_TESTBED_LOAD_GENERATOR_H_

#include <array>
#include <cstdint>
#include <functional>
#include <optional>
#include <span>
#include <vector>

#include "ring/address.h"
#include "ring/clock.h"
#include "wire/keys.h"
#include "wire/packet.h"

namespace ringv8::testbed {

struct LoadStats {
  double seconds = 0;
  uint64_t sent = 0, send_errors = 0;
  uint64_t responses = 0;  // Introduction-responses (245) to a request in flight.
  uint64_t timeouts = 0;   // Requests without a response within a second (closed loop).
  uint64_t named = 0;      // Responses that introduced a peer.
  uint64_t received = 0;   // Every datagram received, of any kind.
  std::array<uint64_t, 256> received_by_id{};
  std::vector<uint64_t> received_per_second;  // By second of the phase.
  std::vector<double> latencies_us;           // Request to response (not in a flood).

  double responses_per_second() const { return seconds > 0 ? responses / seconds : 0; }
  // The p-th latency percentile (0..1) in microseconds; 0 without latencies.
  double LatencyPercentile(double p);
};

// The datagram socket `socket` sends next (it must stay valid until the next call).
using RequestSource = std::function<std::span<const uint8_t>(int socket)>;

// A signed introduction-request from `key` to `target` in `community`, as a walker sends it.
std::vector<uint8_t> SignedIntroductionRequest(const wire::PrivateKey& key,
                                               const wire::CommunityId& community,
                                               const Address& target, uint16_t identifier);

class LoadGenerator {
 public:
  // Opens `sockets` sockets on 127.0.0.1; throws std::runtime_error if one cannot be opened.
  LoadGenerator(const Address& target, int sockets);
  ~LoadGenerator();
  LoadGenerator(const LoadGenerator&) = delete;
  LoadGenerator& operator=(const LoadGenerator&) = delete;

  int sockets() const { return static_cast<int>(sockets_.size()); }

  // Every socket sends once, `window` at a time, until each is answered or timed out (at most
  // `deadline`). The phase's stats.
  LoadStats Register(const RequestSource& source, int window, Duration deadline);
  // Ends early once `max_sends` requests were sent and answered (or timed out).
  LoadStats ClosedLoop(const RequestSource& source, int window, Duration duration,
                       uint64_t max_sends = UINT64_MAX);
  LoadStats OpenLoop(const RequestSource& source, double rate, Duration duration);
  LoadStats Flood(const RequestSource& source, double rate, Duration duration);
  // Only receives, for `duration` (what a flood left in flight).
  LoadStats Drain(Duration duration);

 private:
  enum class Mode { kClosed, kOpen, kFlood, kDrain, kRegister };
  struct Socket {
    int fd = -1;
    std::optional<std::chrono::steady_clock::time_point> sent;
  };
  LoadStats Run(Mode mode, const RequestSource& source, double rate_or_window, Duration duration,
                uint64_t max_sends = UINT64_MAX);

  Address target_;
  std::vector<Socket> sockets_;
  int epoll_ = -1;
};

}  // namespace ringv8::testbed

#endif  // RINGV8_TESTBED_LOAD_GENERATOR_H_
