// Clocks for the event loop: the monotonic system clock, and a virtual clock that tests and
// simulations move by hand so that every run is deterministic.
//
// MonotonicClock is thread-safe. VirtualClock is thread-compatible: set it only on the thread that
// runs the loop which reads it.
#ifndef RINGV8_RING_CLOCK_H_
#define RINGV8_RING_CLOCK_H_

#include <chrono>

namespace ringv8 {

using Duration = std::chrono::nanoseconds;
// Time since an arbitrary origin (boot for the monotonic clock, 0 for a virtual clock).
using TimePoint = std::chrono::nanoseconds;

class Clock {
 public:
  virtual ~Clock() = default;
  virtual TimePoint Now() const = 0;
};

class MonotonicClock final : public Clock {
 public:
  TimePoint Now() const override;
  // The process-wide instance.
  static MonotonicClock& Get();
};

class VirtualClock final : public Clock {
 public:
  explicit VirtualClock(TimePoint start = TimePoint(0)) : now_(start) {}
  TimePoint Now() const override { return now_; }
  // Time never goes backwards: earlier values are ignored.
  void Set(TimePoint now) {
    if (now > now_) now_ = now;
  }
  void Advance(Duration d) { Set(now_ + d); }

 private:
  TimePoint now_;
};

// Seconds as a Duration (IPv8 configures intervals in float seconds).
inline Duration Seconds(double s) {
  return std::chrono::duration_cast<Duration>(std::chrono::duration<double>(s));
}

// The seconds from `then` to `now`.
inline double SecondsSince(TimePoint then, TimePoint now) {
  return std::chrono::duration<double>(now - then).count();
}

}  // namespace ringv8

#endif  // RINGV8_RING_CLOCK_H_
