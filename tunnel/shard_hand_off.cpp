#include "tunnel/shard_hand_off.h"

#include <stdexcept>

namespace ringv8::tunnel {

ShardHandOff::ShardHandOff(uint32_t shards, size_t max_pending) : max_pending_(max_pending) {
  if (shards == 0) throw std::invalid_argument("a relay has at least one shard");
  for (uint32_t i = 0; i < shards; ++i) targets_.push_back(std::make_unique<Target>());
}

void ShardHandOff::Attach(uint32_t index, EventLoop& loop, TunnelCommunity& community) {
  Target& target = *targets_.at(index);
  std::lock_guard lock(target.mutex);
  target.loop = &loop;
  target.community = &community;
}

void ShardHandOff::Detach(uint32_t index) {
  Target& target = *targets_.at(index);
  std::lock_guard lock(target.mutex);
  target.loop = nullptr;
  target.community = nullptr;
}

bool ShardHandOff::Post(uint32_t shard, TunnelCommunity::ShardTask task) {
  if (shard >= targets_.size()) return false;
  Target& target = *targets_[shard];
  std::lock_guard lock(target.mutex);
  if (target.loop == nullptr || target.pending.load(std::memory_order_relaxed) >= max_pending_) {
    return false;
  }
  target.pending.fetch_add(1, std::memory_order_relaxed);
  target.loop->Post([&target, task = std::move(task)] {
    target.pending.fetch_sub(1, std::memory_order_relaxed);
    // On the target's thread, which alone detaches it: no lock needed to read the pointer.
    if (target.community != nullptr) task(*target.community);
  });
  return true;
}

}  // namespace ringv8::tunnel
