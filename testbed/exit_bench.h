// The exit benchmark, the engine of `ringv8 bench relay --exit`. On loopback only (127.0.0.1,
// port 0; the exit is told to allow loopback destinations).
//
// An exit (TunnelCommunity with EXIT_BT on its own loop, endpoint and thread, pinned to CPU 1)
// joins N 1-hop circuits built through real handshakes by an in-process client, and each opens
// its exit sockets on a first DATA cell. Out: a generator bound to the client's address blasts
// DATA cells of those circuits (one layer, a DHT-shaped payload for a sink on 127.0.0.1) at the
// exit, plain or as GSO batches, and the sink counts the datagrams that left the exit sockets.
// Back: a generator sends payloads to every circuit's exit socket in turn and a sink at the
// client's address counts the DATA cells the exit sealed and sent back. Figures per CPU-second of
// the exit's thread beside the one-core ChaCha20-Poly1305 ceiling at the cell's size, measured in
// the same run; memory per exit socket (receive buffers mapped, and resident growth when opened
// and after a short load through the exit alone, before any bare exit runs). Each flow
// also goes through a BareExit (testbed/bare_exit.h): the same crypto with raw syscalls, one send
// per datagram on its circuit's socket, the floor of that design at many circuits. Before each
// flow the exit is left to work off what the last one queued, so it never counts twice.
// Thread-compatible: one run at a time.
#ifndef RINGV8_TESTBED_EXIT_BENCH_H_
#define RINGV8_TESTBED_EXIT_BENCH_H_

#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace ringv8::testbed {

struct ExitBenchOptions {
  std::vector<size_t> circuits = {1, 1000};     // Circuits with exit sockets, one exit each.
  std::vector<int> payload_sizes = {80, 1400};  // UDP payloads through the exit, 20..1404.
  double seconds = 2.0;           // Per measurement: ringv8 for this long, and its baseline.
  int rounds = 4;                 // Alternating slices of each (testbed/tunnel_bench_util.h).
  std::string backend = "uring";  // The exit's endpoint: uring or mmsg.
};

// The cell that carries a payload of `payload` bytes to an IPv4 destination: header, layer, DATA.
int ExitCellSize(int payload);

// {"crypto": {...}, "runs": [...], "memory": [...], "backend": ...}
nlohmann::json RunExitBench(const ExitBenchOptions& options);

}  // namespace ringv8::testbed

#endif  // RINGV8_TESTBED_EXIT_BENCH_H_
