// StepGate: lets at most one strategy step run at a time among the StepSchedulers that share it
// (IPv8 calls its DiscoveryStrategy instances one at a time). Each StepScheduler owns one unless
// it is given one to share; a Node owns its scheduler, and the nodes on one loop share a
// scheduler, so their steps never overlap.
//
// Thread-safe, lock-free.
#ifndef RINGV8_STRATEGIES_STEP_GATE_H_
#define RINGV8_STRATEGIES_STEP_GATE_H_

#include <atomic>

namespace ringv8::strategies {

class StepGate {
 public:
  StepGate() = default;
  StepGate(const StepGate&) = delete;
  StepGate& operator=(const StepGate&) = delete;

  // True if the caller may step now (and must Leave() afterwards); false while a step runs.
  // Acquire/release: a step sees everything the previous step on any thread wrote.
  bool TryEnter() { return !running_.exchange(true, std::memory_order_acquire); }
  void Leave() { running_.store(false, std::memory_order_release); }

 private:
  std::atomic<bool> running_{false};
};

}  // namespace ringv8::strategies

#endif  // RINGV8_STRATEGIES_STEP_GATE_H_
