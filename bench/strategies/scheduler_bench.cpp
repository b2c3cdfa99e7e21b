// StepScheduler costs: one dispatch (finding the next slot, the eligibility check, the one-at-a-
// time flag, the bookkeeping) with a no-op step, at 10, 1,000 and 10,000 registered strategies
// (target: at most 1 us at 10,000); and Add + Remove under contention from 1 and 4 threads.
#include <memory>
#include <vector>

#include <benchmark/benchmark.h>

#include "strategies/step_scheduler.h"

namespace ringv8::strategies {
namespace {

class NoOp final : public DiscoveryStrategy {
 public:
  NoOp() : DiscoveryStrategy(nullptr) {}
  const char* name() const override { return "NoOp"; }
  void TakeStep() override { benchmark::ClobberMemory(); }
};

void BM_Strategies_Dispatch(benchmark::State& state) {
  StepScheduler scheduler({.capacity = 16384});
  std::vector<std::unique_ptr<NoOp>> strategies;
  for (int64_t i = 0; i < state.range(0); ++i) {
    strategies.push_back(std::make_unique<NoOp>());
    scheduler.Add(strategies.back().get(), -1);
  }
  for (auto _ : state) benchmark::DoNotOptimize(scheduler.StepOnce());
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_Strategies_Dispatch)->Arg(10)->Arg(1000)->Arg(10000);

StepScheduler* g_shared = nullptr;

void BM_Strategies_AddRemove(benchmark::State& state) {
  if (state.thread_index() == 0) g_shared = new StepScheduler({.capacity = 16384});
  NoOp strategy;
  // Each thread adds and removes its own strategy; all share one scheduler.
  for (auto _ : state) {
    auto handle = g_shared->Add(&strategy, -1);
    benchmark::DoNotOptimize(g_shared->Remove(handle));
  }
  state.SetItemsProcessed(state.iterations());
  if (state.thread_index() == 0) {
    delete g_shared;
    g_shared = nullptr;
  }
}
BENCHMARK(BM_Strategies_AddRemove)->Threads(1)->Threads(4)->UseRealTime();

}  // namespace
}  // namespace ringv8::strategies

BENCHMARK_MAIN();
