// Abuse scenarios: the tracker under overload and abuse, on real sockets on 127.0.0.1 (the engine
// of `ringv8 bench abuse`).
//
// Each scenario starts a ringv8 tracker in this process (one shard by default), attacks it from
// a LoadGenerator and checks what the tracker promises:
// - overload: a flood of valid introduction-requests at 3x the capacity measured just before
//   keeps the tracker answering at >= 90% of that capacity; the excess is dropped in the kernel
//   or the receive path and counted; afterwards it answers normally (no timeouts);
// - keys: requests from N fresh keys (1,000,000 by default): the table and the shard's peers
//   stay within options.max_entries, and the table's counters say where every entry went;
// - garbage: random datagrams, valid prefixes with random tails, truncated and bit-flipped signed
//   requests, wrong key lengths, 60 KB datagrams and unknown message ids at full speed: no
//   request is accepted, no entry added, every datagram counted as a drop by reason, and valid
//   requests sent afterwards are answered;
// - spoof: one address sends requests signed by 1000 keys at 5000/s: it gets no more packets
//   from the tracker than its token bucket allows (burst + rate x seconds).
// Each result is a JSON object with "scenario", "held" (true when the promise held) and the
// figures behind it.
// Thread-compatible: run one scenario at a time; each starts and stops its own tracker.
#ifndef RINGV8_TESTBED_ABUSE_H_
#define RINGV8_TESTBED_ABUSE_H_

#include <cstddef>
#include <string>

#include <nlohmann/json.hpp>

#include "ring/open_endpoint.h"

namespace ringv8::testbed {

struct AbuseOptions {
  double duration = 10;  // Seconds of each flood.
  int keys = 1000000;
  size_t max_entries = 100000;
  int shards = 1;
  EndpointBackend backend = EndpointBackend::kAuto;
};

// Runs "overload", "keys", "garbage" or "spoof"; throws std::invalid_argument for another name
// and std::runtime_error when the tracker or the load cannot be set up.
nlohmann::json RunAbuseScenario(const std::string& scenario, const AbuseOptions& options);

}  // namespace ringv8::testbed

#endif  // RINGV8_TESTBED_ABUSE_H_
