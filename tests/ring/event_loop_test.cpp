#include "ring/event_loop.h"

#include <liburing.h>

#include <atomic>
#include <chrono>
#include <functional>
#include <thread>
#include <vector>

#include <gtest/gtest.h>

namespace ringv8 {
namespace {

using std::chrono::milliseconds;
using std::chrono::seconds;

std::unique_ptr<EventLoop> VirtualLoop(VirtualClock* clock) {
  auto loop = EventLoop::Create({.backend = EventLoop::Backend::kEpoll, .virtual_clock = clock});
  EXPECT_TRUE(loop);
  return std::move(*loop);
}

TEST(EventLoop, VirtualTimersFireInDeadlineOrder) {
  VirtualClock clock;
  auto loop = VirtualLoop(&clock);
  std::vector<int> order;
  loop->CallLater(seconds(3), [&] { order.push_back(3); });
  loop->CallLater(seconds(1), [&] { order.push_back(1); });
  loop->CallLater(seconds(2), [&] { order.push_back(2); });
  loop->RunFor(milliseconds(1500));
  EXPECT_EQ(order, (std::vector<int>{1}));
  EXPECT_EQ(clock.Now(), milliseconds(1500));
  loop->RunFor(seconds(10));
  EXPECT_EQ(order, (std::vector<int>{1, 2, 3}));
  EXPECT_EQ(loop->timer_count(), 0u);
}

TEST(EventLoop, StopBeforeRunOnVirtualTimeReturnsAtOnce) {
  VirtualClock clock;
  auto loop = VirtualLoop(&clock);
  int fired = 0;
  loop->CallEvery(seconds(1), [&] { ++fired; });
  loop->Stop();
  loop->Run();
  EXPECT_EQ(fired, 0);
  EXPECT_EQ(clock.Now(), TimePoint(0));
}

TEST(EventLoop, PeriodicTimersRunOncePerIntervalAndCanBeCancelled) {
  VirtualClock clock;
  auto loop = VirtualLoop(&clock);
  int ticks = 0;
  std::vector<TimePoint> at;
  auto id = loop->CallEvery(milliseconds(500), [&] {
    ++ticks;
    at.push_back(clock.Now());
  });
  loop->RunFor(seconds(10));
  EXPECT_EQ(ticks, 20);
  EXPECT_EQ(at.front(), milliseconds(500));
  EXPECT_EQ(at.back(), seconds(10));
  EXPECT_TRUE(loop->Cancel(id));
  EXPECT_FALSE(loop->Cancel(id));
  loop->RunFor(seconds(10));
  EXPECT_EQ(ticks, 20);
}

TEST(EventLoop, ATimerMayCancelItselfAndOthers) {
  VirtualClock clock;
  auto loop = VirtualLoop(&clock);
  int a = 0, b = 0;
  EventLoop::TimerId b_id = 0;
  EventLoop::TimerId a_id = loop->CallEvery(seconds(1), [&] {
    ++a;
    loop->Cancel(a_id);
    loop->Cancel(b_id);
  });
  b_id = loop->CallLater(seconds(1), [&] { ++b; });
  loop->RunFor(seconds(5));
  EXPECT_EQ(a, 1);
  EXPECT_EQ(b, 0);  // a was created first, so it ran first and cancelled b.
}

TEST(EventLoop, CancelledTimersDoNotPileUp) {
  VirtualClock clock;
  auto loop = VirtualLoop(&clock);
  for (int i = 0; i < 100000; ++i) loop->Cancel(loop->CallLater(seconds(60), [] {}));
  EXPECT_EQ(loop->timer_count(), 0u);
  EXPECT_FALSE(loop->NextTimer());
}

class RealLoopTest : public ::testing::TestWithParam<EventLoop::Backend> {
 protected:
  std::unique_ptr<EventLoop> MakeLoop() {
    auto loop = EventLoop::Create({.backend = GetParam()});
    if (!loop) return nullptr;
    return std::move(*loop);
  }
};

TEST_P(RealLoopTest, PostFromOtherThreadsRunsEverythingInOrderPerThread) {
  auto loop = MakeLoop();
  if (!loop) GTEST_SKIP() << "io_uring is not available here";
  constexpr int kThreads = 4, kPerThread = 2000;
  std::vector<int> last(kThreads, -1);
  std::atomic<int> done{0};
  bool ordered = true;
  std::thread runner([&] { loop->Run(); });
  std::vector<std::thread> posters;
  for (int t = 0; t < kThreads; ++t) {
    posters.emplace_back([&, t] {
      for (int i = 0; i < kPerThread; ++i) {
        loop->Post([&, t, i] {
          ordered = ordered && last[t] == i - 1;
          last[t] = i;
          if (done.fetch_add(1) + 1 == kThreads * kPerThread) loop->Stop();
        });
      }
    });
  }
  for (auto& p : posters) p.join();
  runner.join();
  EXPECT_EQ(done.load(), kThreads * kPerThread);
  EXPECT_TRUE(ordered);
}

TEST_P(RealLoopTest, StopFromAnotherThreadEndsRun) {
  auto loop = MakeLoop();
  if (!loop) GTEST_SKIP() << "io_uring is not available here";
  std::atomic<bool> returned{false};
  std::thread runner([&] {
    loop->Run();
    returned = true;
  });
  std::this_thread::sleep_for(milliseconds(20));
  EXPECT_FALSE(returned.load());
  loop->Stop();
  runner.join();
  EXPECT_TRUE(returned.load());
}

TEST_P(RealLoopTest, RealTimersFire) {
  auto loop = MakeLoop();
  if (!loop) GTEST_SKIP() << "io_uring is not available here";
  int fired = 0;
  loop->CallLater(milliseconds(5), [&] {
    ++fired;
    loop->Stop();
  });
  loop->Run();
  EXPECT_EQ(fired, 1);
}

TEST_P(RealLoopTest, StopBeforeRunMakesRunReturnAtOnceAndIsConsumed) {
  auto loop = MakeLoop();
  if (!loop) GTEST_SKIP() << "io_uring is not available here";
  int fired = 0;
  loop->CallLater(seconds(30), [&] { ++fired; });
  loop->Stop();  // Before Run: a shard stopped while it was still being built.
  loop->Run();   // Returns at once instead of waiting 30 s.
  EXPECT_EQ(fired, 0);
  // The Stop was consumed: the loop runs again until the next Stop.
  loop->CallLater(milliseconds(1), [&] {
    ++fired;
    loop->Stop();
  });
  loop->Run();
  EXPECT_EQ(fired, 1);
}

INSTANTIATE_TEST_SUITE_P(Backends, RealLoopTest,
                         ::testing::Values(EventLoop::Backend::kUring, EventLoop::Backend::kEpoll),
                         [](const auto& info) { return EventLoop::BackendName(info.param); });

TEST(EventLoop, AutoPicksUringOrSaysWhyNot) {
  auto loop = EventLoop::Create({});
  ASSERT_TRUE(loop);
  if ((*loop)->backend() == EventLoop::Backend::kEpoll) {
    EXPECT_FALSE((*loop)->fallback_reason().empty());
  } else {
    EXPECT_TRUE((*loop)->fallback_reason().empty());
  }
}

}  // namespace
}  // namespace ringv8

namespace ringv8 {
namespace {

TEST(EventLoop, ARearmableTimerFiresOncePerArming) {
  VirtualClock clock;
  auto loop = std::move(
      *EventLoop::Create({.backend = EventLoop::Backend::kEpoll, .virtual_clock = &clock}));
  int fired = 0;
  auto id = loop->CreateTimer([&] { ++fired; });
  loop->RunFor(std::chrono::seconds(1));
  EXPECT_EQ(fired, 0);  // Not armed.
  loop->ArmTimer(id, clock.Now() + std::chrono::milliseconds(10));
  loop->ArmTimer(id, clock.Now() + std::chrono::milliseconds(10));  // Twice: still one firing.
  loop->RunFor(std::chrono::seconds(1));
  EXPECT_EQ(fired, 1);
  loop->ArmTimer(id, clock.Now() + std::chrono::milliseconds(30));
  loop->ArmTimer(id, clock.Now() + std::chrono::milliseconds(20));  // Moved earlier.
  loop->RunFor(std::chrono::milliseconds(25));
  EXPECT_EQ(fired, 2);
  loop->RunFor(std::chrono::seconds(1));
  EXPECT_EQ(fired, 2);  // The superseded arming does not fire.
  EXPECT_TRUE(loop->Cancel(id));
  EXPECT_FALSE(loop->NextTimer());
}

// A busy io_uring loop waits for a batch of completions (a wake-up per batch, not per datagram),
// but not when its handlers cost more per completion than Options::batch_work_limit: then the
// backlog builds by itself and the wait would only add latency.
TEST(EventLoop, BatchesWaitsOnlyWhileCompletionsAreCheap) {
  struct Spin final : EventLoop::CompletionHandler {
    std::chrono::microseconds cost{0};
    void OnCompletion(const io_uring_cqe&) override {
      const auto until = std::chrono::steady_clock::now() + cost;
      while (std::chrono::steady_clock::now() < until) {
      }
    }
  };
  for (const auto cost : {std::chrono::microseconds(0), std::chrono::microseconds(5)}) {
    // Cheap handlers get a limit no handler reaches (so a slow machine or a sanitizer cannot
    // make a NOP's handling look costly); costly ones spin five times the default limit.
    EventLoop::Options options{.backend = EventLoop::Backend::kUring};
    if (cost.count() == 0) options.batch_work_limit = std::chrono::seconds(1);
    auto loop = EventLoop::Create(options);
    if (!loop) GTEST_SKIP() << "io_uring is not available here";
    Spin handler;
    handler.cost = cost;
    (*loop)->AddBeforeWait([&] {
      for (int i = 0; i < 8; ++i) {  // Eight completions per iteration: a busy loop.
        io_uring_sqe* sqe = (*loop)->GetSqe();
        ASSERT_NE(sqe, nullptr);
        io_uring_prep_nop(sqe);
        EventLoop::SetCompletion(sqe, &handler);
      }
    });
    for (int i = 0; i < 10; ++i) (*loop)->RunOnce(std::chrono::milliseconds(1));
    if (cost.count() == 0) {
      EXPECT_GE((*loop)->batched_waits(), 9u);
    } else {
      EXPECT_EQ((*loop)->batched_waits(), 0u) << "5 us per completion is above the 1 us limit";
    }
  }
}

// A WaitHook runs once per request, before the wait of the next iteration; asking twice is
// asking once; a hook that asks again while it runs runs again next iteration; a cancelled
// hook does not run, also when an earlier hook of the same iteration cancels it.
TEST(EventLoop, RequestedHooksRunOncePerRequestAndCanBeCancelled) {
  VirtualClock clock;
  auto loop = *EventLoop::Create({.virtual_clock = &clock});
  struct Counting final : EventLoop::WaitHook {
    int runs = 0;
    std::function<void()> also;
    void BeforeWait() override {
      ++runs;
      if (also) also();
    }
  };
  Counting a, b;
  loop->RequestBeforeWait(&a);
  loop->RequestBeforeWait(&a);
  loop->RunOnce(Duration(0));
  loop->RunOnce(Duration(0));
  EXPECT_EQ(a.runs, 1);

  int again = 2;
  a.also = [&] {
    if (--again > 0) loop->RequestBeforeWait(&a);
  };
  loop->RequestBeforeWait(&a);
  loop->RunOnce(Duration(0));
  EXPECT_EQ(a.runs, 2);
  loop->RunOnce(Duration(0));
  EXPECT_EQ(a.runs, 3);
  loop->RunOnce(Duration(0));
  EXPECT_EQ(a.runs, 3);

  a.also = [&] { loop->CancelBeforeWait(&b); };
  loop->RequestBeforeWait(&a);
  loop->RequestBeforeWait(&b);
  loop->RunOnce(Duration(0));
  EXPECT_EQ(a.runs, 4);
  EXPECT_EQ(b.runs, 0);
  loop->RequestBeforeWait(&b);
  loop->CancelBeforeWait(&b);
  loop->RunOnce(Duration(0));
  EXPECT_EQ(b.runs, 0);
  loop->RequestBeforeWait(&b);  // Cancelled hooks may ask again.
  loop->RunOnce(Duration(0));
  EXPECT_EQ(b.runs, 1);
}

}  // namespace
}  // namespace ringv8
