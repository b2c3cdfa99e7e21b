// `ringv8 run` and `ringv8 swarm` end to end on loopback (127.0.0.1 only).
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <fstream>
#include <thread>

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <httplib.h>
#include <nlohmann/json.hpp>

#include "tests/tools/ringv8_binary.h"

namespace ringv8::tools {
namespace {

using nlohmann::json;
using ::testing::HasSubstr;

class RunTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char dir[] = "/tmp/ringv8-run-XXXXXX";
    ASSERT_NE(mkdtemp(dir), nullptr);
    dir_ = dir;
  }
  void TearDown() override { (void)system(("rm -rf " + dir_).c_str()); }
  std::string Write(const std::string& name, const json& document) {
    const std::string path = dir_ + "/" + name;
    std::ofstream(path) << document.dump(2);
    return path;
  }
  std::string dir_;
};

// A node in one custom community (the plain Community with its own id), walking to `peer_port`
// when it starts.
json CustomCommunityNode(int port, int peer_port, const std::string& key_file) {
  return {{"interfaces", {{{"interface", "UDPIPv4"}, {"ip", "127.0.0.1"}, {"port", port}}}},
          {"keys", {{{"alias", "me"}, {"generation", "curve25519"}, {"file", key_file}}}},
          {"logger", {{"level", "INFO"}}},
          {"walker_interval", 0.5},
          {"overlays",
           {{{"class", "Community"},
             {"key", "me"},
             {"walkers", {{{"strategy", "RandomWalk"}, {"peers", 20}, {"init", json::object()}}}},
             {"bootstrappers", json::array()},
             {"initialize", {{"community_id", "5ca1ab1e00000000000000000000000000000042"}}},
             {"on_start",
              json::array({json::array({"walk_to", json::array({"127.0.0.1", peer_port})})})}}}}};
}

TEST_F(RunTest, TwoProcessesInACustomCommunityDiscoverEachOther) {
  const int a_port = FreePort(), b_port = FreePort();
  const std::string a_config =
      Write("a.json", CustomCommunityNode(a_port, b_port, dir_ + "/a.key"));
  const std::string b_config =
      Write("b.json", CustomCommunityNode(b_port, a_port, dir_ + "/b.key"));
  Ringv8Process a("run --config " + a_config + " --duration 5 --json");
  std::this_thread::sleep_for(std::chrono::seconds(1));  // a is up before b walks to it.
  Ringv8Process b("run --config " + b_config + " --duration 3 --json --backend mmsg");
  Output b_out = b.Wait();
  Output a_out = a.Wait();
  ASSERT_EQ(a_out.exit_code, 0);
  ASSERT_EQ(b_out.exit_code, 0);
  json a_json = json::parse(a_out.stdout_text), b_json = json::parse(b_out.stdout_text);
  ASSERT_EQ(a_json["overlays"].size(), 1u);
  ASSERT_EQ(b_json["overlays"].size(), 1u);
  EXPECT_EQ(a_json["overlays"][0]["class"], "Community");
  EXPECT_EQ(a_json["overlays"][0]["community_id"], "5ca1ab1e00000000000000000000000000000042");
  ASSERT_EQ(a_json["overlays"][0]["peers"].size(), 1u) << a_out.stdout_text;
  ASSERT_EQ(b_json["overlays"][0]["peers"].size(), 1u) << b_out.stdout_text;
  EXPECT_EQ(a_json["overlays"][0]["peers"][0]["mid"], b_json["mid"]);
  EXPECT_EQ(b_json["overlays"][0]["peers"][0]["mid"], a_json["mid"]);
  EXPECT_EQ(b_json["overlays"][0]["peers"][0]["address"], "127.0.0.1:" + std::to_string(a_port));
  EXPECT_EQ(b_json["backend"], "mmsg");
  EXPECT_GT(a_json["messages"]["in"]["246"]["packets"].get<int>(), 0);
  EXPECT_GT(b_json["messages"]["in"]["245"]["packets"].get<int>(), 0);
  for (const char* key : {"public_key", "messages", "drops"}) {
    EXPECT_TRUE(a_json.contains(key)) << key;
  }
  // The key files were created and are reused: the same mid next time.
  Output again = Ringv8("run --config " + a_config + " --duration 0.2 --json");
  ASSERT_EQ(again.exit_code, 0);
  EXPECT_EQ(json::parse(again.stdout_text)["mid"], a_json["mid"]);
}

TEST_F(RunTest, ConfigurationErrorsExitWith2AndNameThePath) {
  json bad = CustomCommunityNode(0, 1, dir_ + "/k.key");
  bad["overlays"][0]["walkers"][0]["peers"] = "many";
  Output out = Ringv8("run --config " + Write("bad.json", bad) + " --duration 1", true);
  EXPECT_EQ(out.exit_code, 2);
  EXPECT_THAT(out.stdout_text, HasSubstr("overlays[0].walkers[0].peers: must be an integer"));

  json tunnel = CustomCommunityNode(0, 1, dir_ + "/k.key");
  tunnel["overlays"][0]["class"] = "HiddenTunnelCommunity";
  const std::string tunnel_config = Write("tunnel.json", tunnel);
  out = Ringv8("run --config " + tunnel_config + " --duration 1", true);
  EXPECT_EQ(out.exit_code, 2);
  EXPECT_THAT(out.stdout_text, HasSubstr("HiddenTunnelCommunity is a py-ipv8 overlay"));
  // --skip-unknown: runs without it.
  out = Ringv8("run --config " + tunnel_config + " --duration 0.2 --json --skip-unknown");
  EXPECT_EQ(out.exit_code, 0);
  EXPECT_EQ(json::parse(out.stdout_text)["overlays"].size(), 0u);

  std::ofstream(dir_ + "/syntax.json") << "{";
  EXPECT_EQ(Ringv8("run --config " + dir_ + "/syntax.json").exit_code, 2);

  json no_interfaces = CustomCommunityNode(0, 1, dir_ + "/k.key");
  no_interfaces["interfaces"] = json::array();
  out = Ringv8("run --config " + Write("empty.json", no_interfaces) + " --duration 1", true);
  EXPECT_EQ(out.exit_code, 2);
  EXPECT_THAT(out.stdout_text, HasSubstr("interfaces: is empty"));
}

// --port is the UDPIPv4 interface's: on a configuration without one it is refused, not added.
TEST_F(RunTest, PortWithoutAnIpv4InterfaceIsRefused) {
  json v6 = CustomCommunityNode(0, 1, dir_ + "/k.key");
  v6["interfaces"] = {{{"interface", "UDPIPv6"}, {"ip", "::1"}, {"port", 0}}};
  Output out = Ringv8("run --config " + Write("v6.json", v6) + " --port 9000 --duration 1", true);
  EXPECT_EQ(out.exit_code, 2);
  EXPECT_THAT(out.stdout_text, HasSubstr("has none (it has UDPIPv6 ::1:0)"));
}

TEST_F(RunTest, JsonErrorsSayWhereWithoutTheLibrarysTag) {
  std::ofstream(dir_ + "/syntax.json") << "{\n  \"interfaces\": [,]\n}";
  Output out = Ringv8("run --config " + dir_ + "/syntax.json", true);
  EXPECT_EQ(out.exit_code, 2);
  EXPECT_THAT(out.stdout_text, HasSubstr("is not valid JSON: parse error at line 2"));
  EXPECT_THAT(out.stdout_text, ::testing::Not(HasSubstr("[json.exception")));
}

// A taken port moves to the next free one, as py-ipv8 does, and says so.
TEST_F(RunTest, ATakenPortIsAWarningWithBothPorts) {
  int fd = socket(AF_INET, SOCK_DGRAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ASSERT_EQ(bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)), 0);
  socklen_t len = sizeof(addr);
  getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len);
  const int taken = ntohs(addr.sin_port);
  const std::string config = Write("a.json", CustomCommunityNode(taken, 1, dir_ + "/a.key"));
  Output out = Ringv8("run --config " + config + " --duration 0.3 --status-interval 0", true);
  close(fd);
  EXPECT_EQ(out.exit_code, 0);
  EXPECT_THAT(out.stdout_text,
              HasSubstr("127.0.0.1:" + std::to_string(taken) + " is taken: bound 127.0.0.1:"));
}

// --duration 0 would run forever (0 is the "until a signal" default): refused, as usage.
TEST_F(RunTest, DurationZeroIsAUsageError) {
  const std::string config = Write("a.json", CustomCommunityNode(0, 1, dir_ + "/a.key"));
  Output out = Ringv8("run --config " + config + " --duration 0", true);
  EXPECT_EQ(out.exit_code, 2);
  EXPECT_THAT(out.stdout_text, HasSubstr("--duration"));
  EXPECT_EQ(Ringv8("tracker --port 0 --duration 0", true).exit_code, 2);
}

TEST_F(RunTest, SigtermStopsTheNodeAndPrintsItsState) {
  const std::string config = Write("a.json", CustomCommunityNode(0, 1, dir_ + "/a.key"));
  // No --duration: only the signal ends it. The shell reports ringv8's own exit status.
  Output out = Ringv8("run --config " + config +
                      " --json & pid=$!; sleep 1; kill -TERM $pid; "
                      "wait $pid");
  EXPECT_EQ(out.exit_code, 0);
  EXPECT_TRUE(json::parse(out.stdout_text).contains("mid"));
}

TEST_F(RunTest, MetricsWhileRunning) {
  const std::string config = Write("a.json", CustomCommunityNode(0, 1, dir_ + "/a.key"));
  const int port = FreePort(SOCK_STREAM);
  Ringv8Process node("run --config " + config +
                     " --duration 3 --metrics 127.0.0.1:" + std::to_string(port));
  std::this_thread::sleep_for(std::chrono::milliseconds(1500));
  httplib::Client http("127.0.0.1", port);
  auto response = http.Get("/metrics");
  ASSERT_TRUE(response);
  EXPECT_EQ(response->status, 200);
  EXPECT_NE(response->body.find(
                "ringv8_node_overlay_verified_peers{class=\"Community\",community=\"5ca1ab1e"),
            std::string::npos)
      << response->body;
  EXPECT_NE(response->body.find("ringv8_node_drops_total{reason=\"kernel_drops\"} 0"),
            std::string::npos);
  EXPECT_NE(response->body.find("# TYPE ringv8_node_scheduler_lag_seconds gauge"),
            std::string::npos);
  EXPECT_EQ(node.Wait().exit_code, 0);
}

TEST_F(RunTest, SwarmOf50NodesIn5CommunitiesConverges) {
  Output out = Ringv8("swarm --nodes 50 --communities 5 --duration 120 --json");
  ASSERT_EQ(out.exit_code, 0) << out.stdout_text;
  json result = json::parse(out.stdout_text);
  EXPECT_TRUE(result["converged"].get<bool>());
  EXPECT_EQ(result["converged_communities"], 5);
  EXPECT_EQ(result["nodes"], 50);
  ASSERT_EQ(result["per_community"].size(), 5u);
  for (const json& community : result["per_community"]) {
    EXPECT_EQ(community["members"], 50);
    EXPECT_EQ(community["at_target"], 50);
  }
  EXPECT_GT(result["per_node"]["packets_in"].get<double>(), 0);
  EXPECT_EQ(result["cpu_seconds_per_shard"].size(), result["shards"].get<size_t>());
}

}  // namespace
}  // namespace ringv8::tools
