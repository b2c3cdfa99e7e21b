// The engines behind `ringv8 bench`, called directly (no binary): a short tracker benchmark on
// loopback, and the abuse scenarios' refusal of an unknown name. Rates are not asserted.
#include "testbed/tracker_bench.h"

#include <stdexcept>

#include <gtest/gtest.h>

#include "testbed/abuse.h"

namespace ringv8::testbed {
namespace {

TEST(TrackerBench, AnInProcessTrackerAnswersEveryRequestOfAShortClosedLoop) {
  TrackerBenchOptions options;
  options.peers = 20;
  options.communities = 2;
  options.duration = 0.5;
  options.window = 4;
  const nlohmann::json result = RunTrackerBench(options);
  EXPECT_GT(result["responses"].get<uint64_t>(), 0u);
  EXPECT_EQ(result["timeouts"], 0);
  EXPECT_EQ(result["send_errors"], 0);
  EXPECT_GT(result["crypto_ceiling_per_core"].get<double>(), 0);
  // The in-process tracker handled every request the generator got an answer to, and more
  // (the registration phase).
  EXPECT_GE(result["tracker"]["requests"].get<uint64_t>(), result["responses"].get<uint64_t>());
  EXPECT_GT(result["tracker"]["cpu_seconds"].get<double>(), 0);
}

TEST(Abuse, AnUnknownScenarioIsRefused) {
  EXPECT_THROW(RunAbuseScenario("tickle", AbuseOptions()), std::invalid_argument);
}

}  // namespace
}  // namespace ringv8::testbed
