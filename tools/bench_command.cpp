// ringv8 bench: measurements that anyone can rerun.
//   bench endpoint: receive rate, paced drops and round-trip latency of the endpoints against a
//     plain loop (testbed/endpoint_bench.h).
//   bench forward: a generator, a forwarder and a sink: the relay's pattern without crypto.
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
#include <spdlog/spdlog.h>

#include "ring/mmsg_endpoint.h"
#include "ring/open_endpoint.h"
#include "ring/uring_endpoint.h"
#include "testbed/endpoint_bench.h"
#include "tools/command.h"

namespace ringv8::tools {

namespace {

using Clock = std::chrono::steady_clock;
using nlohmann::json;

struct BenchOptions {
  // endpoint, forward
  std::vector<int> payload_sizes{64, 1200};
  double seconds = 1.0;
  int rounds = 5;
  int pings = 5000;
  int forward_size = 1200;
  double forward_seconds = 2.0;
  double forward_rate = 1000000;
  // sink / echo
  int port = 0;
  double duration = 10.0;
  std::string backend = "auto";
  bool json = false;
};

class Counting final : public EndpointListener {
 public:
  void OnPacket(const Address&, std::span<const uint8_t>) override { ++count; }
  uint64_t count = 0;
};

int RunEndpoint(const BenchOptions& options) {
  json results = json::array();
  for (int size : options.payload_sizes) {
    if (size < 23 || size > 1472) {
      spdlog::error("--payload {} is out of range (23..1472)", size);
      return kExitUsage;
    }
  }
  testbed::EndpointBenchOptions bench;
  bench.seconds = options.seconds;
  bench.rounds = options.rounds;
  bench.pings = options.pings;
  json latency;
  try {
    for (int size : options.payload_sizes) {
      bench.payload_size = size;
      results.push_back(testbed::RunEndpointBench(bench));
    }
    latency = testbed::RunLatencyBench(bench);
  } catch (const std::exception& e) {
    spdlog::error("{}", e.what());
    return kExitRuntime;
  }
  if (options.json) {
    std::cout << json{{"receive", results}, {"latency", latency}}.dump() << "\n";
    return kExitOk;
  }
  for (const auto& r : results) {
    const json& paced = r["paced"];
    std::cout << fmt::format(
        "payload {:>4} B: baseline {:>9.0f} pps | mmsg {:>9.0f} pps ({:.3f}) | uring {:>9.0f} pps "
        "({:.3f}, {:.3f} of mmsg) | kernel drops mmsg {} uring {} | batch mmsg {:.1f} uring "
        "{:.1f}\n"
        "  paced at {:.0f}/s: drops baseline {} mmsg {} uring {}\n",
        r["payload_size"].get<int>(), r["baseline_pps"].get<double>(), r["mmsg_pps"].get<double>(),
        r["mmsg_ratio"].get<double>(), r["uring_pps"].get<double>(), r["uring_ratio"].get<double>(),
        r["uring_to_mmsg"].get<double>(), r["drops"]["mmsg"].get<uint64_t>(),
        r["drops"]["uring"].get<uint64_t>(), r["average_batch"]["mmsg"].get<double>(),
        r["average_batch"]["uring"].get<double>(), paced["rate"].get<double>(),
        paced["baseline"]["drops"].get<uint64_t>(), paced["mmsg"]["drops"].get<uint64_t>(),
        paced["uring"]["drops"].get<uint64_t>());
  }
  std::cout << fmt::format(
      "round trip, one datagram at a time: p50/p99 baseline {:.1f}/{:.1f} us | mmsg {:.1f}/{:.1f} "
      "us | uring {:.1f}/{:.1f} us ({:.3f} of mmsg)\n",
      latency["baseline"]["p50_us"].get<double>(), latency["baseline"]["p99_us"].get<double>(),
      latency["mmsg"]["p50_us"].get<double>(), latency["mmsg"]["p99_us"].get<double>(),
      latency["uring"]["p50_us"].get<double>(), latency["uring"]["p99_us"].get<double>(),
      latency["uring_p50_to_mmsg"].get<double>());
  return kExitOk;
}

int RunForward(const BenchOptions& options) {
  if (options.forward_size < 23 || options.forward_size > 1472) {
    spdlog::error("--payload {} is out of range (23..1472)", options.forward_size);
    return kExitUsage;
  }
  json r;
  try {
    r = testbed::RunForwardBench({.payload_size = options.forward_size,
                                  .seconds = options.forward_seconds,
                                  .rate = options.forward_rate});
  } catch (const std::exception& e) {
    spdlog::error("{}", e.what());
    return kExitRuntime;
  }
  if (options.json) {
    std::cout << r.dump() << "\n";
    return kExitOk;
  }
  std::cout << fmt::format(
      "forward {} B datagrams, {} s per mode, offered {:.0f}/s (0: unpaced):\n",
      r["payload_size"].get<int>(), r["seconds_per_mode"].get<double>(),
      r["offered_rate"].get<double>());
  for (const json& run : r["runs"]) {
    std::cout << fmt::format(
        "  generator {:<5} forwarder {:<5} {:<7} {:>9.0f}/s  {:>9.0f} per CPU-s ({:.2f}x)  lost "
        "{}\n",
        run["generator_gso"].get<bool>() ? "GSO" : "plain", run["forwarder"].get<std::string>(),
        run["gso_gro"].get<bool>() ? "GSO+GRO" : "plain", run["forwarded_per_second"].get<double>(),
        run["per_cpu_second"].get<double>(), run["ratio_per_cpu_second"].get<double>(),
        run["lost"].get<uint64_t>());
  }
  std::cout << fmt::format(
      "GSO+GRO forwarder (GSO generator) per CPU-second: {:.2f}x the plain one\n",
      r["gso_gro_ratio_per_cpu_second"].get<double>());
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
  auto* bench = app.add_subcommand(
      "bench", "Benchmarks: endpoint, forward, relay, sink, echo, tracker, abuse");
  bench->require_subcommand(1);
  AddBenchTrackerCommand(*bench, run);
  AddBenchAbuseCommand(*bench, run);
  AddBenchRelayCommand(*bench, run);

  auto* endpoint = bench->add_subcommand(
      "endpoint",
      "Loopback receive rate of a plain recvmmsg loop (baseline), MmsgEndpoint and UringEndpoint "
      "in alternating rounds, their drops when paced at 80% of the baseline, and the round trip "
      "of one datagram at a time through each");
  endpoint->add_option("--payload", options.payload_sizes, "Datagram sizes in bytes (23..1472)")
      ->capture_default_str();
  endpoint->add_option("--seconds", options.seconds, "Seconds per mode and round")
      ->check(kPositiveNumber)
      ->capture_default_str();
  endpoint->add_option("--rounds", options.rounds, "Rounds of the three modes")
      ->check(CLI::Range(1, 100))
      ->capture_default_str();
  endpoint->add_option("--pings", options.pings, "Round trips per backend for the latency")
      ->check(CLI::Range(100, 1000000))
      ->capture_default_str();
  endpoint->add_flag("--json", options.json,
                     "Print one JSON object: receive (one entry per payload size), latency");
  endpoint->callback([run] { *run = [] { return RunEndpoint(options); }; });

  auto* forward = bench->add_subcommand(
      "forward",
      "The relay's pattern without crypto: a generator, a forwarder (plain recvmmsg/sendmmsg, "
      "MmsgEndpoint, UringEndpoint; without and with GSO+GRO) and a sink, over loopback");
  forward->add_option("--payload", options.forward_size, "Datagram size in bytes (23..1472)")
      ->capture_default_str();
  forward->add_option("--seconds", options.forward_seconds, "Seconds per mode")
      ->check(kPositiveNumber)
      ->capture_default_str();
  forward
      ->add_option("--rate", options.forward_rate,
                   "Offered datagrams/s (0: as fast as the generator goes)")
      ->check(kNonNegativeNumber)
      ->capture_default_str();
  forward->add_flag("--json", options.json, "Print the result as one JSON object");
  forward->callback([run] { *run = [] { return RunForward(options); }; });

  for (bool echo : {false, true}) {
    auto* serve =
        bench->add_subcommand(echo ? "echo" : "sink",
                              echo ? "Answer every datagram on 127.0.0.1:PORT with a copy of itself"
                                   : "Count the datagrams that arrive on 127.0.0.1:PORT");
    serve->add_option("--port", options.port, "UDP port on 127.0.0.1")
        ->required()
        ->check(CLI::Range(0, 65535));
    serve->add_option("--duration", options.duration, "Seconds to run")
        ->check(kPositiveNumber)
        ->capture_default_str();
    serve->add_option("--backend", options.backend, "auto, uring or mmsg")
        ->check(CLI::IsMember({"auto", "uring", "mmsg"}))
        ->capture_default_str();
    serve->add_flag("--json", options.json, "Print the result as one JSON line");
    serve->callback([run, echo] { *run = [echo] { return Serve(options, echo); }; });
  }
}

}  // namespace ringv8::tools
