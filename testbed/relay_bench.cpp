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
  for (uint32_t id : ready)
    built.forward.push_back({id, client->GetCircuit(id)->hops[0].keys.forward});
  built.backward = last->TerminalCircuitIds();
  client.reset();  // Frees the addresses for the generator and the sink.
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

struct Flow {
  uint64_t sent = 0;
  uint64_t arrived = 0;
  double relay_cpu_seconds = 0;
};

Flow Measure(RelayGroup& relay, const Address& from, const Address& sink_at,
             const std::vector<std::vector<uint8_t>>& cells, bool gso, double seconds) {
  Sink sink(sink_at);
  std::atomic<bool> stop{false};
  const double cpu_start = relay.CpuSeconds();
  auto generator = std::async(std::launch::async, [&] {
    // GSO: each send a burst of one circuit's cells (a bulk transfer on it), circuits in
    // random order; plain: every datagram another circuit's cell (many small flows mixed).
    return GenerateCells(from, relay.address(), cells, gso, 0, stop, {}, {}, gso);
  });
  std::this_thread::sleep_for(std::chrono::duration<double>(seconds));
  stop = true;
  Flow flow;
  flow.sent = generator.get();
  std::this_thread::sleep_for(std::chrono::milliseconds(200));  // What is queued drains.
  flow.relay_cpu_seconds = relay.CpuSeconds() - cpu_start;
  flow.arrived = sink.count();
  return flow;
}

// One-way latency of probes, p50/p99 in microseconds, with the bulk flow at `rate`.
json Latency(RelayGroup* relay, const Address& from, const Address& sink_at,
             const std::vector<std::vector<uint8_t>>& cells, double rate, double seconds,
             const CircuitKeys* keys) {
  std::mutex mutex;
  std::vector<double> samples;
  Sink sink(sink_at, [&](std::span<const uint8_t> datagram) {
    uint64_t magic, sent_ns;
    if (datagram.size() < tunnel::kCellHeaderSize + 16) return;
    std::memcpy(&magic, datagram.data() + tunnel::kCellHeaderSize, 8);
    if (magic != kProbeMagic) return;
    std::memcpy(&sent_ns, datagram.data() + tunnel::kCellHeaderSize + 8, 8);
    const uint64_t now = static_cast<uint64_t>(Clock::now().time_since_epoch().count());
    std::lock_guard lock(mutex);
    samples.push_back((now - sent_ns) / 1e3);
  });
  tunnel::LayerCipher cipher;
  tunnel::DirectionKey key = keys != nullptr ? keys->forward : tunnel::DirectionKey{};
  const size_t size = cells[0].size();
  auto probe = [&](std::vector<uint8_t>& cell) {
    std::vector<uint8_t> inner(size - tunnel::kCellHeaderSize - tunnel::kLayerOverhead, 0);
    const uint64_t now = static_cast<uint64_t>(Clock::now().time_since_epoch().count());
    std::memcpy(inner.data(), &kProbeMagic, 8);
    std::memcpy(inner.data() + 8, &now, 8);
    cell = CellHeader(keys != nullptr ? keys->circuit_id : 0);
    if (relay != nullptr) {  // Sealed for the relay, which opens it on the way.
      cell.resize(size);
      cipher.SealNext(key, inner, cell.data() + tunnel::kCellHeaderSize);
    } else {  // Straight to the sink: in clear.
      cell.insert(cell.end(), inner.begin(), inner.end());
    }
  };
  std::atomic<bool> stop{false};
  const Address to = relay != nullptr ? relay->address() : sink.address();
  auto generator = std::async(std::launch::async, [&] {
    return GenerateCells(from, to, cells, false, rate, stop, std::chrono::microseconds(500), probe);
  });
  std::this_thread::sleep_for(std::chrono::duration<double>(seconds));
  stop = true;
  generator.get();
  std::this_thread::sleep_for(std::chrono::milliseconds(100));
  std::lock_guard lock(mutex);
  return {{"probes", samples.size()},
          {"p50_us", Percentile(samples, 0.5)},
          {"p99_us", Percentile(samples, 0.99)}};
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
    const double openssl = OpensslLayersPerSecond(layer, crypto_seconds);
    const double sodium = SodiumLayersPerSecond(layer, crypto_seconds);
    ceiling[size] = std::max(openssl, sodium);
    crypto[std::to_string(size)] = {
        {"openssl_layers_per_second", openssl},
        {"libsodium_layers_per_second", sodium},
        {"layer_cipher_openssl_per_second",
         LayerCipherPerSecond(tunnel::AeadImpl::kOpenSsl, layer, crypto_seconds)},
        {"layer_cipher_libsodium_per_second",
         LayerCipherPerSecond(tunnel::AeadImpl::kSodium, layer, crypto_seconds)},
        {"ceiling", ceiling[size]}};
    spdlog::info("crypto {} B cells: OpenSSL {:.0f} layers/s, libsodium {:.0f}/s (one core)", size,
                 openssl, sodium);
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
  json latency;
  for (const uint32_t shards : options.shards)
    for (size_t n : options.circuits) {
      RelayGroup relay(backend, BenchSettings(n, tunnel::kFlagRelay | tunnel::kFlagSpeedTest),
                       shards);
      Built built = BuildCircuits(relay, n);
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
            const std::vector<double> cpu_before = relay.ShardCpuSeconds();
            const Flow flow = forward ? Measure(relay, built.client, built.last_hop, forward_cells,
                                                gso, options.seconds)
                                      : Measure(relay, built.last_hop, built.client, backward_cells,
                                                gso, options.seconds);
            json shard_cpu = json::array();
            const std::vector<double> cpu_after = relay.ShardCpuSeconds();
            for (size_t i = 0; i < cpu_after.size(); ++i) {
              shard_cpu.push_back(cpu_after[i] - cpu_before[i]);
            }
            const double per_cpu =
                flow.relay_cpu_seconds > 0 ? flow.arrived / flow.relay_cpu_seconds : 0;
            json run = {{"circuits", built.forward.size()},
                        {"shards", shards},
                        {"shard_cpu_seconds", shard_cpu},
                        {"relay_cpu_us_per_cell",
                         flow.arrived > 0 ? flow.relay_cpu_seconds / flow.arrived * 1e6 : 0},
                        {"cell_size", size},
                        {"direction", forward ? "forward" : "backward"},
                        {"generator_gso", gso},
                        {"sent", flow.sent},
                        {"relayed", flow.arrived},
                        {"relayed_per_second", flow.arrived / options.seconds},
                        {"relay_cpu_seconds", flow.relay_cpu_seconds},
                        {"per_cpu_second", per_cpu},
                        {"share_of_ceiling", per_cpu / ceiling[size]}};
            spdlog::info(
                "{} circuits, {} shard(s), {} B {} ({}): {:.0f} cells/s, {:.0f} per relay "
                "CPU-second = {:.2f} of the crypto ceiling",
                built.forward.size(), shards, size, forward ? "forward" : "backward",
                gso ? "GSO generator" : "plain generator", flow.arrived / options.seconds, per_cpu,
                per_cpu / ceiling[size]);
            runs.push_back(std::move(run));
          }
        }
      }
      if (options.latency && latency.is_null()) {
        // At half of the plain forward rate at the largest cell size, one-way, probes every 0.5 ms.
        const int size = options.payload_sizes.back();
        double rate = 0;
        for (const json& run : runs) {
          if (run["cell_size"] == size && run["direction"] == "forward" && !run["generator_gso"]) {
            rate = run["relayed_per_second"].get<double>() / 2;
          }
        }
        const auto cells = ForwardCells(built, size);
        json through = Latency(&relay, built.client, built.last_hop, cells, rate, options.seconds,
                               &built.forward[0]);
        json direct =
            Latency(nullptr, built.client, built.last_hop, cells, rate, options.seconds, nullptr);
        latency = {
            {"rate", rate},
            {"cell_size", size},
            {"through_relay", through},
            {"direct", direct},
            {"added_p50_us", through["p50_us"].get<double>() - direct["p50_us"].get<double>()},
            {"added_p99_us", through["p99_us"].get<double>() - direct["p99_us"].get<double>()}};
        spdlog::info(
            "latency at {:.0f} cells/s: p50 {:.0f} us, p99 {:.0f} us through the relay; "
            "{:.0f} / {:.0f} us direct",
            rate, through["p50_us"].get<double>(), through["p99_us"].get<double>(),
            direct["p50_us"].get<double>(), direct["p99_us"].get<double>());
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
