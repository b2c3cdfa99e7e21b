#include "strategies/random_walk.h"

#include <algorithm>
#include <random>

namespace ringv8::strategies {

void RandomWalk::TakeStep() {
  overlay::Community& community = *overlay();
  overlay::Network& network = community.network();
  const TimePoint now = community.loop().Now();
  for (auto it = intro_timeouts_.begin(); it != intro_timeouts_.end();) {
    if (it->second + Seconds(options_.timeout) < now) {
      // No answer in time: forget the address unless a verified peer owns it.
      if (network.GetVerifiedByAddress(it->first) == nullptr) network.RemoveByAddress(it->first);
      it = intro_timeouts_.erase(it);
    } else {
      ++it;
    }
  }
  if (options_.target_interval > 0 && last_step_ &&
      *last_step_ + Seconds(options_.target_interval) >= now) {
    return;
  }
  if (options_.window_size > 0 &&
      intro_timeouts_.size() >= static_cast<size_t>(options_.window_size)) {
    return;
  }
  std::vector<Address> available = community.GetWalkableAddresses();
  std::erase_if(available, [this](const Address& a) { return intro_timeouts_.contains(a); });
  auto& random = community.random();
  if (!available.empty() &&
      std::uniform_int_distribution<int>(0, 255)(random) >= options_.reset_chance) {
    const Address& target =
        available[std::uniform_int_distribution<size_t>(0, available.size() - 1)(random)];
    community.WalkTo(target);
    intro_timeouts_[target] = now;
  } else {
    community.GetNewIntroduction();
  }
  last_step_ = now;
}

}  // namespace ringv8::strategies
