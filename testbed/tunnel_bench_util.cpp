#include "testbed/tunnel_bench_util.h"

#include <netinet/in.h>
#include <netinet/udp.h>
#include <openssl/evp.h>
#include <sodium.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cstring>
#include <future>
#include <stdexcept>
#include <string>

#include <pthread.h>

#include "testbed/bench_util.h"
#include "tunnel/cell_steering.h"
#include "tunnel/layer_cipher.h"
#include "tunnel/openssl_chacha.h"

namespace ringv8::testbed {

using tunnel::TunnelCommunity;
using tunnel::TunnelSettings;
using Clock = BenchClock;

double SecondsSince(Clock::time_point start) {
  return std::chrono::duration<double>(Clock::now() - start).count();
}

void SettleCpu(const std::function<double()>& cpu) {
  constexpr auto kStep = std::chrono::milliseconds(100);
  double last = cpu();
  for (int i = 0; i < 50; ++i) {
    std::this_thread::sleep_for(kStep);
    const double now = cpu();
    if (now - last < 0.02 * std::chrono::duration<double>(kStep).count()) return;
    last = now;
  }
}

void Flow::Add(const Flow& slice) {
  sent += slice.sent;
  arrived += slice.arrived;
  cpu_seconds += slice.cpu_seconds;
  wall_seconds += slice.wall_seconds;
}

AlternatedFlow MeasureAlternating(int rounds, double seconds,
                                  const std::function<Flow(bool bare, double seconds)>& measure) {
  AlternatedFlow flow;
  const double slice = seconds / std::max(1, rounds);
  for (int round = 0; round < std::max(1, rounds); ++round) {
    Flow ringv8, bare;
    for (const bool is_bare : {round % 2 == 1, round % 2 == 0}) {
      (is_bare ? bare : ringv8) = measure(is_bare, slice);
    }
    flow.ringv8.Add(ringv8);
    flow.bare.Add(bare);
    flow.share_of_bare_by_round.push_back(
        bare.per_cpu_second() > 0 ? ringv8.per_cpu_second() / bare.per_cpu_second() : 0);
  }
  return flow;
}

nlohmann::json BareFigures(const Flow& bare, double ceiling) {
  return {{"sent", bare.sent},
          {"arrived", bare.arrived},
          {"cpu_seconds", bare.cpu_seconds},
          {"per_cpu_second", bare.per_cpu_second()},
          {"share_of_ceiling", bare.per_cpu_second() / ceiling}};
}

void AddShareOfBare(const AlternatedFlow& flow, nlohmann::json& run) {
  run["share_of_bare"] = flow.share_of_bare();
  run["share_of_bare_by_round"] = flow.share_of_bare_by_round;
  run["rounds"] = flow.share_of_bare_by_round.size();
}

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

double OpensslProviderLayersPerSecond(size_t size, double seconds) {
  std::vector<uint8_t> in(size, 0x5a), out(size);
  uint8_t key[32] = {1}, nonce[12] = {2}, tag[16];
  tunnel::OpenSslChaCha cipher;
  cipher.StartEncrypt(key, nonce);
  uint64_t n = 0;
  const auto start = Clock::now();
  do {
    for (int i = 0; i < 256; ++i, ++n) {
      std::memcpy(nonce + 4, &n, 8);
      cipher.StartEncrypt(nullptr, nonce);
      cipher.Update(out.data(), in.data(), size);
      cipher.Finish(tag);
    }
  } while (SecondsSince(start) < seconds);
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

nlohmann::json CryptoCeiling::ToJson() const {
  return {{"openssl_layers_per_second", openssl_evp},
          {"openssl_provider_layers_per_second", openssl_provider},
          {"libsodium_layers_per_second", sodium},
          {"ceiling", ceiling()}};
}

CryptoCeiling MeasureCryptoCeiling(size_t size, double seconds) {
  CryptoCeiling c;
  c.openssl_evp = OpensslLayersPerSecond(size, seconds);
  c.openssl_provider = OpensslProviderLayersPerSecond(size, seconds);
  c.sodium = SodiumLayersPerSecond(size, seconds);
  return c;
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

std::vector<uint8_t> CellHeader(uint32_t circuit_id) {
  std::vector<uint8_t> cell(tunnel::kCellHeaderSize);
  tunnel::WriteCellHeader(wire::MakePrefix(tunnel::kPyIpv8TunnelCommunityId),
                          tunnel::CellHeader{circuit_id, false, false}, cell.data());
  return cell;
}

void WalkUntilAnswered(TunnelCommunity& client, EventLoop& loop, const Address& to,
                       const char* what) {
  for (int i = 0; i < 100 && client.GetPeers().empty(); ++i) {
    client.WalkTo(to);
    loop.RunFor(std::chrono::milliseconds(10));
  }
  if (client.GetPeers().empty()) throw std::runtime_error(std::string(what) + " does not answer");
}

std::vector<uint32_t> BuildReadyCircuits(TunnelCommunity& client, EventLoop& loop, size_t hops,
                                         const tunnel::RequiredHop& last, size_t n) {
  size_t done = 0;
  std::vector<uint32_t> ids;
  client.SetCircuitHandler([&](uint32_t, TunnelCommunity::CircuitEvent) { ++done; });
  const auto start = Clock::now();
  while (done < n && SecondsSince(start) < 60 + n / 500.0) {
    while (ids.size() < n && ids.size() - done < 512)
      ids.push_back(client.CreateCircuit(hops, last));
    loop.RunFor(std::chrono::milliseconds(1));
  }
  client.SetCircuitHandler({});
  std::erase_if(ids, [&](uint32_t id) {
    const tunnel::Circuit* circuit = client.GetCircuit(id);
    return circuit == nullptr || circuit->state != tunnel::CircuitState::kReady;
  });
  return ids;
}

uint64_t GenerateCells(const Address& from, const Address& to,
                       const std::vector<std::vector<uint8_t>>& cells, bool gso, double rate,
                       const std::atomic<bool>& stop, std::chrono::microseconds probe_every,
                       const std::function<void(std::vector<uint8_t>&)>& probe,
                       bool one_cell_per_send, int burst) {
  Address bound;
  const int fd = LoopbackSocket(&bound, false, from);
  const uint64_t count =
      GenerateCells(fd, to, cells, gso, rate, stop, probe_every, probe, one_cell_per_send, burst);
  close(fd);
  return count;
}

uint64_t GenerateCells(int fd, const Address& to, const std::vector<std::vector<uint8_t>>& cells,
                       bool gso, double rate, const std::atomic<bool>& stop,
                       std::chrono::microseconds probe_every,
                       const std::function<void(std::vector<uint8_t>&)>& probe,
                       bool one_cell_per_send, int burst) {
  PinToCpu(0);
  pthread_setname_np(pthread_self(), "generator");
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
  const int per_send =
      gso ? std::min<int>(kBatch, static_cast<int>(65507 / size)) : std::clamp(burst, 1, kBatch);
  std::vector<uint8_t> probe_cell;
  size_t next = 0;
  uint64_t count = 0;
  const auto start = Clock::now();
  auto next_probe = start;
  while (!stop.load(std::memory_order_relaxed)) {
    for (int i = 0; i < per_send; ++i) {
      const std::vector<uint8_t>& cell = cells[next];
      if (!one_cell_per_send || i + 1 == per_send) next = next + 1 == cells.size() ? 0 : next + 1;
      iov[i] = {const_cast<uint8_t*>(cell.data()), size};
    }
    if (gso) {
      msghdr& msg = headers[0].msg_hdr;
      msg.msg_iov = iov;
      msg.msg_iovlen = static_cast<size_t>(per_send);
      SetUdpSegment(msg, control, sizeof(control), static_cast<uint16_t>(size));
      if (sendmsg(fd, &msg, 0) > 0) count += static_cast<uint64_t>(per_send);
    } else {
      for (int i = 0; i < per_send; ++i) {
        headers[i].msg_hdr.msg_iov = &iov[i];
        headers[i].msg_hdr.msg_iovlen = 1;
      }
      const int n = sendmmsg(fd, headers, static_cast<unsigned>(per_send), 0);
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
  return count;
}

TunnelThread::TunnelThread(EndpointBackend backend, const TunnelSettings& settings,
                           const ShardOf& shard)
    : key_(shard.first != nullptr ? shard.first->key() : wire::PrivateKey::Generate()) {
  std::promise<void> started;
  thread_ = std::thread([this, backend, settings, shard, &started] {
    PinToCpu(shard.index % 2 == 0 ? 1 : 0);
    pthread_setname_np(pthread_self(), "tunnel");
    try {
      EndpointOptions options;
      options.ipv4 =
          Address::Ipv4(0x7F000001u, shard.first != nullptr ? shard.first->address().port() : 0);
      options.send_queue_capacity = 16384;
      if (shard.count > 1) {
        options.reuse_port = true;
        options.reuseport_program = tunnel::CellSteeringProgram(
            wire::MakePrefix(tunnel::kPyIpv8TunnelCommunityId), shard.count);
      }
      auto opened = OpenLoopAndEndpoint(backend, options);
      if (!opened) throw std::runtime_error("relay endpoint: " + opened.error().message());
      opened_ = std::move(*opened);
      auto peer = std::make_shared<overlay::Peer>(
          key_.public_key(), opened_.endpoint->local_addresses()[0], opened_.loop->Now());
      community_ = std::make_unique<TunnelCommunity>(tunnel::kPyIpv8TunnelCommunityId, peer, key_,
                                                     *opened_.endpoint, network_, *opened_.loop,
                                                     overlay::CommunitySettings{}, settings);
      address_ = opened_.endpoint->local_addresses()[0];
      if (shard.count > 1) {
        community_->SetShard(shard.index, shard.count, shard.hand_off->Function());
        shard.hand_off->Attach(shard.index, *opened_.loop, *community_);
      }
    } catch (...) {
      started.set_exception(std::current_exception());
      return;
    }
    started.set_value();
    opened_.loop->Run();
    result_.stats = community_->tunnel_stats();
    result_.table_bytes = community_->TableBytes();
    result_.relayed_circuits = community_->relayed_circuits();
    result_.exit_sockets = community_->exit_socket_count();
    result_.exit_receive_buffer_bytes = community_->ExitReceiveMemoryBytes();
    result_.exit_kernel_drops = community_->ExitSocketLossTotals().kernel_drops;
    result_.kernel_drops = opened_.endpoint->stats().kernel_drops.value();
    result_.send_queue_full = opened_.endpoint->stats().send_queue_full.value();
    if (shard.count > 1) shard.hand_off->Detach(shard.index);
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

TunnelThread::~TunnelThread() {
  if (thread_.joinable()) Stop();
}

double TunnelThread::CpuSeconds() { return ThreadCpuSeconds(thread_.native_handle()); }

void TunnelThread::Call(const std::function<void(TunnelCommunity&)>& fn) {
  std::promise<void> done;
  opened_.loop->Post([&] {
    fn(*community_);
    done.set_value();
  });
  done.get_future().get();
}

TunnelThreadResult TunnelThread::Stop() {
  opened_.loop->Stop();
  thread_.join();
  return result_;
}

}  // namespace ringv8::testbed
