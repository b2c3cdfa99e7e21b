// RandomChurn (spec 6.3): looks at sample_size peers of the whole network per step, pings the
// inactive (or not yet measured) ones and removes those that stay silent past drop_time after a
// ping. Unlike py-ipv8: a peer that has never answered (last_response 0) is measured from its
// creation instead of being kept forever, and peers are visited round-robin instead of by random
// sample, so a silent peer is dropped within drop_time plus one round (ceil(peers / sample_size)
// steps).
// PeriodicSimilarity (spec 6.4): at most once a second, a similarity request to a random peer.
// Both need a DiscoveryCommunity. Thread-compatible; steps run on the overlay's loop thread.
#ifndef RINGV8_STRATEGIES_RANDOM_CHURN_H_
#define RINGV8_STRATEGIES_RANDOM_CHURN_H_

#include <optional>
#include <unordered_map>

#include "overlay/discovery_community.h"
#include "strategies/discovery_strategy.h"

namespace ringv8::strategies {

struct RandomChurnOptions {
  int sample_size = 8;
  double ping_interval = 10.0;  // Seconds.
  double inactive_time = 27.5;
  double drop_time = 57.5;
};

class RandomChurn final : public DiscoveryStrategy {
 public:
  explicit RandomChurn(overlay::DiscoveryCommunity* overlay, RandomChurnOptions options = {})
      : DiscoveryStrategy(overlay), discovery_(overlay), options_(options) {}
  const char* name() const override { return "RandomChurn"; }
  void TakeStep() override;

 private:
  overlay::DiscoveryCommunity* discovery_;  // Not owned.
  RandomChurnOptions options_;
  std::unordered_map<Address, TimePoint> pinged_;
  size_t cursor_ = 0;
};

class PeriodicSimilarity final : public DiscoveryStrategy {
 public:
  explicit PeriodicSimilarity(overlay::DiscoveryCommunity* overlay)
      : DiscoveryStrategy(overlay), discovery_(overlay) {}
  const char* name() const override { return "PeriodicSimilarity"; }
  void TakeStep() override;

 private:
  overlay::DiscoveryCommunity* discovery_;  // Not owned.
  std::optional<TimePoint> last_step_;
};

}  // namespace ringv8::strategies

#endif  // RINGV8_STRATEGIES_RANDOM_CHURN_H_
