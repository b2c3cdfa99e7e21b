// TokenBucket: a rate limit on the loop's clock. It starts full, refills at `rate` tokens per
// second up to `burst`, and an action spends `cost` tokens if there are that many. The rate and
// burst are passed on each refill, so a table of buckets stores only tokens and time (16 bytes).
// A value type; thread-compatible.
#ifndef RINGV8_RING_TOKEN_BUCKET_H_
#define RINGV8_RING_TOKEN_BUCKET_H_

#include <algorithm>
#include <chrono>

#include "ring/clock.h"

namespace ringv8 {

class TokenBucket {
 public:
  TokenBucket() = default;  // Empty, at time 0: give it a full one with TokenBucket(burst, now).
  TokenBucket(double burst, TimePoint now) : tokens_(burst), last_(now) {}

  void Refill(TimePoint now, double rate, double burst) {
    tokens_ = std::min(burst, tokens_ + std::chrono::duration<double>(now - last_).count() * rate);
    last_ = now;
  }
  // Spends `cost` tokens if there are that many.
  bool Take(double cost = 1) {
    if (tokens_ < cost) return false;
    tokens_ -= cost;
    return true;
  }
  double tokens() const { return tokens_; }
  TimePoint last() const { return last_; }

 private:
  double tokens_ = 0;
  TimePoint last_{};
};

// Spends `cost` from a total and a per-item bucket only if both have it (nothing from either
// otherwise). A rate <= 0 is no limit; each bucket holds at most one second of its rate. `now()`
// reads the clock, only when a rate is set: with no limit a packet path reads no clock.
template <typename Now>
bool TakeFromBoth(Now&& now, TokenBucket& total, double total_rate, TokenBucket& item,
                  double item_rate, double cost) {
  if (total_rate <= 0 && item_rate <= 0) return true;
  const TimePoint at = now();
  if (total_rate > 0) total.Refill(at, total_rate, total_rate);
  if (item_rate > 0) item.Refill(at, item_rate, item_rate);
  if ((total_rate > 0 && total.tokens() < cost) || (item_rate > 0 && item.tokens() < cost)) {
    return false;
  }
  if (total_rate > 0) total.Take(cost);
  if (item_rate > 0) item.Take(cost);
  return true;
}

}  // namespace ringv8

#endif  // RINGV8_RING_TOKEN_BUCKET_H_
