// ringv8: the command-line front end. Subcommands live in tools/*_command.cpp.
#include <string>
#include <string_view>

#include <CLI/CLI.hpp>
#include <fmt/format.h>
#include <spdlog/sinks/stdout_color_sinks.h>
#include <spdlog/spdlog.h>

#include "tools/command.h"

namespace {

// --log-level is global and also accepted (and listed in the help) after every subcommand.
void AddLogLevel(CLI::App& app, std::string& level) {
  app.add_option("--log-level", level, "Log level on stderr")
      ->check(CLI::IsMember({"trace", "debug", "info", "warn", "error", "critical", "off"}))
      ->capture_default_str();
  for (CLI::App* sub : app.get_subcommands([](CLI::App*) { return true; })) {
    AddLogLevel(*sub, level);
  }
}

// The first word that is neither an option nor an option's value, if it names no subcommand
// (CLI11 would say "A subcommand is required", or print the main help for `bogus --help`).
std::string UnknownSubcommand(CLI::App& app, int argc, char** argv) {
  for (int i = 1; i < argc; ++i) {
    const std::string_view word = argv[i];
    if (word == "--log-level") {
      ++i;  // Its value.
      continue;
    }
    if (word.starts_with("-")) continue;
    const auto named = app.get_subcommands([&](CLI::App* s) { return s->get_name() == word; });
    return named.empty() ? std::string(word) : std::string();
  }
  return {};
}

}  // namespace

int main(int argc, char** argv) {
  using namespace ringv8::tools;
  CLI::App app("ringv8: a fast IPv8 core for Linux servers, byte-compatible with py-ipv8",
               "ringv8");
  app.require_subcommand(1);
  app.set_help_all_flag("--help-all", "Show help for every subcommand");
  std::string log_level = "info";

  RunFunction run;
  AddVersionCommand(app, &run);
  AddKeygenCommand(app, &run);
  AddDecodeCommand(app, &run);
  AddRunCommand(app, &run);
  AddRelayCommand(app, &run);
  AddSwarmCommand(app, &run);
  AddTrackerCommand(app, &run);
  AddBenchCommand(app, &run);
  AddLogLevel(app, log_level);
  AddManpageCommand(app, &run);  // After --log-level: the page lists it as a global option.

  if (const std::string unknown = UnknownSubcommand(app, argc, argv); !unknown.empty()) {
    std::string known;
    for (const CLI::App* sub : app.get_subcommands([](CLI::App*) { return true; })) {
      if (sub->get_group().empty()) continue;  // Hidden.
      known += (known.empty() ? "" : ", ") + sub->get_name();
    }
    fmt::print(stderr, "ringv8: unknown subcommand '{}' (known: {}); see ringv8 --help\n", unknown,
               known);
    return kExitUsage;
  }

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

  RaiseDescriptorLimit();
  try {
    return run();
  } catch (const std::exception& e) {
    spdlog::error("{}", e.what());
    return kExitRuntime;
  }
}
