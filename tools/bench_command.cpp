// ringv8 bench: measurements that anyone can rerun.
//   bench endpoint: a sender thread blasts datagrams at a receiver over loopback; the receiver is,
//     in alternating rounds, a plain recvmmsg loop (the baseline), MmsgEndpoint and UringEndpoint.
//   bench sink / bench echo: an endpoint on 127.0.0.1:PORT that counts, or answers, what arrives,
//     for external load generators.
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <csignal>
#include <cstring>
#include <iostream>
#include <thread>

#include <nlohmann/json.hpp>
#include <pthread.h>
#include <sched.h>
#include <spdlog/spdlog.h>

#include "ring/mmsg_endpoint.h"
#include "ring/open_endpoint.h"
#include "ring/uring_endpoint.h"
#include "tools/command.h"

namespace ringv8::tools {

namespace {

using Clock = std::chrono::steady_clock;
using nlohmann::json;

struct BenchOptions {
  // endpoint
  std::vector<int> payload_sizes{64, 1200};
  double seconds = 1.0;
  int rounds = 5;
  // sink / echo
  int port = 0;
  double duration = 10.0;
  std::string backend = "auto";
  bool json = false;
};

// Pins the calling thread to `cpu` when the machine has more than one, so that the sender and the
// receiver do not trade places on the cores between rounds (a large part of the run-to-run noise).
void PinToCpu(int cpu) {
  const long cpus = sysconf(_SC_NPROCESSORS_ONLN);
  if (cpus < 2) return;
  cpu_set_t set;
  CPU_ZERO(&set);
  CPU_SET(static_cast<int>(cpu % cpus), &set);
  pthread_setaffinity_np(pthread_self(), sizeof(set), &set);
}

// Blasts `size`-byte datagrams at `to` with sendmmsg until `stop`; counts what the kernel took.
void Blast(const Address& to, int size, const std::atomic<bool>& stop, uint64_t* sent) {
  PinToCpu(0);
  int fd = socket(AF_INET, SOCK_DGRAM, 0);
  int big = 8 << 20;
  setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &big, sizeof(big));
  sockaddr_storage addr;
  socklen_t len = to.ToSockaddr(&addr);
  std::vector<uint8_t> data(static_cast<size_t>(size), 0x5A);
  data[0] = 0x00;
  data[1] = 0x02;
  constexpr int kBatch = 64;
  iovec iov{data.data(), data.size()};
  mmsghdr headers[kBatch];
  for (auto& h : headers) {
    h.msg_hdr = msghdr{};
    h.msg_hdr.msg_name = &addr;
    h.msg_hdr.msg_namelen = len;
    h.msg_hdr.msg_iov = &iov;
    h.msg_hdr.msg_iovlen = 1;
  }
  uint64_t count = 0;
  while (!stop.load(std::memory_order_relaxed)) {
    int n = sendmmsg(fd, headers, kBatch, 0);
    if (n > 0) count += static_cast<uint64_t>(n);
  }
  close(fd);
  *sent = count;
}

struct Measurement {
  uint64_t received = 0;
  uint64_t sent = 0;
  uint64_t kernel_drops = 0;
  double average_batch = 0;
  double seconds = 0;
};

// The baseline: a plain blocking recvmmsg loop on its own socket.
Measurement MeasureBaseline(int size, double seconds) {
  int fd = socket(AF_INET, SOCK_DGRAM, 0);
  int big = 8 << 20;
  setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &big, sizeof(big));
  sockaddr_storage addr;
  socklen_t len = Address::Ipv4(0x7F000001u, 0).ToSockaddr(&addr);
  bind(fd, reinterpret_cast<sockaddr*>(&addr), len);
  getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len);
  timeval timeout{0, 100000};
  setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, sizeof(timeout));
  int one = 1;
  setsockopt(fd, SOL_SOCKET, SO_RXQ_OVFL, &one, sizeof(one));  // Kernel drops, as the endpoints.
  const Address to = *Address::FromSockaddr(reinterpret_cast<sockaddr*>(&addr), len);

  constexpr int kBatch = 64;
  std::vector<uint8_t> buffers(kBatch * 2048);
  alignas(cmsghdr) uint8_t control[kBatch][64];
  iovec iov[kBatch];
  mmsghdr headers[kBatch];
  std::atomic<bool> stop{false};
  Measurement m;
  std::thread sender(Blast, to, size, std::cref(stop), &m.sent);
  uint64_t calls = 0;
  const auto start = Clock::now();
  const auto end = start + std::chrono::duration<double>(seconds);
  while (Clock::now() < end) {
    for (int i = 0; i < kBatch; ++i) {
      iov[i] = {buffers.data() + i * 2048, 2048};
      headers[i].msg_hdr = msghdr{};
      headers[i].msg_hdr.msg_iov = &iov[i];
      headers[i].msg_hdr.msg_iovlen = 1;
      headers[i].msg_hdr.msg_control = control[i];
      headers[i].msg_hdr.msg_controllen = sizeof(control[i]);
    }
    int n = recvmmsg(fd, headers, kBatch, MSG_WAITFORONE, nullptr);
    if (n > 0) {
      m.received += static_cast<uint64_t>(n);
      ++calls;
      // The last message carries the socket's cumulative drop counter.
      msghdr& last = headers[n - 1].msg_hdr;
      for (cmsghdr* c = CMSG_FIRSTHDR(&last); c != nullptr; c = CMSG_NXTHDR(&last, c)) {
        if (c->cmsg_level == SOL_SOCKET && c->cmsg_type == SO_RXQ_OVFL) {
          uint32_t drops;
          std::memcpy(&drops, CMSG_DATA(c), sizeof(drops));
          m.kernel_drops = drops;
        }
      }
    }
  }
  m.seconds = std::chrono::duration<double>(Clock::now() - start).count();
  stop = true;
  sender.join();
  close(fd);
  m.average_batch = calls > 0 ? static_cast<double>(m.received) / static_cast<double>(calls) : 0;
  return m;
}

class Counting final : public EndpointListener {
 public:
  void OnPacket(const Address&, std::span<const uint8_t>) override { ++count; }
  uint64_t count = 0;
};

double AverageBatch(const EndpointStats& stats) {
  // Bucket i holds batches of 2^i .. 2^(i+1)-1; use the bucket's lower bound times 1.5.
  double batches = 0;
  for (int i = 0; i < EndpointStats::kBatchBuckets; ++i) {
    batches += static_cast<double>(stats.receive_batches[i].value());
  }
  return batches > 0 ? static_cast<double>(stats.packets_in.value()) / batches : 0;
}

Measurement MeasureEndpoint(EndpointBackend backend, int size, double seconds) {
  EndpointOptions options;
  options.ipv4 = Address::Ipv4(0x7F000001u, 0);
  auto opened = OpenLoopAndEndpoint(backend, options);
  Measurement m;
  if (!opened) {
    spdlog::error("cannot open the {} endpoint: {}",
                  backend == EndpointBackend::kUring ? "io_uring" : "mmsg",
                  opened.error().message());
    return m;
  }
  Counting counter;
  opened->endpoint->AddCatchAllListener(&counter);
  std::atomic<bool> stop{false};
  opened->loop->RunOnce(std::chrono::milliseconds(0));  // Arms receives.
  std::thread sender(Blast, opened->endpoint->local_addresses()[0], size, std::cref(stop), &m.sent);
  const auto start = Clock::now();
  opened->loop->CallLater(
      std::chrono::duration_cast<Duration>(std::chrono::duration<double>(seconds)),
      [&] { opened->loop->Stop(); });
  opened->loop->Run();
  m.seconds = std::chrono::duration<double>(Clock::now() - start).count();
  m.received = counter.count;
  stop = true;
  sender.join();
  m.kernel_drops = opened->endpoint->stats().kernel_drops.value();
  m.average_batch = AverageBatch(opened->endpoint->stats());
  opened->endpoint->RemoveCatchAllListener(&counter);
  return m;
}

double Median(std::vector<double> values) {
  if (values.empty()) return 0;
  std::sort(values.begin(), values.end());
  const size_t n = values.size();
  return n % 2 == 1 ? values[n / 2] : (values[n / 2 - 1] + values[n / 2]) / 2;
}

json RunEndpointBench(int size, const BenchOptions& options) {
  Measurement total[3];
  const char* names[3] = {"baseline", "mmsg", "uring"};
  std::vector<double> mmsg_ratios, uring_ratios;
  PinToCpu(1);  // The receiver; the sender thread pins itself to CPU 0.
  for (int round = 0; round < options.rounds; ++round) {
    double round_pps[3] = {};
    for (int mode = 0; mode < 3; ++mode) {
      Measurement m = mode == 0   ? MeasureBaseline(size, options.seconds)
                      : mode == 1 ? MeasureEndpoint(EndpointBackend::kMmsg, size, options.seconds)
                                  : MeasureEndpoint(EndpointBackend::kUring, size, options.seconds);
      round_pps[mode] = m.seconds > 0 ? static_cast<double>(m.received) / m.seconds : 0;
      spdlog::info("payload {} round {} {}: {:.0f} packets/s", size, round + 1, names[mode],
                   round_pps[mode]);
      total[mode].received += m.received;
      total[mode].sent += m.sent;
      total[mode].kernel_drops += m.kernel_drops;
      total[mode].seconds += m.seconds;
      total[mode].average_batch += m.average_batch / options.rounds;
    }
    if (round_pps[0] > 0) {
      mmsg_ratios.push_back(round_pps[1] / round_pps[0]);
      uring_ratios.push_back(round_pps[2] / round_pps[0]);
    }
  }
  auto pps = [](const Measurement& m) {
    return m.seconds > 0 ? static_cast<double>(m.received) / m.seconds : 0.0;
  };
  const double baseline = pps(total[0]);
  json result = {
      {"payload_size", size},
      {"baseline_pps", baseline},
      {"mmsg_pps", pps(total[1])},
      {"uring_pps", pps(total[2])},
      // Median of the per-round ratios: each round measures the three back to back.
      {"mmsg_ratio", Median(mmsg_ratios)},
      {"uring_ratio", Median(uring_ratios)},
      {"drops",
       {{"baseline", total[0].kernel_drops},
        {"mmsg", total[1].kernel_drops},
        {"uring", total[2].kernel_drops}}},
      {"average_batch",
       {{"baseline", total[0].average_batch},
        {"mmsg", total[1].average_batch},
        {"uring", total[2].average_batch}}},
      {"seconds_per_mode", options.seconds * options.rounds},
  };
  return result;
}

int RunEndpoint(const BenchOptions& options) {
  json results = json::array();
  for (int size : options.payload_sizes) {
    if (size < 23 || size > 1472) {
      spdlog::error("--payload {} is out of range (23..1472)", size);
      return kExitUsage;
    }
    results.push_back(RunEndpointBench(size, options));
  }
  if (options.json) {
    std::cout << (results.size() == 1 ? results[0] : results).dump() << "\n";
    return kExitOk;
  }
  for (const auto& r : results) {
    std::cout << fmt::format(
        "payload {:>4} B: baseline {:>9.0f} pps | mmsg {:>9.0f} pps ({:.3f}) | uring {:>9.0f} pps "
        "({:.3f}) | kernel drops mmsg {} uring {} | batch mmsg {:.1f} uring {:.1f}\n",
        r["payload_size"].get<int>(), r["baseline_pps"].get<double>(), r["mmsg_pps"].get<double>(),
        r["mmsg_ratio"].get<double>(), r["uring_pps"].get<double>(), r["uring_ratio"].get<double>(),
        r["drops"]["mmsg"].get<uint64_t>(), r["drops"]["uring"].get<uint64_t>(),
        r["average_batch"]["mmsg"].get<double>(), r["average_batch"]["uring"].get<double>());
  }
  return kExitOk;
}

// sink and echo: serve 127.0.0.1:PORT for --duration seconds or until SIGINT/SIGTERM.
EventLoop* g_signal_loop = nullptr;

class Echo final : public EndpointListener {
 public:
  explicit Echo(Endpoint* endpoint) : endpoint_(endpoint) {}
  void OnPacket(const Address& source, std::span<const uint8_t> datagram) override {
    (void)endpoint_->Send(source, datagram);  // A full queue is counted in send_queue_full.
  }

 private:
  Endpoint* endpoint_;
};

int Serve(const BenchOptions& options, bool echo) {
  auto backend = ParseEndpointBackend(options.backend);
  if (!backend) {
    spdlog::error("--backend must be auto, uring or mmsg");
    return kExitUsage;
  }
  EndpointOptions endpoint_options;
  endpoint_options.ipv4 = Address::Ipv4(0x7F000001u, static_cast<uint16_t>(options.port));
  auto opened = OpenLoopAndEndpoint(*backend, endpoint_options);
  if (!opened) {
    spdlog::error("cannot open 127.0.0.1:{}: {}", options.port, opened.error().message());
    return kExitRuntime;
  }
  Counting counter;
  Echo echoer(opened->endpoint.get());
  opened->endpoint->AddCatchAllListener(&counter);
  if (echo) opened->endpoint->AddCatchAllListener(&echoer);
  spdlog::info("{} on {} ({} backend) for {} s", echo ? "echoing" : "counting",
               opened->endpoint->local_addresses()[0].ToString(), opened->endpoint->backend_name(),
               options.duration);
  g_signal_loop = opened->loop.get();
  std::signal(SIGINT, [](int) { g_signal_loop->Stop(); });
  std::signal(SIGTERM, [](int) { g_signal_loop->Stop(); });
  const auto start = Clock::now();
  opened->loop->CallLater(
      std::chrono::duration_cast<Duration>(std::chrono::duration<double>(options.duration)),
      [&] { opened->loop->Stop(); });
  opened->loop->CallEvery(std::chrono::seconds(1), [&] {
    spdlog::info("received {} ({} kernel drops)", counter.count,
                 opened->endpoint->stats().kernel_drops.value());
  });
  opened->loop->Run();
  std::signal(SIGINT, SIG_DFL);
  std::signal(SIGTERM, SIG_DFL);
  const double seconds = std::chrono::duration<double>(Clock::now() - start).count();
  const EndpointStats& stats = opened->endpoint->stats();
  json result = {{"received", counter.count},
                 {"pps", seconds > 0 ? static_cast<double>(counter.count) / seconds : 0},
                 {"kernel_drops", stats.kernel_drops.value()},
                 {"backend", opened->endpoint->backend_name()},
                 {"seconds", seconds}};
  if (echo) {
    result["echoed"] = stats.packets_out.value();
    result["send_queue_full"] = stats.send_queue_full.value();
  }
  opened->endpoint->RemoveCatchAllListener(&counter);
  if (echo) opened->endpoint->RemoveCatchAllListener(&echoer);
  std::cout << (options.json ? result.dump() : result.dump(2)) << "\n";
  return kExitOk;
}

}  // namespace

void AddBenchCommand(CLI::App& app, RunFunction* run) {
  static BenchOptions options;
  auto* bench = app.add_subcommand("bench", "Benchmarks: endpoint, sink, echo, tracker, abuse");
  bench->require_subcommand(1);
  AddBenchTrackerCommand(*bench, run);
  AddBenchAbuseCommand(*bench, run);

  auto* endpoint = bench->add_subcommand(
      "endpoint",
      "Loopback receive rate of a plain recvmmsg loop (baseline), MmsgEndpoint and UringEndpoint, "
      "measured in alternating rounds in one process");
  endpoint->add_option("--payload", options.payload_sizes, "Datagram sizes in bytes (23..1472)")
      ->capture_default_str();
  endpoint->add_option("--seconds", options.seconds, "Seconds per mode and round")
      ->check(CLI::PositiveNumber)
      ->capture_default_str();
  endpoint->add_option("--rounds", options.rounds, "Rounds of the three modes")
      ->check(CLI::Range(1, 100))
      ->capture_default_str();
  endpoint->add_flag("--json", options.json, "Print one JSON object per payload size");
  endpoint->callback([run] { *run = [] { return RunEndpoint(options); }; });

  for (bool echo : {false, true}) {
    auto* serve =
        bench->add_subcommand(echo ? "echo" : "sink",
                              echo ? "Answer every datagram on 127.0.0.1:PORT with a copy of itself"
                                   : "Count the datagrams that arrive on 127.0.0.1:PORT");
    serve->add_option("--port", options.port, "UDP port on 127.0.0.1")
        ->required()
        ->check(CLI::Range(0, 65535));
    serve->add_option("--duration", options.duration, "Seconds to run")
        ->check(CLI::PositiveNumber)
        ->capture_default_str();
    serve->add_option("--backend", options.backend, "auto, uring or mmsg")
        ->check(CLI::IsMember({"auto", "uring", "mmsg"}))
        ->capture_default_str();
    serve->add_flag("--json", options.json, "Print the result as one JSON line");
    serve->callback([run, echo] { *run = [echo] { return Serve(options, echo); }; });
  }
}

}  // namespace ringv8::tools
