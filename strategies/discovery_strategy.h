// DiscoveryStrategy: one way of finding peers for an overlay, stepped periodically (py-ipv8's
// DiscoveryStrategy, spec 6).
//
// A strategy is a small subclass: TakeStep() does one bounded piece of work (send an introduction
// request, a ping...). GetPeerCount() tells the scheduler whether the overlay still needs peers.
// walk_lock() is py-ipv8's walk_lock: the built-in strategies hold it during TakeStep, as
// py-ipv8's do, so code on another thread that touches a strategy's state can take it too.
//
//   class HelloWalk final : public DiscoveryStrategy {  // "pick a peer, ask it for another"
//    public:
//     using DiscoveryStrategy::DiscoveryStrategy;
//     const char* name() const override { return "HelloWalk"; }
//     void TakeStep() override {
//       const auto& peers = overlay()->GetPeers();
//       if (peers.empty()) return;
//       auto i = std::uniform_int_distribution<size_t>(0, peers.size() - 1)(overlay()->random());
//       overlay()->SendIntroductionRequest(*peers[i]);
//     }
//   };
//
// Thread-compatible; TakeStep runs on the overlay's loop thread.
#ifndef RINGV8_STRATEGIES_DISCOVERY_STRATEGY_H_
#define RINGV8_STRATEGIES_DISCOVERY_STRATEGY_H_

#include <cstddef>
#include <mutex>

#include "overlay/community.h"

namespace ringv8::strategies {

class DiscoveryStrategy {
 public:
  // `overlay` is not owned and may be null (a strategy that serves no overlay).
  explicit DiscoveryStrategy(overlay::Community* overlay) : overlay_(overlay) {}
  virtual ~DiscoveryStrategy() = default;
  DiscoveryStrategy(const DiscoveryStrategy&) = delete;
  DiscoveryStrategy& operator=(const DiscoveryStrategy&) = delete;

  virtual const char* name() const = 0;
  virtual void TakeStep() = 0;
  // The overlay's peer count (0 without an overlay).
  virtual size_t GetPeerCount() const {
    return overlay_ != nullptr ? overlay_->GetPeers().size() : 0;
  }

  overlay::Community* overlay() const { return overlay_; }
  std::mutex& walk_lock() { return walk_lock_; }

 private:
  overlay::Community* overlay_;  // Not owned.
  std::mutex walk_lock_;
};

}  // namespace ringv8::strategies

#endif  // RINGV8_STRATEGIES_DISCOVERY_STRATEGY_H_
