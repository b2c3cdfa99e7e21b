// ringv8 swarm: a local IPv8 network of real nodes on loopback, until it converges.
#include <unistd.h>

#include <cstdio>
#include <iostream>
#include <map>

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include "testbed/swarm.h"
#include "tools/command.h"
#include "tools/signals.h"

namespace ringv8::tools {

namespace {

struct SwarmCommandOptions {
  testbed::SwarmOptions swarm;
  std::string backend = "auto";
  bool json = false;
};

void PrintProgress(const testbed::SwarmProgress& p, bool tty) {
  int done = 0, nodes_at = 0, memberships = 0, slowest = -1;
  for (size_t c = 0; c < p.members.size(); ++c) {
    done += p.at_target[c] >= p.members[c];
    nodes_at += p.at_target[c];
    memberships += p.members[c];
    if (slowest < 0 || p.at_target[c] * p.members[slowest] < p.at_target[slowest] * p.members[c]) {
      slowest = static_cast<int>(c);
    }
  }
  static uint64_t last_in = 0, last_out = 0;
  static double last_elapsed = 0;
  const double dt = std::max(p.elapsed - last_elapsed, 1e-3);
  std::string line = fmt::format(
      "{:5.1f} s  at target: {}/{} memberships, {}/{} communities done (slowest {}/{})  "
      "in {:.0f}/s out {:.0f}/s  drops {} (kernel {})  lag {:.1f} ms  peers {}  rss {:.0f} MiB",
      p.elapsed, nodes_at, memberships, done, p.members.size(),
      slowest >= 0 ? p.at_target[slowest] : 0, slowest >= 0 ? p.members[slowest] : 0,
      (p.packets_in - last_in) / dt, (p.packets_out - last_out) / dt, p.drops, p.kernel_drops,
      p.max_lag_ms, p.verified_peers, p.rss_mib);
  last_in = p.packets_in;
  last_out = p.packets_out;
  last_elapsed = p.elapsed;
  std::fprintf(stderr, tty ? "\r\033[K%s" : "%s\n", line.c_str());
  std::fflush(stderr);
}

std::string Seconds(const nlohmann::json& value) {
  return value.is_null() ? "-" : fmt::format("{:.1f} s", value.get<double>());
}

void PrintSummary(const nlohmann::json& r) {
  std::string cpu;
  for (const auto& seconds : r["cpu_seconds_per_shard"]) {
    cpu += fmt::format("{}{:.2f} s", cpu.empty() ? "" : ", ", seconds.get<double>());
  }
  // The nonzero drop reasons, of the nodes' endpoints and overlays and the bootstrap node's.
  std::map<std::string, uint64_t> by_reason;
  for (const auto& [group, stats] : r["statistics"].items()) {
    for (const auto& [layer, counters] : stats.items()) {
      for (const auto& [reason, n] : counters["drops"].items())
        by_reason[reason] += n.get<uint64_t>();
    }
  }
  std::string reasons;
  for (const auto& [reason, n] : by_reason) {
    if (n != 0) reasons += fmt::format("{}{} {}", reasons.empty() ? "" : ", ", reason, n);
  }
  const uint64_t drops = r["drops_total"].get<uint64_t>();
  const auto& per_node = r["per_node"];
  const auto& memory = r["memory"];
  const auto& tables = r["tables"];
  std::cout << fmt::format(
      "swarm: {} nodes, {} communities ({} per node, target {} peers), {} shards, {} endpoints\n"
      "  converged           {} ({}/{} communities)\n"
      "  time to converge    median {}, worst community {}\n"
      "  per node            in {:.0f} packets / {:.1f} KiB, out {:.0f} packets / {:.1f} KiB\n"
      "  drops               {}{}\n"
      "  kernel drops        {}\n"
      "  CPU per shard       {} (over {:.1f} s; building took {:.1f} s)\n"
      "  scheduler lag       max {:.2f} ms\n"
      "  memory (RSS)        {:.0f} MiB built, {} converged, {:.0f} MiB at the end, {:.0f} MiB "
      "peak\n"
      "  tables              {} verified peers, {} addresses; one node at most {} / {}\n",
      r["nodes"].get<int>(), r["communities"].get<int>(), r["communities_per_node"].get<int>(),
      r["target_peers"].get<int>(), r["shards"].get<int>(), r["backend"].get<std::string>(),
      r["converged"].get<bool>() ? "yes" : "NO", r["converged_communities"].get<int>(),
      r["communities"].get<int>(), Seconds(r["convergence_seconds"]["median"]),
      Seconds(r["convergence_seconds"]["worst"]), per_node["packets_in"].get<double>(),
      per_node["bytes_in"].get<double>() / 1024, per_node["packets_out"].get<double>(),
      per_node["bytes_out"].get<double>() / 1024, drops,
      reasons.empty() ? "" : " (" + reasons + ")", r["kernel_drops"].get<uint64_t>(), cpu,
      r["run_seconds"].get<double>(), r["build_seconds"].get<double>(),
      r["max_scheduler_lag_ms"].get<double>(), memory["rss_mib_built"].get<double>(),
      memory["rss_mib_converged"].is_null()
          ? "-"
          : fmt::format("{:.0f} MiB", memory["rss_mib_converged"].get<double>()),
      memory["rss_mib_end"].get<double>(), memory["rss_mib_peak"].get<double>(),
      tables["verified_peers_end"].get<uint64_t>(), tables["addresses_end"].get<uint64_t>(),
      tables["max_node_verified_peers"].get<uint64_t>(),
      tables["max_node_addresses"].get<uint64_t>());
}

int Run(SwarmCommandOptions& options) {
  options.swarm.backend = *ParseEndpointBackend(options.backend);
  auto loop = EventLoop::Create({.backend = EventLoop::Backend::kEpoll});
  if (!loop) {
    spdlog::error("cannot create an event loop: {}", loop.error().message());
    return kExitRuntime;
  }
  StopOnSignals signals(**loop);
  const bool tty = isatty(STDERR_FILENO) == 1;
  testbed::Swarm swarm(options.swarm);
  nlohmann::json result = swarm.Run([&](const testbed::SwarmProgress& p) { PrintProgress(p, tty); },
                                    [&](Duration d) {
                                      (*loop)->RunFor(d);
                                      return signals.received() == 0;
                                    });
  if (tty) std::fprintf(stderr, "\n");
  if (options.json) {
    std::cout << result.dump() << std::endl;
  } else {
    PrintSummary(result);
  }
  if (!result["converged"].get<bool>() && !result["interrupted"].get<bool>()) {
    spdlog::error("the swarm did not converge within {} s", options.swarm.duration);
    return kExitRuntime;
  }
  return kExitOk;
}

}  // namespace

void AddSwarmCommand(CLI::App& app, RunFunction* run) {
  static SwarmCommandOptions options;
  CLI::App* cmd = app.add_subcommand(
      "swarm",
      "Run a bootstrap node and N real nodes on loopback until every community converges; "
      "prints a live view and a summary (exit 1 if it does not converge in --duration)");
  cmd->add_option("--nodes", options.swarm.nodes, "Nodes (besides the bootstrap node)")
      ->check(CLI::Range(1, 5000))
      ->capture_default_str();
  cmd->add_option("--communities", options.swarm.communities, "Communities in the swarm")
      ->check(CLI::Range(1, 1000))
      ->capture_default_str();
  cmd->add_option("--communities-per-node", options.swarm.communities_per_node,
                  "Communities each node joins (default: min(communities, 5))")
      ->check(CLI::Range(1, 1000));
  cmd->add_option("--shards", options.swarm.shards,
                  "Shard threads the nodes are spread over (default: one per core)")
      ->check(CLI::Range(1, 256));
  cmd->add_option("--target-peers", options.swarm.target_peers, "RandomWalk's target peer count")
      ->check(CLI::Range(1, 1000))
      ->capture_default_str();
  cmd->add_option(
         "--duration", options.swarm.duration,
         "Give up after this many seconds (the run ends earlier once converged, unless --soak)")
      ->check(kPositiveNumber)
      ->capture_default_str();
  cmd->add_option("--backend", options.backend, "Endpoint backend")
      ->check(CLI::IsMember({"auto", "uring", "mmsg"}))
      ->capture_default_str();
  cmd->add_flag("--soak", options.swarm.soak,
                "Run the whole --duration even after convergence (a long run: resident memory "
                "once a minute and the largest tables are in the summary)");
  cmd->add_flag("--json", options.json, "Print the summary as one JSON object on stdout");
  cmd->callback([run] { *run = [] { return Run(options); }; });
}

}  // namespace ringv8::tools
