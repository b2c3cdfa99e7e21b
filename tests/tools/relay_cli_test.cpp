// `ringv8 relay` on real sockets: two relay processes on 127.0.0.1 (the second bootstraps from
// the first), and an in-process client that learns their flags from introductions, builds a
// 2-hop circuit through them (ending at the second, as py-ipv8's required_exit), sends a PING and a
// speed test (bytes both ways) and destroys it. The relays' --json output must account for it.
#include <filesystem>
#include <fstream>

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "overlay/network.h"
#include "ring/open_endpoint.h"
#include "tests/tools/ringv8_binary.h"
#include "tunnel/tunnel_community.h"

namespace ringv8::tools {
namespace {

using nlohmann::json;
using ::testing::HasSubstr;

TEST(RelayCliTest, HelpNamesTheOptions) {
  Output out = Ringv8("relay --help");
  EXPECT_EQ(out.exit_code, 0);
  for (const char* option : {"--port", "--ip", "--community-id", "--bootstrap", "--max-circuits",
                             "--rate", "--key", "--metrics", "--json", "--duration"}) {
    EXPECT_THAT(out.stdout_text, HasSubstr(option));
  }
  EXPECT_EQ(Ringv8("relay --bootstrap none --bootstrap 127.0.0.1:1 --duration 1").exit_code, 2);
  EXPECT_EQ(Ringv8("relay --community-id nonsense --bootstrap none --duration 1").exit_code, 2);
}

TEST(RelayCliTest, ConfigsRelayJsonIsWhatTheRelayRuns) {
  Output out = Ringv8("relay --print-config");
  ASSERT_EQ(out.exit_code, 0);
  std::ifstream file(std::string(RINGV8_SOURCE_DIR) + "/configs/relay.json");
  ASSERT_TRUE(file);
  EXPECT_EQ(json::parse(out.stdout_text), json::parse(file));
}

TEST(RelayCliTest, BenchRelayReportsEveryFigure) {
  Output out = Ringv8("bench relay --circuits 3 --payload 200 --seconds 0.2 --json");
  ASSERT_EQ(out.exit_code, 0);
  const json r = json::parse(out.stdout_text);
  EXPECT_GT(r["crypto"]["200"]["ceiling"].get<double>(), 0);
  ASSERT_EQ(r["handshakes"].size(), 1u);
  EXPECT_EQ(r["handshakes"][0]["ready"], 3);
  ASSERT_EQ(r["runs"].size(), 4u);  // Forward and backward, GSO and plain generator.
  for (const json& run : r["runs"]) {
    EXPECT_EQ(run["circuits"], 3);
    EXPECT_GT(run["relayed"].get<uint64_t>(), 0u) << run.dump();
    EXPECT_GT(run["per_cpu_second"].get<double>(), 0) << run.dump();
  }
  EXPECT_GT(r["latency"]["through_relay"]["probes"].get<uint64_t>(), 0u);
  ASSERT_EQ(r["memory"].size(), 1u);
  EXPECT_EQ(r["memory"][0]["circuits"], 3);
  EXPECT_EQ(r["memory"][0]["bad_tag"], 0);
  EXPECT_EQ(r["memory"][0]["unknown_circuit"], 0);
  EXPECT_EQ(Ringv8("bench relay --payload 20").exit_code, 2);
}

TEST(RelayCliTest, BenchRelayWithTwoShardsRelaysOnBoth) {
  Output out = Ringv8(
      "bench relay --shards 2 --circuits 24 --payload 200 --seconds 0.2 --no-latency --json");
  ASSERT_EQ(out.exit_code, 0);
  const json r = json::parse(out.stdout_text);
  ASSERT_EQ(r["handshakes"].size(), 1u);
  EXPECT_EQ(r["handshakes"][0]["shards"], 2);
  EXPECT_EQ(r["handshakes"][0]["ready"], 24);  // Built through both shards on one port.
  ASSERT_EQ(r["runs"].size(), 4u);
  for (const json& run : r["runs"]) {
    EXPECT_EQ(run["shards"], 2);
    EXPECT_GT(run["relayed"].get<uint64_t>(), 0u) << run.dump();
    EXPECT_EQ(run["shard_cpu_seconds"].size(), 2u);
  }
  const json& memory = r["memory"][0];
  EXPECT_EQ(memory["circuits"], 24);
  // The kernel steered cells to both shards, and each found its circuits there.
  ASSERT_EQ(memory["relayed_cells_per_shard"].size(), 2u);
  EXPECT_GT(memory["relayed_cells_per_shard"][0].get<uint64_t>(), 0u);
  EXPECT_GT(memory["relayed_cells_per_shard"][1].get<uint64_t>(), 0u);
  EXPECT_EQ(memory["unknown_circuit"], 0);
  EXPECT_EQ(memory["bad_tag"], 0);
  EXPECT_EQ(memory["handoff_dropped"], 0);
  EXPECT_EQ(Ringv8("bench relay --shards 3").exit_code, 2);
  EXPECT_EQ(Ringv8("bench relay --exit --shards 2").exit_code, 2);
}

TEST(RelayCliTest, BenchRelayExitReportsEveryFigure) {
  Output out = Ringv8("bench relay --exit --circuits 2 --payload 100 --seconds 0.2 --json");
  ASSERT_EQ(out.exit_code, 0);
  const json r = json::parse(out.stdout_text);
  EXPECT_GT(r["crypto"]["100"]["ceiling"].get<double>(), 0);
  ASSERT_EQ(r["runs"].size(), 4u);  // Out and back, GSO and plain generator.
  for (const json& run : r["runs"]) {
    EXPECT_EQ(run["circuits"], 2);
    EXPECT_GT(run["arrived"].get<uint64_t>(), 0u) << run.dump();
    EXPECT_GT(run["per_cpu_second"].get<double>(), 0) << run.dump();
  }
  ASSERT_EQ(r["memory"].size(), 1u);
  EXPECT_EQ(r["memory"][0]["exit_sockets"], 2);
  EXPECT_EQ(r["memory"][0]["exit_not_allowed"], 0);
  EXPECT_EQ(r["memory"][0]["bad_tag"], 0);
  EXPECT_EQ(Ringv8("bench relay --exit --payload 1405").exit_code, 2);
}

TEST(RelayCliTest, ClientBuildsTwoHopCircuitThroughTwoRelayProcesses) {
  const std::filesystem::path dir =
      std::filesystem::temp_directory_path() / ("ringv8-relay-test-" + std::to_string(getpid()));
  std::filesystem::create_directories(dir);
  const int port_a = FreePort();
  const int port_b = FreePort();
  const std::string common =
      " --ip 127.0.0.1 --duration 8 --json --status-interval 0 --backend mmsg";
  Ringv8Process relay_a("relay --port " + std::to_string(port_a) + " --bootstrap none --key " +
                        (dir / "a.key").string() + common);
  Ringv8Process relay_b("relay --port " + std::to_string(port_b) + " --bootstrap 127.0.0.1:" +
                        std::to_string(port_a) + " --key " + (dir / "b.key").string() + common);

  // The client: a TunnelCommunity on a real socket, advertising no flags.
  EndpointOptions options;
  options.ipv4 = Address::ParseIp("127.0.0.1", 0);
  auto opened = OpenLoopAndEndpoint(EndpointBackend::kMmsg, options);
  ASSERT_TRUE(opened);
  wire::PrivateKey key = wire::PrivateKey::Generate();
  overlay::Network network;
  auto my_peer = std::make_shared<overlay::Peer>(
      key.public_key(), opened->endpoint->local_addresses()[0], opened->loop->Now());
  tunnel::TunnelSettings settings;
  settings.peer_flags = 0;
  tunnel::TunnelCommunity client(tunnel::kPyIpv8TunnelCommunityId, my_peer, key, *opened->endpoint,
                                 network, *opened->loop, {}, settings);
  const Address a = *Address::ParseIp("127.0.0.1", static_cast<uint16_t>(port_a));
  const Address b = *Address::ParseIp("127.0.0.1", static_cast<uint16_t>(port_b));

  uint32_t circuit_id = 0;
  bool ready = false;
  client.SetCircuitHandler([&](uint32_t id, tunnel::TunnelCommunity::CircuitEvent event) {
    if (id == circuit_id && event == tunnel::TunnelCommunity::CircuitEvent::kReady) ready = true;
  });
  // Walk to both until they are known relays and the circuit is built (the relays need a moment
  // to start and to learn each other's flags).
  for (int step = 0; step < 60 && !ready; ++step) {
    client.WalkTo(a);
    client.WalkTo(b);
    opened->loop->RunFor(std::chrono::milliseconds(100));
    if (circuit_id == 0 || client.GetCircuit(circuit_id) == nullptr) {
      // Relays only (no exits): the circuit ends at relay B, named as py-ipv8's required_exit.
      const overlay::Peer* last = network.GetVerifiedByAddress(b);
      if (client.GetPeers().size() == 2 && last != nullptr) {
        circuit_id = client.CreateCircuit(2, tunnel::RequiredHop::Of(last->public_key_bin(), b));
      }
    }
  }
  std::string flags;
  for (const overlay::Peer* peer : client.GetPeers()) {
    flags += peer->address().ToString() + "=" + std::to_string(client.FlagsOf(*peer)) + " ";
  }
  ASSERT_TRUE(ready) << "no 2-hop circuit; circuits failed: "
                     << client.tunnel_stats().circuits_failed << "; peers and flags: " << flags;
  const tunnel::Circuit* circuit = client.GetCircuit(circuit_id);
  ASSERT_NE(circuit, nullptr);
  EXPECT_EQ(circuit->hops.size(), 2u);

  client.PingCircuits();
  ASSERT_TRUE(client.SendTestRequest(circuit_id, 100, 500));
  for (int step = 0; step < 30 && (circuit->pongs == 0 || circuit->test_responses == 0); ++step) {
    opened->loop->RunFor(std::chrono::milliseconds(100));
  }
  EXPECT_EQ(circuit->pongs, 1u);
  EXPECT_EQ(circuit->test_responses, 1u);
  EXPECT_GT(circuit->bytes_down, 500u);
  client.RemoveCircuit(circuit_id, tunnel::kDestroyShutdown);
  opened->loop->RunFor(std::chrono::milliseconds(200));

  Output out_a = relay_a.Wait();
  Output out_b = relay_b.Wait();
  ASSERT_EQ(out_a.exit_code, 0);
  ASSERT_EQ(out_b.exit_code, 0);
  json totals = json::object();
  for (const Output* out : {&out_a, &out_b}) {
    const json status = json::parse(out->stdout_text);
    const json* tunnel = TunnelOverlay(status);
    ASSERT_NE(tunnel, nullptr);
    for (const char* name :
         {"circuits_joined", "circuits_extended", "relayed_cells_forward", "relayed_cells_backward",
          "pings_answered", "speed_tests_answered", "destroys_received", "destroys_sent"}) {
      totals[name] = totals.value(name, 0) + tunnel->at(name).get<int>();
    }
    for (const auto& [name, value] : tunnel->at("drops").items()) {  // Drops by reason.
      totals["drops"] = totals.value("drops", 0) + value.get<int>();
      if (value.get<int>() != 0) ADD_FAILURE() << "drop " << name << ": " << value;
    }
  }
  EXPECT_EQ(totals["circuits_joined"], 2);         // Each relay joined once.
  EXPECT_EQ(totals["circuits_extended"], 1);       // The first hop extended to the second.
  EXPECT_EQ(totals["relayed_cells_forward"], 2);   // PING and the speed test.
  EXPECT_EQ(totals["relayed_cells_backward"], 2);  // PONG and the response.
  EXPECT_EQ(totals["pings_answered"], 1);
  EXPECT_EQ(totals["speed_tests_answered"], 1);
  EXPECT_EQ(totals["destroys_received"], 2);  // The client's, then the first hop's.
  EXPECT_EQ(totals["destroys_sent"], 1);
  EXPECT_EQ(totals["drops"], 0);
  std::filesystem::remove_all(dir);
}

}  // namespace
}  // namespace ringv8::tools
