// Debug logging that a flood cannot turn into a flood of log lines: RINGV8_DEBUG formats and
// logs a line at spdlog's debug level (nothing is formatted at other levels), at most
// kDebugLinesPerSecond lines a second per thread after a burst of kDebugBurst; the lines over
// the budget are counted, and the next line that passes says how many were suppressed.
//
//   RINGV8_DEBUG("{}: introduction-request from {}", name, source.ToString());
//
// Thread-safe (one budget per thread).
#ifndef RINGV8_RING_DEBUG_LOG_H_
#define RINGV8_RING_DEBUG_LOG_H_

#include <string>

#include <fmt/format.h>

namespace ringv8 {

inline constexpr double kDebugLinesPerSecond = 20;
inline constexpr double kDebugBurst = 100;

// True when spdlog's default logger logs at debug (or trace).
bool DebugEnabled();
// Logs `line` at debug within this thread's budget.
void DebugLine(std::string line);

}  // namespace ringv8

#define RINGV8_DEBUG(...)                                                        \
  do {                                                                           \
    if (::ringv8::DebugEnabled()) ::ringv8::DebugLine(fmt::format(__VA_ARGS__)); \
  } while (0)

#endif  // RINGV8_RING_DEBUG_LOG_H_
