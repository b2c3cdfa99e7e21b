#include "ring/shard.h"

#include <atomic>
#include <stdexcept>
#include <string>

#include <gtest/gtest.h>

namespace ringv8 {
namespace {

using std::chrono::milliseconds;

EndpointOptions Loopback() {
  EndpointOptions options;
  options.ipv4 = *Address::ParseIp("127.0.0.1", 0);
  return options;
}

TEST(Shard, RunsWhatItBuiltUntilStoppedThenTearsItDownOnItsThread) {
  Shard shard("shard 0", EndpointBackend::kAuto);
  std::atomic<int> ticks{0};
  std::thread::id built_on, torn_down_on;
  Endpoint* endpoint = nullptr;
  shard.Start(
      [&](Shard& s) {
        built_on = std::this_thread::get_id();
        endpoint = &s.OpenEndpoint(Loopback());
        s.loop().CallEvery(milliseconds(1), [&] { ticks.fetch_add(1); });
      },
      [&] {
        torn_down_on = std::this_thread::get_id();
        EXPECT_TRUE(endpoint->is_open());  // Endpoints close after the teardown.
      });
  ASSERT_TRUE(shard.WaitBuilt()) << shard.error();
  EXPECT_NE(std::string(shard.backend_name()), "");
  while (ticks.load() < 5) std::this_thread::yield();
  shard.Stop();
  shard.Join();
  EXPECT_EQ(built_on, torn_down_on);
  EXPECT_NE(built_on, std::this_thread::get_id());
  EXPECT_EQ(shard.error(), "");
  EXPECT_GT(shard.cpu_seconds(), 0.0);
}

TEST(Shard, StopBeforeStartEndsTheShardWithoutRunningItsLoop) {
  Shard shard("shard 1", EndpointBackend::kMmsg);
  std::atomic<bool> ticked{false};
  bool torn_down = false;
  shard.Stop();  // A signal that arrived while the server was starting.
  shard.Start(
      [&](Shard& s) {
        s.OpenEndpoint(Loopback());
        s.loop().CallLater(milliseconds(0), [&] { ticked = true; });
      },
      [&] { torn_down = true; });
  ASSERT_TRUE(shard.WaitBuilt());
  shard.Join();  // Returns: the loop honoured the earlier Stop.
  EXPECT_TRUE(torn_down);
  EXPECT_FALSE(ticked.load());
}

TEST(Shard, AnExceptionInBuildIsReportedWithTheShardsName) {
  Shard shard("shard 3", EndpointBackend::kAuto);
  shard.Start([](Shard&) { throw std::runtime_error("no such interface"); });
  EXPECT_FALSE(shard.WaitBuilt());
  shard.Join();
  EXPECT_EQ(shard.error(), "shard 3: no such interface");
  EXPECT_TRUE(shard.failed());
}

TEST(Shard, AnExceptionInACallbackEndsTheShardAndIsKept) {
  Shard shard("shard 4", EndpointBackend::kAuto);
  shard.Start([](Shard& s) {
    s.OpenEndpoint(Loopback());
    s.loop().CallLater(milliseconds(1), [] { throw std::runtime_error("table corrupt"); });
  });
  ASSERT_TRUE(shard.WaitBuilt());
  shard.Join();  // The exception ended the loop; nothing escaped the thread.
  EXPECT_EQ(shard.error(), "shard 4: while running: table corrupt");
}

TEST(Shard, AnAddressInUseIsAnErrorNotACrash) {
  Shard first("shard 0", EndpointBackend::kAuto);
  uint16_t port = 0;
  first.Start([&](Shard& s) { port = s.OpenEndpoint(Loopback()).local_addresses()[0].port(); });
  ASSERT_TRUE(first.WaitBuilt());
  Shard second("shard 1", EndpointBackend::kAuto);
  second.Start([&](Shard& s) {
    EndpointOptions taken;
    taken.ipv4 = *Address::ParseIp("127.0.0.1", port);
    s.OpenEndpoint(taken);
  });
  EXPECT_FALSE(second.WaitBuilt());
  EXPECT_NE(second.error().find("shard 1: cannot open the UDP socket"), std::string::npos)
      << second.error();
}

}  // namespace
}  // namespace ringv8
