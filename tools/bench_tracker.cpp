// ringv8 bench tracker: runs testbed/tracker_bench.h against a tracker (in-process by default)
// and prints a summary line or the JSON result.
#include <iostream>
#include <string>

#include <fmt/format.h>
#include <nlohmann/json.hpp>
#include <spdlog/spdlog.h>

#include "testbed/tracker_bench.h"
#include "tools/command.h"

namespace ringv8::tools {

namespace {

using nlohmann::json;

struct BenchTrackerOptions {
  std::string target;
  testbed::TrackerBenchOptions bench;
  std::string backend = "auto";
  bool json = false;
};

int RunBenchTracker(const BenchTrackerOptions& o) {
  testbed::TrackerBenchOptions bench = o.bench;
  bench.backend = *ParseEndpointBackend(o.backend);
  if (!o.target.empty()) {
    bench.target = Address::Parse(o.target);
    if (!bench.target) {
      spdlog::error("--target: '{}' is not ip:port", o.target);
      return kExitUsage;
    }
  }
  const json result = testbed::RunTrackerBench(bench);
  if (o.json) {
    std::cout << result.dump() << std::endl;
  } else {
    std::cout << fmt::format(
        "tracker: {:.0f} responses/s ({:.0f}% of one core's crypto ceiling, {:.0f}/s), latency "
        "p50 {:.0f} us p99 {:.0f} us, {} timeouts, {} introductions named a peer, {} puncture "
        "requests received\n",
        result["responses_per_second"].get<double>(),
        100 * result["ratio_to_one_core_ceiling"].get<double>(),
        result["crypto_ceiling_per_core"].get<double>(), result["latency_us"]["p50"].get<double>(),
        result["latency_us"]["p99"].get<double>(), result["timeouts"].get<uint64_t>(),
        result["introductions_named"].get<uint64_t>(),
        result["puncture_requests_received"].get<uint64_t>());
  }
  return kExitOk;
}

}  // namespace

void AddBenchTrackerCommand(CLI::App& bench, RunFunction* run) {
  static BenchTrackerOptions options;
  auto* cmd = bench.add_subcommand(
      "tracker",
      "Load an IPv8 tracker with pre-signed introduction-requests from N peers; without --target "
      "a ringv8 tracker is started in this process on its own shards");
  cmd->add_option("--target", options.target, "Tracker to load, IP:PORT (default: in-process)");
  cmd->add_option("--peers", options.bench.peers, "Peers (keys and source ports)")
      ->check(CLI::Range(1, 60000))
      ->capture_default_str();
  cmd->add_option("--communities", options.bench.communities,
                  "Communities the peers are spread over")
      ->check(CLI::Range(1, 65535))
      ->capture_default_str();
  cmd->add_option("--duration", options.bench.duration, "Seconds of the timed phase")
      ->check(kPositiveNumber)
      ->capture_default_str();
  auto* window =
      cmd->add_option("--window", options.bench.window, "Requests in flight (closed loop)")
          ->check(CLI::Range(1, 60000))
          ->capture_default_str();
  cmd->add_option("--rate", options.bench.rate, "Requests per second instead (open loop)")
      ->check(kPositiveNumber)
      ->excludes(window);
  cmd->add_option("--shards", options.bench.shards, "Shards of the in-process tracker")
      ->check(CLI::Range(1, 64))
      ->capture_default_str();
  cmd->add_option("--backend", options.backend, "Endpoint backend of the in-process tracker")
      ->check(CLI::IsMember({"auto", "uring", "mmsg"}))
      ->capture_default_str();
  cmd->add_flag("--json", options.json, "Print the result as one JSON object");
  cmd->callback([run] { *run = [] { return RunBenchTracker(options); }; });
}

}  // namespace ringv8::tools
