// The statistics renderers: every counter of every statistics struct appears in --json and in
// /metrics under the same name and with the same value (a node's, and a tracker's with two
// shards on loopback).
#include "node/stats_text.h"

#include <fmt/format.h>
#include <gtest/gtest.h>

#include "ring/memory_endpoint.h"
#include "tests/testing/simulation.h"
#include "tracker/tracker_server.h"

namespace ringv8::node {
namespace {

using nlohmann::json;

// `stats` is in `object` (drops under "drops") and in the Prometheus `text` as the one sample
// PREFIX_name[_total]{labels} (drops: PREFIX_drops_total{labels,reason="name"}), alike.
void ExpectRenderedAlike(const StatsSnapshot& stats, const json& object, const std::string& text,
                         std::string_view prefix, std::string_view labels) {
  ASSERT_FALSE(stats.entries().empty());
  stats.Visit([&](const Stat& stat, double value) {
    const std::string name(stat.name);
    const json& where = IsDrop(stat.kind) ? object.at("drops") : object;
    ASSERT_TRUE(where.contains(name)) << name << " missing in " << where.dump();
    EXPECT_DOUBLE_EQ(where[name].get<double>(), value) << name;
    std::string metric, sample_labels(labels);
    if (IsDrop(stat.kind)) {
      metric = fmt::format("{}_drops_total", prefix);
      sample_labels += fmt::format("{}reason=\"{}\"", labels.empty() ? "" : ",", name);
    } else {
      const bool gauge = stat.kind == StatKind::kGauge;
      metric = fmt::format("{}_{}{}", prefix, name, gauge ? "" : "_total");
      EXPECT_NE(text.find(fmt::format("# TYPE {} {}\n", metric, gauge ? "gauge" : "counter")),
                std::string::npos)
          << metric;
    }
    const std::string line = sample_labels.empty()
                                 ? fmt::format("\n{} {}\n", metric, value)
                                 : fmt::format("\n{}{{{}}} {}\n", metric, sample_labels, value);
    EXPECT_NE(text.find(line), std::string::npos) << "no line" << line << "in /metrics";
  });
}

TEST(StatsTextTest, ANodesCountersAreNamedAlikeInJsonAndMetrics) {
  testing::Simulation sim(std::chrono::seconds(1));
  std::vector<std::unique_ptr<MemoryEndpoint>> endpoints;
  std::vector<std::unique_ptr<Node>> nodes;
  for (const char* ip : {"10.0.0.1", "10.0.0.2"}) {
    EndpointOptions options;
    options.ipv4 = Address::ParseIp(ip, 8090);
    endpoints.push_back(std::move(*sim.net.Open(options)));
    const json walk = json::array({"walk_to", "10.0.0.1:8090"});
    const json config = {{"keys", {{{"alias", "id"}, {"generation", "curve25519"}}}},
                         {"overlays",
                          {{{"class", "DiscoveryCommunity"},
                            {"key", "id"},
                            {"walkers", {{{"strategy", "RandomWalk"}, {"peers", 20}}}},
                            {"on_start", nodes.empty() ? json::array() : json::array({walk})}}}}};
    nodes.push_back(std::make_unique<Node>(*sim.loop, NodeConfig::FromJson(config),
                                           NodeOptions{.endpoint = endpoints.back().get()}));
    nodes.back()->Start();
  }
  sim.loop->RunFor(std::chrono::seconds(5));

  const NodeStats stats = nodes[1]->Stats();
  const json status = nodes[1]->Status();
  const std::string text = NodeMetricsText(stats);
  ASSERT_GT(stats.endpoint.Value("packets_in"), 0);  // Something to render.
  ExpectRenderedAlike(stats.endpoint, status, text, "ringv8_node", "");
  ASSERT_EQ(stats.overlays.size(), 1u);
  EXPECT_EQ(stats.overlays[0].stats.Value("verified_peers"), 1);
  ExpectRenderedAlike(stats.overlays[0].stats, status["overlays"][0], text, "ringv8_node_overlay",
                      fmt::format("class=\"DiscoveryCommunity\",community=\"{}\"",
                                  status["overlays"][0]["community_id"].get<std::string>()));
  EXPECT_NE(text.find("ringv8_node_messages_in_total{id=\"245\"}"), std::string::npos);
  EXPECT_EQ(status["messages"]["in"]["245"]["packets"].get<double>(),
            stats.messages.packets_in[245]);
}

TEST(StatsTextTest, ATrackersCountersAreNamedAlikeInJsonAndMetrics) {
  tracker::TrackerServerOptions options;
  options.ip = "127.0.0.1";
  options.shards = 2;
  tracker::TrackerServer server(wire::PrivateKey::Generate(), options);
  server.Start();
  server.Stop();

  const tracker::TrackerServerStats stats = server.Stats();
  const json out = TrackerJson(server, stats);
  const std::string text = TrackerMetricsText(stats);
  ASSERT_EQ(stats.shards.size(), 2u);
  for (size_t i = 0; i < stats.shards.size(); ++i) {
    const std::string labels = fmt::format("shard=\"{}\"", i);
    ExpectRenderedAlike(stats.shards[i].tracker, out["per_shard"][i], text, "ringv8_tracker",
                        labels);
    ExpectRenderedAlike(stats.shards[i].endpoint, out["per_shard"][i]["endpoint"], text,
                        "ringv8_tracker_endpoint", labels);
  }
  ExpectRenderedAlike(stats.table, out["table"], text, "ringv8_tracker_table", "");
  // The sums at the top of --json are the typed sums.
  stats.tracker.Visit([&](const Stat& stat, double value) {
    const json& where = IsDrop(stat.kind) ? out["drops"] : out;
    EXPECT_DOUBLE_EQ(where[std::string(stat.name)].get<double>(), value) << stat.name;
  });
  EXPECT_EQ(out["endpoint"]["drops"].size(), out["per_shard"][0]["endpoint"]["drops"].size());
}

}  // namespace
}  // namespace ringv8::node
