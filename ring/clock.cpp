#include "ring/clock.h"

#include <time.h>

namespace ringv8 {

TimePoint MonotonicClock::Now() const {
  timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return std::chrono::seconds(ts.tv_sec) + std::chrono::nanoseconds(ts.tv_nsec);
}

MonotonicClock& MonotonicClock::Get() {
  static MonotonicClock clock;
  return clock;
}

}  // namespace ringv8
