#include "node/strategy_factory.h"

#include <stdexcept>
#include <string>

#include <gtest/gtest.h>

#include "overlay/discovery_community.h"
#include "tests/testing/memory_node.h"
#include "tests/testing/simulation.h"

namespace ringv8::node {
namespace {

using overlay::DiscoveryCommunity;
using std::chrono::seconds;

TEST(StrategyFactory, BuildsEveryBuiltinByNameWithPyIpv8Defaults) {
  ::ringv8::testing::Simulation sim(seconds(1));
  auto& loop = sim.loop;
  MemoryNetwork& net = sim.net;
  ::ringv8::testing::MemoryNode node(net, *Address::Parse("10.40.0.1:1"));
  DiscoveryCommunity discovery(node.my_peer, node.key, *node.endpoint, node.network, *loop);
  auto plain = node.MakeCommunity({9});
  for (const std::string& name : BuiltinStrategyNames()) {
    auto strategy = MakeStrategy(name, &discovery, nlohmann::json::object());
    ASSERT_NE(strategy, nullptr) << name;
    EXPECT_EQ(strategy->name(), name);
  }
  EXPECT_NE(MakeStrategy("RandomWalk", plain.get(), {{"timeout", 3.0}, {"window_size", 5}}),
            nullptr);
  try {
    MakeStrategy("RandomWalk", plain.get(), {{"timeuot", 3.0}});
    FAIL() << "an unknown key must be refused";
  } catch (const std::invalid_argument& e) {
    EXPECT_NE(std::string(e.what()).find("timeout, window_size, reset_chance, target_interval"),
              std::string::npos)
        << e.what();
  }
  EXPECT_THROW(MakeStrategy("RandomWalk", plain.get(), {{"window_size", 2.5}}),
               std::invalid_argument);
  EXPECT_THROW(MakeStrategy("RandomChurn", plain.get()), std::invalid_argument);
  try {
    MakeStrategy("PingChurn", plain.get());
    FAIL() << "an unknown strategy must be refused";
  } catch (const std::invalid_argument& e) {
    EXPECT_NE(std::string(e.what()).find("RandomWalk, EdgeWalk, RandomChurn, PeriodicSimilarity"),
              std::string::npos)
        << e.what();
  }
}

}  // namespace
}  // namespace ringv8::node
