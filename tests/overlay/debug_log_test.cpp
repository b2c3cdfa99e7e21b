// At debug level a node says what it does (walks, introductions both ways, drops with their
// reason), and a flood of bad packets cannot flood the log (ring/debug_log.h).
#include "ring/debug_log.h"

#include <sstream>
#include <thread>

#include <gtest/gtest.h>
#include <spdlog/sinks/ostream_sink.h>
#include <spdlog/spdlog.h>

#include "overlay/community.h"
#include "tests/testing/memory_node.h"
#include "tests/testing/simulation.h"

namespace ringv8::overlay {
namespace {

size_t Count(const std::string& text, const std::string& what) {
  size_t n = 0;
  for (size_t at = text.find(what); at != std::string::npos; at = text.find(what, at + 1)) ++n;
  return n;
}

TEST(DebugLogTest, SaysWhatItDoesAndAFloodIsRateLimited) {
  std::ostringstream out;
  auto previous = spdlog::default_logger();
  auto logger = std::make_shared<spdlog::logger>(
      "test", std::make_shared<spdlog::sinks::ostream_sink_mt>(out));
  logger->set_level(spdlog::level::debug);
  spdlog::set_default_logger(logger);

  testing::Simulation sim{TimePoint(std::chrono::seconds(1000))};
  testing::MemoryNode a(sim.net, *Address::Parse("10.0.0.1:8090"));
  testing::MemoryNode b(sim.net, *Address::Parse("10.0.0.2:8090"));
  const wire::CommunityId id = {1, 2, 3, 4};
  auto ca = a.MakeCommunity(id);
  auto cb = b.MakeCommunity(id);
  ca->WalkTo(b.address());
  sim.RunFor(std::chrono::milliseconds(10));
  std::string text = out.str();
  EXPECT_EQ(Count(text, "01020304..: walk to 10.0.0.2:8090"), 1u) << text;
  EXPECT_EQ(Count(text, "introduction-request from 10.0.0.1:8090"), 1u) << text;
  EXPECT_EQ(Count(text, "introduction-response from 10.0.0.2:8090"), 1u) << text;

  // 5,000 truncated introduction-requests: each is a counted drop; the log takes a burst.
  const wire::Prefix prefix = wire::MakePrefix(id);
  std::vector<uint8_t> bad(prefix.begin(), prefix.end());
  bad.push_back(246);
  bad.resize(40, 0);
  for (int i = 0; i < 5000; ++i) {
    ASSERT_FALSE(a.endpoint->Send(b.address(), bad));
    if (i % 500 == 499) sim.RunFor(std::chrono::milliseconds(1));
  }
  sim.RunFor(std::chrono::milliseconds(10));
  std::this_thread::sleep_for(std::chrono::milliseconds(200));  // The budget refills a little.
  ASSERT_FALSE(a.endpoint->Send(b.address(), bad));
  sim.RunFor(std::chrono::milliseconds(10));
  text = out.str();
  const size_t drops = Count(text, "dropped message 246 from 10.0.0.1:8090");
  EXPECT_GE(drops, 10u);
  EXPECT_LE(drops, static_cast<size_t>(kDebugBurst) + 10);
  EXPECT_EQ(Count(text, "debug lines suppressed"), 1u) << text.substr(text.size() - 400);
  EXPECT_GE(cb->stats().total_drops(), 5001u);  // Every one counted all the same.

  cb.reset();
  ca.reset();
  spdlog::set_default_logger(previous);
}

}  // namespace
}  // namespace ringv8::overlay
