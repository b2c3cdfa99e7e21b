// StopOnSignals: the first SIGINT/SIGTERM stops the loop (the command then prints its final
// statistics), a second one exits at once with 128 + signal.
#include "tools/signals.h"

#include <gtest/gtest.h>
#include <signal.h>

namespace ringv8::tools {
namespace {

TEST(StopOnSignalsDeathTest, FirstSignalStopsTheLoopSecondExitsAtOnce) {
  GTEST_FLAG_SET(death_test_style, "threadsafe");
  auto loop = EventLoop::Create({.backend = EventLoop::Backend::kEpoll});
  ASSERT_TRUE(loop);
  StopOnSignals signals(**loop);
  (*loop)->CallLater(std::chrono::milliseconds(10), [] { raise(SIGTERM); });
  (*loop)->RunFor(std::chrono::hours(1));  // Returns when the signal stops it.
  EXPECT_EQ(signals.received(), SIGTERM);
  EXPECT_EXIT(raise(SIGINT), ::testing::ExitedWithCode(128 + SIGINT), "");
}

}  // namespace
}  // namespace ringv8::tools
