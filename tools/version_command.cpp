// ringv8 version: the build and the libraries it runs with.
#include <openssl/crypto.h>
#include <sodium.h>

#include <cstdlib>
#include <iostream>
#include <string>

#include <nlohmann/json.hpp>

#include "ring/build_info.h"
#include "tools/command.h"

#if RINGV8_MIMALLOC
#include <mimalloc.h>
#endif

namespace ringv8::tools {

namespace {

// The mimalloc version, or "" when the binary is built without it (sanitizer builds).
std::string MimallocVersion() {
#if RINGV8_MIMALLOC
  const int v = mi_version();
  return std::to_string(v / 100) + "." + std::to_string(v / 10 % 10) + "." + std::to_string(v % 10);
#else
  return "";
#endif
}

// Whether malloc is mimalloc's (the binary links it to replace the system allocator).
bool MallocIsMimalloc() {
#if RINGV8_MIMALLOC
  void* p = std::malloc(64);
  bool ours = mi_is_in_heap_region(p);
  std::free(p);
  return ours;
#else
  return false;
#endif
}

}  // namespace

void AddVersionCommand(CLI::App& app, RunFunction* run) {
  auto* cmd = app.add_subcommand("version", "Print the version and the libraries in use");
  static bool json = false;
  cmd->add_flag("--json", json, "Print one JSON object");
  cmd->callback([run] {
    *run = [] {
      nlohmann::json info = {
          {"ringv8", RINGV8_VERSION},
          {"git", RINGV8_GIT},
          {"liburing", ring::LiburingVersion()},
          {"libsodium", sodium_version_string()},
          {"openssl", OpenSSL_version(OPENSSL_VERSION_STRING)},
          {"mimalloc", MimallocVersion()},
          {"malloc_is_mimalloc", MallocIsMimalloc()},
      };
      if (json) {
        std::cout << info.dump() << "\n";
        return kExitOk;
      }
      std::cout << "ringv8 " << RINGV8_VERSION << " (" << RINGV8_GIT << ")\n";
      for (const char* lib : {"liburing", "libsodium", "openssl", "mimalloc"}) {
        const auto& v = info[lib].get_ref<const std::string&>();
        std::cout << "  " << lib << " " << (v.empty() ? "not linked" : v) << "\n";
      }
      std::cout << "  allocator: "
                << (info["malloc_is_mimalloc"].get<bool>() ? "mimalloc" : "system malloc") << "\n";
      return kExitOk;
    };
  });
}

}  // namespace ringv8::tools
