#include "testbed/relay_bench.h"

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
#include <stdexcept>
#include <thread>

#include <fmt/format.h>
#include <pthread.h>
#include <spdlog/spdlog.h>

#include "overlay/network.h"
#include "ring/open_endpoint.h"
#include "testbed/bench_util.h"
#include "tunnel/crypto.h"
#include "tunnel/layer_cipher.h"
#include "tunnel/tunnel_community.h"

namespace ringv8::testbed {
namespace {

using Clock = std::chrono::steady_clock;
using nlohmann::json;
using tunnel::TunnelCommunity;
using tunnel::TunnelSettings;

constexpr uint64_t kProbeMagic = 0x72696e6776387072;  // "ringv8pr"
constexpr size_t kMaxSampledCircuits = 16384;         // Distinct pre-built cells per direction.

double SecondsSince(Clock::time_point start) {
  return std::chrono::duration<double>(Clock::now() - start).count();
}

// Settings under which nothing expires or is refused during a run.
TunnelSettings BenchSettings(size_t circuits, tunnel::PeerFlags flags) {
  TunnelSettings s;
  s.peer_flags = flags;
  s.create_rate = 0;
  s.max_joined_circuits = circuits + 16;
  s.max_circuits = circuits + 16;
  s.max_time_inactive = 1e9;
  s.max_time = 1e9;
  s.ping_interval = 1e9;
  s.next_hop_timeout = 30;
  return s;
}

// ---- The crypto ceiling and the handshake's crypto ----

// One layer per operation, the key set once and only the nonce changing: the most a core can do.
double OpensslLayersPerSecond(size_t size, double seconds) {
  std::vector<uint8_t> in(size, 0x5a), out(size + 16);
  uint8_t key[32] = {1}, nonce[12] = {2}, tag[16];
  EVP_CIPHER_CTX* ctx = EVP_CIPHER_CTX_new();
  EVP_EncryptInit_ex(ctx, EVP_chacha20_poly1305(), nullptr, key, nonce);
  uint64_t n = 0;
  const auto start = Clock::now();
  do {
    for (int i = 0; i < 256; ++i, ++n) {
      std::memcpy(nonce + 4, &n, 8);
      int len = 0;
      EVP_EncryptInit_ex(ctx, nullptr, nullptr, nullptr, nonce);
      EVP_EncryptUpdate(ctx, out.data(), &len, in.data(), static_cast<int>(size));
      EVP_EncryptFinal_ex(ctx, out.data() + len, &len);
      EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_AEAD_GET_TAG, 16, tag);
    }
  } while (SecondsSince(start) < seconds);
  EVP_CIPHER_CTX_free(ctx);
  return n / SecondsSince(start);
}

double SodiumLayersPerSecond(size_t size, double seconds) {
  std::vector<uint8_t> in(size, 0x5a), out(size);
  uint8_t key[32] = {1}, nonce[12] = {2}, tag[16];
  uint64_t n = 0;
  const auto start = Clock::now();
  do {
    for (int i = 0; i < 256; ++i, ++n) {
      std::memcpy(nonce + 4, &n, 8);
      crypto_aead_chacha20poly1305_ietf_encrypt_detached(out.data(), tag, nullptr, in.data(), size,
                                                         nullptr, 0, nullptr, nonce, key);
    }
  } while (SecondsSince(start) < seconds);
  return n / SecondsSince(start);
}

// What the relay's LayerCipher does per cell (the key set with every nonce).
double LayerCipherPerSecond(tunnel::AeadImpl impl, size_t size, double seconds) {
  tunnel::LayerCipher cipher(impl);
  tunnel::DirectionKey key;
  key.key[0] = 1;
  std::vector<uint8_t> in(size, 0x5a), out(size + tunnel::kLayerOverhead);
  uint64_t n = 0;
  const auto start = Clock::now();
  do {
    for (int i = 0; i < 256; ++i, ++n) cipher.SealNext(key, in, out.data());
  } while (SecondsSince(start) < seconds);
  return n / SecondsSince(start);
}

// The crypto of one CREATE -> CREATED at a hop: a tmp key pair, two DH, auth and session keys.
double HandshakeCryptoPerSecond(double seconds) {
  const tunnel::X25519KeyPair identity = tunnel::X25519KeyPair::Generate();
  const tunnel::X25519KeyPair client = tunnel::X25519KeyPair::Generate();
  uint64_t n = 0;
  const auto start = Clock::now();
  do {
    for (int i = 0; i < 16; ++i, ++n) {
      (void)tunnel::AnswerHandshake(identity.secret, client.public_key,
                                    tunnel::X25519KeyPair::Generate());
    }
  } while (SecondsSince(start) < seconds);
  return n / SecondsSince(start);
}

// ---- The relay on its own thread ----

struct RelayResult {
  tunnel::TunnelStats stats;
  size_t table_bytes = 0;
  size_t relayed_circuits = 0;
  uint64_t kernel_drops = 0;
  uint64_t send_queue_full = 0;
};

class RelayThread {
 public:
  RelayThread(EndpointBackend backend, size_t circuits) {
    std::promise<void> started;
    thread_ = std::thread([this, backend, circuits, &started] {
      PinToCpu(1);
      pthread_setname_np(pthread_self(), "relay");
      try {
        EndpointOptions options;
        options.ipv4 = Address::Ipv4(0x7F000001u, 0);
        options.send_queue_capacity = 16384;
        auto opened = OpenLoopAndEndpoint(backend, options);
        if (!opened) throw std::runtime_error("relay endpoint: " + opened.error().message());
        opened_ = std::move(*opened);
        auto peer = std::make_shared<overlay::Peer>(
            key_.public_key(), opened_.endpoint->local_addresses()[0], opened_.loop->Now());
        community_ = std::make_unique<TunnelCommunity>(
            tunnel::kPyIpv8TunnelCommunityId, peer, key_, *opened_.endpoint, network_,
            *opened_.loop, overlay::CommunitySettings{},
            BenchSettings(circuits, tunnel::kFlagRelay | tunnel::kFlagSpeedTest));
        address_ = opened_.endpoint->local_addresses()[0];
      } catch (...) {
        started.set_exception(std::current_exception());
        return;
      }
      started.set_value();
      opened_.loop->Run();
      result_.stats = community_->tunnel_stats();
      result_.table_bytes = community_->TableBytes();
      result_.relayed_circuits = community_->relayed_circuits();
      result_.kernel_drops = opened_.endpoint->stats().kernel_drops.value();
      result_.send_queue_full = opened_.endpoint->stats().send_queue_full.value();
      community_.reset();
      opened_.endpoint.reset();
      opened_.loop.reset();
    });
    try {
      started.get_future().get();
    } catch (...) {
      thread_.join();
      throw;
    }
  }
  ~RelayThread() {
    if (thread_.joinable()) Stop();
  }
  const Address& address() const { return address_; }
  double CpuSeconds() { return ThreadCpuSeconds(thread_.native_handle()); }
  RelayResult Stop() {
    opened_.loop->Stop();
    thread_.join();
    return result_;
  }

 private:
  wire::PrivateKey key_ = wire::PrivateKey::Generate();
  overlay::Network network_;
  LoopAndEndpoint opened_;
  std::unique_ptr<TunnelCommunity> community_;
  Address address_;
  std::thread thread_;
  RelayResult result_;
};

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

Built BuildCircuits(RelayThread& relay, size_t n) {
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
  for (int i = 0; i < 100 && client->GetPeers().empty(); ++i) {
    client->WalkTo(relay.address());
    loop.RunFor(std::chrono::milliseconds(10));
  }
  if (client->GetPeers().empty()) throw std::runtime_error("the relay does not answer");
  tunnel::RequiredHop last_hop;
  std::copy_n(last_key.public_key().bin().begin(), last_hop.key_bin.size(),
              last_hop.key_bin.begin());
  last_hop.address = built.last_hop;

  size_t done = 0;
  std::vector<uint32_t> ids;
  client->SetCircuitHandler([&](uint32_t, TunnelCommunity::CircuitEvent event) {
    ++done;
    if (event == TunnelCommunity::CircuitEvent::kReady) ++built.ready;
  });
  const double cpu_start = relay.CpuSeconds();
  const auto start = Clock::now();
  while (done < n && SecondsSince(start) < 60 + n / 500.0) {
    while (ids.size() < n && ids.size() - done < 512)
      ids.push_back(client->CreateCircuit(2, last_hop));
    loop.RunFor(std::chrono::milliseconds(1));
  }
  built.seconds = SecondsSince(start);
  built.relay_cpu_seconds = relay.CpuSeconds() - cpu_start;
  for (uint32_t id : ids) {
    const tunnel::Circuit* circuit = client->GetCircuit(id);
    if (circuit != nullptr && circuit->state == tunnel::CircuitState::kReady) {
      built.forward.push_back({id, circuit->hops[0].keys.forward});
    }
  }
  built.backward = last->TerminalCircuitIds();
  client.reset();  // Frees the addresses for the generator and the sink.
  last.reset();
  last_endpoint->reset();
  opened->endpoint.reset();
  return built;
}

// ---- Cells and the generator ----

std::vector<uint8_t> CellHeader(uint32_t circuit_id) {
  std::vector<uint8_t> cell(tunnel::kCellHeaderSize);
  tunnel::WriteCellHeader(wire::MakePrefix(tunnel::kPyIpv8TunnelCommunityId),
                          tunnel::CellHeader{circuit_id, false, false}, cell.data());
  return cell;
}

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

// Sends `cells` round-robin from `from` to `to` until `stop`: 64 per sendmmsg, or as UDP_SEGMENT
// sends of 64 (a bulk transfer). `rate` > 0 paces it. Every `probe_every` (if > 0) one probe:
// `probe(buffer)` fills a cell that is sent alone. Returns what the kernel took.
uint64_t Generate(const Address& from, const Address& to,
                  const std::vector<std::vector<uint8_t>>& cells, bool gso, double rate,
                  const std::atomic<bool>& stop, std::chrono::microseconds probe_every = {},
                  const std::function<void(std::vector<uint8_t>&)>& probe = {}) {
  PinToCpu(0);
  pthread_setname_np(pthread_self(), "generator");
  Address bound;
  int fd = LoopbackSocket(&bound, false, from);
  sockaddr_storage addr;
  socklen_t len = to.ToSockaddr(&addr);
  const size_t size = cells[0].size();
  iovec iov[kBatch];
  mmsghdr headers[kBatch];
  alignas(cmsghdr) uint8_t control[CMSG_SPACE(sizeof(uint16_t))] = {};
  for (auto& h : headers) {
    h.msg_hdr = msghdr{};
    h.msg_hdr.msg_name = &addr;
    h.msg_hdr.msg_namelen = len;
  }
  // A UDP_SEGMENT send carries at most 64 KiB: 46 cells of 1,400 bytes.
  const int per_send = gso ? std::min<int>(kBatch, static_cast<int>(65507 / size)) : kBatch;
  std::vector<uint8_t> probe_cell;
  size_t next = 0;
  uint64_t count = 0;
  const auto start = Clock::now();
  auto next_probe = start;
  while (!stop.load(std::memory_order_relaxed)) {
    for (int i = 0; i < per_send; ++i) {
      const std::vector<uint8_t>& cell = cells[next];
      next = next + 1 == cells.size() ? 0 : next + 1;
      iov[i] = {const_cast<uint8_t*>(cell.data()), size};
    }
    if (gso) {
      msghdr& msg = headers[0].msg_hdr;
      msg.msg_iov = iov;
      msg.msg_iovlen = static_cast<size_t>(per_send);
      SetUdpSegment(msg, control, sizeof(control), static_cast<uint16_t>(size));
      if (sendmsg(fd, &msg, 0) > 0) count += static_cast<uint64_t>(per_send);
    } else {
      for (int i = 0; i < kBatch; ++i) {
        headers[i].msg_hdr.msg_iov = &iov[i];
        headers[i].msg_hdr.msg_iovlen = 1;
      }
      const int n = sendmmsg(fd, headers, kBatch, 0);
      if (n > 0) count += static_cast<uint64_t>(n);
    }
    if (probe && Clock::now() >= next_probe) {
      next_probe += probe_every;
      probe(probe_cell);
      (void)sendto(fd, probe_cell.data(), probe_cell.size(), 0, reinterpret_cast<sockaddr*>(&addr),
                   len);
    }
    Pace(start, count, rate);
  }
  close(fd);
  return count;
}

struct Flow {
  uint64_t sent = 0;
  uint64_t arrived = 0;
  double relay_cpu_seconds = 0;
};

Flow Measure(RelayThread& relay, const Address& from, const Address& sink_at,
             const std::vector<std::vector<uint8_t>>& cells, bool gso, double seconds) {
  Sink sink(sink_at);
  std::atomic<bool> stop{false};
  const double cpu_start = relay.CpuSeconds();
  auto generator = std::async(std::launch::async,
                              [&] { return Generate(from, relay.address(), cells, gso, 0, stop); });
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
json Latency(RelayThread* relay, const Address& from, const Address& sink_at,
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
    return Generate(from, to, cells, false, rate, stop, std::chrono::microseconds(500), probe);
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
  const double handshake_crypto = HandshakeCryptoPerSecond(crypto_seconds);

  json runs = json::array();
  json handshakes = json::array();
  json memory = json::array();
  json latency;
  for (size_t n : options.circuits) {
    RelayThread relay(backend, n);
    Built built = BuildCircuits(relay, n);
    const double built_per_cpu =
        built.relay_cpu_seconds > 0 ? built.ready / built.relay_cpu_seconds : 0;
    handshakes.push_back({{"circuits", n},
                          {"ready", built.ready},
                          {"seconds", built.seconds},
                          {"relay_cpu_seconds", built.relay_cpu_seconds},
                          {"circuits_per_relay_cpu_second", built_per_cpu},
                          {"handshake_crypto_per_second", handshake_crypto},
                          {"share_of_crypto", built_per_cpu / handshake_crypto}});
    spdlog::info(
        "{} circuits built in {:.1f} s: {:.0f} per relay CPU-second ({:.2f} of the "
        "handshake crypto alone, {:.0f}/s)",
        built.ready, built.seconds, built_per_cpu, built_per_cpu / handshake_crypto,
        handshake_crypto);
    if (built.forward.empty() || built.backward.empty()) {
      throw std::runtime_error(fmt::format("no circuit was built ({} asked)", n));
    }
    for (int size : options.payload_sizes) {
      const auto forward_cells = ForwardCells(built, size);
      const auto backward_cells = BackwardCells(built, size);
      for (const bool gso : {true, false}) {
        for (const bool forward : {true, false}) {
          const Flow flow = forward ? Measure(relay, built.client, built.last_hop, forward_cells,
                                              gso, options.seconds)
                                    : Measure(relay, built.last_hop, built.client, backward_cells,
                                              gso, options.seconds);
          const double per_cpu =
              flow.relay_cpu_seconds > 0 ? flow.arrived / flow.relay_cpu_seconds : 0;
          json run = {{"circuits", built.forward.size()},
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
              "{} circuits, {} B {} ({}): {:.0f} cells/s, {:.0f} per relay CPU-second = "
              "{:.2f} of the crypto ceiling",
              built.forward.size(), size, forward ? "forward" : "backward",
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
    const RelayResult r = relay.Stop();
    memory.push_back(
        {{"circuits", r.relayed_circuits},
         {"table_bytes", r.table_bytes},
         {"bytes_per_circuit", r.relayed_circuits > 0 ? r.table_bytes / r.relayed_circuits : 0},
         {"bad_tag", r.stats.bad_tag},
         {"unknown_circuit", r.stats.unknown_circuit},
         {"kernel_drops", r.kernel_drops},
         {"send_queue_full", r.send_queue_full}});
  }
  result["handshakes"] = handshakes;
  result["runs"] = runs;
  result["latency"] = latency;
  result["memory"] = memory;
  result["backend"] = options.backend;
  return result;
}

}  // namespace ringv8::testbed
