// ringv8 manpage (hidden): prints ringv8(1) in roff, built from the same CLI definitions as
// --help (every subcommand, its description and options with their types and defaults), so the
// installed man page never drifts from the binary. The build runs it (cmake/install.cmake).
#include <cstdlib>
#include <ctime>
#include <iostream>
#include <string>

#include <fmt/format.h>

#include "tools/command.h"

namespace ringv8::tools {
namespace {

// Text for roff: backslashes and hyphens escaped, no line starting with a control character.
std::string Roff(const std::string& text) {
  std::string out;
  bool line_start = true;
  for (char c : text) {
    if (line_start && (c == '.' || c == '\'')) out += "\\&";
    if (c == '\\') {
      out += "\\e";
    } else if (c == '-') {
      out += "\\-";
    } else {
      out += c;
    }
    line_start = c == '\n';
  }
  return out;
}

// The date of the build: SOURCE_DATE_EPOCH (reproducible builds) or today.
std::string BuildDate() {
  std::time_t when = std::time(nullptr);
  if (const char* epoch = std::getenv("SOURCE_DATE_EPOCH")) when = std::strtoll(epoch, nullptr, 10);
  char text[16];
  std::strftime(text, sizeof(text), "%Y-%m-%d", std::gmtime(&when));
  return text;
}

// The options of `app`; for a subcommand without those every command has (listed once, under
// GLOBAL OPTIONS).
void PrintOptions(const CLI::App& app, bool global) {
  for (const CLI::Option* option : app.get_options()) {
    if (option->get_group().empty()) continue;  // Hidden.
    const std::string names = option->get_name(false, true);
    if (!global && (names == "-h,--help" || names == "--help-all" || names == "--log-level")) {
      continue;
    }
    std::string line = "\\fB" + Roff(names) + "\\fR";
    const std::string type = option->get_type_name();
    if (option->get_expected_min() > 0 && !type.empty()) line += " \\fI" + Roff(type) + "\\fR";
    if (option->get_expected_max() > 1) line += " ...";
    std::cout << ".TP\n" << line << "\n";
    std::string description = option->get_description();
    if (!option->get_default_str().empty()) {
      description += " (default: " + option->get_default_str() + ")";
    }
    std::cout << Roff(description) << "\n";
  }
}

void PrintCommand(const CLI::App& command, const std::string& path) {
  std::cout << ".SS \"" << Roff(path) << "\"\n" << Roff(command.get_description()) << "\n";
  PrintOptions(command, false);
  for (const CLI::App* sub : command.get_subcommands({})) {
    if (sub->get_group().empty()) continue;
    PrintCommand(*sub, path + " " + sub->get_name());
  }
}

int PrintManPage(const CLI::App& app) {
  std::cout << fmt::format(".TH RINGV8 1 \"{}\" \"ringv8 {}\" \"User Commands\"\n", BuildDate(),
                           RINGV8_VERSION);
  std::string description = app.get_description();
  if (description.starts_with("ringv8: ")) description = description.substr(8);
  std::cout << ".SH NAME\nringv8 \\- " << Roff(description) << "\n";
  std::cout << ".SH SYNOPSIS\n.B ringv8\n[\\fB\\-\\-log\\-level\\fR \\fILEVEL\\fR] \\fICOMMAND\\fR "
               "[\\fIOPTIONS\\fR]\n";
  std::cout << ".SH DESCRIPTION\n"
            << Roff(
                   "ringv8 is IPv8, the peer-to-peer overlay layer of Tribler, in C++20 for "
                   "Linux servers: byte-compatible with py-ipv8, on io_uring (with a "
                   "recvmmsg/sendmmsg fallback). It runs nodes from py-ipv8's JSON "
                   "configuration (run), bootstrap servers (tracker), tunnel relays (relay), "
                   "swarms and benchmarks on loopback (swarm, bench), and reads keys and "
                   "packets (keygen, decode). Every command takes --help.")
            << "\n";
  std::cout << ".SH GLOBAL OPTIONS\nAccepted before or after the command.\n";
  PrintOptions(app, true);
  std::cout << ".SH COMMANDS\n";
  for (const CLI::App* sub : app.get_subcommands({})) {
    if (sub->get_group().empty()) continue;
    PrintCommand(*sub, "ringv8 " + sub->get_name());
  }
  std::cout << ".SH EXIT STATUS\n0: success. 1: a runtime error (a socket that cannot be opened, "
               "a failed benchmark check). 2: a usage error (bad options or configuration), "
               "reported before anything starts.\n"
               ".SH FILES\n"
               ".TP\n\\fI/etc/ringv8/*.json\\fR\nExample configurations (py\\-ipv8's schema, "
               "ringv8.json(5)); \\fBringv8@NAME.service\\fR runs /etc/ringv8/NAME.json.\n"
               ".TP\n\\fIringv8@.service\\fR, \\fIringv8\\-tracker@.service\\fR, "
               "\\fIringv8\\-relay@.service\\fR\nsystemd units: a node, a tracker on a port, a "
               "relay on a port. Installing the package enables none of them.\n"
               ".TP\n\\fI60\\-ringv8.conf\\fR (sysctl.d)\nRaises net.core.rmem_max and "
               "wmem_max to the 8 MiB socket buffers ringv8 asks for.\n"
               ".SH SEE ALSO\n\\fBringv8.json\\fR(5), \\fBsystemctl\\fR(1), "
               "/usr/share/doc/ringv8/operations.md\n";
  return kExitOk;
}

}  // namespace

void AddManpageCommand(CLI::App& app, RunFunction* run) {
  CLI::App* cmd = app.add_subcommand("manpage", "Print ringv8(1) in roff");
  cmd->group("");  // Hidden: the build's, not a user's.
  cmd->callback([run, &app] { *run = [&app] { return PrintManPage(app); }; });
}

}  // namespace ringv8::tools
