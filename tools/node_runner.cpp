#include "tools/node_runner.h"

#include <unistd.h>

#include <cstdio>
#include <iostream>
#include <mutex>

#include <fmt/format.h>
#include <nlohmann/json.hpp>
#include <spdlog/spdlog.h>

#include "node/node.h"
#include "node/stats_text.h"
#include "node/tunnel_shards.h"
#include "ring/open_endpoint.h"
#include "tools/command.h"
#include "tools/metrics_server.h"
#include "tools/signals.h"
#include "tools/systemd_notify.h"
#include "tunnel/tunnel_community.h"
#include "wire/hex.h"

namespace ringv8::tools {

namespace {

// Every datagram the node lost, its endpoint's and its overlays' (ring/stats.h says which
// counters are drops).
uint64_t TotalDrops(const node::NodeStats& stats) {
  double total = stats.endpoint.Drops();
  for (const node::OverlayStats& o : stats.overlays) total += o.stats.Drops();
  return static_cast<uint64_t>(total);
}

// The node's statistics with its tunnel shards' (if any) added.
node::NodeStats StatsOf(const node::Node& node, const node::TunnelShards* shards) {
  node::NodeStats stats = node.Stats();
  if (shards != nullptr) shards->AddTo(stats);
  return stats;
}

double ValueOr0(const StatsSnapshot& stats, std::string_view name) {
  double value = 0;
  stats.Visit([&](const Stat& stat, double v) {
    if (stat.name == name) value = v;
  });
  return value;
}

// "DiscoveryCommunity 12/20, Community 7e3136.. 4 | in 120/s out 130/s | drops 0 | lag 0.1 ms"
class StatusLine {
 public:
  StatusLine(node::Node& node, const node::TunnelShards* shards) : node_(node), shards_(shards) {
    Sample(StatsOf(node_, shards_));
  }

  std::string Next(double seconds) {
    const uint64_t in = in_, out = out_;
    const node::NodeStats stats = StatsOf(node_, shards_);
    Sample(stats);
    std::string peers;
    size_t index = 0;
    for (overlay::Community* c : node_.GetOverlays<overlay::Community>()) {
      if (!peers.empty()) peers += ", ";
      std::string name = node_.ClassOf(*c);
      if (name == "Community") name += " " + wire::ToHex(c->community_id()).substr(0, 6) + "..";
      peers += fmt::format("{} {}", name, c->GetPeers().size());
      if (dynamic_cast<const tunnel::TunnelCommunity*>(c) != nullptr) {
        const StatsSnapshot& t = stats.overlays[index].stats;
        peers += fmt::format(
            " (relaying {:.0f}, last hop of {:.0f}{})", ValueOr0(t, "relayed_circuits"),
            ValueOr0(t, "terminal_circuits"),
            shards_ != nullptr ? fmt::format(", {} shards", shards_->count()) : std::string());
      }
      ++index;
    }
    return fmt::format(
        "peers: {} | in {:.0f}/s out {:.0f}/s | drops {} | lag {:.1f} ms",
        peers.empty() ? "no overlays" : peers, (in_ - in) / seconds, (out_ - out) / seconds,
        TotalDrops(stats),
        std::chrono::duration<double, std::milli>(node_.scheduler().last_lag()).count());
  }

 private:
  void Sample(const node::NodeStats& stats) {
    in_ = static_cast<uint64_t>(ValueOr0(stats.endpoint, "packets_in"));
    out_ = static_cast<uint64_t>(ValueOr0(stats.endpoint, "packets_out"));
  }
  node::Node& node_;
  const node::TunnelShards* shards_;
  uint64_t in_ = 0, out_ = 0;
};

}  // namespace

void AddNodeRunOptions(CLI::App& cmd, NodeRunOptions& options) {
  cmd.add_option("--duration", options.duration,
                 "Stop after this many seconds, > 0 (default: run until SIGINT/SIGTERM)")
      ->check(kPositiveNumber);
  cmd.add_flag("--json", options.json,
               "At exit, print the node's state as one JSON object on stdout");
  cmd.add_option("--status-interval", options.status_interval,
                 "Seconds between status line updates on a terminal (0: none)")
      ->check(kNonNegativeNumber)
      ->capture_default_str();
  cmd.add_option("--backend", options.backend, "Endpoint backend")
      ->check(CLI::IsMember({"auto", "uring", "mmsg"}))
      ->capture_default_str();
  cmd.add_option("--metrics", options.metrics,
                 "Serve Prometheus metrics at http://ADDR:PORT/metrics (e.g. 127.0.0.1:9101)")
      ->check(IpAndPort());
  cmd.add_option("--send-queue", options.send_queue,
                 "Datagrams the socket may hold queued or in flight, per shard (64..1048576; "
                 "beyond, sends are dropped and counted as send_queue_full; memory is touched "
                 "only as far as the queue ever fills, 2 KiB per datagram)")
      ->check(CLI::Range(64u, 1u << 20))
      ->capture_default_str();
}

int RunNode(const node::NodeConfig& config, const NodeRunOptions& options) {
  auto backend = ParseEndpointBackend(options.backend);
  LoopAndEndpoint opened;
  try {
    EndpointOptions endpoint_options = node::EndpointOptionsFor(config);
    endpoint_options.send_queue_capacity = options.send_queue;
    if (options.tunnel_shards > 1) {
      endpoint_options = node::TunnelShards::ReusePortOptions(std::move(endpoint_options));
    }
    auto result = OpenLoopAndEndpoint(*backend, endpoint_options);
    if (!result) {
      spdlog::error("cannot open the interfaces: {}", result.error().message());
      return kExitRuntime;
    }
    opened = std::move(*result);
  } catch (const node::ConfigError& e) {
    spdlog::error("configuration: {}", e.what());
    return kExitUsage;
  }

  std::unique_ptr<node::Node> node;
  try {
    node = std::make_unique<node::Node>(
        *opened.loop, config,
        node::NodeOptions{.skip_unknown = options.skip_unknown, .endpoint = opened.endpoint.get()});
  } catch (const node::ConfigError& e) {
    spdlog::error("configuration: {}", e.what());
    return kExitUsage;
  }
  std::unique_ptr<node::TunnelShards> shards;
  if (options.tunnel_shards > 1) {
    try {
      shards = std::make_unique<node::TunnelShards>(*node, options.tunnel_shards, *backend,
                                                    options.send_queue);
    } catch (const std::exception& e) {
      spdlog::error("tunnel shards: {}", e.what());
      return kExitRuntime;
    }
    spdlog::info("tunnel on {} shards: cells steered to a thread by circuit id", shards->count());
  }
  std::string addresses;
  for (const Address& a : node->endpoint().local_addresses()) addresses += " " + a.ToString();
  spdlog::info("node {} on{} ({}), {} overlays, {} strategies", wire::ToHex(node->key().mid()),
               addresses, node->endpoint().backend_name(), node->overlay_count(),
               node->strategy_count());

  StopOnSignals signals(*opened.loop);
  try {
    node->Start();
  } catch (const node::ConfigError& e) {
    spdlog::error("configuration: {}", e.what());
    return kExitUsage;
  }
  NotifyReady(fmt::format("node {} on{}", wire::ToHex(node->key().mid()), addresses));
  const bool tty = isatty(STDERR_FILENO) == 1;
  StatusLine status(*node, shards.get());
  // On a terminal one refreshing line; otherwise a log line now and then.
  const double interval = tty ? options.status_interval : std::max(options.status_interval, 60.0);
  EventLoop::TimerId timer = 0;
  if (interval > 0) {
    timer = opened.loop->CallEvery(Seconds(interval), [&] {
      std::string line = status.Next(interval);
      NotifyStatus(line);
      if (tty) {
        std::fprintf(stderr, "\r\033[K%s", line.c_str());
        std::fflush(stderr);
      } else {
        spdlog::info("{}", line);
      }
    });
  }
  // --metrics: the node's state, published on the loop once a second, served from httplib's.
  std::mutex published_mutex;
  std::string published;
  auto publish = [&] {
    std::string text = node::NodeMetricsText(StatsOf(*node, shards.get()));
    std::lock_guard lock(published_mutex);
    published = std::move(text);
  };
  std::unique_ptr<MetricsServer> metrics;
  EventLoop::TimerId publisher = 0;
  if (!options.metrics.empty()) {
    publish();
    try {
      metrics = std::make_unique<MetricsServer>(
          options.metrics,
          [&] {
            std::lock_guard lock(published_mutex);
            return published;
          },
          nullptr);
    } catch (const std::exception& e) {
      spdlog::error("{}", e.what());
      return kExitRuntime;
    }
    spdlog::info("metrics on http://{}:{}/metrics", Address::Parse(options.metrics)->IpString(),
                 metrics->port());
    publisher = opened.loop->CallEvery(std::chrono::seconds(1), publish);
  }
  if (options.duration > 0) {
    opened.loop->RunFor(Seconds(options.duration));
  } else {
    opened.loop->Run();  // Until a signal's Stop(), even one that came before Run().
  }
  if (timer != 0) opened.loop->Cancel(timer);
  if (publisher != 0) opened.loop->Cancel(publisher);
  metrics.reset();
  if (tty && interval > 0) std::fprintf(stderr, "\n");
  NotifyStopping();
  if (int signal = signals.received()) spdlog::info("stopping on signal {}", signal);

  if (shards) shards->Stop();
  node->Stop();
  nlohmann::json result = node->Status();
  if (shards) shards->AddTo(result);
  shards.reset();  // Before the node: shard 0 is the node's TunnelCommunity.
  node.reset();
  if (options.json) std::cout << result.dump() << std::endl;
  return kExitOk;
}

}  // namespace ringv8::tools
