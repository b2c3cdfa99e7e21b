// Three ringv8 processes on 127.0.0.1 and real sockets: a client (`ringv8 run` with a
// TunnelCommunity that keeps a 2-hop circuit and forwards a local UDP port through it), a relay
// (`ringv8 relay`) and an exit (`ringv8 relay --exit bt --allow-loopback-destinations`). A
// BitTorrent DHT datagram sent to the client's local port travels client -> relay -> exit -> a
// UDP echo on 127.0.0.1 and back. Each process's --json accounts for it.
#include <filesystem>
#include <fstream>

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "ring/open_endpoint.h"
#include "tests/tools/ringv8_binary.h"

namespace ringv8::tools {
namespace {

using nlohmann::json;
using ::testing::HasSubstr;

class Recorder final : public EndpointListener {
 public:
  explicit Recorder(Endpoint* echo_through = nullptr) : echo_through_(echo_through) {}
  void OnPacket(const Address& source, std::span<const uint8_t> datagram) override {
    received.emplace_back(datagram.begin(), datagram.end());
    sources.push_back(source);
    if (echo_through_ != nullptr) {
      EXPECT_FALSE(echo_through_->Send(source, datagram));
    }
  }
  std::vector<std::vector<uint8_t>> received;
  std::vector<Address> sources;

 private:
  Endpoint* echo_through_;
};

TEST(ExitCliTest, HelpNamesTheExitOptionsAndRefusesThemAlone) {
  Output out = Ringv8("relay --help");
  for (const char* option : {"--exit", "--exit-rate", "--exit-circuit-rate", "--max-exit-sockets",
                             "--allow-loopback-destinations"}) {
    EXPECT_THAT(out.stdout_text, HasSubstr(option));
  }
  EXPECT_EQ(Ringv8("relay --exit smtp --bootstrap none --duration 1").exit_code, 2);
  Output alone = Ringv8("relay --exit-rate 100 --bootstrap none --duration 1", true);
  EXPECT_EQ(alone.exit_code, 2);
  EXPECT_THAT(alone.stdout_text, HasSubstr("only apply with --exit"));
}

TEST(ExitCliTest, ConfigsExitJsonIsWhatTheExitRuns) {
  Output out = Ringv8("relay --exit bt --key ringv8-exit.key --print-config");
  ASSERT_EQ(out.exit_code, 0);
  std::ifstream file(std::string(RINGV8_SOURCE_DIR) + "/configs/exit.json");
  ASSERT_TRUE(file);
  EXPECT_EQ(json::parse(out.stdout_text), json::parse(file));
}

// The relay and the exit with one thread, and with two (`--shards 2`: the circuit's cells are
// steered to the thread that owns its id, which learned the exit from thread 0's candidates).
class ExitPathTest : public ::testing::TestWithParam<const char*> {};

TEST_P(ExitPathTest, DataGoesFromARunClientThroughARelayAndAnExitToAnEchoAndBack) {
  const std::string shards = GetParam();
  const std::filesystem::path dir =
      std::filesystem::temp_directory_path() /
      ("ringv8-exit-test-" + std::to_string(getpid()) + (shards.empty() ? "" : "-shards"));
  std::filesystem::create_directories(dir);

  // The echo (the "Internet") and the application beside the client, on this test's loop.
  EndpointOptions options;
  options.ipv4 = Address::ParseIp("127.0.0.1", 0);
  options.raw = true;
  auto opened = OpenLoopAndEndpoint(EndpointBackend::kMmsg, options);
  ASSERT_TRUE(opened);
  Endpoint& echo = *opened->endpoint;
  Recorder echo_recorder(&echo);
  echo.AddCatchAllListener(&echo_recorder);
  auto app_opened = echo.OpenAnother(options);
  ASSERT_TRUE(app_opened);
  Endpoint& app = **app_opened;
  Recorder app_recorder;
  app.AddCatchAllListener(&app_recorder);

  const int relay_port = FreePort();
  const int exit_port = FreePort();
  const int client_port = FreePort();
  const int forward_port = FreePort();
  const json client_config = {
      {"interfaces", {{{"interface", "UDPIPv4"}, {"ip", "127.0.0.1"}, {"port", client_port}}}},
      {"keys",
       {{{"alias", "client"}, {"generation", "curve25519"}, {"file", (dir / "c.key").string()}}}},
      {"logger", {{"level", "INFO"}}},
      {"working_directory", dir.string()},
      {"walker_interval", 0.5},
      {"overlays",
       {{{"class", "TunnelCommunity"},
         {"key", "client"},
         {"walkers", {{{"strategy", "RandomWalk"}, {"peers", 20}, {"init", {{"timeout", 3.0}}}}}},
         // Walked to, not bootstrapped from: py-ipv8 blacklists bootstrap addresses as trackers.
         {"bootstrappers", json::array()},
         {"initialize",
          {{"settings", {{"peer_flags", json::array()}}},
           {"udp_forward",
            {{{"listen", {"127.0.0.1", forward_port}},
              {"destination", {"127.0.0.1", echo.local_addresses()[0].port()}},
              {"hops", 2}}}}}},
         {"on_start", json::array({json::array({"walk_to", {"127.0.0.1", relay_port}}),
                                   json::array({"walk_to", {"127.0.0.1", exit_port}})})}}}}};
  std::ofstream(dir / "client.json") << client_config.dump(2);

  const std::string common =
      " --ip 127.0.0.1 --duration 14 --json --status-interval 0 --backend mmsg " + shards;
  Ringv8Process relay("relay --port " + std::to_string(relay_port) + " --bootstrap none --key " +
                      (dir / "r.key").string() + common);
  Ringv8Process exit("relay --port " + std::to_string(exit_port) + " --bootstrap 127.0.0.1:" +
                     std::to_string(relay_port) + " --key " + (dir / "x.key").string() +
                     " --exit bt --allow-loopback-destinations" + common);
  opened->loop->RunFor(std::chrono::seconds(1));  // The relays bind before the client walks.
  Ringv8Process client("run --config " + (dir / "client.json").string() +
                       " --duration 14 --json --status-interval 0 --backend mmsg");

  // The application sends a DHT ping to its local port every 200 ms until the echo's answer
  // comes back through the circuit (the processes need a few seconds to find each other and
  // build it; until then the client counts udp_forward_no_circuit).
  const std::string text = "d1:ad2:id20:abcdefghij0123456789e1:q4:ping1:t2:aa1:y1:qe";
  const std::vector<uint8_t> ping(text.begin(), text.end());
  const Address forward = *Address::ParseIp("127.0.0.1", static_cast<uint16_t>(forward_port));
  for (int step = 0; step < 60 && app_recorder.received.empty(); ++step) {
    EXPECT_FALSE(app.Send(forward, ping));
    opened->loop->RunFor(std::chrono::milliseconds(200));
  }
  if (app_recorder.received.empty()) {
    FAIL() << "no echo came back through the circuit; --json of the client: "
           << client.Wait().stdout_text << "\nof the exit: " << exit.Wait().stdout_text;
  }
  EXPECT_EQ(app_recorder.received[0], ping);
  ASSERT_FALSE(echo_recorder.received.empty());
  // The echo heard the exit's socket for this circuit, not a node's socket.
  for (int port : {relay_port, exit_port, client_port}) {
    EXPECT_NE(echo_recorder.sources[0].port(), port);
  }
  const size_t echoed = app_recorder.received.size();
  app.RemoveCatchAllListener(&app_recorder);
  echo.RemoveCatchAllListener(&echo_recorder);

  Output out_relay = relay.Wait();
  Output out_exit = exit.Wait();
  Output out_client = client.Wait();
  ASSERT_EQ(out_relay.exit_code, 0);
  ASSERT_EQ(out_exit.exit_code, 0);
  ASSERT_EQ(out_client.exit_code, 0);
  const json r = *TunnelOverlay(json::parse(out_relay.stdout_text));
  const json x = *TunnelOverlay(json::parse(out_exit.stdout_text));
  const json c = *TunnelOverlay(json::parse(out_client.stdout_text));
  EXPECT_GE(r.at("relayed_cells_forward").get<uint64_t>(), echoed);
  EXPECT_GE(r.at("relayed_cells_backward").get<uint64_t>(), echoed);
  EXPECT_EQ(x.at("exit_sockets_opened"), 1);
  EXPECT_GE(x.at("exit_datagrams_out_bt").get<uint64_t>(), echoed);
  EXPECT_GE(x.at("exit_datagrams_back_bt").get<uint64_t>(), echoed);
  EXPECT_GE(c.at("udp_forwarded_out").get<uint64_t>(), echoed);
  EXPECT_EQ(c.at("udp_forwarded_back").get<uint64_t>(), echoed);
  for (const char* name : {"bad_tag", "wrong_source", "unknown_circuit", "exit_not_allowed",
                           "exit_refused_loopback", "exit_send_failed", "handoff_dropped"}) {
    EXPECT_EQ(x.at("drops").value(name, 0), 0) << name;
  }
  if (!shards.empty()) {
    EXPECT_EQ(json::parse(out_exit.stdout_text).at("tunnel_shards").size(), 1u);
  }
  std::filesystem::remove_all(dir);
}

INSTANTIATE_TEST_SUITE_P(Shards, ExitPathTest, ::testing::Values("", "--shards 2"),
                         [](const auto& info) {
                           return std::string(info.param).empty() ? "OneThread" : "TwoShards";
                         });

}  // namespace
}  // namespace ringv8::tools
