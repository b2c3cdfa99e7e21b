// Endpoint benchmarks, the engines of `ringv8 bench endpoint` and `ringv8 bench forward`. All on
// loopback (127.0.0.1, port 0); the sending and receiving threads are pinned to different CPUs
// when the machine has two.
//
// Receive rate: a sender thread blasts datagrams (sendmmsg, 64 per call) at a receiver that is,
// in alternating rounds, a plain recvmmsg loop (the baseline), MmsgEndpoint and UringEndpoint.
// Then each receiver once more with the sender paced at a share of the baseline's rate, to see
// which drop what a plain loop takes without drops.
//
// Latency: a client thread (a plain blocking socket) sends one datagram, waits for its echo and
// sends the next; the echo is a plain recvfrom/sendto loop, MmsgEndpoint or UringEndpoint.
// p50/p99 of the round trip: batching must not cost latency when idle.
//
// Forward: the relay's pattern without crypto. A generator sends equal-size datagrams to a
// forwarder that sends each on to a fixed next hop, where a sink counts them. The forwarder is a
// plain recvmmsg -> sendmmsg loop (the baseline), MmsgEndpoint or UringEndpoint, without and with
// GSO+GRO; the generator sends plainly (sendmmsg) or with GSO, at a given rate. Datagrams
// forwarded per second and per CPU-second of the forwarder's thread.
// Thread-compatible: one run at a time.
#ifndef RINGV8_TESTBED_ENDPOINT_BENCH_H_
#define RINGV8_TESTBED_ENDPOINT_BENCH_H_

#include <nlohmann/json.hpp>

namespace ringv8::testbed {

struct EndpointBenchOptions {
  int payload_size = 64;  // 23..1472.
  double seconds = 1.0;   // Per mode and round.
  int rounds = 5;
  double paced_share = 0.8;  // Of the baseline's rate, for the drop check.
  int pings = 5000;          // Round trips per backend (latency).
};

// payload_size, baseline_pps, mmsg_pps, uring_pps, mmsg_ratio, uring_ratio (medians of the
// per-round ratios), drops, average_batch, and "paced": {rate, sent, received and drops per
// receiver}.
nlohmann::json RunEndpointBench(const EndpointBenchOptions& options);

// p50_us, p99_us (and pings) per server: baseline, mmsg, uring; uring_p50_ratio to mmsg's.
nlohmann::json RunLatencyBench(const EndpointBenchOptions& options);

struct ForwardBenchOptions {
  int payload_size = 1200;  // 23..1472.
  double seconds = 2.0;     // Per mode.
  // Offered load, datagrams/s (0: as fast as the generator goes, which floods every forwarder and
  // starves the sink that shares a core with it: three threads on two cores here). The default
  // is more than a plain forwarder takes and what a GSO+GRO one takes here.
  double rate = 1000000;
};

// One entry per mode (forwarder, gso_gro, generator_gso): sent, forwarded, forwarded_per_second,
// forwarder_cpu_seconds, per_cpu_second, lost, forwarder_kernel_drops, ratio_per_cpu_second (to
// the plain forwarder with the same generator); plus the headline gso_gro_ratio_per_cpu_second.
nlohmann::json RunForwardBench(const ForwardBenchOptions& options);

}  // namespace ringv8::testbed

#endif  // RINGV8_TESTBED_ENDPOINT_BENCH_H_
