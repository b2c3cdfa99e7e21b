#include "tools/command.h"

#include <sys/resource.h>

#include <cerrno>
#include <cmath>
#include <cstdlib>

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include "ring/address.h"

namespace ringv8::tools {

CLI::Validator NumberAbove(double bound, bool or_equal) {
  return CLI::Validator(
      [bound, or_equal](std::string& text) -> std::string {
        char* end = nullptr;
        errno = 0;
        const double value = std::strtod(text.c_str(), &end);
        if (text.empty() || end != text.c_str() + text.size() || errno != 0 ||
            !std::isfinite(value)) {
          return fmt::format("'{}' is not a number", text);
        }
        if (or_equal ? value < bound : value <= bound) {
          return fmt::format("must be {} {}", or_equal ? ">=" : ">", bound);
        }
        return std::string();
      },
      bound == 0 ? std::string(or_equal ? "NONNEGATIVE" : "POSITIVE")
                 : fmt::format("NUMBER {} {}", or_equal ? ">=" : ">", bound));
}

CLI::Validator IpAndPort() {
  return CLI::Validator(
      [](std::string& text) -> std::string {
        if (Address::Parse(text)) return std::string();
        return fmt::format("'{}' is not IP:PORT (e.g. 127.0.0.1:9100)", text);
      },
      "IP:PORT");
}

void RaiseDescriptorLimit() {
  rlimit limit{};
  if (getrlimit(RLIMIT_NOFILE, &limit) != 0 || limit.rlim_cur >= limit.rlim_max) return;
  const rlim_t before = limit.rlim_cur;
  limit.rlim_cur = limit.rlim_max;
  if (setrlimit(RLIMIT_NOFILE, &limit) == 0) {
    spdlog::debug("open files limit raised from {} to {}", before, limit.rlim_cur);
  }
}

}  // namespace ringv8::tools
