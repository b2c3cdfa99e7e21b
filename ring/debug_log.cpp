#include "ring/debug_log.h"

#include <algorithm>
#include <chrono>
#include <cstdint>

#include <spdlog/spdlog.h>

namespace ringv8 {

bool DebugEnabled() { return spdlog::should_log(spdlog::level::debug); }

void DebugLine(std::string line) {
  using Clock = std::chrono::steady_clock;
  thread_local double tokens = kDebugBurst;
  thread_local Clock::time_point last = Clock::now();
  thread_local uint64_t suppressed = 0;
  const Clock::time_point now = Clock::now();
  tokens = std::min(kDebugBurst, tokens + std::chrono::duration<double>(now - last).count() *
                                              kDebugLinesPerSecond);
  last = now;
  if (tokens < 1) {
    ++suppressed;
    return;
  }
  tokens -= 1;
  if (suppressed > 0) {
    spdlog::debug("({} debug lines suppressed: over {:.0f} a second)", suppressed,
                  kDebugLinesPerSecond);
    suppressed = 0;
  }
  spdlog::debug("{}", line);
}

}  // namespace ringv8
