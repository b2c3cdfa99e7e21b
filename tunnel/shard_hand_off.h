// ShardHandOff: how the TunnelCommunity shards of one relay pass each other work (a cell that
// landed on the wrong shard, a DESTROY that arrived at shard 0) for a circuit another shard owns
// (TunnelCommunity::SetShard). A task for shard k is posted to k's event loop and runs there, with
// k's community, on k's thread: no circuit state is ever touched by two threads.
//
// Bounded: at most `max_pending` tasks wait per shard; beyond that Post refuses and the sender
// counts handoff_dropped. Steered cells never come here: this is the rare path, and it takes only
// the target shard's own mutex (and EventLoop::Post's), never a lock shared by all shards.
//
// Thread-safety: Post from any shard's thread; Attach and Detach on the shard's own thread (after
// building its community, before destroying it). A task queued for a shard that detaches or whose
// loop stops is dropped with the loop's queue, never run.
#ifndef RINGV8_TUNNEL_SHARD_HAND_OFF_H_
#define RINGV8_TUNNEL_SHARD_HAND_OFF_H_

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <mutex>
#include <vector>

#include "ring/event_loop.h"
#include "tunnel/tunnel_community.h"

namespace ringv8::tunnel {

class ShardHandOff {
 public:
  static constexpr size_t kDefaultMaxPending = 4096;

  explicit ShardHandOff(uint32_t shards, size_t max_pending = kDefaultMaxPending);
  ShardHandOff(const ShardHandOff&) = delete;
  ShardHandOff& operator=(const ShardHandOff&) = delete;

  uint32_t shards() const { return static_cast<uint32_t>(targets_.size()); }
  void Attach(uint32_t index, EventLoop& loop, TunnelCommunity& community);
  void Detach(uint32_t index);
  // Queues `task` for shard `shard`; false if that shard is not attached or has max_pending
  // tasks waiting.
  bool Post(uint32_t shard, TunnelCommunity::ShardTask task);
  // What TunnelCommunity::SetShard takes: Post on this object (which must outlive the shards).
  TunnelCommunity::HandOff Function() {
    return [this](uint32_t shard, TunnelCommunity::ShardTask task) {
      return Post(shard, std::move(task));
    };
  }

 private:
  struct Target {
    std::mutex mutex;  // Guards loop and community against Attach/Detach.
    EventLoop* loop = nullptr;
    TunnelCommunity* community = nullptr;  // Read by tasks on the target's own thread.
    std::atomic<size_t> pending{0};
  };
  const size_t max_pending_;
  std::vector<std::unique_ptr<Target>> targets_;
};

}  // namespace ringv8::tunnel

#endif  // RINGV8_TUNNEL_SHARD_HAND_OFF_H_
