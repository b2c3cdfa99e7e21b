// Replays each node's part of the circuits py-ipv8 recorded (tunnel-vectors.json transcripts):
// the node under test gets the identity, the known peers and flags, and the random draws py-ipv8
// made; the client's API calls are made in the recorded order, every datagram a node receives is
// fed from its recorded source, and what it sends must equal what py-ipv8 sent, byte for byte.
// CREATED is compared with the vectors' counter-1 variant (ringv8 seals the candidate list with
// counter 1, spec Q1); the client uses py-ipv8's counters here (skip_reused_counter off).
#include <deque>
#include <map>

#include <gtest/gtest.h>

#include "ring/memory_endpoint.h"
#include "tests/testing/simulation.h"
#include "tests/testing/vectors.h"
#include "tunnel/tunnel_community.h"
#include "wire/hex.h"

namespace ringv8::tunnel {
namespace {

using nlohmann::json;
using ::ringv8::testing::Hex;
using ::ringv8::testing::TunnelVectors;

// The draws py-ipv8 made for one node, handed out in order; a draw of the wrong kind fails.
class ReplayRandom final : public TunnelRandom {
 public:
  explicit ReplayRandom(std::deque<json> draws) : draws_(std::move(draws)) {}

  X25519KeyPair KeyPair() override {
    json draw = Next("x25519_private_key");
    Key32 secret{};
    std::vector<uint8_t> bytes = Hex(draw.at("value").get<std::string>());
    std::copy_n(bytes.begin(), std::min(bytes.size(), secret.size()), secret.begin());
    return X25519KeyPair::FromSecret(secret);
  }
  uint32_t CircuitId() override { return Next("circuit_id_u32").at("value").get<uint32_t>(); }
  uint16_t Identifier() override { return Next("identifier_u16").at("value").get<uint16_t>(); }
  void Fill(std::span<uint8_t> out) override {
    std::vector<uint8_t> bytes = Hex(Next("random_bytes").at("value").get<std::string>());
    ASSERT_EQ(bytes.size(), out.size());
    std::copy(bytes.begin(), bytes.end(), out.begin());
  }
  size_t remaining() const { return draws_.size(); }

 private:
  json Next(const std::string& kind) {
    EXPECT_FALSE(draws_.empty()) << "no draw left for " << kind;
    if (draws_.empty()) return json{{"value", 0}};
    json draw = draws_.front();
    draws_.pop_front();
    EXPECT_EQ(draw.at("kind"), kind) << "draw " << draw.at("seq");
    return draw;
  }
  std::deque<json> draws_;
};

// Records what arrives at the other nodes' addresses.
class Capture final : public EndpointListener {
 public:
  explicit Capture(std::vector<std::pair<Address, std::string>>* log, Address self)
      : log_(log), self_(self) {}
  void OnPacket(const Address&, std::span<const uint8_t> datagram) override {
    log_->push_back({self_, wire::ToHex(datagram)});
  }

 private:
  std::vector<std::pair<Address, std::string>>* log_;
  Address self_;
};

wire::PrivateKey KeyOf(const json& vectors, const std::string& name) {
  return *wire::PrivateKey::FromBin(
      Hex(vectors.at("keys").at(name).at("private_bin").get<std::string>()));
}

// What the node must send for datagram `d`: CREATED in the counter-1 variant.
std::string ExpectedHex(const json& d) {
  const json& inner = d.value("inner", json::object());
  if (inner.value("name", "") == "CREATED") {
    return inner.at("candidates").at("counter_1_variant").at("datagram_hex").get<std::string>();
  }
  return d.at("hex").get<std::string>();
}

struct ReplayResult {
  TunnelStats stats;
  std::vector<std::pair<Address, std::string>> to_internet;  // What left the exit sockets.
  size_t relayed_circuits = 0;
  size_t terminal_circuits = 0;
  size_t circuits = 0;
};

// The client's recorded API call, made on `community`.
void MakeCall(const json& t, const json& call, TunnelCommunity& community, uint32_t* circuit_id) {
  const std::string text = call.at("call").get<std::string>();
  if (text.starts_with("client.create_circuit(1, required_exit")) {
    const json& relay1 = t.at("nodes").at("relay1");
    const std::vector<uint8_t> bin =
        Hex(TunnelVectors()->at("keys").at("relay1").at("public_bin").get<std::string>());
    *circuit_id = community.CreateCircuit(
        1, RequiredHop::Of(bin, *Address::Parse(relay1.at("address").get<std::string>())));
  } else if (text.starts_with("client.create_circuit(")) {
    *circuit_id = community.CreateCircuit(text[22] - '0');
  } else if (text == "client.do_ping()") {
    community.PingCircuits();
  } else if (text.starts_with("client.send_test_request")) {
    EXPECT_TRUE(community.SendTestRequest(*circuit_id, 32, 48));
  } else if (text.starts_with("client.send_data")) {
    const json& payload =
        t.at("datagrams").at(call.at("first_datagram").get<int>()).at("inner").at("payload");
    const Address destination = testing::JsonAddress(payload.at("dest_address"));
    EXPECT_TRUE(
        community.SendData(*circuit_id, destination, Hex(payload.at("data").get<std::string>())));
  } else if (text.starts_with("exit.remove_exit_socket(circuit id, destroy=")) {
    const uint32_t id = t.at("exit_received").at(0).at("circuit_id").get<uint32_t>();
    EXPECT_TRUE(
        community.DestroyTerminalCircuit(id, static_cast<uint16_t>(text[text.size() - 2] - '0')));
  } else if (text.starts_with("client.remove_circuit")) {
    community.RemoveCircuit(*circuit_id, static_cast<uint16_t>(text[text.size() - 2] - '0'));
  } else {
    FAIL() << "unknown call " << text;
  }
}

ReplayResult Replay(const std::string& transcript_name, const std::string& node_name) {
  SCOPED_TRACE(transcript_name + " / " + node_name);
  const json& vectors = *TunnelVectors();
  const json& t = vectors.at("transcripts").at(transcript_name);
  const json& nodes = t.at("nodes");
  const json& me = nodes.at(node_name);
  testing::Simulation sim;

  std::deque<json> draws;
  for (const json& draw : t.at("draws")) {
    if (draw.at("node") == node_name) draws.push_back(draw);
  }
  auto random = std::make_unique<ReplayRandom>(draws);
  ReplayRandom* replay_random = random.get();

  // The node under test.
  const Address my_address = *Address::Parse(me.at("address").get<std::string>());
  wire::PrivateKey key = KeyOf(vectors, me.at("key"));
  EndpointOptions options;
  options.ipv4 = my_address;
  std::unique_ptr<MemoryEndpoint> endpoint = std::move(*sim.net.Open(options));
  overlay::Network network;
  auto my_peer = std::make_shared<overlay::Peer>(key.public_key(), my_address, sim.loop->Now());
  wire::CommunityId id;
  std::vector<uint8_t> id_bytes = Hex(t.at("community_id").get<std::string>());
  std::copy(id_bytes.begin(), id_bytes.end(), id.begin());
  TunnelSettings settings;
  settings.peer_flags = me.at("peer_flags_value").get<PeerFlags>();
  // The recorded destination is a documentation address (TEST-NET-2), refused by default.
  settings.exit_allowed_ips.push_back(*Address::Parse("198.51.100.7:0"));
  settings.list_create_sender = true;  // As py-ipv8 does.
  settings.skip_reused_counter = false;
  TunnelCommunity community(id, my_peer, key, *endpoint, network, *sim.loop, {}, settings,
                            std::move(random));

  // Its known peers, with their flags, in py-ipv8's order.
  for (const json& known : me.at("knows_in_order")) {
    const json& node = nodes.at(known.at("node").get<std::string>());
    auto peer = std::make_shared<overlay::Peer>(
        KeyOf(vectors, node.at("key")).public_key(),
        *Address::Parse(node.at("address").get<std::string>()), sim.loop->Now());
    overlay::Peer* verified = network.AddVerifiedPeer(peer);
    network.DiscoverServices(*verified, std::span(&id, 1));
    community.SetCandidateFlags(*verified, known.at("flags_value").get<PeerFlags>());
  }

  // The other nodes: endpoints that send the recorded datagrams and capture the answers.
  std::vector<std::pair<Address, std::string>> sent;
  std::map<std::string, std::unique_ptr<MemoryEndpoint>> others;
  std::vector<std::unique_ptr<Capture>> captures;
  for (const auto& [name, node] : nodes.items()) {
    if (name == node_name) continue;
    EndpointOptions other;
    other.ipv4 = *Address::Parse(node.at("address").get<std::string>());
    others[name] = std::move(*sim.net.Open(other));
    captures.push_back(std::make_unique<Capture>(&sent, *other.ipv4));
    others[name]->AddCatchAllListener(captures.back().get());
  }

  // The Internet behind an exit: the recorded destinations, capturing what the exit sends.
  std::vector<std::pair<Address, std::string>> to_internet;
  std::map<Address, std::unique_ptr<MemoryEndpoint>> internet;
  for (const json& received : t.at("exit_received")) {
    EndpointOptions host;
    host.ipv4 = *Address::Parse(received.at("destination").get<std::string>());
    if (internet.contains(*host.ipv4)) continue;
    internet[*host.ipv4] = std::move(*sim.net.Open(host));
    captures.push_back(std::make_unique<Capture>(&to_internet, *host.ipv4));
    internet[*host.ipv4]->AddCatchAllListener(captures.back().get());
  }
  const bool exit = (settings.peer_flags & kFlagExitBt) != 0;

  std::vector<std::pair<Address, std::string>> expected;
  const json& datagrams = t.at("datagrams");
  const json& replay = me.at("replay");
  const bool client = node_name == "client";
  std::vector<int> api_sends = replay.at("sends_on_api_call").get<std::vector<int>>();
  for (int index : replay.at("sends").get<std::vector<int>>()) {
    // Other nodes' API calls are not replayed; the exit's (a reply on its exit socket, its
    // teardown) are.
    if (!client && !exit && std::ranges::find(api_sends, index) != api_sends.end()) continue;
    const json& d = datagrams.at(index);
    expected.push_back({*Address::Parse(d.at("to_address").get<std::string>()), ExpectedHex(d)});
  }
  // Each call, then the datagrams of its phase that this node receives.
  const json& calls = t.at("calls");
  const std::vector<int> receives = replay.at("receives").get<std::vector<int>>();
  uint32_t circuit_id = 0;
  for (size_t c = 0; c < calls.size(); ++c) {
    const int first = calls[c].at("first_datagram").get<int>();
    const int end = c + 1 < calls.size() ? calls[c + 1].at("first_datagram").get<int>()
                                         : static_cast<int>(datagrams.size());
    const std::string call = calls[c].at("call").get<std::string>();
    if (client && call.starts_with("client.")) {
      MakeCall(t, calls[c], community, &circuit_id);
      sim.RunFor(std::chrono::milliseconds(1));
    }
    if (exit && call.starts_with("exit.")) {
      MakeCall(t, calls[c], community, &circuit_id);
      sim.RunFor(std::chrono::milliseconds(1));
    }
    if (exit && call.starts_with("exit: exit_socket.tunnel_data")) {
      // The destination answers the exit socket the DATA left from.
      const json& payload = datagrams.at(first).at("inner").at("payload");
      const Address source = testing::JsonAddress(payload.at("org_address"));
      const ExitSocket* socket =
          community.GetExitSocket(t.at("exit_received").at(0).at("circuit_id").get<uint32_t>());
      EXPECT_NE(socket, nullptr);
      if (socket != nullptr) {
        EXPECT_FALSE(internet.at(source)->Send(socket->local_addresses().front(),
                                               Hex(payload.at("data").get<std::string>())));
      }
      sim.RunFor(std::chrono::milliseconds(1));
    }
    for (int index : receives) {
      if (index < first || index >= end) continue;
      const json& d = datagrams.at(index);
      std::vector<uint8_t> bytes = Hex(d.at("hex").get<std::string>());
      EXPECT_FALSE(others.at(d.at("from").get<std::string>())->Send(my_address, bytes));
      sim.RunFor(std::chrono::milliseconds(1));
    }
  }
  EXPECT_EQ(sent.size(), expected.size());
  for (size_t i = 0; i < std::min(sent.size(), expected.size()); ++i) {
    SCOPED_TRACE("sent datagram " + std::to_string(i));
    EXPECT_EQ(sent[i].first, expected[i].first);
    EXPECT_EQ(sent[i].second, expected[i].second);
  }
  EXPECT_EQ(replay_random->remaining(), 0u) << "draws left unused";
  ReplayResult result{community.tunnel_stats(), to_internet, community.relayed_circuits(),
                      community.terminal_circuits(), community.circuit_count()};
  for (auto& [name, other] : others) other->Close();
  for (auto& [address, host] : internet) host->Close();
  endpoint->Close();
  return result;
}

class CircuitReplayTest : public ::testing::Test {
 protected:
  void SetUp() override { RINGV8_REQUIRE_TUNNEL_VECTORS(); }
};

TEST_F(CircuitReplayTest, TwoHopRelay) {
  ReplayResult r = Replay("two_hop", "relay1");
  EXPECT_EQ(r.stats.circuits_joined, 1u);
  EXPECT_EQ(r.stats.circuits_extended, 1u);
  EXPECT_EQ(r.stats.relayed_cells_forward, 3u);   // PING, TestRequest, DATA.
  EXPECT_EQ(r.stats.relayed_cells_backward, 3u);  // PONG, TestResponse, DATA.
  EXPECT_EQ(r.stats.destroys_received, 1u);       // From the exit, passed on to the client.
  EXPECT_EQ(r.stats.destroys_sent, 1u);
  EXPECT_EQ(r.relayed_circuits, 0u);
}

// The exit: PING, speed test, the DATA that leaves for the Internet (exit_received), the reply
// that comes back on its exit socket as DATA (datagram 16) and its DESTROY (18), byte for byte.
TEST_F(CircuitReplayTest, TwoHopExit) {
  ReplayResult r = Replay("two_hop", "exit");
  EXPECT_EQ(r.stats.pings_answered, 1u);
  EXPECT_EQ(r.stats.speed_tests_answered, 1u);
  const json& received = TunnelVectors()->at("transcripts").at("two_hop").at("exit_received");
  ASSERT_EQ(r.to_internet.size(), received.size());
  EXPECT_EQ(r.to_internet[0].first.ToString(), received[0].at("destination"));
  EXPECT_EQ(r.to_internet[0].second, received[0].at("data"));
  EXPECT_EQ(r.stats.exit_sockets_opened, 1u);
  EXPECT_EQ(r.stats.exit_datagrams_out_bt, 1u);
  EXPECT_EQ(r.stats.exit_datagrams_back_bt, 1u);
  EXPECT_EQ(r.stats.destroys_sent, 1u);
  EXPECT_EQ(r.terminal_circuits, 0u);
}

TEST_F(CircuitReplayTest, ThreeHopFirstRelay) {
  ReplayResult r = Replay("three_hop", "relay1");
  EXPECT_EQ(r.stats.relayed_cells_forward, 4u);  // The second EXTEND, PING, TestRequest, DATA.
  EXPECT_EQ(r.stats.relayed_cells_backward, 4u);
  EXPECT_EQ(r.stats.destroys_sent, 1u);
  EXPECT_EQ(r.relayed_circuits, 0u);
}

TEST_F(CircuitReplayTest, ThreeHopSecondRelay) {
  ReplayResult r = Replay("three_hop", "relay2");
  EXPECT_EQ(r.stats.circuits_extended, 1u);
  EXPECT_EQ(r.stats.destroys_sent, 1u);
  EXPECT_EQ(r.relayed_circuits, 0u);
}

TEST_F(CircuitReplayTest, ThreeHopExitAndClientDestroy) {
  ReplayResult r = Replay("three_hop", "exit");
  ASSERT_EQ(r.to_internet.size(), 1u);
  EXPECT_EQ(
      r.to_internet[0].second,
      TunnelVectors()->at("transcripts").at("three_hop").at("exit_received").at(0).at("data"));
  EXPECT_EQ(r.stats.destroys_received, 1u);
  EXPECT_EQ(r.terminal_circuits, 0u);
  EXPECT_EQ(r.stats.exit_sockets_opened, 1u);
}

TEST_F(CircuitReplayTest, OneHopRelayIsLastHop) {
  ReplayResult r = Replay("one_hop_relay_is_last_hop", "relay1");
  EXPECT_EQ(r.stats.pings_answered, 1u);
  EXPECT_EQ(r.stats.speed_tests_answered, 1u);
  EXPECT_EQ(r.stats.destroys_received, 1u);
  EXPECT_EQ(r.terminal_circuits, 0u);
}

TEST_F(CircuitReplayTest, TwoHopClient) {
  ReplayResult r = Replay("two_hop", "client");
  EXPECT_EQ(r.stats.circuits_ready, 1u);
  EXPECT_EQ(r.stats.pongs_received, 1u);
  EXPECT_EQ(r.stats.data_received, 1u);
  EXPECT_EQ(r.stats.destroys_received, 1u);  // relay1's, after the exit ended the circuit.
  EXPECT_EQ(r.circuits, 0u);
}

TEST_F(CircuitReplayTest, ThreeHopClient) {
  ReplayResult r = Replay("three_hop", "client");
  EXPECT_EQ(r.stats.circuits_ready, 1u);
  EXPECT_EQ(r.stats.pongs_received, 1u);
  EXPECT_EQ(r.stats.data_received, 1u);
  EXPECT_EQ(r.stats.destroys_sent, 1u);
  EXPECT_EQ(r.circuits, 0u);
}

TEST_F(CircuitReplayTest, OneHopClient) {
  ReplayResult r = Replay("one_hop_relay_is_last_hop", "client");
  EXPECT_EQ(r.stats.circuits_ready, 1u);
  EXPECT_EQ(r.stats.pongs_received, 1u);
  EXPECT_EQ(r.stats.destroys_sent, 1u);
}

}  // namespace
}  // namespace ringv8::tunnel
