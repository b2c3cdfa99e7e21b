// Circuits between ringv8 nodes on the in-memory network with virtual time: a client builds 1-,
// 2- and 3-hop circuits through relays that learned each other's flags from introductions, pings,
// speed-tests and exchanges data through them (with a UDP echo behind the last hop, an exit) and
// tears them down; idle circuits expire; a middle relay that
// restarts breaks its circuits and the client builds new ones; 1,000 circuits through one relay.
#include <memory>
#include <vector>

#include <gtest/gtest.h>

#include "tests/testing/memory_node.h"
#include "tests/testing/simulation.h"
#include "tests/testing/udp_echo.h"
#include "tunnel/tunnel_community.h"

namespace ringv8::tunnel {
namespace {

using std::chrono::milliseconds;
using std::chrono::seconds;
using CircuitEvent = TunnelCommunity::CircuitEvent;

const wire::CommunityId kId = kPyIpv8TunnelCommunityId;

class TunnelNetworkTest : public ::testing::Test {
 protected:
  struct Node {
    std::unique_ptr<testing::MemoryNode> node;
    std::unique_ptr<TunnelCommunity> tunnel;
  };

  // `relays` relays (flags RELAY|SPEED_TEST) and a client (no flags), all introduced to all.
  void Build(int relays, TunnelSettings relay_settings = {}, TunnelSettings client_settings = {}) {
    relay_settings_ = relay_settings;
    for (int i = 0; i < relays; ++i) relays_.push_back(MakeNode(i + 2, relay_settings));
    client_settings.peer_flags = 0;
    client_ = MakeNode(1, client_settings);
    IntroduceAll();
  }

  Node MakeNode(int host, const TunnelSettings& settings) {
    Node n;
    n.node = std::make_unique<testing::MemoryNode>(
        sim_.net, *Address::ParseIp("10.0.0." + std::to_string(host), 8090));
    n.tunnel = std::make_unique<TunnelCommunity>(kId, n.node->my_peer, n.node->key,
                                                 *n.node->endpoint, n.node->network, *sim_.loop,
                                                 overlay::CommunitySettings{}, settings);
    return n;
  }

  void IntroduceAll() {
    std::vector<Node*> all = {&client_};
    for (Node& r : relays_) all.push_back(&r);
    for (Node* from : all) {
      for (Node* to : all) {
        if (from != to) from->tunnel->WalkTo(to->node->address());
      }
    }
    sim_.RunFor(milliseconds(100));
  }

  RequiredHop HopOf(const Node& n) {
    return RequiredHop::Of(n.node->key.public_key().bin(), n.node->address());
  }

  // Builds a circuit of `hops` ending at relays_[last]; returns its id once ready (0 if not).
  uint32_t BuildCircuit(size_t hops, size_t last) {
    bool ready = false;
    uint32_t id = 0;
    client_.tunnel->SetCircuitHandler([&](uint32_t c, CircuitEvent e) {
      if (c == id && e == CircuitEvent::kReady) ready = true;
    });
    id = client_.tunnel->CreateCircuit(hops, HopOf(relays_[last]));
    sim_.RunFor(milliseconds(500));
    client_.tunnel->SetCircuitHandler({});
    return ready ? id : 0;
  }

  size_t RelayedTotal() const {
    size_t n = 0;
    for (const Node& r : relays_) n += r.tunnel->relayed_circuits();
    return n;
  }
  size_t TerminalTotal() const {
    size_t n = 0;
    for (const Node& r : relays_) n += r.tunnel->terminal_circuits();
    return n;
  }

  testing::Simulation sim_{TimePoint(seconds(1000))};
  TunnelSettings relay_settings_;
  std::vector<Node> relays_;
  Node client_;
};

TEST_F(TunnelNetworkTest, OneTwoAndThreeHopCircuitsCarryPingsSpeedTestsAndData) {
  const Address echo_address = *Address::Parse("198.51.100.7:6881");  // Allowed below.
  testing::UdpEcho echo(sim_.net, echo_address);
  TunnelSettings relays;
  relays.peer_flags = kFlagRelay | kFlagExitBt | kFlagSpeedTest;
  relays.exit_allowed_ips = {echo_address.WithPort(0)};
  Build(4, relays);
  std::vector<std::vector<uint8_t>> replies;
  client_.tunnel->SetDataHandler([&](uint32_t, const wire::AnyAddress& origin, wire::Bytes data) {
    EXPECT_EQ(std::get<Address>(origin), echo_address);
    replies.emplace_back(data.begin(), data.end());
  });
  const std::string dht = "d1:ad2:id20:abcdefghij0123456789e1:q4:ping1:t2:aa1:y1:qe";
  for (size_t hops = 1; hops <= 3; ++hops) {
    SCOPED_TRACE(std::to_string(hops) + " hops");
    const uint32_t id = BuildCircuit(hops, 3);
    ASSERT_NE(id, 0u);
    const Circuit* circuit = client_.tunnel->GetCircuit(id);
    ASSERT_EQ(circuit->hops.size(), hops);
    EXPECT_EQ(RelayedTotal(), hops - 1);
    EXPECT_EQ(TerminalTotal(), 1u);
    EXPECT_EQ(relays_[3].tunnel->terminal_circuits(), 1u);  // It ends where it was asked to.

    client_.tunnel->PingCircuits();
    ASSERT_TRUE(client_.tunnel->SendTestRequest(id, 200, 1000));
    sim_.RunFor(milliseconds(100));
    EXPECT_EQ(circuit->pongs, 1u);
    EXPECT_EQ(circuit->test_responses, 1u);
    EXPECT_GT(circuit->bytes_down, 1000u);

    // Data both ways: out of the last hop (an exit) to the echo, and its answer back.
    replies.clear();
    ASSERT_TRUE(client_.tunnel->SendData(
        id, echo_address, std::span(reinterpret_cast<const uint8_t*>(dht.data()), dht.size())));
    sim_.RunFor(milliseconds(100));
    ASSERT_EQ(replies.size(), 1u);
    EXPECT_EQ(std::string(replies[0].begin(), replies[0].end()), dht);

    client_.tunnel->RemoveCircuit(id, kDestroyShutdown);
    sim_.RunFor(milliseconds(100));
    EXPECT_EQ(RelayedTotal(), 0u);  // The DESTROY went all the way.
    EXPECT_EQ(TerminalTotal(), 0u);
  }
  for (const Node& r : relays_) {
    const TunnelStats& s = r.tunnel->tunnel_stats();
    EXPECT_EQ(s.bad_tag + s.unknown_circuit + s.wrong_source + s.truncated_cell, 0u);
  }
}

TEST_F(TunnelNetworkTest, PingsKeepCircuitsAliveAndIdleCircuitsExpire) {
  Build(3);
  const uint32_t id = BuildCircuit(3, 2);
  ASSERT_NE(id, 0u);
  sim_.RunFor(seconds(90));  // Pinged every 7.5 s: alive at every hop.
  ASSERT_NE(client_.tunnel->GetCircuit(id), nullptr);
  EXPECT_EQ(RelayedTotal(), 2u);
  EXPECT_EQ(TerminalTotal(), 1u);
  EXPECT_GE(client_.tunnel->GetCircuit(id)->pongs, 11u);

  // A client that stops pinging: its circuit and every hop's state expire after 20 s idle.
  TunnelSettings quiet;
  quiet.ping_interval = 1e6;
  client_.tunnel.reset();  // The community before its endpoint; then the address is free.
  client_.node.reset();
  client_ = MakeNode(1, quiet);
  IntroduceAll();
  const uint32_t idle = BuildCircuit(3, 2);
  ASSERT_NE(idle, 0u);
  sim_.RunFor(seconds(30));
  EXPECT_EQ(client_.tunnel->GetCircuit(idle), nullptr);
  EXPECT_EQ(RelayedTotal(), 0u);
  EXPECT_EQ(TerminalTotal(), 0u);
  uint64_t expired = 0;
  for (const Node& r : relays_) expired += r.tunnel->tunnel_stats().circuits_expired;
  EXPECT_GE(expired, 3u);  // The quiet client's three hops (and the first client's).
}

TEST_F(TunnelNetworkTest, MiddleRelayRestartBreaksCircuitsAndTheClientRebuilds) {
  Build(3);
  const uint32_t id = BuildCircuit(3, 2);
  ASSERT_NE(id, 0u);
  const Circuit* circuit = client_.tunnel->GetCircuit(id);
  // The middle hop restarts: same key and address, no circuits.
  Node* middle = nullptr;
  for (Node& r : relays_) {
    if (r.tunnel->relayed_circuits() == 1 && r.node->address() != circuit->first_hop_address()) {
      middle = &r;
    }
  }
  ASSERT_NE(middle, nullptr);
  middle->tunnel.reset();
  middle->tunnel =
      std::make_unique<TunnelCommunity>(kId, middle->node->my_peer, middle->node->key,
                                        *middle->node->endpoint, middle->node->network, *sim_.loop);
  IntroduceAll();
  bool closed = false;
  client_.tunnel->SetCircuitHandler([&](uint32_t c, CircuitEvent e) {
    if (c == id && e == CircuitEvent::kClosed) closed = true;
  });
  sim_.RunFor(seconds(35));  // Pings die at the middle hop; the circuit goes idle.
  EXPECT_TRUE(closed);
  EXPECT_EQ(client_.tunnel->GetCircuit(id), nullptr);
  EXPECT_GT(middle->tunnel->tunnel_stats().unknown_circuit, 0u);
  const uint32_t rebuilt = BuildCircuit(3, 2);
  EXPECT_NE(rebuilt, 0u);
}

TEST_F(TunnelNetworkTest, OneThousandCircuitsThroughOneRelay) {
  TunnelSettings relay;
  relay.create_rate = 0;  // One client asks for all of them.
  Build(2, relay);
  std::vector<uint32_t> ids;
  for (int i = 0; i < 1000; ++i) {
    ids.push_back(client_.tunnel->CreateCircuit(2, HopOf(relays_[1])));
    ASSERT_NE(ids.back(), 0u);
  }
  sim_.RunFor(milliseconds(500));
  EXPECT_EQ(client_.tunnel->tunnel_stats().circuits_ready, 1000u);
  EXPECT_EQ(relays_[0].tunnel->relayed_circuits(), 1000u);
  EXPECT_EQ(relays_[1].tunnel->terminal_circuits(), 1000u);
  client_.tunnel->PingCircuits();
  sim_.RunFor(milliseconds(100));
  EXPECT_EQ(client_.tunnel->tunnel_stats().pongs_received, 1000u);
  EXPECT_EQ(relays_[0].tunnel->tunnel_stats().relayed_cells_forward, 1000u);  // The PINGs.
  EXPECT_EQ(relays_[1].tunnel->tunnel_stats().pings_answered, 1000u);
}

// Two shards of one relay (one identity, one address). Both communities listen on the one memory
// endpoint, so each hears every datagram, as if the kernel had steered each shard its own and
// copied it the rest: what a shard owns it handles, what it does not it hands on (recorded here,
// not delivered, since the owner heard it already).
TEST_F(TunnelNetworkTest, TwoShardsEachOwnTheirCircuitIdsAndHandOnTheRest) {
  TunnelSettings relay;
  relay.create_rate = 0;
  Build(2, relay);
  Node& shard0 = relays_[0];
  overlay::Network shard1_network;  // Only what shard 0 shares enters it.
  TunnelCommunity shard1(kId, shard0.node->my_peer, shard0.node->key, *shard0.node->endpoint,
                         shard1_network, *sim_.loop, overlay::CommunitySettings{}, relay);
  std::vector<TunnelCommunity::SharedCandidate> shared = shard0.tunnel->CandidateSnapshot();
  ASSERT_EQ(shared.size(), 2u);  // relays_[1], and the client (no flags).
  shard1.AdoptCandidates({shared[0]});
  EXPECT_EQ(shard1_network.verified_count(), 1u);
  shard1.AdoptCandidates(shared);
  EXPECT_EQ(shard1.CandidateSnapshot().size(), 2u);
  EXPECT_EQ(shard1_network.verified_count(), 2u);
  shard1.AdoptCandidates({shared[1]});  // One left shard 0's list: it leaves shard 1's network.
  EXPECT_EQ(shard1_network.verified_count(), 1u);
  ASSERT_EQ(shard1.CandidateSnapshot().size(), 1u);
  EXPECT_EQ(shard1.CandidateSnapshot()[0].key_bin, shared[1].key_bin);
  shard1.AdoptCandidates(shared);
  std::vector<uint32_t> handed_to[2];
  auto recorder = [&](uint32_t self) {
    return [&, self](uint32_t shard, TunnelCommunity::ShardTask) {
      EXPECT_NE(shard, self);
      handed_to[shard].push_back(self);
      return true;
    };
  };
  shard0.tunnel->SetShard(0, 2, recorder(0));
  shard1.SetShard(1, 2, recorder(1));

  std::vector<uint32_t> ids;
  for (int i = 0; i < 40; ++i) ids.push_back(client_.tunnel->CreateCircuit(2, HopOf(relays_[1])));
  sim_.RunFor(milliseconds(500));
  size_t odd = 0;
  for (uint32_t id : ids) odd += id % 2;
  ASSERT_GT(odd, 0u);
  ASSERT_LT(odd, ids.size());
  // Every circuit was built, each by the shard its id belongs to.
  EXPECT_EQ(client_.tunnel->tunnel_stats().circuits_ready, ids.size());
  EXPECT_EQ(shard0.tunnel->relayed_circuits(), ids.size() - odd);
  EXPECT_EQ(shard1.relayed_circuits(), odd);
  EXPECT_EQ(shard0.tunnel->tunnel_stats().circuits_joined, ids.size() - odd);
  EXPECT_EQ(shard1.tunnel_stats().circuits_joined, odd);
  // Each shard chose next links with its own remainder: the last hop's ids come back to it.
  size_t next_odd = 0;
  for (uint32_t id : relays_[1].tunnel->TerminalCircuitIds()) next_odd += id % 2;
  EXPECT_EQ(next_odd, odd);
  // What a shard heard for the other's circuits went there: CREATE, EXTEND and CREATED per
  // circuit (the other shard's, by the remainder of its ids).
  EXPECT_EQ(handed_to[1].size(), 3 * odd);
  EXPECT_EQ(handed_to[0].size(), 3 * (ids.size() - odd));
  EXPECT_EQ(shard0.tunnel->tunnel_stats().handed_off, handed_to[1].size());

  // DESTROY is not a cell: its owner acts on it, the other shard hands it on.
  handed_to[0].clear();
  handed_to[1].clear();
  for (uint32_t id : ids) client_.tunnel->RemoveCircuit(id, kDestroyUnknown);
  sim_.RunFor(milliseconds(100));
  EXPECT_EQ(shard0.tunnel->tunnel_stats().destroys_received, ids.size() - odd);
  EXPECT_EQ(shard1.tunnel_stats().destroys_received, odd);
  EXPECT_EQ(handed_to[1].size(), odd);
  EXPECT_EQ(handed_to[0].size(), ids.size() - odd);
  EXPECT_EQ(shard0.tunnel->tunnel_stats().unauthorized_destroy, 0u);
  EXPECT_EQ(shard1.tunnel_stats().unauthorized_destroy, 0u);
}

}  // namespace
}  // namespace ringv8::tunnel
