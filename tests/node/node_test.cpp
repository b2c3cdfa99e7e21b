// Node on the in-memory network with a virtual clock: nodes built from configurations discover
// each other; strategies and overlays come and go; Stop is clean.
#include "node/node.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "overlay/discovery_community.h"
#include "ring/memory_endpoint.h"
#include "strategies/random_walk.h"
#include "tests/testing/simulation.h"

namespace ringv8::node {
namespace {

using nlohmann::json;

const std::string kCommunityHex = "c0ffee0000000000000000000000000000000001";

json PlainCommunityConfig(const json& on_start = json::array()) {
  return {{"keys", {{{"alias", "id"}, {"generation", "curve25519"}}}},
          {"overlays",
           {{{"class", "Community"},
             {"key", "id"},
             {"walkers", {{{"strategy", "RandomWalk"}, {"peers", 20}}}},
             {"initialize", {{"community_id", kCommunityHex}}},
             {"on_start", on_start}},
            {{"class", "DiscoveryCommunity"},
             {"key", "id"},
             {"walkers", {{{"strategy", "RandomChurn"}, {"peers", -1}}}}}}}};
}

class NodeTest : public ::testing::Test {
 protected:
  MemoryEndpoint& Endpoint(const char* ip) {
    EndpointOptions options;
    options.ipv4 = Address::ParseIp(ip, 8090);
    endpoints_.push_back(std::move(*sim_.net.Open(options)));
    return *endpoints_.back();
  }
  std::unique_ptr<Node> Build(const json& document, MemoryEndpoint& endpoint,
                              NodeOptions options = {}) {
    options.endpoint = &endpoint;
    options.seed = ++seed_;
    return std::make_unique<Node>(*sim_.loop, NodeConfig::FromJson(document), options);
  }

  ::ringv8::testing::Simulation sim_{std::chrono::seconds(1)};
  std::vector<std::unique_ptr<MemoryEndpoint>> endpoints_;
  uint64_t seed_ = 0;
};

TEST_F(NodeTest, TwoNodesFromConfigurationsDiscoverEachOther) {
  MemoryEndpoint& a_endpoint = Endpoint("10.0.0.1");
  MemoryEndpoint& b_endpoint = Endpoint("10.0.0.2");
  auto a = Build(PlainCommunityConfig(), a_endpoint);
  auto b = Build(PlainCommunityConfig(json::array({json::array({"walk_to", "10.0.0.1:8090"})})),
                 b_endpoint);
  a->Start();
  b->Start();
  sim_.loop->RunFor(std::chrono::seconds(5));
  json a_status = a->Status(), b_status = b->Status();
  ASSERT_EQ(a_status["overlays"][0]["community_id"], kCommunityHex);
  ASSERT_EQ(a_status["overlays"][0]["peers"].size(), 1u);
  ASSERT_EQ(b_status["overlays"][0]["peers"].size(), 1u);
  EXPECT_EQ(a_status["overlays"][0]["peers"][0]["mid"], b_status["mid"]);
  EXPECT_EQ(b_status["overlays"][0]["peers"][0]["mid"], a_status["mid"]);
  EXPECT_EQ(b_status["overlays"][0]["peers"][0]["address"], "10.0.0.1:8090");
  EXPECT_EQ(a_status["overlays"][0]["class"], "Community");
  EXPECT_EQ(a_status["overlays"][1]["class"], "DiscoveryCommunity");
  EXPECT_GT(a_status["messages"]["in"]["246"]["packets"].get<uint64_t>(), 0u);
  EXPECT_GT(b_status["messages"]["in"]["245"]["packets"].get<uint64_t>(), 0u);
  EXPECT_GT(a_status["messages"]["out"].size(), 0u);
  EXPECT_EQ(a_status["drops"]["unknown_prefix"], 0);
  EXPECT_EQ(a_status["overlays"][0]["verified_peers"], 1);
  EXPECT_EQ(a_status["addresses"][0], "10.0.0.1:8090");
}

TEST_F(NodeTest, StrategiesAndOverlaysComeAndGo) {
  MemoryEndpoint& endpoint = Endpoint("10.0.0.1");
  auto node = Build(PlainCommunityConfig(), endpoint);
  EXPECT_EQ(node->overlay_count(), 2u);
  EXPECT_EQ(node->strategy_count(), 2u);
  EXPECT_EQ(node->scheduler().size(), 2u);
  auto* discovery = node->GetOverlay<overlay::DiscoveryCommunity>();
  ASSERT_NE(discovery, nullptr);
  EXPECT_EQ(node->GetOverlays<overlay::Community>().size(), 2u);
  EXPECT_EQ(node->ClassOf(*discovery), "DiscoveryCommunity");

  node->AddStrategy(*discovery, std::make_unique<strategies::RandomWalk>(discovery), 10);
  EXPECT_EQ(node->scheduler().size(), 3u);
  node->Start();
  sim_.loop->RunFor(std::chrono::seconds(2));
  EXPECT_TRUE(node->UnloadOverlay(*discovery));
  EXPECT_FALSE(node->UnloadOverlay(*discovery));
  EXPECT_EQ(node->GetOverlay<overlay::DiscoveryCommunity>(), nullptr);
  EXPECT_EQ(node->overlay_count(), 1u);
  EXPECT_EQ(node->scheduler().size(), 1u);  // Its two strategies went with it.
  sim_.loop->RunFor(std::chrono::seconds(2));

  node->Stop();
  EXPECT_FALSE(node->running());
  EXPECT_EQ(node->scheduler().size(), 0u);
  EXPECT_EQ(node->overlay_count(), 0u);
  json status = node->Status();  // The statistics at the time of Stop.
  EXPECT_EQ(status["overlays"].size(), 1u);
  EXPECT_EQ(status["mid"].get<std::string>().size(), 40u);
  node->Stop();  // Idempotent.
}

TEST_F(NodeTest, NodesShareOneScheduler) {
  strategies::StepScheduler shared;
  MemoryEndpoint& a_endpoint = Endpoint("10.0.0.1");
  MemoryEndpoint& b_endpoint = Endpoint("10.0.0.2");
  auto a = Build(PlainCommunityConfig(), a_endpoint, {.scheduler = &shared});
  auto b = Build(PlainCommunityConfig(), b_endpoint, {.scheduler = &shared});
  EXPECT_EQ(shared.size(), 4u);
  EXPECT_EQ(&a->scheduler(), &shared);
  a->Stop();
  EXPECT_EQ(shared.size(), 2u);
  b.reset();
  EXPECT_EQ(shared.size(), 0u);
}

// A custom community and strategy registered in code and loaded by name, with an on_start
// method: what py-ipv8's CommunityLauncher decorators do.
class CountingCommunity : public overlay::Community {
 public:
  explicit CountingCommunity(const OverlayContext& c)
      : Community(wire::CommunityId{0xAB}, c.my_peer, c.key, c.endpoint, c.network, c.loop,
                  c.settings),
        label(c.initialize.value("label", std::string())) {}
  std::string label;
  int started = 0;
  int steps = 0;
};

class CountingStrategy : public strategies::DiscoveryStrategy {
 public:
  CountingStrategy(CountingCommunity* overlay, const json& init)
      : DiscoveryStrategy(overlay), step(init.value("step", 1)) {}
  const char* name() const override { return "CountingStrategy"; }
  void TakeStep() override { static_cast<CountingCommunity*>(overlay())->steps += step; }
  int step;
};

TEST_F(NodeTest, CustomOverlayFromTheRegistry) {
  Registry registry = Registry::Builtin();
  registry.AddOverlay<CountingCommunity>("CountingCommunity")
      .Strategy<CountingStrategy>("CountingStrategy")
      .OnStart("start_counting",
               [](CountingCommunity& c, const json& args) { c.started += args.at(0).get<int>(); });
  json document = {{"keys", {{{"alias", "id"}, {"generation", "curve25519"}}}},
                   {"walker_interval", 0.25},
                   {"overlays",
                    {{{"class", "CountingCommunity"},
                      {"key", "id"},
                      {"walkers",
                       {{{"strategy", "CountingStrategy"}, {"peers", -1}, {"init", {{"step", 3}}}},
                        {{"strategy", "RandomWalk"}, {"peers", 20}}}},
                      {"initialize", {{"label", "hello"}, {"max_peers", 5}}},
                      {"on_start", json::array({json::array({"start_counting", 2})})}}}}};
  MemoryEndpoint& endpoint = Endpoint("10.0.0.1");
  auto node = Build(document, endpoint, {.registry = &registry});
  auto* counting = node->GetOverlay<CountingCommunity>();
  ASSERT_NE(counting, nullptr);
  EXPECT_EQ(counting->label, "hello");
  EXPECT_EQ(counting->settings().max_peers, 5);
  EXPECT_EQ(counting->started, 0);
  node->Start();
  EXPECT_EQ(counting->started, 2);
  sim_.loop->RunFor(std::chrono::seconds(10));
  // walker_interval 0.25 s: one step of 3 every 0.25 s.
  EXPECT_GE(counting->steps, 3 * 38);
  EXPECT_LE(counting->steps, 3 * 41);
  const json status = node->Status();
  EXPECT_EQ(status["overlays"][0]["class"], "CountingCommunity");
  EXPECT_EQ(registry.StrategyNames("CountingCommunity"),
            (std::vector<std::string>{"EdgeWalk", "RandomWalk", "CountingStrategy"}));
  // Another overlay cannot use CountingCommunity's strategy.
  document["overlays"][0]["class"] = "DiscoveryCommunity";
  document["overlays"][0]["initialize"] = json::object();
  document["overlays"][0]["on_start"] = json::array();
  EXPECT_THROW(Build(document, Endpoint("10.0.0.2"), {.registry = &registry}), ConfigError);
}

}  // namespace
}  // namespace ringv8::node
