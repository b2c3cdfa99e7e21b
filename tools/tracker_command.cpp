// ringv8 tracker: an IPv8 bootstrap server on K shards that share one peer table.
#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <cstdio>
#include <iostream>
#include <latch>
#include <mutex>
#include <thread>

#include <fmt/format.h>
#include <nlohmann/json.hpp>
#include <spdlog/spdlog.h>
#include <time.h>

#include "node/stats_text.h"
#include "ring/open_endpoint.h"
#include "tools/command.h"
#include "tools/metrics_server.h"
#include "tools/signals.h"
#include "tools/systemd_notify.h"
#include "tracker/tracker.h"
#include "tracker/tracker_server.h"
#include "wire/hex.h"

namespace ringv8::tools {

namespace {

using nlohmann::json;

struct TrackerCommandOptions {
  int port = -1;
  int shards = 0;
  std::string key_file;
  std::string backend = "auto";
  double duration = 0;
  bool json = false;
  double rate = 50;
  double burst = 200;
  size_t max_per_service = 100000;
  size_t max_entries = 4000000;
  std::string metrics;  // ADDR:PORT, "" for none.
};

// The peers per community, like py-ipv8's tracker REST API (at most 100 addresses each).
std::string TrackerServices(const tracker::TrackerServer& server) {
  json out = json::object();
  server.table().ForEach(
      [&](const wire::ServiceId& service, const std::vector<tracker::TrackerPeer>& peers) {
        json addresses = json::array();
        for (size_t i = 0; i < peers.size() && i < 100; ++i) {
          addresses.push_back({{"address", peers[i].address.ToString()},
                               {"lan_address", peers[i].lan_address.ToString()},
                               {"mid", wire::ToHex(peers[i].mid)}});
        }
        out[wire::ToHex(service)] = {{"peers", peers.size()}, {"sample", addresses}};
      });
  return out.dump();
}

Result<wire::PrivateKey> LoadOrCreateKey(const std::string& file) {
  if (file.empty()) return wire::PrivateKey::Generate();
  struct stat st;
  if (::stat(file.c_str(), &st) == 0) return wire::LoadKeyFile(file);
  wire::PrivateKey key = wire::PrivateKey::Generate();
  if (std::error_code error = wire::SaveKeyFile(file, key, false)) return Unexpected{error};
  spdlog::info("created tracker key {}", file);
  return key;
}

int Run(const TrackerCommandOptions& o) {
  auto key = LoadOrCreateKey(o.key_file);
  if (!key) {
    spdlog::error("key {}: {}", o.key_file, key.error().message());
    return kExitRuntime;
  }
  tracker::TrackerServerOptions options;
  options.port = static_cast<uint16_t>(o.port);
  options.shards =
      o.shards > 0 ? o.shards : static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
  options.backend = *ParseEndpointBackend(o.backend);
  options.tracker.responses_per_second = o.rate;
  options.tracker.response_burst = o.burst;
  options.limits = {.max_per_service = o.max_per_service, .max_entries = o.max_entries};
  tracker::TrackerServer server(*key, options);
  auto loop = EventLoop::Create({.backend = EventLoop::Backend::kEpoll});
  if (!loop) {
    spdlog::error("cannot create an event loop: {}", loop.error().message());
    return kExitRuntime;
  }
  try {
    server.Start();
  } catch (const std::exception& e) {
    spdlog::error("{}", e.what());
    return kExitRuntime;
  }
  spdlog::info("tracker {} on port {} ({} shards, {})", wire::ToHex(key->mid()), server.port(),
               options.shards, server.backend());
  std::unique_ptr<MetricsServer> metrics;
  if (!o.metrics.empty()) {
    try {
      metrics = std::make_unique<MetricsServer>(
          o.metrics, [&server] { return node::TrackerMetricsText(server.Stats()); },
          [&server] { return TrackerServices(server); });
      spdlog::info("metrics on http://{}:{}/metrics and /services",
                   Address::Parse(o.metrics)->IpString(), metrics->port());
    } catch (const std::exception& e) {
      spdlog::error("{}", e.what());
      return kExitRuntime;
    }
  }
  StopOnSignals signals(**loop);
  NotifyReady(fmt::format("tracker on port {} ({} shards)", server.port(), options.shards));
  const bool tty = isatty(STDERR_FILENO) == 1;
  const auto start = std::chrono::steady_clock::now();
  uint64_t last_in = 0;
  while (signals.received() == 0) {
    const double elapsed =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    if (o.duration > 0 && elapsed >= o.duration) break;
    const double wait = o.duration > 0 ? std::min(1.0, o.duration - elapsed) : 1.0;
    (*loop)->RunFor(Seconds(wait));
    auto [in, out] = server.packets();
    const auto t = server.table().stats();
    std::string line =
        fmt::format("in {:.0f} pkt/s, out {} in all | {} entries in {} services | evicted {}",
                    (in - last_in) / std::max(wait, 1e-3), out, t.entries, t.services,
                    t.evicted_service_full + t.evicted_table_full);
    last_in = in;
    NotifyStatus(line);
    if (tty) std::fprintf(stderr, "\r\033[K%s", line.c_str());
  }
  if (tty) std::fprintf(stderr, "\n");
  NotifyStopping();
  if (int s = signals.received()) spdlog::info("stopping on signal {}", s);
  metrics.reset();
  server.Stop();
  if (o.json) std::cout << node::TrackerJson(server, server.Stats()).dump() << std::endl;
  return kExitOk;
}

}  // namespace

void AddTrackerCommand(CLI::App& app, RunFunction* run) {
  static TrackerCommandOptions options;
  CLI::App* cmd = app.add_subcommand(
      "tracker",
      "Serve as an IPv8 bootstrap server (tracker) for every community, on K shards sharing one "
      "peer table");
  cmd->add_option("--port", options.port, "UDP port (0: any free port)")
      ->required()
      ->check(CLI::Range(0, 65535));
  cmd->add_option("--shards", options.shards, "Shard threads on the port (default: one per core)")
      ->check(CLI::Range(1, 256));
  cmd->add_option("--key", options.key_file,
                  "curve25519 key file (created if missing); default: an ephemeral key");
  cmd->add_option("--backend", options.backend, "Endpoint backend")
      ->check(CLI::IsMember({"auto", "uring", "mmsg"}))
      ->capture_default_str();
  cmd->add_option("--duration", options.duration,
                  "Stop after this many seconds, > 0 (default: run until SIGINT/SIGTERM)")
      ->check(kPositiveNumber);
  cmd->add_flag("--json", options.json, "At exit, print the statistics as one JSON object");
  cmd->add_option("--rate", options.rate,
                  "Responses per second to one source address (token bucket; 0: no limit)")
      ->check(kNonNegativeNumber)
      ->capture_default_str();
  cmd->add_option("--burst", options.burst, "Token bucket burst per source address")
      ->check(kPositiveNumber)
      ->capture_default_str();
  cmd->add_option("--max-peers-per-service", options.max_per_service,
                  "Peers kept per community (the longest silent are evicted)")
      ->check(kPositiveNumber)
      ->capture_default_str();
  cmd->add_option("--max-entries", options.max_entries, "(peer, community) entries kept in all")
      ->check(kPositiveNumber)
      ->capture_default_str();
  cmd->add_option("--metrics", options.metrics,
                  "Serve Prometheus metrics at http://ADDR:PORT/metrics and the peers per "
                  "community at /services (e.g. 127.0.0.1:9100)")
      ->check(IpAndPort());
  cmd->callback([run] { *run = [] { return Run(options); }; });
}

}  // namespace ringv8::tools
