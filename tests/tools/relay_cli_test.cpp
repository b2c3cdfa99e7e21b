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
  Output out = Ringv8("bench relay --circuits 3 --payload 200 --seconds 0.2 --rounds 2 --json");
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
    // The same flow through the bare-syscall relay, which opens and seals with the same keys.
    EXPECT_GT(run["bare"]["arrived"].get<uint64_t>(), 0u) << run.dump();
    EXPECT_GT(run["share_of_bare"].get<double>(), 0) << run.dump();
    // Measured in two alternating slices of each (A B, then B A), both of which relayed.
    ASSERT_EQ(run["share_of_bare_by_round"].size(), 2u) << run.dump();
    for (const json& share : run["share_of_bare_by_round"]) EXPECT_GT(share.get<double>(), 0);
  }
  ASSERT_EQ(r["latency"].size(), 2u);  // Bursts of 4 and of 64.
  for (const auto& l : r["latency"]) {
    EXPECT_GT(l["probes"].get<uint64_t>(), 0u) << l.dump();  // Each through the relay and direct.
    EXPECT_GT(l["added"]["p50_us"].get<double>(), 0) << l.dump();  // The twin goes first.
  }
  ASSERT_EQ(r["memory"].size(), 1u);
  EXPECT_EQ(r["memory"][0]["circuits"], 3);
  EXPECT_EQ(r["memory"][0]["bad_tag"], 0);
  EXPECT_EQ(r["memory"][0]["unknown_circuit"], 0);
  EXPECT_EQ(Ringv8("bench relay --payload 20").exit_code, 2);
}

TEST(RelayCliTest, BenchRelayWithTwoShardsRelaysOnBoth) {
  Output out = Ringv8(
      "bench relay --shards 2 --circuits 24 --payload 200 --seconds 0.2 --rounds 1 --no-latency "
      "--json");
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
  Output out =
      Ringv8("bench relay --exit --circuits 2 --payload 100 --seconds 0.2 --rounds 2 --json");
  ASSERT_EQ(out.exit_code, 0);
  const json r = json::parse(out.stdout_text);
  EXPECT_GT(r["crypto"]["100"]["ceiling"].get<double>(), 0);
  ASSERT_EQ(r["runs"].size(), 4u);  // Out and back, GSO and plain generator.
  for (const json& run : r["runs"]) {
    EXPECT_EQ(run["circuits"], 2);
    EXPECT_GT(run["arrived"].get<uint64_t>(), 0u) << run.dump();
    EXPECT_GT(run["per_cpu_second"].get<double>(), 0) << run.dump();
    // The same flow through the bare-syscall exit (testbed/bare_exit.h) arrived too.
    EXPECT_GT(run["bare"]["arrived"].get<uint64_t>(), 0u) << run.dump();
    EXPECT_GT(run["bare"]["per_cpu_second"].get<double>(), 0) << run.dump();
    EXPECT_GT(run["share_of_bare"].get<double>(), 0) << run.dump();
    ASSERT_EQ(run["share_of_bare_by_round"].size(), 2u) << run.dump();
    for (const json& share : run["share_of_bare_by_round"]) EXPECT_GT(share.get<double>(), 0);
  }
  ASSERT_EQ(r["memory"].size(), 1u);
  EXPECT_EQ(r["memory"][0]["exit_sockets"], 2);
  EXPECT_EQ(r["memory"][0]["exit_not_allowed"], 0);
  EXPECT_EQ(r["memory"][0]["bad_tag"], 0);
  EXPECT_EQ(Ringv8("bench relay --exit --payload 1405").exit_code, 2);
}

// A user's shell allows 1,024 open files; 1,000 circuits' exit sockets take two each, and the
// bare exit one more. ringv8 raises its soft limit to the hard one before any command runs: here
// 150 circuits under a soft limit of 256.
TEST(RelayCliTest, BenchRelayExitRaisesTheOpenFilesLimit) {
  Output out =
      Ringv8("bench relay --exit --circuits 150 --payload 100 --seconds 0.1 --rounds 1 --json",
             false, "ulimit -Sn 256;");
  ASSERT_EQ(out.exit_code, 0);
  const json r = json::parse(out.stdout_text);
  EXPECT_EQ(r["memory"][0]["exit_sockets"], 150);
  for (const json& run : r["runs"]) {
    EXPECT_GT(run["arrived"].get<uint64_t>(), 0u) << run.dump();
    EXPECT_GT(run["bare"]["arrived"].get<uint64_t>(), 0u) << run.dump();
  }
}

// The client: a TunnelCommunity on a real socket (127.0.0.1, mmsg), advertising no flags.
struct TunnelClient {
  TunnelClient() {
    EndpointOptions options;
    options.ipv4 = Address::ParseIp("127.0.0.1", 0);
    auto result = OpenLoopAndEndpoint(EndpointBackend::kMmsg, options);
    if (!result) throw std::runtime_error(result.error().message());
    opened = std::move(*result);
    auto my_peer = std::make_shared<overlay::Peer>(
        key.public_key(), opened.endpoint->local_addresses()[0], opened.loop->Now());
    tunnel::TunnelSettings settings;
    settings.peer_flags = 0;
    community = std::make_unique<tunnel::TunnelCommunity>(
        tunnel::kPyIpv8TunnelCommunityId, my_peer, key, *opened.endpoint, network, *opened.loop,
        overlay::CommunitySettings{}, settings);
  }
  LoopAndEndpoint opened;
  wire::PrivateKey key = wire::PrivateKey::Generate();
  overlay::Network network;
  std::unique_ptr<tunnel::TunnelCommunity> community;
};

// Relay A (bootstrapping from nobody; `a_only` options) and relay B (from A) on 127.0.0.1 for
// 8 s with --json, both with `common` options, their keys in a directory that goes with them.
struct TwoRelays {
  static std::filesystem::path MakeDir(const std::string& name) {
    auto dir = std::filesystem::temp_directory_path() /
               ("ringv8-" + name + "-" + std::to_string(getpid()));
    std::filesystem::create_directories(dir);
    return dir;
  }
  TwoRelays(const std::string& name, const std::string& common, const std::string& a_only = "")
      : dir(MakeDir(name)),
        port_a(FreePort()),
        port_b(FreePort()),
        relay_a("relay " + a_only + " --port " + std::to_string(port_a) +
                " --bootstrap none --key " + (dir / "a.key").string() + kRun + common),
        relay_b("relay --port " + std::to_string(port_b) + " --bootstrap 127.0.0.1:" +
                std::to_string(port_a) + " --key " + (dir / "b.key").string() + kRun + common),
        a(*Address::ParseIp("127.0.0.1", static_cast<uint16_t>(port_a))),
        b(*Address::ParseIp("127.0.0.1", static_cast<uint16_t>(port_b))) {}
  ~TwoRelays() { std::filesystem::remove_all(dir); }

  static constexpr const char* kRun = " --ip 127.0.0.1 --duration 8 --json --status-interval 0 ";
  std::filesystem::path dir;
  int port_a, port_b;
  Ringv8Process relay_a, relay_b;
  Address a, b;
};

TEST(RelayCliTest, ClientBuildsTwoHopCircuitThroughTwoRelayProcesses) {
  TwoRelays relays("relay-test", "--backend mmsg");
  Ringv8Process& relay_a = relays.relay_a;
  Ringv8Process& relay_b = relays.relay_b;
  TunnelClient tc;
  tunnel::TunnelCommunity& client = *tc.community;
  overlay::Network& network = tc.network;
  EventLoop* loop = tc.opened.loop.get();
  const Address a = relays.a, b = relays.b;

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
    loop->RunFor(std::chrono::milliseconds(100));
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
    loop->RunFor(std::chrono::milliseconds(100));
  }
  EXPECT_EQ(circuit->pongs, 1u);
  EXPECT_EQ(circuit->test_responses, 1u);
  EXPECT_GT(circuit->bytes_down, 500u);
  client.RemoveCircuit(circuit_id, tunnel::kDestroyShutdown);
  loop->RunFor(std::chrono::milliseconds(200));

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
}

// `ringv8 relay --shards 2`: two threads on one port; the kernel steers each cell by its circuit
// id. The client's 16 CREATEs leave as one GSO send, which arrives whole at one shard: what is
// not its own goes on to the other (handed_off). Every circuit is built, pinged and destroyed,
// each by the shard its id belongs to, and the relay's JSON sums both shards.
TEST(RelayCliTest, ClientBuildsCircuitsThroughARelayOfTwoShards) {
  // With a small send queue on each shard (--send-queue): the cells of this test still fit.
  TwoRelays relays("shards-test", "", "--shards 2 --send-queue 256");
  Ringv8Process& relay_a = relays.relay_a;
  Ringv8Process& relay_b = relays.relay_b;
  TunnelClient tc;
  tunnel::TunnelCommunity& client = *tc.community;
  overlay::Network& network = tc.network;
  EventLoop* loop = tc.opened.loop.get();
  const Address a = relays.a, b = relays.b;
  constexpr size_t kCircuits = 16;
  std::vector<uint32_t> ids;
  size_t ready = 0;
  client.SetCircuitHandler([&](uint32_t, tunnel::TunnelCommunity::CircuitEvent event) {
    if (event == tunnel::TunnelCommunity::CircuitEvent::kReady) ++ready;
  });
  for (int step = 0; step < 60 && ready < kCircuits; ++step) {
    client.WalkTo(a);
    client.WalkTo(b);
    loop->RunFor(std::chrono::milliseconds(100));
    const overlay::Peer* last = network.GetVerifiedByAddress(b);
    if (ids.empty() && client.GetPeers().size() == 2 && last != nullptr) {
      for (size_t i = 0; i < kCircuits; ++i) {
        ids.push_back(client.CreateCircuit(2, tunnel::RequiredHop::Of(last->public_key_bin(), b)));
      }
    }
  }
  ASSERT_EQ(ready, kCircuits) << "circuits failed: " << client.tunnel_stats().circuits_failed;
  client.PingCircuits();
  for (int step = 0; step < 30 && client.tunnel_stats().pongs_received < kCircuits; ++step) {
    loop->RunFor(std::chrono::milliseconds(100));
  }
  EXPECT_EQ(client.tunnel_stats().pongs_received, kCircuits);
  size_t odd = 0;
  for (uint32_t id : ids) {
    odd += id % 2;
    client.RemoveCircuit(id, tunnel::kDestroyShutdown);
  }
  loop->RunFor(std::chrono::milliseconds(200));

  Output out_a = relay_a.Wait();
  ASSERT_EQ(out_a.exit_code, 0);
  EXPECT_EQ(relay_b.Wait().exit_code, 0);
  const json status = json::parse(out_a.stdout_text);
  const json* tunnel = TunnelOverlay(status);
  ASSERT_NE(tunnel, nullptr);
  // Summed over both shards.
  EXPECT_EQ(tunnel->at("circuits_joined"), kCircuits);
  EXPECT_EQ(tunnel->at("circuits_extended"), kCircuits);
  EXPECT_EQ(tunnel->at("relayed_cells_forward"), kCircuits);  // The PINGs.
  EXPECT_EQ(tunnel->at("relayed_cells_backward"), kCircuits);
  EXPECT_EQ(tunnel->at("destroys_received"), kCircuits);
  for (const auto& [name, value] : tunnel->at("drops").items()) {
    EXPECT_EQ(value, 0) << "drop " << name;
  }
  // DESTROY is not a cell: shard 0 hears every one and hands on the odd ones.
  EXPECT_GE(tunnel->at("handed_off").get<size_t>(), odd);
  // Shard 1 owns the odd circuit ids, and did their work itself.
  ASSERT_EQ(status["tunnel_shards"].size(), 1u);
  const json& shard1 = status["tunnel_shards"][0]["tunnel"];
  EXPECT_EQ(shard1["circuits_joined"], odd);
  EXPECT_EQ(shard1["destroys_received"], odd);
  EXPECT_GT(status["tunnel_shards"][0]["cpu_seconds"].get<double>(), 0);
  EXPECT_EQ(Ringv8("relay --shards 0").exit_code, 2);
  EXPECT_EQ(Ringv8("relay --send-queue 63 --bootstrap none --duration 1").exit_code, 2);
}

}  // namespace
}  // namespace ringv8::tools
