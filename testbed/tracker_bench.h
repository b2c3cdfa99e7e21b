// Tracker benchmark: a load generator for IPv8 trackers (ringv8's, py-ipv8's, any), the engine of
// `ringv8 bench tracker`.
//
// N peers (own keys, own UDP sockets on 127.0.0.1) in C communities send pre-signed
// introduction-requests, at most one outstanding each: either closed-loop with W requests in
// flight (--window) or open-loop at R requests/s (--rate). Every peer registers once before the
// timed phase, so introductions can name other peers. Measured in the same run: the machine's
// crypto ceiling, one Ed25519 verify + one sign per request on one core, and the tracker's rate
// as a share of it.
// Thread-compatible: one run at a time.
#ifndef RINGV8_TESTBED_TRACKER_BENCH_H_
#define RINGV8_TESTBED_TRACKER_BENCH_H_

#include <optional>

#include <nlohmann/json.hpp>

#include "ring/address.h"
#include "ring/open_endpoint.h"

namespace ringv8::testbed {

struct TrackerBenchOptions {
  std::optional<Address> target;  // Unset: a ringv8 tracker in this process on 127.0.0.1.
  int peers = 1000;
  int communities = 10;
  double duration = 5;
  int window = 64;
  double rate = 0;  // 0: closed loop with `window`.
  int shards = 1;   // Of the in-process tracker.
  EndpointBackend backend = EndpointBackend::kAuto;
};

// Runs the benchmark: requests_sent, responses, responses_per_second, latency_us {p50, p99},
// timeouts, crypto_ceiling_per_core, ratio_to_one_core_ceiling, and "tracker" (its CPU and drops)
// when it ran in-process. Throws std::runtime_error when the sockets cannot be opened.
nlohmann::json RunTrackerBench(const TrackerBenchOptions& options);

}  // namespace ringv8::testbed

#endif  // RINGV8_TESTBED_TRACKER_BENCH_H_
