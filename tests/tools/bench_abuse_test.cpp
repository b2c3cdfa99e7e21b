// `ringv8 bench abuse` end to end on loopback: garbage, a spoofed-source flood and a flood of
// fresh keys against a real tracker. Only what does not depend on the machine's speed is
// asserted (no rates): nothing accepted or unaccounted, the bounds, the counters.
#include <sstream>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "tests/tools/ringv8_binary.h"

namespace ringv8::tools {
namespace {

using nlohmann::json;

TEST(BenchAbuse, GarbageSpoofAndFreshKeysHoldOnRealSockets) {
  Output out =
      Ringv8("bench abuse garbage spoof keys --duration 2 --keys 3000 --max-entries 1000 --json");
  ASSERT_EQ(out.exit_code, 0) << out.stdout_text;
  std::istringstream lines(out.stdout_text);
  std::map<std::string, json> results;
  for (std::string line; std::getline(lines, line);) {
    json r = json::parse(line);
    results[r["scenario"].get<std::string>()] = r;
  }
  ASSERT_EQ(results.size(), 3u) << out.stdout_text;

  const json& garbage = results["garbage"];
  EXPECT_GT(garbage["sent"].get<uint64_t>(), 1000u);
  EXPECT_EQ(garbage["requests_accepted"], 0);
  EXPECT_EQ(garbage["replies_to_garbage"], 0);
  EXPECT_TRUE(garbage["state_unchanged"].get<bool>());
  EXPECT_EQ(garbage["unaccounted"], 0);  // Every datagram is a drop with a reason.
  for (const char* reason : {"bad_signature", "truncated", "too_short", "unknown_message"}) {
    EXPECT_GT(garbage["drops"]["tracker"].value(reason, 0) +
                  garbage["drops"]["endpoint"].value(reason, 0),
              0)
        << reason;
  }
  EXPECT_EQ(garbage["answered_after"], garbage["valid_requests_after"]);

  const json& spoof = results["spoof"];
  EXPECT_LE(spoof["received_by_victim"].get<double>(), spoof["bound"].get<double>());
  EXPECT_GT(spoof["drops"]["tracker"]["rate_limited"].get<uint64_t>(), 5000u);

  const json& keys = results["keys"];
  EXPECT_EQ(keys["keys"], 3000);
  EXPECT_LE(keys["table"]["entries"].get<uint64_t>(), 1000u);
  EXPECT_LE(keys["peers_pinged_by_shards"].get<uint64_t>(), 1000u);
  EXPECT_EQ(keys["where_entries_went"]["inserted"], 3000);
  EXPECT_EQ(keys["where_entries_went"]["unexplained"], 0);
}

}  // namespace
}  // namespace ringv8::tools
