// ringv8 keygen: create a curve25519 identity key file, or show the identity in one.
#include <sys/stat.h>

#include <iostream>
#include <string>

#include <nlohmann/json.hpp>
#include <spdlog/spdlog.h>

#include "tools/command.h"
#include "wire/hex.h"
#include "wire/keys.h"

namespace ringv8::tools {

namespace {

struct KeygenOptions {
  std::string out;
  std::string show;
  bool force = false;
  bool json = false;
};

void PrintIdentity(const std::string& path, const wire::PrivateKey& key, bool json) {
  const std::string public_bin = wire::ToHex(key.public_key().bin());
  const std::string mid = wire::ToHex(key.mid());
  if (json) {
    std::cout << nlohmann::json{{"file", path},
                                {"type", "curve25519"},
                                {"public_key", public_bin},
                                {"mid", mid}}
                     .dump()
              << "\n";
    return;
  }
  std::cout << "file:       " << path << "\n"
            << "type:       curve25519 (LibNaCL)\n"
            << "public key: " << public_bin << "\n"
            << "mid:        " << mid << "\n";
}

int Run(const KeygenOptions& options) {
  if (!options.show.empty()) {
    auto key = wire::LoadKeyFile(options.show);
    if (!key) {
      spdlog::error("cannot load key file {}: {}", options.show,
                    wire::KeyFileErrorText(options.show, key.error()));
      return kExitRuntime;
    }
    PrintIdentity(options.show, *key, options.json);
    return kExitOk;
  }
  auto key = wire::PrivateKey::Generate();
  if (std::error_code error = wire::SaveKeyFile(options.out, key, options.force)) {
    if (error == std::errc::file_exists) {
      spdlog::error("{} exists; not overwriting a key without --force", options.out);
    } else {
      spdlog::error("cannot write key file {}: {}", options.out, error.message());
    }
    return kExitRuntime;
  }
  PrintIdentity(options.out, key, options.json);
  return kExitOk;
}

}  // namespace

void AddKeygenCommand(CLI::App& app, RunFunction* run) {
  static KeygenOptions options;
  auto* cmd = app.add_subcommand(
      "keygen",
      "Create a curve25519 key file (raw 74-byte private key bin, mode 0600, as py-ipv8 writes "
      "it) or show the identity in one");
  auto* out = cmd->add_option("--out", options.out, "Write a new private key to FILE");
  auto* show = cmd->add_option("--show", options.show, "Show the public key and mid of FILE");
  out->excludes(show);
  cmd->add_flag("--force", options.force, "Overwrite an existing --out file")->needs(out);
  cmd->add_flag("--json", options.json, "Print one JSON object");
  out->type_name("FILE");
  show->type_name("FILE");
  // A directory or an empty name cannot become a key file, --force or not: a usage error.
  out->check(CLI::Validator(
      [](std::string& path) -> std::string {
        if (path.empty()) return "needs a file name";
        struct stat st;
        if (path.back() == '/' || (::stat(path.c_str(), &st) == 0 && S_ISDIR(st.st_mode))) {
          return "'" + path + "' is a directory; give a file name in it";
        }
        return std::string();
      },
      "FILE"));
  cmd->callback([run, out, show] {
    if (out->count() == 0 && show->count() == 0) {
      throw CLI::RequiredError("--out FILE or --show FILE");
    }
    *run = [] { return Run(options); };
  });
}

}  // namespace ringv8::tools
