#include "testbed/relay_bench.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/udp.h>
#include <openssl/evp.h>
#include <sodium.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstring>
#include <future>
#include <memory>
#include <mutex>
#include <random>
#include <stdexcept>
#include <thread>

#include <fmt/format.h>
#include <pthread.h>
#include <spdlog/spdlog.h>

#include "overlay/network.h"
#include "ring/open_endpoint.h"
#include "testbed/bare_relay.h"
#include "testbed/bench_util.h"
#include "testbed/tunnel_bench_util.h"
#include "tunnel/crypto.h"
#include "tunnel/layer_cipher.h"
#include "tunnel/tunnel_community.h"
#include "wire/keys.h"

namespace ringv8::testbed {
namespace {

using Clock = BenchClock;
using nlohmann::json;
using tunnel::TunnelCommunity;
using tunnel::TunnelSettings;

constexpr uint64_t kProbeMagic = 0x72696e6776387072;  // "ringv8pr"
constexpr size_t kMaxSampledCircuits = 16384;         // Distinct pre-built cells per direction.

// ---- The crypto ceiling and the handshake's crypto ----

// The crypto of a circuit's two handshakes at a relay, as the relay does it: CREATE -> CREATED (a
// tmp key pair, two DH, auth and session keys, the candidate list sealed) and, unless
// `create_only`, EXTEND -> EXTENDED (the EXTEND's layer opened, the EXTENDED's sealed), at the
// sizes of this benchmark's cells.
double HandshakeCryptoPerSecond(double seconds, bool create_only) {
  constexpr size_t kCandidateList = 80, kExtend = 120, kExtended = 180;
  const tunnel::X25519KeyPair identity = tunnel::X25519KeyPair::Generate();
  const tunnel::X25519KeyPair client = tunnel::X25519KeyPair::Generate();
  tunnel::LayerCipher cipher;
  tunnel::DirectionKey key;
  std::vector<uint8_t> plain(kExtended, 0x5a), out(kExtended + tunnel::kLayerOverhead);
  std::vector<uint8_t> extend(kExtend + tunnel::kLayerOverhead);
  cipher.SealNext(key, std::span(plain).first(kExtend), extend.data());
  uint64_t n = 0;
  const auto start = Clock::now();
  do {
    for (int i = 0; i < 16; ++i, ++n) {
      (void)tunnel::AnswerHandshake(identity.secret, client.public_key,
                                    tunnel::X25519KeyPair::Generate());
      cipher.SealNext(key, std::span(plain).first(kCandidateList), out.data());
      if (create_only) continue;
      (void)cipher.Open(key, extend, out.data());
      cipher.SealNext(key, plain, out.data());
    }
  } while (SecondsSince(start) < seconds);
  return n / SecondsSince(start);
}

// CREATEs as fast as a generator sends them (each with its own circuit id and one client key:
// the relay's work is the same), for `seconds`: CREATEDs per relay CPU-second. Unlike circuit
// builds, whose client does three times the relay's crypto, this keeps the relay busy.
struct CreateFlood {
  uint64_t answered = 0;
  double relay_cpu_seconds = 0;
};

CreateFlood FloodCreates(EndpointBackend backend, double seconds) {
  constexpr size_t kCreates = 160000;  // 40,000/s for `seconds` (at most 4).
  TunnelThread relay(backend, BenchSettings(kCreates, tunnel::kFlagRelay));
  const wire::PrivateKey client = wire::PrivateKey::Generate();
  const tunnel::X25519KeyPair ephemeral = tunnel::X25519KeyPair::Generate();
  std::vector<std::vector<uint8_t>> cells;
  cells.reserve(kCreates);
  tunnel::CreatePayload create;
  create.node_public_key = client.public_key().bin();
  create.key = ephemeral.public_key;
  std::array<uint8_t, 512> body;
  for (uint32_t i = 0; i < kCreates; ++i) {
    std::vector<uint8_t> cell(tunnel::kCellHeaderSize);
    tunnel::WriteCellHeader(wire::MakePrefix(tunnel::kPyIpv8TunnelCommunityId),
                            tunnel::CellHeader{0x10000000u + i, true, false}, cell.data());
    create.identifier = static_cast<uint16_t>(i);
    auto encoded = tunnel::EncodeCellMessage(create, body);
    cell.insert(cell.end(), encoded->begin(), encoded->end());
    cells.push_back(std::move(cell));
  }
  std::atomic<bool> stop{false};
  const double cpu_start = relay.CpuSeconds();
  uint64_t joined_start = 0;
  relay.Call([&](TunnelCommunity& c) { joined_start = c.tunnel_stats().circuits_joined; });
  // Paced a little above what a relay answers (a socket buffer of CREATEs waiting is not the
  // point), each CREATE sent once.
  auto generator = std::async(std::launch::async, [&] {
    return GenerateCells(Address::Ipv4(0x7F000001u, 0), relay.address(), cells, false, 40000, stop);
  });
  std::this_thread::sleep_for(std::chrono::duration<double>(std::min(seconds, 4.0)));
  CreateFlood flood;
  relay.Call([&](TunnelCommunity& c) {
    flood.answered = c.tunnel_stats().circuits_joined - joined_start;
  });
  flood.relay_cpu_seconds = relay.CpuSeconds() - cpu_start;
  stop = true;
  generator.get();
  relay.Stop();
  return flood;
}

// ---- Building circuits: a client and a last hop on this thread ----

struct CircuitKeys {
  uint32_t circuit_id = 0;  // The client's (forward cells).
  tunnel::DirectionKey forward;
  tunnel::DirectionKey backward;
};

struct Built {
  std::vector<CircuitKeys> forward;
  std::vector<uint32_t> backward;  // The last hop's circuit ids (backward cells).
  Address client, last_hop;
  size_t ready = 0;
  double seconds = 0;
  double relay_cpu_seconds = 0;
};

// A relay of `shards` TunnelThreads on one port (shard 0 on CPU 1, shard 1 on CPU 0 beside the
// generator and the sink), cells steered by circuit id.
class RelayGroup {
 public:
  RelayGroup(EndpointBackend backend, const TunnelSettings& settings, uint32_t shards)
      : hand_off_(shards) {
    for (uint32_t i = 0; i < shards; ++i) {
      const ShardOf shard{i, shards, i > 0 ? threads_[0].get() : nullptr, &hand_off_};
      threads_.push_back(std::make_unique<TunnelThread>(backend, settings, shard));
    }
  }
  const Address& address() const { return threads_[0]->address(); }
  uint32_t shards() const { return static_cast<uint32_t>(threads_.size()); }
  double CpuSeconds() {
    double sum = 0;
    for (auto& thread : threads_) sum += thread->CpuSeconds();
    return sum;
  }
  std::vector<double> ShardCpuSeconds() {
    std::vector<double> out;
    for (auto& thread : threads_) out.push_back(thread->CpuSeconds());
    return out;
  }
  // The shards' results summed (tables, circuits, drops); each shard's relayed cells in
  // `cells_per_shard`.
  TunnelThreadResult Stop(std::vector<uint64_t>& cells_per_shard) {
    std::vector<TunnelThreadResult> results;
    for (auto& thread : threads_) results.push_back(thread->Stop());
    for (const TunnelThreadResult& r : results) {
      cells_per_shard.push_back(r.stats.relayed_cells_forward + r.stats.relayed_cells_backward);
    }
    TunnelThreadResult sum = results[0];
    for (size_t i = 1; i < results.size(); ++i) {
      sum.table_bytes += results[i].table_bytes;
      sum.relayed_circuits += results[i].relayed_circuits;
      sum.kernel_drops += results[i].kernel_drops;
      sum.send_queue_full += results[i].send_queue_full;
      sum.stats.bad_tag += results[i].stats.bad_tag;
      sum.stats.unknown_circuit += results[i].stats.unknown_circuit;
      sum.stats.handed_off += results[i].stats.handed_off;
      sum.stats.handoff_dropped += results[i].stats.handoff_dropped;
    }
    return sum;
  }

 private:
  tunnel::ShardHandOff hand_off_;
  std::vector<std::unique_ptr<TunnelThread>> threads_;
};

Built BuildCircuits(RelayGroup& relay, size_t n) {
  EndpointOptions options;
  options.ipv4 = Address::Ipv4(0x7F000001u, 0);
  auto opened = OpenLoopAndEndpoint(EndpointBackend::kMmsg, options);
  if (!opened) throw std::runtime_error("client endpoint: " + opened.error().message());
  auto last_endpoint = OpenEndpoint(*opened->loop, options);
  if (!last_endpoint)
    throw std::runtime_error("last hop endpoint: " + last_endpoint.error().message());
  EventLoop& loop = *opened->loop;
  wire::PrivateKey client_key = wire::PrivateKey::Generate();
  wire::PrivateKey last_key = wire::PrivateKey::Generate();
  overlay::Network client_network, last_network;
  Built built;
  built.client = opened->endpoint->local_addresses()[0];
  built.last_hop = (*last_endpoint)->local_addresses()[0];
  auto client = std::make_unique<TunnelCommunity>(
      tunnel::kPyIpv8TunnelCommunityId,
      std::make_shared<overlay::Peer>(client_key.public_key(), built.client, loop.Now()),
      client_key, *opened->endpoint, client_network, loop, overlay::CommunitySettings{},
      BenchSettings(n, 0));
  auto last = std::make_unique<TunnelCommunity>(
      tunnel::kPyIpv8TunnelCommunityId,
      std::make_shared<overlay::Peer>(last_key.public_key(), built.last_hop, loop.Now()), last_key,
      **last_endpoint, last_network, loop, overlay::CommunitySettings{},
      BenchSettings(n, tunnel::kFlagRelay));
  WalkUntilAnswered(*client, loop, relay.address(), "the relay");
  const double cpu_start = relay.CpuSeconds();
  const auto start = Clock::now();
  const std::vector<uint32_t> ready = BuildReadyCircuits(
      *client, loop, 2, tunnel::RequiredHop::Of(last_key.public_key().bin(), built.last_hop), n);
  built.seconds = SecondsSince(start);
  built.relay_cpu_seconds = relay.CpuSeconds() - cpu_start;
  built.ready = ready.size();
  for (uint32_t id : ready) {
    const tunnel::SessionKeys& keys = client->GetCircuit(id)->hops[0].keys;
    built.forward.push_back({id, keys.forward, keys.backward});
  }
  built.backward = last->TerminalCircuitIds();
  client.reset();  // Frees the addresses: the bench holds them from here (HoldAddress).
  last.reset();
  last_endpoint->reset();
  opened->endpoint.reset();
  return built;
}

// ---- Cells and the generator ----

// Forward cells of `size` bytes: one layer of the relay's forward key around filler.
std::vector<std::vector<uint8_t>> ForwardCells(const Built& built, int size) {
  tunnel::LayerCipher cipher;
  std::vector<std::vector<uint8_t>> cells;
  const size_t step = std::max<size_t>(1, built.forward.size() / kMaxSampledCircuits);
  const std::vector<uint8_t> inner(size - tunnel::kCellHeaderSize - tunnel::kLayerOverhead, 0x5a);
  for (size_t i = 0; i < built.forward.size(); i += step) {
    std::vector<uint8_t> cell = CellHeader(built.forward[i].circuit_id);
    cell.resize(static_cast<size_t>(size));
    tunnel::DirectionKey key = built.forward[i].forward;
    cipher.SealNext(key, inner, cell.data() + tunnel::kCellHeaderSize);
    cells.push_back(std::move(cell));
  }
  return cells;
}

// Backward cells: anything (the relay adds its layer and checks nothing inside).
std::vector<std::vector<uint8_t>> BackwardCells(const Built& built, int size) {
  std::vector<std::vector<uint8_t>> cells;
  const size_t step = std::max<size_t>(1, built.backward.size() / kMaxSampledCircuits);
  for (size_t i = 0; i < built.backward.size(); i += step) {
    std::vector<uint8_t> cell = CellHeader(built.backward[i]);
    cell.resize(static_cast<size_t>(size), 0x5a);
    cells.push_back(std::move(cell));
  }
  return cells;
}

// Cells in random order (a fixed seed), in both directions alike: circuits built one after the
// other sit in neighbouring records of the relay's table, and a stream in that order would let
// the caches' prefetchers hide what real traffic, mixing circuits at random, pays. (A GSO send
// carries one circuit's cells, and is steered whole to the shard that owns it.)
std::vector<std::vector<uint8_t>> Shuffled(std::vector<std::vector<uint8_t>> cells) {
  std::mt19937 random(19);
  std::shuffle(cells.begin(), cells.end(), random);
  return cells;
}

// `cells` sent to a relay at `to` whose CPU time `cpu` reads, for `seconds`, once the relay
// and `other` (the relay not measured) are idle; `from` and `sink_at`: held sockets
// (HoldAddress).
Flow Measure(const Address& to, const std::function<double()>& cpu,
             const std::function<double()>& other, int from, int sink_at,
             const std::vector<std::vector<uint8_t>>& cells, bool gso, double seconds) {
  SettleCpu(other);
  SettleCpu(cpu);
  Sink sink(sink_at);
  std::atomic<bool> stop{false};
  const double cpu_start = cpu();
  const auto start = BenchClock::now();
  auto generator = std::async(std::launch::async, [&] {
    // GSO: each send a burst of one circuit's cells (a bulk transfer on it), circuits in
    // random order; plain: every datagram another circuit's cell (many small flows mixed).
    return GenerateCells(from, to, cells, gso, 0, stop, {}, {}, gso);
  });
  std::this_thread::sleep_for(std::chrono::duration<double>(seconds));
  stop = true;
  Flow flow;
  flow.sent = generator.get();
  std::this_thread::sleep_for(std::chrono::milliseconds(200));  // What is queued drains.
  flow.cpu_seconds = cpu() - cpu_start;
  flow.wall_seconds = SecondsSince(start);
  flow.arrived = sink.count();
  return flow;
}

// The built circuits' ids and keys in one direction, for a BareRelay (testbed/bare_relay.h): the
// floor of the relay's cell path with raw syscalls, on the relay's core.
std::vector<BareRelay::Hop> BareHops(const Built& built, bool forward) {
  std::vector<BareRelay::Hop> hops;
  for (size_t i = 0; i < std::min(built.forward.size(), built.backward.size()); ++i) {
    const CircuitKeys& client = built.forward[i];
    // The relay's own pairing of the two ids does not matter here: every cell costs the same.
    if (forward) {
      hops.push_back({client.circuit_id, built.backward[i], true, client.forward, built.last_hop});
    } else {
      hops.push_back({built.backward[i], client.circuit_id, false, client.backward, built.client});
    }
  }
  return hops;
}

constexpr size_t kProbesPerWindow = 500;

struct Percentiles {
  double p50 = 0, p99 = 0, p99_window_median = 0;
  size_t windows = 0;
};

// p50 and p99 of `samples` (in order of arrival), and the median of the p99s of its 500-probe
// windows (a quarter of a second each): the p99 of every probe counts any stall of this shared
// VM, which holds up every probe behind it for milliseconds; the median window is the p99 of a
// typical stretch.
Percentiles Summarise(const std::vector<double>& samples) {
  std::vector<double> window_p99;
  for (size_t at = 0; at + kProbesPerWindow <= samples.size(); at += kProbesPerWindow) {
    const auto first = samples.begin() + static_cast<ptrdiff_t>(at);
    window_p99.push_back(Percentile({first, first + kProbesPerWindow}, 0.99));
  }
  return {Percentile(samples, 0.5), Percentile(samples, 0.99),
          window_p99.empty() ? 0.0 : Percentile(window_p99, 0.5), window_p99.size()};
}

json ToJson(const Percentiles& p) {
  return {{"p50_us", p.p50},
          {"p99_us", p.p99},
          {"p99_window_median_us", p.p99_window_median},
          {"windows", p.windows}};
}

// Latency added by the relay, with the bulk flow at `rate` sent `burst` cells per sendmmsg.
// Every 0.5 ms a probe goes through the relay and, just before it from another socket, its twin
// straight to the sink; the twin arrives first and a probe's added latency is the gap between
// the two (the generator's and the sink's delays are in both, so they cancel; the twin's head
// start of one sendto counts against the relay). The sink runs on CPU 1, the relay's: on CPU 0 it
// would wait until the generator's sendmmsg (tens of microseconds in the kernel) returned, a
// delay of the generator's. Sharing the relay's CPU is the harder case for the relay.
json Latency(RelayGroup& relay, int from, int sink_at,
             const std::vector<std::vector<uint8_t>>& cells, double rate, int burst, double seconds,
             const CircuitKeys& keys) {
  struct Probe {
    uint64_t sent_ns = 0, direct_ns = 0, through_ns = 0;
  };
  constexpr uint64_t kDirectMagic = kProbeMagic + 1;
  constexpr uint64_t kMaxProbes = 1u << 24;  // Over two hours of probes at one per 0.5 ms.
  std::mutex mutex;
  std::vector<Probe> probes;  // By sequence number.
  Sink sink(
      sink_at,
      [&](std::span<const uint8_t> datagram) {
        uint64_t magic, sent_ns, sequence;
        if (datagram.size() < tunnel::kCellHeaderSize + 24) return;
        std::memcpy(&magic, datagram.data() + tunnel::kCellHeaderSize, 8);
        if (magic != kProbeMagic && magic != kDirectMagic) return;
        std::memcpy(&sent_ns, datagram.data() + tunnel::kCellHeaderSize + 8, 8);
        std::memcpy(&sequence, datagram.data() + tunnel::kCellHeaderSize + 16, 8);
        const uint64_t now = static_cast<uint64_t>(Clock::now().time_since_epoch().count());
        if (sequence >= kMaxProbes) return;
        std::lock_guard lock(mutex);
        if (sequence >= probes.size()) probes.resize(sequence + 1);
        probes[sequence].sent_ns = sent_ns;
        (magic == kProbeMagic ? probes[sequence].through_ns : probes[sequence].direct_ns) = now;
      },
      /*cpu=*/1);
  Address twin_from;
  const int twin_fd = LoopbackSocket(&twin_from);
  sockaddr_storage sink_addr;
  const socklen_t sink_len = sink.address().ToSockaddr(&sink_addr);
  tunnel::LayerCipher cipher;
  tunnel::DirectionKey key = keys.forward;
  // Room for the magic, the time and the sequence number, also in the smallest cells.
  const size_t size =
      std::max(cells[0].size(), tunnel::kCellHeaderSize + tunnel::kLayerOverhead + 24);
  std::vector<uint8_t> inner(size - tunnel::kCellHeaderSize - tunnel::kLayerOverhead, 0);
  uint64_t sequence = 0;
  auto probe = [&](std::vector<uint8_t>& cell) {
    const uint64_t now = static_cast<uint64_t>(Clock::now().time_since_epoch().count());
    std::memcpy(inner.data() + 8, &now, 8);
    std::memcpy(inner.data() + 16, &sequence, 8);
    ++sequence;
    // The twin, in clear, straight to the sink.
    std::memcpy(inner.data(), &kDirectMagic, 8);
    cell = CellHeader(keys.circuit_id);
    cell.insert(cell.end(), inner.begin(), inner.end());
    (void)sendto(twin_fd, cell.data(), cell.size(), 0, reinterpret_cast<sockaddr*>(&sink_addr),
                 sink_len);
    // The probe, sealed for the relay, which opens it on the way; the generator sends it.
    std::memcpy(inner.data(), &kProbeMagic, 8);
    cell.resize(size);
    cipher.SealNext(key, inner, cell.data() + tunnel::kCellHeaderSize);
  };
  std::atomic<bool> stop{false};
  const double cpu_start = relay.CpuSeconds();
  auto generator = std::async(std::launch::async, [&] {
    return GenerateCells(from, relay.address(), cells, false, rate, stop,
                         std::chrono::microseconds(500), probe, false, burst);
  });
  std::this_thread::sleep_for(std::chrono::duration<double>(seconds));
  stop = true;
  const uint64_t sent = generator.get();
  std::this_thread::sleep_for(std::chrono::milliseconds(100));
  close(twin_fd);
  std::lock_guard lock(mutex);
  std::vector<double> through, direct, added;
  size_t lost = 0;
  for (const Probe& p : probes) {
    if (p.through_ns == 0 || p.direct_ns == 0) {
      ++lost;
      continue;
    }
    through.push_back((p.through_ns - p.sent_ns) / 1e3);
    direct.push_back((p.direct_ns - p.sent_ns) / 1e3);
    added.push_back((static_cast<double>(p.through_ns) - static_cast<double>(p.direct_ns)) / 1e3);
  }
  return {{"rate", rate},
          {"cell_size", cells[0].size()},
          {"burst", burst},
          {"probes", added.size()},
          {"lost", lost},
          {"through_relay", ToJson(Summarise(through))},
          {"direct", ToJson(Summarise(direct))},
          {"added", ToJson(Summarise(added))},
          {"relay_cpu_us_per_cell", sent > 0 ? (relay.CpuSeconds() - cpu_start) * 1e6 / sent : 0}};
}

}  // namespace

json RunRelayBench(const RelayBenchOptions& options) {
  // Before any figure: sodium_init picks libsodium's implementations for this CPU (the relay's).
  wire::EnsureSodium();
  const EndpointBackend backend =
      options.backend == "mmsg" ? EndpointBackend::kMmsg : EndpointBackend::kUring;
  const double crypto_seconds = std::min(1.0, options.seconds / 2);
  json result;
  // The one-core ceiling, per cell size, and what the relay's LayerCipher gets.
  json crypto = json::object();
  std::map<int, double> ceiling;
  PinToCpu(1);  // Where the relay runs.
  for (int size : options.payload_sizes) {
    const size_t layer =
        static_cast<size_t>(size) - tunnel::kCellHeaderSize - tunnel::kLayerOverhead;
    const CryptoCeiling measured = MeasureCryptoCeiling(layer, crypto_seconds);
    ceiling[size] = measured.ceiling();
    json& c = crypto[std::to_string(size)] = measured.ToJson();
    c["layer_cipher_openssl_per_second"] =
        LayerCipherPerSecond(tunnel::AeadImpl::kOpenSsl, layer, crypto_seconds);
    c["layer_cipher_libsodium_per_second"] =
        LayerCipherPerSecond(tunnel::AeadImpl::kSodium, layer, crypto_seconds);
    spdlog::info(
        "crypto {} B cells: OpenSSL {:.0f} layers/s through EVP, {:.0f} through its provider; "
        "libsodium {:.0f}/s (one core)",
        size, measured.openssl_evp, measured.openssl_provider, measured.sodium);
  }
  result["crypto"] = crypto;
  const double handshake_crypto = HandshakeCryptoPerSecond(crypto_seconds, false);
  const double create_crypto = HandshakeCryptoPerSecond(crypto_seconds, true);
  // The client side (it builds the circuits) runs on CPU 0 with the generator and the sink, not
  // on the core it measures: a client there would share its caches and take turns with it.
  PinToCpu(0);

  json runs = json::array();
  json handshakes = json::array();
  json memory = json::array();
  json latency = json::array();
  for (const uint32_t shards : options.shards)
    for (size_t n : options.circuits) {
      RelayGroup relay(backend, BenchSettings(n, tunnel::kFlagRelay | tunnel::kFlagSpeedTest),
                       shards);
      Built built = BuildCircuits(relay, n);
      const HeldSocket client{HoldAddress(built.client)};
      const HeldSocket last_hop{HoldAddress(built.last_hop)};
      const double built_per_cpu =
          built.relay_cpu_seconds > 0 ? built.ready / built.relay_cpu_seconds : 0;
      handshakes.push_back({{"circuits", n},
                            {"shards", shards},
                            {"ready", built.ready},
                            {"seconds", built.seconds},
                            {"relay_cpu_seconds", built.relay_cpu_seconds},
                            {"circuits_per_relay_cpu_second", built_per_cpu},
                            {"handshake_crypto_per_second", handshake_crypto},
                            {"share_of_crypto", built_per_cpu / handshake_crypto}});
      spdlog::info(
          "{} circuits built through {} shard(s) in {:.1f} s: {:.0f} per relay CPU-second ({:.2f} "
          "of the handshake crypto alone, {:.0f}/s)",
          built.ready, shards, built.seconds, built_per_cpu, built_per_cpu / handshake_crypto,
          handshake_crypto);
      if (built.forward.empty() || built.backward.empty()) {
        throw std::runtime_error(fmt::format("no circuit was built ({} asked)", n));
      }
      for (int size : options.payload_sizes) {
        const auto forward_cells = Shuffled(ForwardCells(built, size));
        const auto backward_cells = Shuffled(BackwardCells(built, size));
        for (const bool gso : {true, false}) {
          for (const bool forward : {true, false}) {
            const auto relay_cpu = [&] { return relay.CpuSeconds(); };
            const int from = forward ? client.fd : last_hop.fd;
            const int sink_at = forward ? last_hop.fd : client.fd;
            const auto& cells = forward ? forward_cells : backward_cells;
            BareRelay bare(BareHops(built, forward));
            const auto bare_cpu = [&] { return bare.CpuSeconds(); };
            std::vector<double> shard_cpu(shards, 0.0);
            const AlternatedFlow flow = MeasureAlternating(
                options.rounds, options.seconds, [&](bool is_bare, double seconds) {
                  if (is_bare) {
                    return Measure(bare.address(), bare_cpu, relay_cpu, from, sink_at, cells, gso,
                                   seconds);
                  }
                  const std::vector<double> before = relay.ShardCpuSeconds();
                  const Flow slice = Measure(relay.address(), relay_cpu, bare_cpu, from, sink_at,
                                             cells, gso, seconds);
                  const std::vector<double> after = relay.ShardCpuSeconds();
                  for (size_t i = 0; i < shard_cpu.size(); ++i)
                    shard_cpu[i] += after[i] - before[i];
                  return slice;
                });
            const double per_cpu = flow.ringv8.per_cpu_second();
            const double relayed_per_second = flow.ringv8.per_second();
            json run = {
                {"circuits", built.forward.size()},
                {"shards", shards},
                {"shard_cpu_seconds", shard_cpu},
                {"relay_cpu_us_per_cell",
                 flow.ringv8.arrived > 0 ? flow.ringv8.cpu_seconds / flow.ringv8.arrived * 1e6 : 0},
                {"cell_size", size},
                {"direction", forward ? "forward" : "backward"},
                {"generator_gso", gso},
                {"sent", flow.ringv8.sent},
                {"relayed", flow.ringv8.arrived},
                {"relayed_per_second", relayed_per_second},
                {"relay_cpu_seconds", flow.ringv8.cpu_seconds},
                {"per_cpu_second", per_cpu},
                {"share_of_ceiling", per_cpu / ceiling[size]},
                {"bare", BareFigures(flow.bare, ceiling[size])}};
            AddShareOfBare(flow, run);
            const double bare_per_cpu = flow.bare.per_cpu_second();
            spdlog::info(
                "{} circuits, {} shard(s), {} B {} ({}): {:.0f} cells/s, {:.0f} per relay "
                "CPU-second = {:.2f} of the crypto ceiling; bare syscalls {:.0f} per CPU-second = "
                "{:.2f}",
                built.forward.size(), shards, size, forward ? "forward" : "backward",
                gso ? "GSO generator" : "plain generator", relayed_per_second, per_cpu,
                per_cpu / ceiling[size], bare_per_cpu, bare_per_cpu / ceiling[size]);
            runs.push_back(std::move(run));
          }
        }
      }
      if (options.latency && latency.empty()) {
        // At half of the plain forward rate at the largest cell size, one-way, probes every
        // 0.5 ms; the flow in bursts of 4 datagrams (cells of many senders) and of 64 (one
        // sendmmsg sender's whole batch, which a probe behind it waits for).
        const int size = options.payload_sizes.back();
        double rate = 0;
        for (const json& run : runs) {
          if (run["cell_size"] == size && run["direction"] == "forward" && !run["generator_gso"]) {
            rate = run["relayed_per_second"].get<double>() / 2;
          }
        }
        const auto cells = ForwardCells(built, size);
        for (const int burst : {4, 64}) {
          json l = Latency(relay, client.fd, last_hop.fd, cells, rate, burst, options.seconds,
                           built.forward[0]);
          spdlog::info(
              "latency at {:.0f} cells/s in bursts of {}: added by the relay p50 {:.0f} us, p99 "
              "{:.0f} us (median window {:.0f} us); through it {:.0f} / {:.0f} us, direct {:.0f} "
              "/ {:.0f} us",
              rate, burst, l["added"]["p50_us"].get<double>(), l["added"]["p99_us"].get<double>(),
              l["added"]["p99_window_median_us"].get<double>(),
              l["through_relay"]["p50_us"].get<double>(),
              l["through_relay"]["p99_us"].get<double>(), l["direct"]["p50_us"].get<double>(),
              l["direct"]["p99_us"].get<double>());
          latency.push_back(std::move(l));
        }
      }
      std::vector<uint64_t> cells_per_shard;
      const TunnelThreadResult r = relay.Stop(cells_per_shard);
      memory.push_back(
          {{"circuits", r.relayed_circuits},
           {"shards", shards},
           {"relayed_cells_per_shard", cells_per_shard},
           {"handed_off", r.stats.handed_off},
           {"handoff_dropped", r.stats.handoff_dropped},
           {"table_bytes", r.table_bytes},
           {"bytes_per_circuit", r.relayed_circuits > 0 ? r.table_bytes / r.relayed_circuits : 0},
           {"bad_tag", r.stats.bad_tag},
           {"unknown_circuit", r.stats.unknown_circuit},
           {"kernel_drops", r.kernel_drops},
           {"send_queue_full", r.send_queue_full}});
    }
  result["handshakes"] = handshakes;
  const CreateFlood flood = FloodCreates(backend, options.seconds);
  const double flood_per_cpu =
      flood.relay_cpu_seconds > 0 ? flood.answered / flood.relay_cpu_seconds : 0;
  result["create_flood"] = {{"answered", flood.answered},
                            {"relay_cpu_seconds", flood.relay_cpu_seconds},
                            {"per_relay_cpu_second", flood_per_cpu},
                            {"create_crypto_per_second", create_crypto},
                            {"share_of_crypto", flood_per_cpu / create_crypto}};
  spdlog::info(
      "CREATE flood: {} answered, {:.0f} per relay CPU-second ({:.2f} of CREATE -> CREATED's "
      "crypto alone, {:.0f}/s)",
      flood.answered, flood_per_cpu, flood_per_cpu / create_crypto, create_crypto);
  result["runs"] = runs;
  result["latency"] = latency;
  result["memory"] = memory;
  result["backend"] = options.backend;
  return result;
}

}  // namespace ringv8::testbed
