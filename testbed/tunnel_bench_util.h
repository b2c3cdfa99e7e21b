// Pieces the tunnel benchmarks share (testbed/relay_bench, testbed/exit_bench): the one-core
// ChaCha20-Poly1305 ceiling (OpenSSL EVP and libsodium, one layer per operation, key set once),
// settings under which nothing expires during a run, cell headers, and a TunnelCommunity on its
// own thread, loop and loopback endpoint (pinned to CPU 1) with its CPU time, and the figures of
// a flow through a bare-syscall baseline (testbed/bare_relay.h, testbed/bare_exit.h).
// Thread-compatible unless a class says otherwise.
#ifndef RINGV8_TESTBED_TUNNEL_BENCH_UTIL_H_
#define RINGV8_TESTBED_TUNNEL_BENCH_UTIL_H_

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <thread>
#include <vector>

#include <nlohmann/json.hpp>

#include "overlay/network.h"
#include "ring/open_endpoint.h"
#include "testbed/bench_util.h"
#include "tunnel/shard_hand_off.h"
#include "tunnel/tunnel_community.h"

namespace ringv8::testbed {

using BenchClock = std::chrono::steady_clock;
double SecondsSince(BenchClock::time_point start);

// Waits (5 s at most) until the thread whose CPU time `cpu` reads is idle: a flood leaves a
// relay's or an exit's sockets full, and what it then works off must not count against the next
// figure.
void SettleCpu(const std::function<double()>& cpu);

// A flow through a relay or an exit, over one slice or the sum of several: what the generator
// `sent`, what `arrived` at the sink, the measured thread's CPU seconds meanwhile, and the wall
// seconds from the generator's start until both were read (with what was queued draining).
struct Flow {
  uint64_t sent = 0;
  uint64_t arrived = 0;
  double cpu_seconds = 0;
  double wall_seconds = 0;
  double per_cpu_second() const { return cpu_seconds > 0 ? arrived / cpu_seconds : 0; }
  double per_second() const { return wall_seconds > 0 ? arrived / wall_seconds : 0; }
  void Add(const Flow& slice);
};

// One flow through ringv8 and through its bare baseline, measured in alternating slices of
// `seconds / rounds` each, ringv8 first in odd rounds and bare first in even ones (A B B A A B
// ...): this VM's slow phases (its neighbours, the host) last seconds and fall on both alike,
// where two back-to-back measurements of `seconds` each differed by up to 30% from run to run.
// `measure(bare, seconds)` measures one slice of ringv8 (false) or of the baseline (true).
struct AlternatedFlow {
  Flow ringv8;
  Flow bare;
  // ringv8's per-CPU-second rate over the baseline's, in each round.
  std::vector<double> share_of_bare_by_round;
  double share_of_bare() const {
    return bare.per_cpu_second() > 0 ? ringv8.per_cpu_second() / bare.per_cpu_second() : 0;
  }
};
AlternatedFlow MeasureAlternating(int rounds, double seconds,
                                  const std::function<Flow(bool bare, double seconds)>& measure);

// The baseline's part of a flow, as runs[].bare reports it: `sent`, `arrived`, `cpu_seconds`,
// what arrived per CPU-second, and its share of `ceiling` (layers per second).
nlohmann::json BareFigures(const Flow& bare, double ceiling);
// What runs[] reports beside the baseline: share_of_bare (pooled over the rounds),
// share_of_bare_by_round, and rounds.
void AddShareOfBare(const AlternatedFlow& flow, nlohmann::json& run);

// One layer of `size` bytes per operation, for `seconds`: layers per second on this core.
double OpensslLayersPerSecond(size_t size, double seconds);  // Through EVP.
// OpenSSL's provider called without EVP (tunnel/openssl_chacha.h), as the relay does.
double OpensslProviderLayersPerSecond(size_t size, double seconds);
double SodiumLayersPerSecond(size_t size, double seconds);

// The one-core ChaCha20-Poly1305 ceiling for layers of `size` bytes: the fastest of OpenSSL
// through EVP (the reference), OpenSSL's provider without EVP, and libsodium, each with
// one context, the key set once and only the nonce changing.
struct CryptoCeiling {
  double openssl_evp = 0;
  double openssl_provider = 0;
  double sodium = 0;
  double ceiling() const { return std::max({openssl_evp, openssl_provider, sodium}); }
  // openssl_layers_per_second, openssl_provider_layers_per_second,
  // libsodium_layers_per_second, ceiling.
  nlohmann::json ToJson() const;
};
CryptoCeiling MeasureCryptoCeiling(size_t size, double seconds);
// What the relay's LayerCipher does per cell (the key set with every nonce).
double LayerCipherPerSecond(tunnel::AeadImpl impl, size_t size, double seconds);

// Settings under which nothing expires or is refused during a run.
tunnel::TunnelSettings BenchSettings(size_t circuits, tunnel::PeerFlags flags);
// DATA's fixed part before its payload: cell id, destination and origin (IPv4: 7 bytes each).
inline constexpr size_t kDataIpv4Overhead = 1 + 7 + 7;

// A cell header (py-ipv8's tunnel prefix) for `circuit_id`, encrypted, relay_early 0.
std::vector<uint8_t> CellHeader(uint32_t circuit_id);

// Walks `client` to `to` until it is a verified peer (1 s at most), else throws "`what` does not
// answer".
void WalkUntilAnswered(tunnel::TunnelCommunity& client, EventLoop& loop, const Address& to,
                       const char* what);
// Builds `n` circuits of `hops` hops ending at `last` through real handshakes, at most 512 under
// construction at once, for at most 60 s + n / 500 s; the ids of those that became ready.
std::vector<uint32_t> BuildReadyCircuits(tunnel::TunnelCommunity& client, EventLoop& loop,
                                         size_t hops, const tunnel::RequiredHop& last, size_t n);

// Sends `cells` (all of one size) round-robin from `from` to `to` until `stop`, on CPU 0: `burst`
// (at most 64) per sendmmsg, or as UDP_SEGMENT sends of up to 64 (a bulk transfer). `rate` > 0
// paces it. Every `probe_every` (if > 0) one probe: `probe(buffer)` fills a cell that is sent
// alone. With `one_cell_per_send` every send repeats one cell (a burst of one circuit's cells:
// relays and exits check no counter, spec Q7), the next send the next cell. Returns what the kernel
// took.
uint64_t GenerateCells(const Address& from, const Address& to,
                       const std::vector<std::vector<uint8_t>>& cells, bool gso, double rate,
                       const std::atomic<bool>& stop, std::chrono::microseconds probe_every = {},
                       const std::function<void(std::vector<uint8_t>&)>& probe = {},
                       bool one_cell_per_send = false, int burst = kBatch);
// The same from a socket the caller holds (and keeps open): a bench that sends from one address
// in many flows holds it for the whole run, so no other socket is given its port in between.
uint64_t GenerateCells(int from, const Address& to, const std::vector<std::vector<uint8_t>>& cells,
                       bool gso, double rate, const std::atomic<bool>& stop,
                       std::chrono::microseconds probe_every = {},
                       const std::function<void(std::vector<uint8_t>&)>& probe = {},
                       bool one_cell_per_send = false, int burst = kBatch);

// What a TunnelThread's community did, read on its thread when it stops.
struct TunnelThreadResult {
  tunnel::TunnelStats stats;
  size_t table_bytes = 0;
  size_t relayed_circuits = 0;
  size_t exit_sockets = 0;
  size_t exit_receive_buffer_bytes = 0;
  uint64_t exit_kernel_drops = 0;  // On the exit sockets (replies).
  uint64_t kernel_drops = 0;       // On the relay's or exit's own socket.
  uint64_t send_queue_full = 0;
};

// Which shard of a relay a TunnelThread is (TunnelCommunity::SetShard): shard 0 binds a free
// port; the others bind its port with its key. Every shard's socket carries the cell steering
// program (tunnel/cell_steering.h).
struct ShardOf {
  uint32_t index = 0;
  uint32_t count = 1;
  const class TunnelThread* first = nullptr;  // Shard 0, for index > 0.
  tunnel::ShardHandOff* hand_off = nullptr;   // For count > 1.
};

// A TunnelCommunity with `settings` on its own thread, loop and 127.0.0.1 endpoint, pinned to
// CPU 1 (shard 0) or CPU 0 (shard 1: on a 2-core machine it shares the generator's core).
// Thread-safe: address(), CpuSeconds(), Call() and Stop() from the owner's thread.
class TunnelThread {
 public:
  TunnelThread(EndpointBackend backend, const tunnel::TunnelSettings& settings,
               const ShardOf& shard = {});
  ~TunnelThread();
  TunnelThread(const TunnelThread&) = delete;
  TunnelThread& operator=(const TunnelThread&) = delete;

  const Address& address() const { return address_; }
  const wire::PrivateKey& key() const { return key_; }
  double CpuSeconds();
  // Runs `fn` on the community's thread and waits for it.
  void Call(const std::function<void(tunnel::TunnelCommunity&)>& fn);
  TunnelThreadResult Stop();

 private:
  wire::PrivateKey key_;
  overlay::Network network_;
  LoopAndEndpoint opened_;
  std::unique_ptr<tunnel::TunnelCommunity> community_;
  Address address_;
  std::thread thread_;
  TunnelThreadResult result_;
};

}  // namespace ringv8::testbed

#endif  // RINGV8_TESTBED_TUNNEL_BENCH_UTIL_H_
