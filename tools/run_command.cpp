// ringv8 run: one IPv8 node from a py-ipv8 JSON configuration, until a signal or --duration.
#include <unistd.h>

#include <spdlog/spdlog.h>

#include "node/node.h"
#include "tools/command.h"
#include "tools/node_runner.h"

namespace ringv8::tools {

namespace {

constexpr const char* kDefaultConfig = "configs/default.json";

struct RunOptions {
  std::string config;
  int port = -1;
  bool log_level_given = false;  // --log-level on the command line wins over logger.level.
  NodeRunOptions run;
};

// py-ipv8's logging levels to spdlog's.
spdlog::level::level_enum LevelOf(const std::string& level) {
  if (level == "CRITICAL") return spdlog::level::critical;
  if (level == "ERROR") return spdlog::level::err;
  if (level == "WARNING") return spdlog::level::warn;
  if (level == "DEBUG") return spdlog::level::debug;
  if (level == "NOTSET") return spdlog::level::trace;
  return spdlog::level::info;
}

node::NodeConfig LoadRunConfig(const RunOptions& options) {
  if (options.config.empty()) {
    // What a first run does, said before it does it.
    spdlog::warn(
        "no --config: running py-ipv8's default configuration ({}): it joins the public "
        "IPv8 network through py-ipv8's trackers and keeps its key in "
        "ec_multichain.pem in this directory (created if missing)",
        access(kDefaultConfig, R_OK) == 0 ? kDefaultConfig : "built in");
  }
  if (options.config.empty() && access(kDefaultConfig, R_OK) != 0) {
    return node::NodeConfig::FromJson(node::DefaultConfigJson());
  }
  return node::NodeConfig::Load(options.config.empty() ? kDefaultConfig : options.config);
}

int Run(const RunOptions& options) {
  node::NodeConfig config;
  try {
    config = LoadRunConfig(options);
    if (options.port >= 0) {
      // --port is the UDPIPv4 interface's; a configuration without one would get a second
      // socket on 0.0.0.0 beside what it names.
      if (config.FindInterface("UDPIPv4") == nullptr) {
        std::string has;
        for (const node::InterfaceConfig& i : config.interfaces) {
          has +=
              (has.empty() ? "" : ", ") + i.interface + " " + i.ip + ":" + std::to_string(i.port);
        }
        throw node::ConfigError("interfaces",
                                "--port sets the UDPIPv4 interface's port and the "
                                "configuration has none (it has " +
                                    has + "): set the port in the file instead");
      }
      config.SetPort(static_cast<uint16_t>(options.port));
    }
    if (!options.log_level_given) spdlog::set_level(LevelOf(config.log_level));
  } catch (const node::ConfigError& e) {
    spdlog::error("configuration: {}", e.what());
    return kExitUsage;
  }
  return RunNode(config, options.run);
}

}  // namespace

void AddRunCommand(CLI::App& app, RunFunction* run) {
  auto options = std::make_shared<RunOptions>();
  CLI::App* cmd = app.add_subcommand(
      "run", "Run an IPv8 node from a py-ipv8 JSON configuration until SIGINT/SIGTERM");
  cmd->add_option("--config", options->config,
                  "Configuration file (py-ipv8 schema; default: configs/default.json, or the "
                  "same built in when that file is not here)")
      ->check(CLI::ExistingFile);
  cmd->add_option("--port", options->port, "UDP port of the UDPIPv4 interface (overrides the file)")
      ->check(CLI::Range(0, 65535));
  AddNodeRunOptions(*cmd, options->run);
  cmd->add_flag("--skip-unknown", options->run.skip_unknown,
                "Skip overlay classes ringv8 does not have (e.g. HiddenTunnelCommunity) instead "
                "of refusing the configuration");
  cmd->callback([run, options, &app, cmd] {
    // --log-level before or after `run` (ringv8_main adds it to every subcommand).
    for (const CLI::App* where :
         {static_cast<const CLI::App*>(&app), static_cast<const CLI::App*>(cmd)}) {
      const CLI::Option* given = where->get_option_no_throw("--log-level");
      if (given != nullptr && given->count() > 0) options->log_level_given = true;
    }
    *run = [options] { return Run(*options); };
  });
}

}  // namespace ringv8::tools
