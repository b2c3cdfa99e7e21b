// ringv8: the command-line front end. Subcommands live in tools/*_command.cpp.
#include <CLI/CLI.hpp>
#include <spdlog/sinks/stdout_color_sinks.h>
#include <spdlog/spdlog.h>

#include "tools/command.h"

int main(int argc, char** argv) {
  using namespace ringv8::tools;
  CLI::App app("ringv8: a fast IPv8 core for Linux servers, byte-compatible with py-ipv8",
               "ringv8");
  app.require_subcommand(1);
  app.set_help_all_flag("--help-all", "Show help for every subcommand");
  std::string log_level = "info";
  app.add_option("--log-level", log_level, "Log level on stderr")
      ->check(CLI::IsMember({"trace", "debug", "info", "warn", "error", "critical", "off"}))
      ->capture_default_str();

  RunFunction run;
  AddVersionCommand(app, &run);
  AddKeygenCommand(app, &run);
  AddDecodeCommand(app, &run);
  AddRunCommand(app, &run);
  AddSwarmCommand(app, &run);
  AddTrackerCommand(app, &run);
  AddBenchCommand(app, &run);

  try {
    app.parse(argc, argv);
  } catch (const CLI::Success& e) {  // --help
    return app.exit(e) == 0 ? kExitOk : kExitUsage;
  } catch (const CLI::ParseError& e) {
    app.exit(e);
    return kExitUsage;
  }

  auto logger = spdlog::stderr_color_mt("ringv8");
  logger->set_pattern("%Y-%m-%dT%H:%M:%S.%e %^%l%$ %v");
  logger->set_level(spdlog::level::from_str(log_level));
  spdlog::set_default_logger(logger);

  try {
    return run();
  } catch (const std::exception& e) {
    spdlog::error("{}", e.what());
    return kExitRuntime;
  }
}
