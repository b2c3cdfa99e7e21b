// RandomWalk (spec 6.1): walk to a random walkable address of the overlay, at most window_size
// outstanding at a time; an address that does not answer within `timeout` is forgotten; with
// probability reset_chance/256 (or when nothing is walkable) ask a known peer for a new one.
// Thread-compatible; steps run on the overlay's loop thread.
#ifndef RINGV8_STRATEGIES_RANDOM_WALK_H_
#define RINGV8_STRATEGIES_RANDOM_WALK_H_

#include <optional>
#include <unordered_map>

#include "strategies/discovery_strategy.h"

namespace ringv8::strategies {

struct RandomWalkOptions {
  double timeout = 3.0;  // Seconds.
  int window_size = 5;
  int reset_chance = 50;         // Out of 256.
  double target_interval = 0.0;  // Seconds between steps that walk; 0: every step.
};

class RandomWalk final : public DiscoveryStrategy {
 public:
  explicit RandomWalk(overlay::Community* overlay, RandomWalkOptions options = {})
      : DiscoveryStrategy(overlay), options_(options) {}
  const char* name() const override { return "RandomWalk"; }
  void TakeStep() override;
  size_t outstanding() const { return intro_timeouts_.size(); }

 private:
  RandomWalkOptions options_;
  std::unordered_map<Address, TimePoint> intro_timeouts_;
  std::optional<TimePoint> last_step_;
};

}  // namespace ringv8::strategies

#endif  // RINGV8_STRATEGIES_RANDOM_WALK_H_
