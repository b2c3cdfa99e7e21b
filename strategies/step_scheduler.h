// StepScheduler: runs DiscoveryStrategy steps strictly one at a time, spread evenly over the walk
// interval (IPv8's rule that the communities sharing a socket never burst it together).
//
// Guarantees:
//  1. One at a time: at most one TakeStep runs at any instant among the schedulers that share a
//     StepGate (its own unless Options::gate names a shared one), on any thread; a driver that
//     finds the gate taken does nothing.
//  2. Paced: each registered strategy owns one slot per interval; slots are interval/N apart.
//     A strategy at or above its target_peers lets its slot pass (counted as a skip), so every
//     eligible strategy is stepped exactly once per interval. (py-ipv8's `interval // N` is 0
//     below one second, so its strategies run back to back.)
//  3. Lock-free registration: Add and Remove from any thread, and from inside a step. No step
//     runs on a strategy after Remove returns (Remove waits for a step of it running on another
//     thread; inside its own step it returns at once and the step is the last).
//  4. Isolated failures: a step that throws is counted and logged (rate-limited). A step that
//     overruns its slot delays the next one; there are no catch-up bursts.
//  5. Observable: steps, skips, failures and time per strategy; the lag behind plan.
// A dispatch is O(1) (amortised over free slots) and allocates nothing.
//
// A scheduler serves one loop: Attach it to the loop whose thread owns the strategies' overlays
// (the strategies it steps are thread-affine to that loop).
// Thread-safe: Add, Remove, StepOnce, stats. Attach/Detach: on the loop's thread.
#ifndef RINGV8_STRATEGIES_STEP_SCHEDULER_H_
#define RINGV8_STRATEGIES_STEP_SCHEDULER_H_

#include <atomic>
#include <cstdint>
#include <memory>
#include <optional>

#include "ring/event_loop.h"
#include "strategies/discovery_strategy.h"
#include "strategies/step_gate.h"

namespace ringv8::strategies {

class StepScheduler {
 public:
  struct Options {
    Duration interval = std::chrono::milliseconds(500);
    uint32_t capacity = 16384;  // Strategies registered at most.
    // Not owned: a gate shared with other schedulers whose steps must not overlap with this
    // one's. Null: the scheduler's own.
    StepGate* gate = nullptr;
  };
  struct StrategyStats {
    uint64_t steps = 0;
    uint64_t skips = 0;     // Slots passed at target_peers.
    uint64_t failures = 0;  // Steps that threw.
    Duration time{0};       // Spent in TakeStep.
  };
  // Identifies one registration; 0 is never valid.
  using Handle = uint64_t;

  StepScheduler();
  explicit StepScheduler(Options options);
  ~StepScheduler();
  StepScheduler(const StepScheduler&) = delete;
  StepScheduler& operator=(const StepScheduler&) = delete;

  // Registers `strategy` (not owned; it must outlive its registration). target_peers -1: always
  // step. Returns 0 when the scheduler is full.
  Handle Add(DiscoveryStrategy* strategy, int target_peers);
  // False for an unknown or already removed handle.
  bool Remove(Handle handle);
  // One dispatch: the next slot's strategy steps (if eligible and no step runs anywhere).
  // Returns true if a step ran.
  bool StepOnce();

  // Drives the scheduler from `loop`'s timers (on virtual time too). Detach before destroying
  // the loop.
  void Attach(EventLoop& loop);
  void Detach();

  size_t size() const { return active_.load(std::memory_order_relaxed); }
  Duration interval() const { return options_.interval; }
  std::optional<StrategyStats> stats(Handle handle) const;
  // How far dispatches ran behind their planned start: the latest and the largest.
  Duration last_lag() const { return Duration(last_lag_ns_.load(std::memory_order_relaxed)); }
  Duration max_lag() const { return Duration(max_lag_ns_.load(std::memory_order_relaxed)); }

 private:
  struct Slot;
  uint32_t AcquireSlot();
  void ReleaseSlot(uint32_t index);
  void OnTick();
  void RecordLag(Duration lag);

  Options options_;
  StepGate own_gate_;
  StepGate* gate_;  // options_.gate or &own_gate_.
  std::unique_ptr<Slot[]> slots_;
  std::unique_ptr<std::atomic<uint32_t>[]> next_free_;
  std::atomic<uint64_t> free_head_{0};   // (tag << 32) | (index + 1); 0 = empty.
  std::atomic<uint32_t> high_water_{0};  // Slots ever used.
  std::atomic<uint32_t> active_{0};
  std::atomic<uint64_t> cursor_{0};
  std::atomic<int64_t> last_lag_ns_{0};
  std::atomic<int64_t> max_lag_ns_{0};

  EventLoop* loop_ = nullptr;  // Not owned.
  EventLoop::TimerId timer_ = 0;
  TimePoint planned_{0};
};

}  // namespace ringv8::strategies

#endif  // RINGV8_STRATEGIES_STEP_SCHEDULER_H_
