// The scheduler allocates nothing per step: counted by replacing operator new in this binary.
#include <atomic>
#include <cstdlib>
#include <new>
#include <vector>

#include <gtest/gtest.h>

#include "strategies/step_scheduler.h"

namespace {
std::atomic<long> g_allocations{0};
}  // namespace

// The replacements pair malloc with free; GCC cannot see that and warns at the call sites.
#pragma GCC diagnostic ignored "-Wmismatched-new-delete"

void* operator new(std::size_t size) {
  g_allocations.fetch_add(1, std::memory_order_relaxed);  // A count only.
  if (void* p = std::malloc(size == 0 ? 1 : size)) return p;
  throw std::bad_alloc();
}
void operator delete(void* p) noexcept { std::free(p); }
void operator delete(void* p, std::size_t) noexcept { std::free(p); }

namespace ringv8::strategies {
namespace {

class NoOp final : public DiscoveryStrategy {
 public:
  NoOp() : DiscoveryStrategy(nullptr) {}
  const char* name() const override { return "NoOp"; }
  void TakeStep() override { ++steps; }
  int steps = 0;
};

TEST(StepSchedulerAllocations, TenThousandStepsAllocateNothing) {
  VirtualClock clock;
  auto loop = std::move(
      *EventLoop::Create({.backend = EventLoop::Backend::kEpoll, .virtual_clock = &clock}));
  StepScheduler scheduler;
  std::vector<NoOp> strategies(1000);
  for (auto& s : strategies) scheduler.Add(&s, -1);
  scheduler.Attach(*loop);
  loop->RunFor(std::chrono::seconds(2));  // Warm up: the loop's containers reach their size.
  const long before = g_allocations.load();
  loop->RunFor(std::chrono::seconds(5));
  const long allocations = g_allocations.load() - before;
  scheduler.Detach();
  EXPECT_EQ(strategies[0].steps, 15);  // At 0, 0.5, ..., 7 s.
  EXPECT_EQ(allocations, 0);
}

}  // namespace
}  // namespace ringv8::strategies
