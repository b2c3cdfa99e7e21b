#include "strategies/step_scheduler.h"

#include <algorithm>
#include <atomic>
#include <random>
#include <stdexcept>
#include <thread>
#include <vector>

#include <gtest/gtest.h>

#include "tests/testing/simulation.h"

namespace ringv8::strategies {
namespace {

using std::chrono::milliseconds;

// A strategy with no overlay that records what happens to it.
class Probe : public DiscoveryStrategy {
 public:
  Probe() : DiscoveryStrategy(nullptr) {}
  const char* name() const override { return "Probe"; }
  void TakeStep() override {
    const int running = in_step.fetch_add(1) + 1;
    int seen = max_in_step.load();
    while (running > seen && !max_in_step.compare_exchange_weak(seen, running)) {
    }
    if (!registered.load()) violations.fetch_add(1);  // Stepped after Remove returned.
    steps.fetch_add(1);
    if (on_step) on_step();
    in_step.fetch_sub(1);
  }
  static std::atomic<int> in_step;
  static std::atomic<int> max_in_step;
  static std::atomic<int> violations;
  std::atomic<bool> registered{false};
  std::atomic<int> steps{0};
  std::function<void()> on_step;
};
std::atomic<int> Probe::in_step{0};
std::atomic<int> Probe::max_in_step{0};
std::atomic<int> Probe::violations{0};

TEST(StepScheduler, OneStepAtATimeWhileThreadsDriveAddAndRemove) {
  StepScheduler scheduler;
  Probe::max_in_step = 0;
  Probe::violations = 0;
  std::atomic<bool> stop{false};
  std::atomic<uint64_t> dispatched{0};
  std::vector<std::thread> threads;
  for (int d = 0; d < 3; ++d) {
    threads.emplace_back([&] {
      while (!stop) dispatched += scheduler.StepOnce() ? 1 : 0;
    });
  }
  // Two registrars, each with its own strategies, adding and removing at random.
  std::vector<std::unique_ptr<Probe>> pools[2];
  for (auto& pool : pools) {
    for (int i = 0; i < 32; ++i) pool.push_back(std::make_unique<Probe>());
  }
  for (int r = 0; r < 2; ++r) {
    threads.emplace_back([&, r] {
      std::mt19937 rng(r + 1);
      std::vector<StepScheduler::Handle> handles(pools[r].size(), 0);
      while (!stop) {
        const size_t i = rng() % pools[r].size();
        Probe& probe = *pools[r][i];
        if (handles[i] == 0) {
          probe.registered = true;
          handles[i] = scheduler.Add(&probe, -1);
        } else {
          EXPECT_TRUE(scheduler.Remove(handles[i]));
          probe.registered = false;  // From here on it must never step.
          handles[i] = 0;
        }
      }
      for (size_t i = 0; i < handles.size(); ++i) {
        if (handles[i] != 0) {
          EXPECT_TRUE(scheduler.Remove(handles[i]));
        }
        pools[r][i]->registered = false;
      }
    });
  }
  std::this_thread::sleep_for(milliseconds(1500));
  stop = true;
  for (auto& t : threads) t.join();
  EXPECT_GT(dispatched.load(), 1000u);
  EXPECT_EQ(Probe::max_in_step.load(), 1);
  EXPECT_EQ(Probe::violations.load(), 0);
  EXPECT_EQ(scheduler.size(), 0u);
}

TEST(StepScheduler, SchedulersSharingAGateNeverStepTogetherOthersAreIndependent) {
  StepGate shared;
  StepScheduler first({.gate = &shared}), second({.gate = &shared}), third({.gate = &shared}), own;
  Probe counting;
  counting.registered = true;
  second.Add(&counting, -1);
  own.Add(&counting, -1);

  // A step of `first` drives `second`, which shares its gate: it may not step meanwhile.
  Probe into_second;
  into_second.registered = true;
  bool second_ran = true;
  into_second.on_step = [&] { second_ran = second.StepOnce(); };
  first.Add(&into_second, -1);
  EXPECT_TRUE(first.StepOnce());
  EXPECT_FALSE(second_ran);

  // A step of `third` drives `own`, which has its own gate: it is not held up.
  Probe into_own;
  into_own.registered = true;
  bool own_ran = false;
  into_own.on_step = [&] { own_ran = own.StepOnce(); };
  third.Add(&into_own, -1);
  EXPECT_TRUE(third.StepOnce());
  EXPECT_TRUE(own_ran);
  EXPECT_EQ(counting.steps.load(), 1);

  EXPECT_TRUE(second.StepOnce());  // The gate was left open after each step.
  EXPECT_EQ(counting.steps.load(), 2);
}

TEST(StepScheduler, SpreadsAThousandStrategiesEvenlyOverTheInterval) {
  ::ringv8::testing::Simulation sim;
  auto& clock = sim.clock;
  auto& loop = sim.loop;
  StepScheduler scheduler;  // 0.5 s interval.
  constexpr int kStrategies = 1000;
  std::vector<std::unique_ptr<Probe>> probes;
  std::vector<TimePoint> starts;
  std::vector<std::vector<TimePoint>> per_strategy(kStrategies);
  for (int i = 0; i < kStrategies; ++i) {
    probes.push_back(std::make_unique<Probe>());
    probes.back()->registered = true;
    probes.back()->on_step = [&, i] {
      starts.push_back(clock.Now());
      per_strategy[i].push_back(clock.Now());
    };
    ASSERT_NE(scheduler.Add(probes.back().get(), -1), 0u);
  }
  scheduler.Attach(*loop);
  loop->RunFor(milliseconds(500) * 10);
  scheduler.Detach();
  const Duration gap = Duration(milliseconds(500)) / kStrategies;
  ASSERT_GE(starts.size(), 10u * kStrategies);
  for (size_t i = 1; i < starts.size(); ++i) {
    const Duration d = starts[i] - starts[i - 1];
    ASSERT_GE(d, gap * 9 / 10) << i;
    ASSERT_LE(d, gap * 11 / 10) << i;
  }
  for (const auto& times : per_strategy) {
    ASSERT_GE(times.size(), 10u);
    for (size_t i = 1; i < times.size(); ++i) EXPECT_EQ(times[i] - times[i - 1], milliseconds(500));
  }
  EXPECT_EQ(scheduler.max_lag(), Duration(0));
}

TEST(StepScheduler, AStrategyMayRemoveItselfInsideItsStep) {
  StepScheduler scheduler;
  Probe probe;
  probe.registered = true;
  StepScheduler::Handle handle = scheduler.Add(&probe, -1);
  probe.on_step = [&] {
    if (probe.steps == 2) {
      EXPECT_TRUE(scheduler.Remove(handle));
      probe.registered = false;
    }
  };
  probe.registered = true;
  for (int i = 0; i < 10; ++i) scheduler.StepOnce();
  EXPECT_EQ(probe.steps.load(), 2);
  EXPECT_EQ(scheduler.size(), 0u);
  EXPECT_FALSE(scheduler.Remove(handle));
  // The slot is free again and reused.
  Probe other;
  other.registered = true;
  EXPECT_NE(scheduler.Add(&other, -1), 0u);
  scheduler.StepOnce();
  EXPECT_EQ(other.steps.load(), 1);
}

TEST(StepScheduler, RemoveWaitsForAStepRunningOnAnotherThread) {
  StepScheduler scheduler;
  Probe probe;
  probe.registered = true;
  std::atomic<bool> started{false}, running{false};
  probe.on_step = [&] {
    running = true;
    started = true;
    std::this_thread::sleep_for(milliseconds(100));
    running = false;
  };
  StepScheduler::Handle handle = scheduler.Add(&probe, -1);
  std::thread driver([&] { scheduler.StepOnce(); });
  while (!started) std::this_thread::yield();
  EXPECT_TRUE(scheduler.Remove(handle));
  EXPECT_FALSE(running.load());  // Remove returned only after the step ended.
  driver.join();
  scheduler.StepOnce();
  EXPECT_EQ(probe.steps.load(), 1);
}

class Thrower final : public DiscoveryStrategy {
 public:
  Thrower() : DiscoveryStrategy(nullptr) {}
  const char* name() const override { return "Thrower"; }
  void TakeStep() override { throw std::runtime_error("broken strategy"); }
};

TEST(StepScheduler, FailuresAreCountedAndOthersGoOn) {
  StepScheduler scheduler;
  Thrower thrower;
  Probe probe;
  probe.registered = true;
  auto bad = scheduler.Add(&thrower, -1);
  auto good = scheduler.Add(&probe, -1);
  for (int i = 0; i < 10; ++i) scheduler.StepOnce();
  EXPECT_EQ(scheduler.stats(bad)->failures, 5u);
  EXPECT_EQ(scheduler.stats(bad)->steps, 5u);
  EXPECT_EQ(scheduler.stats(good)->steps, 5u);
  EXPECT_EQ(probe.steps.load(), 5);
}

TEST(StepScheduler, StrategiesAtTheirTargetAreSkipped) {
  StepScheduler scheduler;
  Probe satisfied, hungry;
  satisfied.registered = hungry.registered = true;
  auto s = scheduler.Add(&satisfied, 0);  // Peer count 0 >= target 0: skipped.
  auto h = scheduler.Add(&hungry, 1);
  for (int i = 0; i < 10; ++i) scheduler.StepOnce();
  EXPECT_EQ(scheduler.stats(s)->skips, 5u);
  EXPECT_EQ(scheduler.stats(s)->steps, 0u);
  EXPECT_EQ(scheduler.stats(h)->steps, 5u);
  EXPECT_EQ(satisfied.steps.load(), 0);
}

TEST(StepScheduler, AnOverrunDelaysTheNextStepWithoutABurst) {
  ::ringv8::testing::Simulation sim;
  auto& clock = sim.clock;
  auto& loop = sim.loop;
  StepScheduler scheduler;
  std::vector<std::unique_ptr<Probe>> probes;
  std::vector<TimePoint> starts;
  for (int i = 0; i < 10; ++i) {
    probes.push_back(std::make_unique<Probe>());
    probes.back()->registered = true;
    probes.back()->on_step = [&, i] {
      starts.push_back(clock.Now());
      if (i == 3 && starts.size() < 10) clock.Advance(milliseconds(200));  // Overruns 4 slots.
    };
    scheduler.Add(probes.back().get(), -1);
  }
  scheduler.Attach(*loop);
  loop->RunFor(milliseconds(2000));
  scheduler.Detach();
  const Duration gap = milliseconds(50);
  for (size_t i = 1; i < starts.size(); ++i) {
    EXPECT_GE(starts[i] - starts[i - 1], gap) << "step " << i << " came in a burst";
  }
  EXPECT_GT(scheduler.max_lag(), Duration(0));
}

TEST(StepScheduler, AFullSchedulerRefusesMore) {
  StepScheduler scheduler({.capacity = 2});
  Probe a, b, c;
  EXPECT_NE(scheduler.Add(&a, -1), 0u);
  auto hb = scheduler.Add(&b, -1);
  EXPECT_NE(hb, 0u);
  EXPECT_EQ(scheduler.Add(&c, -1), 0u);
  EXPECT_TRUE(scheduler.Remove(hb));
  EXPECT_NE(scheduler.Add(&c, -1), 0u);
}

}  // namespace
}  // namespace ringv8::strategies
