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

#include "overlay/hex.h"
#include "overlay/tracker.h"
#include "ring/open_endpoint.h"
#include "tools/command.h"
#include "tools/signals.h"

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
};

// One shard: a thread with its own loop, socket (SO_REUSEPORT) and Tracker.
class TrackerShard {
 public:
  void Main(int index, uint16_t* port, std::latch& bound, overlay::TrackerTable& table,
            const overlay::PrivateKey& key, const TrackerCommandOptions& o,
            EndpointBackend backend) {
    bool counted = false;
    try {
      EndpointOptions options;
      options.ipv4 = Address::ParseIp("0.0.0.0", *port);
      options.reuse_port = true;
      auto opened = OpenLoopAndEndpoint(backend, options);
      if (!opened) throw std::system_error(opened.error(), "cannot open the UDP socket");
      if (index == 0) *port = opened->endpoint->local_addresses().front().port();
      overlay::Tracker tracker(table, key, *opened->endpoint, *opened->loop,
                               {.responses_per_second = o.rate, .response_burst = o.burst});
      {
        std::lock_guard lock(mutex_);
        loop_ = opened->loop.get();
        endpoint_ = opened->endpoint.get();
        backend_ = opened->endpoint->backend_name();
        if (stop_) loop_->Stop();
      }
      bound.count_down();
      counted = true;
      timespec start{};
      clock_gettime(CLOCK_THREAD_CPUTIME_ID, &start);
      opened->loop->RunFor(std::chrono::hours(24 * 365 * 100));
      timespec end{};
      clock_gettime(CLOCK_THREAD_CPUTIME_ID, &end);
      const EndpointStats& s = opened->endpoint->stats();
      const overlay::TrackerStats& t = tracker.stats();
      std::lock_guard lock(mutex_);
      result_ = {{"requests", t.requests},
                 {"responses", t.responses},
                 {"introductions", t.introductions},
                 {"punctures", t.punctures},
                 {"pings", t.pings},
                 {"ping_answers", t.ping_answers},
                 {"ping_timeouts", t.ping_timeouts},
                 {"limit_removals", t.limit_removals},
                 {"peers", tracker.local_peers()},
                 {"packets_in", s.packets_in.value()},
                 {"packets_out", s.packets_out.value()},
                 {"kernel_drops", s.kernel_drops.value()},
                 {"drops", t.drops},
                 {"cpu_seconds", static_cast<double>(end.tv_sec - start.tv_sec) +
                                     static_cast<double>(end.tv_nsec - start.tv_nsec) / 1e9}};
      loop_ = nullptr;
      endpoint_ = nullptr;
    } catch (const std::exception& e) {
      std::lock_guard lock(mutex_);
      error_ = fmt::format("shard {}: {}", index, e.what());
      if (!counted) bound.count_down();
    }
  }
  void Stop() {
    std::lock_guard lock(mutex_);
    stop_ = true;
    if (loop_ != nullptr) loop_->Stop();
  }
  // Packets in and out so far (thread-safe counters).
  std::pair<uint64_t, uint64_t> packets() {
    std::lock_guard lock(mutex_);
    if (endpoint_ == nullptr) return {0, 0};
    return {endpoint_->stats().packets_in.value(), endpoint_->stats().packets_out.value()};
  }
  json result() {
    std::lock_guard lock(mutex_);
    return result_;
  }
  std::string error() {
    std::lock_guard lock(mutex_);
    return error_;
  }
  std::string backend() {
    std::lock_guard lock(mutex_);
    return backend_;
  }

 private:
  std::mutex mutex_;
  EventLoop* loop_ = nullptr;
  Endpoint* endpoint_ = nullptr;
  bool stop_ = false;
  json result_ = json::object();
  std::string error_;
  std::string backend_;
};

Result<overlay::PrivateKey> LoadOrCreateKey(const std::string& file) {
  if (file.empty()) return overlay::PrivateKey::Generate();
  struct stat st;
  if (::stat(file.c_str(), &st) == 0) return overlay::LoadKeyFile(file);
  overlay::PrivateKey key = overlay::PrivateKey::Generate();
  if (std::error_code error = overlay::SaveKeyFile(file, key, false)) return Unexpected{error};
  spdlog::info("created tracker key {}", file);
  return key;
}

int Run(const TrackerCommandOptions& o) {
  auto key = LoadOrCreateKey(o.key_file);
  if (!key) {
    spdlog::error("key {}: {}", o.key_file, key.error().message());
    return kExitRuntime;
  }
  const int shards =
      o.shards > 0 ? o.shards : static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
  const EndpointBackend backend = *ParseEndpointBackend(o.backend);
  overlay::TrackerTable table({.max_per_service = o.max_per_service, .max_entries = o.max_entries});
  std::vector<std::unique_ptr<TrackerShard>> list;
  std::vector<std::thread> threads;
  uint16_t port = static_cast<uint16_t>(o.port);
  for (int k = 0; k < shards; ++k) list.push_back(std::make_unique<TrackerShard>());
  // Shard 0 binds first (it learns the port when --port is 0); the others join it.
  for (int k = 0; k < shards; ++k) {
    std::latch bound(1);
    threads.emplace_back([&, k] { list[k]->Main(k, &port, bound, table, *key, o, backend); });
    bound.wait();
    if (!list[k]->error().empty()) break;
  }
  auto loop = EventLoop::Create({.backend = EventLoop::Backend::kEpoll});
  std::string error;
  for (auto& shard : list) {
    if (!shard->error().empty()) error = shard->error();
  }
  if (error.empty() && loop) {
    spdlog::info("tracker {} on port {} ({} shards, {})", overlay::ToHex(key->mid()), port, shards,
                 list.front()->backend());
    StopOnSignals signals(**loop);
    const bool tty = isatty(STDERR_FILENO) == 1;
    const auto start = std::chrono::steady_clock::now();
    uint64_t last_in = 0;
    while (signals.received() == 0) {
      const double elapsed =
          std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
      if (o.duration > 0 && elapsed >= o.duration) break;
      (*loop)->RunFor(std::chrono::milliseconds(
          o.duration > 0
              ? std::min<int64_t>(1000, static_cast<int64_t>((o.duration - elapsed) * 1000) + 1)
              : 1000));
      uint64_t in = 0, out = 0;
      for (auto& shard : list) {
        auto [i, x] = shard->packets();
        in += i;
        out += x;
      }
      const auto t = table.stats();
      std::string line = fmt::format(
          "in {} pkt/s, out total {} | {} entries in {} services | evicted {}", in - last_in, out,
          t.entries, t.services, t.evicted_service_full + t.evicted_table_full);
      last_in = in;
      if (tty) std::fprintf(stderr, "\r\033[K%s", line.c_str());
    }
    if (tty) std::fprintf(stderr, "\n");
    if (int s = signals.received()) spdlog::info("stopping on signal {}", s);
  }
  for (auto& shard : list) shard->Stop();
  for (auto& thread : threads) thread.join();
  if (!error.empty()) {
    spdlog::error("{}", error);
    return kExitRuntime;
  }
  json per_shard = json::array();
  uint64_t requests = 0, responses = 0, introductions = 0, peers = 0;
  std::map<std::string, uint64_t> drops;
  for (auto& shard : list) {
    json r = shard->result();
    requests += r.value("requests", uint64_t{0});
    responses += r.value("responses", uint64_t{0});
    introductions += r.value("introductions", uint64_t{0});
    peers += r.value("peers", uint64_t{0});
    if (r.contains("drops")) {
      const json& shard_drops = r["drops"];
      for (auto it = shard_drops.begin(); it != shard_drops.end(); ++it) {
        drops[it.key()] += it.value().get<uint64_t>();
      }
    }
    per_shard.push_back(r);
  }
  const auto t = table.stats();
  drops["evicted_service_full"] = t.evicted_service_full;
  drops["evicted_table_full"] = t.evicted_table_full;
  drops["refused_table_full"] = t.refused_table_full;
  json result = {{"mid", overlay::ToHex(key->mid())},
                 {"port", port},
                 {"requests", requests},
                 {"responses", responses},
                 {"introductions", introductions},
                 {"peers", peers},
                 {"entries", t.entries},
                 {"services", t.services},
                 {"drops", drops},
                 {"per_shard", per_shard}};
  if (o.json) std::cout << result.dump() << std::endl;
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
                  "Stop after this many seconds (default: run "
                  "until SIGINT/SIGTERM)")
      ->check(CLI::NonNegativeNumber);
  cmd->add_flag("--json", options.json, "At exit, print the statistics as one JSON object");
  cmd->add_option("--rate", options.rate,
                  "Responses per second to one source address (token bucket; 0: no limit)")
      ->check(CLI::NonNegativeNumber)
      ->capture_default_str();
  cmd->add_option("--burst", options.burst, "Token bucket burst per source address")
      ->check(CLI::PositiveNumber)
      ->capture_default_str();
  cmd->add_option("--max-peers-per-service", options.max_per_service,
                  "Peers kept per community (the longest silent are evicted)")
      ->check(CLI::PositiveNumber)
      ->capture_default_str();
  cmd->add_option("--max-entries", options.max_entries, "(peer, community) entries kept in all")
      ->check(CLI::PositiveNumber)
      ->capture_default_str();
  cmd->callback([run] { *run = [] { return Run(options); }; });
}

}  // namespace ringv8::tools
