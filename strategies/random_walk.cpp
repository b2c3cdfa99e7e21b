#include "strategies/random_walk.h"

#include <algorithm>
#include <mutex>
#include <random>

namespace ringv8::strategies {

void RandomWalk::TakeStep() {
  std::lock_guard lock(walk_lock());  // As py-ipv8's strategies take their walk_lock.
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
  // py-ipv8: a random choice among the walkable addresses not waiting for an answer.
  auto& random = community.random();
  const Address* available = network.RandomWalkableAddress(
      &community.community_id(), random,
      [this](const Address& a) { return !intro_timeouts_.contains(a); });
  if (available != nullptr &&
      std::uniform_int_distribution<int>(0, 255)(random) >= options_.reset_chance) {
    const Address target = *available;  // WalkTo may change the table.
    community.WalkTo(target);
    intro_timeouts_[target] = now;
  } else {
    community.GetNewIntroduction();
  }
  last_step_ = now;
}

}  // namespace ringv8::strategies
