#include "testbed/exit_bench.h"

#include <netinet/in.h>
#include <netinet/udp.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <future>
#include <map>
#include <optional>
#include <stdexcept>
#include <thread>

#include <fmt/format.h>
#include <pthread.h>
#include <spdlog/spdlog.h>

#include "testbed/bare_exit.h"
#include "testbed/bench_util.h"
#include "testbed/process_memory.h"
#include "testbed/tunnel_bench_util.h"
#include "tunnel/layer_cipher.h"

namespace ringv8::testbed {
namespace {

using nlohmann::json;
using tunnel::TunnelCommunity;

// DATA's fixed part (IPv4 addresses), as an int for the payload arithmetic here.
constexpr int kDataOverhead = static_cast<int>(kDataIpv4Overhead);

tunnel::TunnelSettings ExitSettings(size_t circuits) {
  tunnel::TunnelSettings s =
      BenchSettings(circuits, tunnel::kFlagRelay | tunnel::kFlagExitBt | tunnel::kFlagSpeedTest);
  s.max_exit_sockets = circuits + 16;
  s.max_exit_destination_rate = 0;
  s.exit_allow_loopback = true;
  return s;
}

// A payload the exit carries for EXIT_BT: a bencoded dictionary's shape ('d' ... 'e').
std::vector<uint8_t> DhtShaped(int size) {
  std::vector<uint8_t> payload(static_cast<size_t>(std::max(size, 2)), 'x');
  payload[0] = 'd';
  payload[payload.size() - 1] = 'e';
  return payload;
}

struct Circuits {
  std::vector<uint32_t> ids;  // The same on both sides of a 1-hop circuit.
  std::vector<tunnel::DirectionKey> forward;
  Address client;
  double seconds = 0;
};

// N 1-hop circuits from an in-process client to the exit.
Circuits BuildCircuits(TunnelThread& exit, size_t n) {
  EndpointOptions options;
  options.ipv4 = Address::Ipv4(0x7F000001u, 0);
  auto opened = OpenLoopAndEndpoint(EndpointBackend::kMmsg, options);
  if (!opened) throw std::runtime_error("client endpoint: " + opened.error().message());
  EventLoop& loop = *opened->loop;
  wire::PrivateKey key = wire::PrivateKey::Generate();
  overlay::Network network;
  Circuits built;
  built.client = opened->endpoint->local_addresses()[0];
  auto client = std::make_unique<TunnelCommunity>(
      tunnel::kPyIpv8TunnelCommunityId,
      std::make_shared<overlay::Peer>(key.public_key(), built.client, loop.Now()), key,
      *opened->endpoint, network, loop, overlay::CommunitySettings{}, BenchSettings(n, 0));
  WalkUntilAnswered(*client, loop, exit.address(), "the exit");
  const auto start = BenchClock::now();
  built.ids = BuildReadyCircuits(
      *client, loop, 1, tunnel::RequiredHop::Of(exit.key().public_key().bin(), exit.address()), n);
  built.seconds = SecondsSince(start);
  for (uint32_t id : built.ids)
    built.forward.push_back(client->GetCircuit(id)->hops[0].keys.forward);
  client.reset();  // Frees the client's address: the bench holds it from here (HoldAddress).
  opened->endpoint.reset();
  return built;
}

// DATA cells to `destination`, one per circuit, each sealed with its circuit's forward key.
std::vector<std::vector<uint8_t>> DataCells(Circuits& circuits, const Address& destination,
                                            int payload) {
  tunnel::LayerCipher cipher;
  std::vector<std::vector<uint8_t>> cells;
  const std::vector<uint8_t> data = DhtShaped(payload);
  std::vector<uint8_t> message(static_cast<size_t>(payload + kDataOverhead));
  tunnel::DataPayload p{destination, Address(), data};
  (void)tunnel::EncodeCellMessage(p, message);
  for (size_t i = 0; i < circuits.ids.size(); ++i) {
    std::vector<uint8_t> cell = CellHeader(circuits.ids[i]);
    cell.resize(static_cast<size_t>(ExitCellSize(payload)));
    cipher.SealNext(circuits.forward[i], message, cell.data() + tunnel::kCellHeaderSize);
    cells.push_back(std::move(cell));
  }
  return cells;
}

// Sends `payload` to each of `to` in turn until `stop`, on CPU 0: with `gso` as UDP_SEGMENT sends
// of `run` datagrams to one socket, else 64 per sendmmsg (each to the next socket).
uint64_t GenerateToMany(const std::vector<Address>& to, const std::vector<uint8_t>& payload,
                        bool gso, const std::atomic<bool>& stop) {
  PinToCpu(0);
  pthread_setname_np(pthread_self(), "generator");
  Address bound;
  int fd = LoopbackSocket(&bound, false);
  std::vector<sockaddr_storage> addrs(to.size());
  std::vector<socklen_t> lens(to.size());
  for (size_t i = 0; i < to.size(); ++i) lens[i] = to[i].ToSockaddr(&addrs[i]);
  const int run = std::min<int>(16, static_cast<int>(65507 / payload.size()));
  iovec iov[kBatch];
  mmsghdr headers[kBatch];
  alignas(cmsghdr) uint8_t control[CMSG_SPACE(sizeof(uint16_t))] = {};
  for (auto& v : iov) v = {const_cast<uint8_t*>(payload.data()), payload.size()};
  size_t next = 0;
  uint64_t count = 0;
  while (!stop.load(std::memory_order_relaxed)) {
    if (gso) {
      msghdr msg{};
      msg.msg_name = &addrs[next];
      msg.msg_namelen = lens[next];
      msg.msg_iov = iov;
      msg.msg_iovlen = static_cast<size_t>(run);
      SetUdpSegment(msg, control, sizeof(control), static_cast<uint16_t>(payload.size()));
      if (sendmsg(fd, &msg, 0) > 0) count += static_cast<uint64_t>(run);
      next = next + 1 == to.size() ? 0 : next + 1;
      continue;
    }
    for (int i = 0; i < kBatch; ++i) {
      headers[i].msg_hdr = msghdr{};
      headers[i].msg_hdr.msg_name = &addrs[next];
      headers[i].msg_hdr.msg_namelen = lens[next];
      headers[i].msg_hdr.msg_iov = &iov[i];
      headers[i].msg_hdr.msg_iovlen = 1;
      next = next + 1 == to.size() ? 0 : next + 1;
    }
    const int n = sendmmsg(fd, headers, kBatch, 0);
    if (n > 0) count += static_cast<uint64_t>(n);
  }
  close(fd);
  return count;
}

// What `generate` sends through an exit whose thread's CPU time `cpu` reads, arriving at `sink`,
// for `seconds`, once the exit and `other` (the exit not measured) are idle.
Flow Measure(const std::function<double()>& cpu, const std::function<double()>& other,
             const std::function<uint64_t(const std::atomic<bool>&)>& generate, Sink& sink,
             double seconds) {
  SettleCpu(other);
  SettleCpu(cpu);
  std::atomic<bool> stop{false};
  const uint64_t before = sink.count();
  const double cpu_start = cpu();
  const auto start = BenchClock::now();
  auto generator = std::async(std::launch::async, [&] { return generate(stop); });
  std::this_thread::sleep_for(std::chrono::duration<double>(seconds));
  stop = true;
  Flow flow;
  flow.sent = generator.get();
  std::this_thread::sleep_for(std::chrono::milliseconds(200));  // What is queued drains.
  flow.cpu_seconds = cpu() - cpu_start;
  flow.wall_seconds = SecondsSince(start);
  flow.arrived = sink.count() - before;
  return flow;
}

}  // namespace

int ExitCellSize(int payload) {
  return static_cast<int>(tunnel::kCellHeaderSize + tunnel::kLayerOverhead) + kDataOverhead +
         payload;
}

json RunExitBench(const ExitBenchOptions& options) {
  // Before any figure: sodium_init picks libsodium's implementations for this CPU (the relay's).
  wire::EnsureSodium();
  const EndpointBackend backend =
      options.backend == "mmsg" ? EndpointBackend::kMmsg : EndpointBackend::kUring;
  const double crypto_seconds = std::min(1.0, options.seconds / 2);
  json result;
  json crypto = json::object();
  std::map<int, double> ceiling;
  PinToCpu(1);  // Where the exit runs.
  for (int payload : options.payload_sizes) {
    const size_t layer = static_cast<size_t>(payload + kDataOverhead);
    const CryptoCeiling measured = MeasureCryptoCeiling(layer, crypto_seconds);
    ceiling[payload] = measured.ceiling();
    json& c = crypto[std::to_string(payload)] = measured.ToJson();
    c["cell_size"] = ExitCellSize(payload);
    spdlog::info(
        "crypto, {} B payloads ({} B cells): OpenSSL {:.0f} layers/s through EVP, {:.0f} through "
        "its provider; libsodium {:.0f}/s",
        payload, ExitCellSize(payload), measured.openssl_evp, measured.openssl_provider,
        measured.sodium);
  }
  result["crypto"] = crypto;
  // The client side (it builds the circuits) runs on CPU 0 with the generator and the sink, not
  // on the core it measures: a client there would share its caches and take turns with it.
  PinToCpu(0);

  json runs = json::array();
  json memory = json::array();
  for (size_t n : options.circuits) {
    TunnelThread exit(backend, ExitSettings(n));
    Circuits circuits = BuildCircuits(exit, n);
    if (circuits.ids.empty()) throw std::runtime_error(fmt::format("no circuit ({} asked)", n));
    spdlog::info("{} circuits to the exit in {:.1f} s", circuits.ids.size(), circuits.seconds);
    // The client's address, held until the last flow: the generators send from it and the sinks
    // read it, and no socket opened in between (the bare exit's 1,000) may be given its port.
    const HeldSocket client{HoldAddress(circuits.client)};
    Sink internet;  // Where DATA goes: the exit's sockets send to it.
    // One DATA per circuit opens its exit sockets (not measured); the memory they take is what
    // the process grows by from here (the circuits' tables at the exit and at the client are
    // already counted in `resident_before`).
    const uint64_t resident_before = ResidentBytes();
    {
      const auto cells = DataCells(circuits, internet.address(), options.payload_sizes.front());
      sockaddr_storage addr;
      const socklen_t len = exit.address().ToSockaddr(&addr);
      for (size_t i = 0; i < cells.size(); ++i) {
        (void)sendto(client.fd, cells[i].data(), cells[i].size(), 0,
                     reinterpret_cast<sockaddr*>(&addr), len);
        if (i % 256 == 255) std::this_thread::sleep_for(std::chrono::milliseconds(20));
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(300));
    }
    std::vector<Address> sockets;
    exit.Call([&](TunnelCommunity& community) {
      for (uint32_t id : circuits.ids) {
        if (const tunnel::ExitSocket* s = community.GetExitSocket(id)) {
          sockets.push_back(s->local_addresses().front());
        }
      }
    });
    for (Address& a : sockets) a = Address::Ipv4(0x7F000001u, a.port());  // Bound to 0.0.0.0.
    if (sockets.size() != circuits.ids.size()) {
      spdlog::warn("{} of {} circuits opened exit sockets", sockets.size(), circuits.ids.size());
    }
    const uint64_t resident_with_sockets = ResidentBytes();
    // The exit's growth under load, taken before any bare exit shares the process (its 1,000
    // sockets' buffers and threads would be counted too): a short GSO load each way through the
    // exit alone, with the first payload size.
    {
      const int payload = options.payload_sizes.front();
      const auto cells = DataCells(circuits, internet.address(), payload);
      const std::vector<uint8_t> reply = DhtShaped(payload);
      const auto exit_cpu = [&] { return exit.CpuSeconds(); };
      const auto none = [] { return 0.0; };
      const double seconds = std::min(0.5, options.seconds / 4);
      (void)Measure(
          exit_cpu, none,
          [&](const std::atomic<bool>& stop) {
            return GenerateCells(client.fd, exit.address(), cells, true, 0, stop);
          },
          internet, seconds);
      Sink back(client.fd);
      (void)Measure(
          exit_cpu, none,
          [&](const std::atomic<bool>& stop) { return GenerateToMany(sockets, reply, true, stop); },
          back, seconds);
    }
    const uint64_t resident_after_load = ResidentBytes();
    for (int payload : options.payload_sizes) {
      const auto cells = DataCells(circuits, internet.address(), payload);
      const std::vector<uint8_t> reply = DhtShaped(payload);
      for (const bool gso : {true, false}) {
        for (const bool out : {true, false}) {
          const auto exit_cpu = [&] { return exit.CpuSeconds(); };
          // The same flow through a BareExit (testbed/bare_exit.h): the floor of one send per
          // datagram and circuit socket, with the exit's crypto, on the exit's core. Out: cells
          // from the client to its address; back: replies to its circuits' sockets, sealed into
          // cells for the client.
          BareExit bare(out ? BareExit::Direction::kOut : BareExit::Direction::kBack, circuits.ids,
                        circuits.forward, out ? internet.address() : circuits.client);
          const auto bare_cpu = [&] { return bare.CpuSeconds(); };
          std::optional<Sink> back;
          if (!out) back.emplace(client.fd);
          Sink& sink = out ? internet : *back;
          const AlternatedFlow flow = MeasureAlternating(
              options.rounds, options.seconds, [&](bool is_bare, double seconds) {
                const auto generate = [&](const std::atomic<bool>& stop) {
                  if (out) {
                    return GenerateCells(client.fd, is_bare ? bare.address() : exit.address(),
                                         cells, gso, 0, stop);
                  }
                  return GenerateToMany(is_bare ? bare.circuit_addresses() : sockets, reply, gso,
                                        stop);
                };
                return is_bare ? Measure(bare_cpu, exit_cpu, generate, sink, seconds)
                               : Measure(exit_cpu, bare_cpu, generate, sink, seconds);
              });
          const double per_cpu = flow.ringv8.per_cpu_second();
          const double per_second = flow.ringv8.per_second();
          runs.push_back({{"circuits", circuits.ids.size()},
                          {"payload", payload},
                          {"cell_size", ExitCellSize(payload)},
                          {"direction", out ? "out" : "back"},
                          {"generator_gso", gso},
                          {"sent", flow.ringv8.sent},
                          {"arrived", flow.ringv8.arrived},
                          {"datagrams_per_second", per_second},
                          {"bytes_per_second", per_second * payload},
                          {"exit_cpu_seconds", flow.ringv8.cpu_seconds},
                          {"per_cpu_second", per_cpu},
                          {"bytes_per_cpu_second", per_cpu * payload},
                          {"share_of_ceiling", per_cpu / ceiling[payload]},
                          {"bare", BareFigures(flow.bare, ceiling[payload])}});
          AddShareOfBare(flow, runs.back());
          const double bare_per_cpu = flow.bare.per_cpu_second();
          spdlog::info(
              "{} circuits, {} B {} ({}): {:.0f} datagrams/s, {:.0f} per exit CPU-second = {:.2f} "
              "of the crypto ceiling; bare syscalls {:.0f} per CPU-second = {:.2f}",
              circuits.ids.size(), payload, out ? "out" : "back",
              gso ? "GSO generator" : "plain generator", per_second, per_cpu,
              per_cpu / ceiling[payload], bare_per_cpu, bare_per_cpu / ceiling[payload]);
        }
      }
    }
    const TunnelThreadResult r = exit.Stop();
    const size_t sockets_open = std::max<size_t>(1, r.exit_sockets);
    memory.push_back({{"circuits", circuits.ids.size()},
                      {"exit_sockets", r.exit_sockets},
                      {"shared_receive_buffer_bytes", r.exit_receive_buffer_bytes},
                      {"resident_bytes_per_socket",
                       resident_with_sockets > resident_before
                           ? (resident_with_sockets - resident_before) / sockets_open
                           : 0},
                      {"resident_after_load_bytes_per_socket",
                       resident_after_load > resident_before
                           ? (resident_after_load - resident_before) / sockets_open
                           : 0},
                      {"bad_tag", r.stats.bad_tag},
                      {"exit_send_failed", r.stats.exit_send_failed},
                      {"exit_not_allowed", r.stats.exit_not_allowed},
                      {"kernel_drops", r.kernel_drops},
                      {"exit_kernel_drops", r.exit_kernel_drops},
                      {"send_queue_full", r.send_queue_full}});
  }
  result["runs"] = runs;
  result["memory"] = memory;
  result["backend"] = options.backend;
  return result;
}

}  // namespace ringv8::testbed
