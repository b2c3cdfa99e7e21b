#include "strategies/step_scheduler.h"

#include <algorithm>
#include <exception>

#include <spdlog/spdlog.h>

namespace ringv8::strategies {

namespace {

// The slot whose step runs on this thread, so that Remove inside a step does not wait on itself.
thread_local const void* t_current_slot = nullptr;

constexpr uint32_t kFree = 0, kActive = 1, kRemoved = 2;

}  // namespace

struct StepScheduler::Slot {
  // Every field is atomic: slots are read by drivers on any thread while others register.
  std::atomic<uint32_t> state{kFree};
  std::atomic<uint32_t> generation{0};
  std::atomic<bool> stepping{false};
  std::atomic<bool> free_after_step{false};  // Removed from inside its own step.
  std::atomic<DiscoveryStrategy*> strategy{nullptr};
  std::atomic<int> target{-1};
  std::atomic<uint64_t> steps{0}, skips{0}, failures{0};
  std::atomic<int64_t> nanos{0};
};

StepScheduler::StepScheduler() : StepScheduler(Options()) {}

StepScheduler::StepScheduler(Options options)
    : options_(options),
      gate_(options.gate != nullptr ? options.gate : &own_gate_),
      slots_(new Slot[options.capacity]),
      next_free_(new std::atomic<uint32_t>[options.capacity]) {}

StepScheduler::~StepScheduler() { Detach(); }

uint32_t StepScheduler::AcquireSlot() {
  // A lock-free stack of freed slots; the tag in the head's upper half defeats ABA.
  uint64_t head = free_head_.load(std::memory_order_acquire);
  while ((head & 0xFFFFFFFFu) != 0) {
    const uint32_t index = static_cast<uint32_t>(head & 0xFFFFFFFFu) - 1;
    const uint64_t next =
        ((head >> 32) + 1) << 32 | next_free_[index].load(std::memory_order_relaxed);
    if (free_head_.compare_exchange_weak(head, next, std::memory_order_acq_rel,
                                         std::memory_order_acquire)) {
      return index;
    }
  }
  uint32_t fresh = high_water_.load(std::memory_order_relaxed);
  while (fresh < options_.capacity) {
    if (high_water_.compare_exchange_weak(fresh, fresh + 1, std::memory_order_acq_rel)) {
      return fresh;
    }
  }
  return UINT32_MAX;
}

void StepScheduler::ReleaseSlot(uint32_t index) {
  Slot& slot = slots_[index];
  slot.strategy.store(nullptr, std::memory_order_relaxed);
  slot.state.store(kFree, std::memory_order_release);
  uint64_t head = free_head_.load(std::memory_order_acquire);
  uint64_t next;
  do {
    next_free_[index].store(static_cast<uint32_t>(head & 0xFFFFFFFFu), std::memory_order_relaxed);
    next = ((head >> 32) + 1) << 32 | (index + 1);
  } while (!free_head_.compare_exchange_weak(head, next, std::memory_order_acq_rel,
                                             std::memory_order_acquire));
}

StepScheduler::Handle StepScheduler::Add(DiscoveryStrategy* strategy, int target_peers) {
  const uint32_t index = AcquireSlot();
  if (index == UINT32_MAX) return 0;
  Slot& slot = slots_[index];
  slot.strategy.store(strategy, std::memory_order_relaxed);
  slot.target.store(target_peers, std::memory_order_relaxed);
  slot.steps.store(0, std::memory_order_relaxed);
  slot.skips.store(0, std::memory_order_relaxed);
  slot.failures.store(0, std::memory_order_relaxed);
  slot.nanos.store(0, std::memory_order_relaxed);
  const uint32_t generation = slot.generation.fetch_add(1, std::memory_order_relaxed) + 1;
  // Release: a driver that sees kActive sees the strategy and target written above.
  slot.state.store(kActive, std::memory_order_release);
  active_.fetch_add(1, std::memory_order_relaxed);
  return (uint64_t{generation} << 32) | index;
}

bool StepScheduler::Remove(Handle handle) {
  const uint32_t index = static_cast<uint32_t>(handle & 0xFFFFFFFFu);
  const uint32_t generation = static_cast<uint32_t>(handle >> 32);
  if (handle == 0 || index >= high_water_.load(std::memory_order_acquire)) return false;
  Slot& slot = slots_[index];
  if (slot.generation.load(std::memory_order_acquire) != generation) return false;
  uint32_t expected = kActive;
  // seq_cst pairs with the driver's seq_cst `stepping` store and state re-check: either the
  // driver sees kRemoved and does not step, or we see it stepping and wait.
  if (!slot.state.compare_exchange_strong(expected, kRemoved, std::memory_order_seq_cst)) {
    return false;
  }
  active_.fetch_sub(1, std::memory_order_relaxed);
  if (t_current_slot == &slot) {
    slot.free_after_step.store(true, std::memory_order_relaxed);  // This is the last step.
    return true;
  }
  while (slot.stepping.load(std::memory_order_seq_cst)) slot.stepping.wait(true);
  ReleaseSlot(index);
  return true;
}

bool StepScheduler::StepOnce() {
  const uint32_t count = high_water_.load(std::memory_order_acquire);
  if (count == 0 || active_.load(std::memory_order_relaxed) == 0) return false;
  if (!gate_->TryEnter()) return false;
  bool ran = false;
  // The next registered slot; free slots are passed over (the free list reuses low slots first,
  // so they stay few).
  for (uint32_t scanned = 0; scanned < count; ++scanned) {
    const uint32_t index =
        static_cast<uint32_t>(cursor_.fetch_add(1, std::memory_order_relaxed) % count);
    Slot& slot = slots_[index];
    if (slot.state.load(std::memory_order_acquire) != kActive) continue;
    slot.stepping.store(true, std::memory_order_seq_cst);
    if (slot.state.load(std::memory_order_seq_cst) != kActive) {
      slot.stepping.store(false, std::memory_order_seq_cst);
      slot.stepping.notify_all();
      continue;
    }
    DiscoveryStrategy* strategy = slot.strategy.load(std::memory_order_relaxed);
    const int target = slot.target.load(std::memory_order_relaxed);
    if (target >= 0 && strategy->GetPeerCount() >= static_cast<size_t>(target)) {
      slot.skips.fetch_add(1, std::memory_order_relaxed);
    } else {
      t_current_slot = &slot;
      const auto start = std::chrono::steady_clock::now();
      try {
        strategy->TakeStep();
      } catch (const std::exception& e) {
        const uint64_t failures = slot.failures.fetch_add(1, std::memory_order_relaxed) + 1;
        // Rate-limited: the first failures, then every 1,000th.
        if (failures <= 3 || failures % 1000 == 0) {
          spdlog::warn("strategy {} failed ({} times): {}", strategy->name(), failures, e.what());
        }
      } catch (...) {
        slot.failures.fetch_add(1, std::memory_order_relaxed);
      }
      slot.nanos.fetch_add((std::chrono::steady_clock::now() - start).count(),
                           std::memory_order_relaxed);
      slot.steps.fetch_add(1, std::memory_order_relaxed);
      t_current_slot = nullptr;
      ran = true;
    }
    slot.stepping.store(false, std::memory_order_seq_cst);
    slot.stepping.notify_all();
    if (slot.free_after_step.exchange(false, std::memory_order_relaxed)) ReleaseSlot(index);
    break;
  }
  gate_->Leave();
  return ran;
}

std::optional<StepScheduler::StrategyStats> StepScheduler::stats(Handle handle) const {
  const uint32_t index = static_cast<uint32_t>(handle & 0xFFFFFFFFu);
  if (handle == 0 || index >= high_water_.load(std::memory_order_acquire)) return std::nullopt;
  const Slot& slot = slots_[index];
  if (slot.generation.load(std::memory_order_acquire) != static_cast<uint32_t>(handle >> 32)) {
    return std::nullopt;
  }
  return StrategyStats{slot.steps.load(std::memory_order_relaxed),
                       slot.skips.load(std::memory_order_relaxed),
                       slot.failures.load(std::memory_order_relaxed),
                       Duration(slot.nanos.load(std::memory_order_relaxed))};
}

void StepScheduler::Attach(EventLoop& loop) {
  Detach();
  loop_ = &loop;
  planned_ = loop.Now();
  // One re-armable timer for the whole life of the attachment: a tick allocates nothing.
  timer_ = loop.CreateTimer([this] { OnTick(); });
  loop.ArmTimer(timer_, planned_);
}

void StepScheduler::Detach() {
  if (loop_ != nullptr) loop_->Cancel(timer_);
  loop_ = nullptr;
}

void StepScheduler::RecordLag(Duration lag) {
  const int64_t ns = std::max<int64_t>(0, lag.count());
  last_lag_ns_.store(ns, std::memory_order_relaxed);
  if (ns > max_lag_ns_.load(std::memory_order_relaxed)) {
    max_lag_ns_.store(ns, std::memory_order_relaxed);
  }
}

void StepScheduler::OnTick() {
  RecordLag(loop_->Now() - planned_);  // A late timer.
  StepOnce();
  const uint32_t n = std::max<uint32_t>(active_.load(std::memory_order_relaxed), 1);
  const Duration gap = options_.interval / n;
  // The next slot is one gap after this one was planned; after an overrun it starts when the
  // overrunning step ended, never earlier (no catch-up burst), and the delay is the lag.
  const TimePoint ideal = planned_ + gap;
  const TimePoint now = loop_->Now();
  if (now > ideal) RecordLag(now - ideal);
  planned_ = std::max(ideal, now);
  loop_->ArmTimer(timer_, planned_);
}

}  // namespace ringv8::strategies
