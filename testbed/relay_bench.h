// The relay benchmark, the engine of `ringv8 bench relay`. On loopback only (127.0.0.1, port 0).
//
// A relay (TunnelCommunity on its own loop, endpoint and thread, pinned to CPU 1) joins N 2-hop
// circuits built through real handshakes by an in-process client and last hop. Then a generator
// bound to the client's address blasts cells of those circuits at the relay (plain sendmmsg,
// every datagram another circuit's at random; or UDP GSO, each send a burst of one circuit's cells
// as a bulk transfer arrives), and a sink bound to the last hop's address counts what the
// relay forwarded: one layer removed per cell. Backward the same from the last hop's address, one
// layer added. Figures per CPU-second of the relay's thread, beside the one-core ChaCha20-Poly1305
// ceiling (one layer per cell, key set once, only the nonce changing) of OpenSSL and libsodium
// measured in the same run; handshakes per relay CPU-second beside the cost of their crypto alone;
// the latency a relay adds at half its rate (one-way, against the same path without the relay);
// and the relay's table bytes per relayed circuit.
//
// With several shards (--shards 2) the relay is that many TunnelCommunity threads on one port,
// cells steered by circuit id (tunnel/cell_steering.h); shard 1 runs on CPU 0 beside the
// generator and the sink, so the figures are per CPU-second of all the shards together, with each
// shard's CPU time and the CPU time per cell beside them.
// Thread-compatible: one run at a time.
#ifndef RINGV8_TESTBED_RELAY_BENCH_H_
#define RINGV8_TESTBED_RELAY_BENCH_H_

#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace ringv8::testbed {

struct RelayBenchOptions {
  std::vector<size_t> circuits = {1, 1000};     // Relayed circuits, one relay each.
  std::vector<uint32_t> shards = {1};           // Shards per relay, one relay each (1..2).
  std::vector<int> payload_sizes = {80, 1400};  // Cell (datagram) sizes, 53..1472.
  double seconds = 2.0;           // Per measurement: ringv8 for this long, and its baseline.
  int rounds = 4;                 // Alternating slices of each (testbed/tunnel_bench_util.h).
  std::string backend = "uring";  // The relay's endpoint: uring or mmsg.
  bool latency = true;
};

// {"crypto": {...}, "handshakes": {...}, "runs": [...], "latency": {...}, "memory": {...}}
nlohmann::json RunRelayBench(const RelayBenchOptions& options);

}  // namespace ringv8::testbed

#endif  // RINGV8_TESTBED_RELAY_BENCH_H_
