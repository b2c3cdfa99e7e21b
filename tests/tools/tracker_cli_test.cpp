// `ringv8 tracker` end to end on loopback: nodes (`ringv8 run`) in two communities bootstrap
// through it and find only the peers of their own community.
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <chrono>
#include <fstream>
#include <thread>

#include <gtest/gtest.h>
#include <httplib.h>
#include <nlohmann/json.hpp>

#include "tests/tools/ringv8_binary.h"

namespace ringv8::tools {
namespace {

using nlohmann::json;

json NodeIn(const std::string& community_id, int tracker_port) {
  return {{"interfaces", {{{"interface", "UDPIPv4"}, {"ip", "127.0.0.1"}, {"port", 0}}}},
          {"keys", {{{"alias", "me"}, {"generation", "curve25519"}}}},
          {"overlays",
           {{{"class", "Community"},
             {"key", "me"},
             {"walkers", {{{"strategy", "RandomWalk"}, {"peers", 20}}}},
             {"bootstrappers",
              {{{"class", "DispersyBootstrapper"},
                {"init",
                 {{"ip_addresses", {"127.0.0.1:" + std::to_string(tracker_port)}},
                  {"dns_addresses", json::array()},
                  {"bootstrap_timeout", 1.0}}}}}},
             {"initialize", {{"community_id", community_id}}}}}}};
}

TEST(TrackerCliTest, NodesOfTwoCommunitiesFindOnlyTheirOwn) {
  char dir[] = "/tmp/ringv8-tracker-XXXXXX";
  ASSERT_NE(mkdtemp(dir), nullptr);
  const std::string x = std::string(40, 'a'), y = std::string(40, 'b');
  const int port = FreePort(), metrics_port = FreePort(SOCK_STREAM);
  std::vector<std::string> configs;
  for (const auto& [name, id] : {std::pair{"x1", x}, {"x2", x}, {"y1", y}}) {
    configs.push_back(std::string(dir) + "/" + name + ".json");
    std::ofstream(configs.back()) << NodeIn(id, port).dump();
  }
  Ringv8Process tracker(
      "tracker --port " + std::to_string(port) +
      " --shards 2 --duration 7 --json --metrics 127.0.0.1:" + std::to_string(metrics_port));
  std::this_thread::sleep_for(std::chrono::seconds(1));
  std::vector<std::unique_ptr<Ringv8Process>> nodes;
  for (const std::string& config : configs) {
    nodes.push_back(std::make_unique<Ringv8Process>("run --config " + config +
                                                    " --duration 4 "
                                                    "--json"));
  }
  // While they run: the tracker's metrics and its peers per community.
  std::this_thread::sleep_for(std::chrono::seconds(3));
  httplib::Client http("127.0.0.1", metrics_port);
  auto metrics = http.Get("/metrics");
  ASSERT_TRUE(metrics);
  EXPECT_EQ(metrics->status, 200);
  EXPECT_NE(metrics->body.find("# TYPE ringv8_tracker_requests_total counter"), std::string::npos);
  EXPECT_NE(metrics->body.find("ringv8_tracker_table_entries 3"), std::string::npos)
      << metrics->body;
  auto services = http.Get("/services");
  ASSERT_TRUE(services);
  json by_service = json::parse(services->body);
  EXPECT_EQ(by_service.size(), 2u);
  EXPECT_EQ(by_service[x]["peers"], 2);
  EXPECT_EQ(by_service[y]["peers"], 1);

  std::vector<json> results;
  for (auto& node : nodes) {
    Output out = node->Wait();
    ASSERT_EQ(out.exit_code, 0);
    results.push_back(json::parse(out.stdout_text));
  }
  Output tracker_out = tracker.Wait();
  ASSERT_EQ(tracker_out.exit_code, 0);
  json t = json::parse(tracker_out.stdout_text);
  (void)system((std::string("rm -rf ") + dir).c_str());

  auto peers_of = [](const json& node) {
    std::vector<std::string> mids;
    for (const json& peer : node["overlays"][0]["peers"]) mids.push_back(peer["mid"]);
    return mids;
  };
  EXPECT_EQ(peers_of(results[0]), std::vector<std::string>{results[1]["mid"]});
  EXPECT_EQ(peers_of(results[1]), std::vector<std::string>{results[0]["mid"]});
  EXPECT_TRUE(peers_of(results[2]).empty());  // Alone in its community; the tracker is no peer.
  EXPECT_GE(t["requests"].get<int>(), 3);
  EXPECT_GE(t["introductions"].get<int>(), 1);
  EXPECT_EQ(t["table"]["services"], 2);
  EXPECT_EQ(t["per_shard"].size(), 2u);
}

TEST(TrackerCliTest, SigtermStopsItAndPrintsItsStatistics) {
  // No --duration: only the signal ends it. The shell reports ringv8's own exit status.
  Output out =
      Ringv8("tracker --port 0 --shards 2 --json & pid=$!; sleep 1; kill -TERM $pid; wait $pid");
  EXPECT_EQ(out.exit_code, 0);
  json t = json::parse(out.stdout_text);
  EXPECT_EQ(t["requests"], 0);
  EXPECT_EQ(t["per_shard"].size(), 2u);
}

// Type=notify: READY=1 once serving, STOPPING=1 at the end, through $NOTIFY_SOCKET.
TEST(TrackerCliTest, NotifiesSystemd) {
  char dir[] = "/tmp/ringv8-notify-XXXXXX";
  ASSERT_NE(mkdtemp(dir), nullptr);
  const std::string path = std::string(dir) + "/notify";
  int fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_NONBLOCK, 0);
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  std::snprintf(addr.sun_path, sizeof(addr.sun_path), "%s", path.c_str());
  ASSERT_EQ(bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)), 0);
  Output out =
      Ringv8("tracker --port 0 --shards 1 --duration 1.2 --json", false, "NOTIFY_SOCKET=" + path);
  ASSERT_EQ(out.exit_code, 0);
  std::string messages;
  char buffer[512];
  ssize_t n;
  while ((n = recv(fd, buffer, sizeof(buffer), 0)) > 0) messages += std::string(buffer, n) + "|";
  close(fd);
  (void)system((std::string("rm -rf ") + dir).c_str());
  EXPECT_NE(messages.find("READY=1"), std::string::npos) << messages;
  EXPECT_NE(messages.find("STATUS="), std::string::npos) << messages;
  EXPECT_NE(messages.find("STOPPING=1"), std::string::npos) << messages;
  EXPECT_LT(messages.find("READY=1"), messages.find("STOPPING=1"));
}

}  // namespace
}  // namespace ringv8::tools
