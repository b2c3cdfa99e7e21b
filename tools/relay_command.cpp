// ringv8 relay: a Tribler/py-ipv8 tunnel relay with sensible defaults: DiscoveryCommunity and
// TunnelCommunity (relay role, and with --exit the exit role) on one UDP port, walking from
// py-ipv8's public trackers unless --bootstrap names others (or none), until a signal or
// --duration. The configuration it builds is an ordinary py-ipv8 one: --print-config shows it
// (configs/relay.json and configs/exit.json are the default ones, for `ringv8 run --config`).
#include <algorithm>
#include <cctype>
#include <iostream>
#include <string>
#include <vector>

#include <fmt/format.h>
#include <fmt/ranges.h>
#include <nlohmann/json.hpp>
#include <spdlog/spdlog.h>

#include "node/config.h"
#include "ring/address.h"
#include "tools/command.h"
#include "tools/node_runner.h"

namespace ringv8::tools {
namespace {

using nlohmann::json;

struct RelayOptions {
  uint16_t port = 8090;
  std::string ip = "0.0.0.0";
  std::string community_id = "py-ipv8";
  std::vector<std::string> bootstrap;  // IP:PORT, or "none"; empty: py-ipv8's trackers.
  size_t max_circuits = 10000;
  double rate = 0;
  double circuit_rate = 0;
  std::string key = "ringv8-relay.key";
  bool no_speed_test = false;
  std::vector<std::string> exit;  // "bt", "ipv8".
  double exit_rate = 0;
  double exit_circuit_rate = 0;
  size_t max_exit_sockets = 1000;
  bool allow_loopback_destinations = false;
  bool print_config = false;
  NodeRunOptions run;
};

json Bootstrappers(const RelayOptions& options) {
  if (options.bootstrap.empty()) {
    return node::DefaultConfigJson()["overlays"][0]["bootstrappers"];  // The public trackers.
  }
  if (options.bootstrap.size() == 1 && options.bootstrap[0] == "none") return json::array();
  json addresses = json::array();
  for (const std::string& text : options.bootstrap) {
    const Address address = *Address::Parse(text);
    addresses.push_back(json::array({address.IpString(), address.port()}));
  }
  return json::array({{{"class", "DispersyBootstrapper"},
                       {"init", {{"ip_addresses", addresses}, {"dns_addresses", json::array()}}}}});
}

json RelayConfigJson(const RelayOptions& options) {
  const json bootstrappers = Bootstrappers(options);
  json discovery = node::DefaultConfigJson()["overlays"][0];
  discovery["key"] = "relay";
  discovery["bootstrappers"] = bootstrappers;
  json flags = json::array({1});
  if (std::ranges::find(options.exit, "bt") != options.exit.end()) flags.push_back(2);
  if (std::ranges::find(options.exit, "ipv8") != options.exit.end()) flags.push_back(4);
  if (!options.no_speed_test) flags.push_back(8);
  json settings = {{"max_joined_circuits", options.max_circuits}, {"peer_flags", flags}};
  if (options.rate > 0) settings["max_relay_rate"] = options.rate;
  if (options.circuit_rate > 0) settings["max_circuit_rate"] = options.circuit_rate;
  if (!options.exit.empty()) {
    settings["max_exit_sockets"] = options.max_exit_sockets;
    if (options.exit_rate > 0) settings["max_exit_rate"] = options.exit_rate;
    if (options.exit_circuit_rate > 0)
      settings["max_exit_circuit_rate"] = options.exit_circuit_rate;
    if (options.allow_loopback_destinations) settings["exit_allow_loopback_destinations"] = true;
  }
  json tunnel = {
      {"class", "TunnelCommunity"},
      {"key", "relay"},
      {"walkers", {{{"strategy", "RandomWalk"}, {"peers", 20}, {"init", {{"timeout", 3.0}}}}}},
      {"bootstrappers", bootstrappers},
      {"initialize", {{"community_id", options.community_id}, {"settings", settings}}},
      {"on_start", json::array()}};
  return {{"interfaces", {{{"interface", "UDPIPv4"}, {"ip", options.ip}, {"port", options.port}}}},
          {"keys", {{{"alias", "relay"}, {"generation", "curve25519"}, {"file", options.key}}}},
          {"logger", {{"level", "INFO"}}},
          {"working_directory", "."},
          {"walker_interval", 0.5},
          {"overlays", {discovery, tunnel}}};
}

int Relay(const RelayOptions& options) {
  if (options.print_config) {
    std::cout << RelayConfigJson(options).dump(2) << "\n";
    return kExitOk;
  }
  node::NodeConfig config;
  try {
    config = node::NodeConfig::FromJson(RelayConfigJson(options));
  } catch (const node::ConfigError& e) {
    spdlog::error("configuration: {}", e.what());
    return kExitUsage;
  }
  if (options.bootstrap.empty()) {
    spdlog::info("bootstrapping from py-ipv8's public trackers (--bootstrap to choose others)");
  }
  if (!options.exit.empty()) {
    spdlog::warn(
        "this node is an EXIT: it sends other people's anonymous UDP traffic ({}) to the "
        "Internet from this host's address; see docs/operations.md, 'Running an exit'",
        fmt::format("{}", fmt::join(options.exit, ", ")));
  }
  return RunNode(config, options.run);
}

// "py-ipv8", "tribler" or 40 hex characters, checked before anything (a key file) is made.
CLI::Validator CommunityIdValidator() {
  return CLI::Validator(
      [](const std::string& text) -> std::string {
        if (text == "py-ipv8" || text == "tribler") return {};
        const bool hex = text.size() == 40 && std::ranges::all_of(text, [](char c) {
                           return std::isxdigit(static_cast<unsigned char>(c)) != 0;
                         });
        return hex ? std::string() : "must be py-ipv8, tribler or 40 hex characters";
      },
      "py-ipv8|tribler|HEX");
}

}  // namespace

void AddRelayCommand(CLI::App& app, RunFunction* run) {
  auto options = std::make_shared<RelayOptions>();
  CLI::App* cmd =
      app.add_subcommand("relay",
                         "Run a tunnel relay (TunnelCommunity), with --exit also an exit, for "
                         "Tribler/py-ipv8 circuits until SIGINT/SIGTERM");
  cmd->add_option("--port", options->port, "UDP port")->capture_default_str();
  cmd->add_option("--ip", options->ip, "IPv4 address to bind")
      ->check(CLI::ValidIPV4)
      ->capture_default_str();
  cmd->add_option("--community-id", options->community_id,
                  "Tunnel network: py-ipv8 (81ded073...), tribler (a3591a6b..., Tribler's) or "
                  "40 hex characters")
      ->check(CommunityIdValidator())
      ->capture_default_str();
  cmd->add_option("--bootstrap", options->bootstrap,
                  "Tracker IP:PORT to bootstrap from (repeatable; replaces py-ipv8's public "
                  "trackers), or 'none' to only answer")
      ->check(IpAndPort() | CLI::IsMember({"none"}));
  cmd->add_option("--max-circuits", options->max_circuits,
                  "Circuits joined at most (relayed and ending here)")
      ->check(CLI::Range(size_t{1}, size_t{100000000}))
      ->capture_default_str();
  cmd->add_option("--rate", options->rate,
                  "Relayed bytes per second in total, over it cells are dropped (0: unlimited)")
      ->check(kNonNegativeNumber);
  cmd->add_option("--circuit-rate", options->circuit_rate,
                  "Relayed bytes per second per circuit (0: unlimited)")
      ->check(kNonNegativeNumber);
  cmd->add_option("--shards", options->run.tunnel_shards,
                  "Relay on this many threads sharing the port: the kernel steers each cell to "
                  "a thread by its circuit id (one core each)")
      ->check(CLI::Range(1, 64))
      ->capture_default_str();
  cmd->add_option("--key", options->key, "Identity key file (curve25519; created if missing)")
      ->capture_default_str();
  cmd->add_flag("--no-speed-test", options->no_speed_test,
                "Do not answer speed tests (advertise RELAY only, flags 0001)");
  cmd->add_option("--exit", options->exit,
                  "Also be an exit for these kinds of traffic: bt (BitTorrent: uTP, DHT, UDP "
                  "trackers; EXIT_BT), ipv8 (IPv8 packets; EXIT_IPV8); comma-separated")
      ->delimiter(',')
      ->check(CLI::IsMember({"bt", "ipv8"}));
  cmd->add_option("--exit-rate", options->exit_rate,
                  "Exit bytes per second, out and back, in total (0: unlimited)")
      ->check(kNonNegativeNumber);
  cmd->add_option("--exit-circuit-rate", options->exit_circuit_rate,
                  "Exit bytes per second per circuit (0: unlimited)")
      ->check(kNonNegativeNumber);
  cmd->add_option("--max-exit-sockets", options->max_exit_sockets,
                  "Circuits with exit sockets open at most (each has an IPv4 and an IPv6 socket)")
      ->check(CLI::Range(size_t{1}, size_t{1000000}))
      ->capture_default_str();
  cmd->add_flag("--allow-loopback-destinations", options->allow_loopback_destinations,
                "Let the exit send to 127.0.0.0/8 and ::1 (for tests on one machine; never on a "
                "server)");
  cmd->add_flag("--print-config", options->print_config,
                "Print the py-ipv8 configuration this relay runs (for `ringv8 run --config`) and "
                "exit");
  AddNodeRunOptions(*cmd, options->run);
  cmd->callback([run, options] {
    if (options->bootstrap.size() > 1 &&
        std::ranges::find(options->bootstrap, "none") != options->bootstrap.end()) {
      throw CLI::ValidationError("--bootstrap", "'none' cannot be combined with addresses");
    }
    if (options->exit.empty() && (options->exit_rate > 0 || options->exit_circuit_rate > 0 ||
                                  options->allow_loopback_destinations)) {
      throw CLI::ValidationError("--exit-rate/--exit-circuit-rate/--allow-loopback-destinations",
                                 "only apply with --exit bt,ipv8");
    }
    *run = [options] { return Relay(*options); };
  });
}

}  // namespace ringv8::tools
