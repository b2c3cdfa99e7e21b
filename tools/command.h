// The ringv8 subcommands. Each Add*Command registers one CLI11 subcommand on `app`; when it is
// chosen on the command line, `*run` is set to the function that executes it and returns the
// process exit code: 0 ok, 1 runtime error, 2 usage error (kExitUsage).
#ifndef RINGV8_TOOLS_COMMAND_H_
#define RINGV8_TOOLS_COMMAND_H_

#include <functional>

#include <CLI/CLI.hpp>

namespace ringv8::tools {

inline constexpr int kExitOk = 0;
inline constexpr int kExitRuntime = 1;
inline constexpr int kExitUsage = 2;

using RunFunction = std::function<int()>;

// Number checks with plain messages ("--burst: must be > 0", "--duration: 'abc' is not a
// number"); CLI11's own print a range up to 1.8e308.
CLI::Validator NumberAbove(double bound, bool or_equal);
inline const CLI::Validator kPositiveNumber = NumberAbove(0, false);
inline const CLI::Validator kNonNegativeNumber = NumberAbove(0, true);
// "IP:PORT" (IPv4, or [IPv6]:PORT), checked before anything starts.
CLI::Validator IpAndPort();

// Raises the open-files soft limit to the hard one, as a server does (an exit opens two sockets
// per circuit, its benchmark a third: a shell's default of 1,024 would stop it near 500
// circuits). main() calls it before any command runs.
void RaiseDescriptorLimit();

void AddVersionCommand(CLI::App& app, RunFunction* run);
// Hidden: prints the man page from the CLI definitions.
void AddManpageCommand(CLI::App& app, RunFunction* run);
void AddKeygenCommand(CLI::App& app, RunFunction* run);
void AddDecodeCommand(CLI::App& app, RunFunction* run);
void AddBenchCommand(CLI::App& app, RunFunction* run);
void AddRunCommand(CLI::App& app, RunFunction* run);
void AddRelayCommand(CLI::App& app, RunFunction* run);
void AddSwarmCommand(CLI::App& app, RunFunction* run);
void AddTrackerCommand(CLI::App& app, RunFunction* run);
// `ringv8 bench tracker`, under the bench subcommand.
void AddBenchTrackerCommand(CLI::App& bench, RunFunction* run);
// `ringv8 bench relay`, under the bench subcommand.
void AddBenchRelayCommand(CLI::App& bench, RunFunction* run);
// `ringv8 bench abuse`, under the bench subcommand.
void AddBenchAbuseCommand(CLI::App& bench, RunFunction* run);

}  // namespace ringv8::tools

#endif  // RINGV8_TOOLS_COMMAND_H_
