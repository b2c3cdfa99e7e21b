// Bad input at a relay, each case counted by reason with no state change: short cells, unknown
// circuits, bad tags, wrong sources, plaintext cells of other ids, EXTEND without relay_early or
// to refused targets, relay_early over the limit, CREATED that does not match, forged DESTROY,
// bad CREATE keys and ids in use, floods of CREATE beyond the circuit and per-source limits.
// Nodes sit on 127.0.0.x so that a relay may extend to the attacker's (loopback) address.
#include <memory>
#include <vector>

#include <gtest/gtest.h>

#include "tests/testing/memory_node.h"
#include "tests/testing/simulation.h"
#include "tunnel/crypto.h"
#include "tunnel/layer_cipher.h"
#include "tunnel/tunnel_community.h"

namespace ringv8::tunnel {
namespace {

using std::chrono::milliseconds;
using Bytes = std::vector<uint8_t>;

const wire::CommunityId kId = kPyIpv8TunnelCommunityId;
const wire::Prefix kPrefix = wire::MakePrefix(kId);

// Records what arrives at an endpoint.
struct Inbox final : EndpointListener {
  void OnPacket(const Address& source, std::span<const uint8_t> datagram) override {
    received.push_back({source, Bytes(datagram.begin(), datagram.end())});
  }
  std::vector<std::pair<Address, Bytes>> received;
};

Bytes Cell(uint32_t circuit_id, bool plaintext, bool relay_early,
           std::span<const uint8_t> message) {
  Bytes cell(kCellHeaderSize + message.size());
  WriteCellHeader(kPrefix, CellHeader{circuit_id, plaintext, relay_early}, cell.data());
  std::copy(message.begin(), message.end(), cell.begin() + kCellHeaderSize);
  return cell;
}

template <CellPayload P>
Bytes Message(const P& payload) {
  Bytes out(4096);
  auto encoded = EncodeCellMessage(payload, out);
  return Bytes(encoded->begin(), encoded->end());
}

// `message` sealed FORWARD for `hops` (copies of the client's keys; the last hop innermost).
Bytes Onion(std::vector<CircuitHop> hops, Bytes message) {
  LayerCipher cipher;
  for (size_t k = hops.size(); k-- > 0;) {
    Bytes sealed(message.size() + kLayerOverhead);
    cipher.SealNext(hops[k].keys.forward, message, sealed.data());
    message = sealed;
  }
  return message;
}

class RelayAbuseTest : public ::testing::Test {
 protected:
  struct Node {
    std::unique_ptr<testing::MemoryNode> node;
    std::unique_ptr<TunnelCommunity> tunnel;
  };

  void SetUp() override {
    for (int i = 0; i < 2; ++i) relays_.push_back(MakeNode(2 + i, relay_settings_));
    TunnelSettings client;
    client.peer_flags = 0;
    client_ = MakeNode(1, client);
    EndpointOptions options;
    options.ipv4 = Address::ParseIp("127.0.0.99", 8090);
    attacker_ = std::move(*sim_.net.Open(options));
    attacker_->AddCatchAllListener(&attacker_inbox_);
    for (Node* a : {&client_, &relays_[0], &relays_[1]}) {
      for (Node* b : {&client_, &relays_[0], &relays_[1]}) {
        if (a != b) a->tunnel->WalkTo(b->node->address());
      }
    }
    sim_.RunFor(milliseconds(100));
  }

  Node MakeNode(int host, const TunnelSettings& settings) {
    Node n;
    n.node = std::make_unique<testing::MemoryNode>(
        sim_.net, *Address::ParseIp("127.0.0." + std::to_string(host), 8090));
    n.tunnel = std::make_unique<TunnelCommunity>(kId, n.node->my_peer, n.node->key,
                                                 *n.node->endpoint, n.node->network, *sim_.loop,
                                                 overlay::CommunitySettings{}, settings);
    return n;
  }

  RequiredHop HopOf(const Node& n) {
    return RequiredHop::Of(n.node->key.public_key().bin(), n.node->address());
  }

  const Circuit& Ready(size_t hops, const Node& last) {
    const uint32_t id = client_.tunnel->CreateCircuit(hops, HopOf(last));
    sim_.RunFor(milliseconds(100));
    const Circuit* circuit = client_.tunnel->GetCircuit(id);
    EXPECT_TRUE(circuit != nullptr && circuit->state == CircuitState::kReady);
    return *circuit;
  }

  void FromClient(const Address& to, const Bytes& datagram) {
    ASSERT_FALSE(client_.node->endpoint->Send(to, datagram));
    sim_.RunFor(milliseconds(10));
  }
  void FromAttacker(const Address& to, const Bytes& datagram) {
    ASSERT_FALSE(attacker_->Send(to, datagram));
    sim_.RunFor(milliseconds(10));
  }
  // The relay's tables, to check that a drop changed nothing.
  std::tuple<size_t, size_t> Tables(const Node& n) {
    return {n.tunnel->relayed_circuits(), n.tunnel->terminal_circuits()};
  }

  testing::Simulation sim_{TimePoint(std::chrono::seconds(1000))};
  TunnelSettings relay_settings_;
  std::vector<Node> relays_;
  Node client_;
  std::unique_ptr<MemoryEndpoint> attacker_;
  Inbox attacker_inbox_;
};

TEST_F(RelayAbuseTest, MalformedAndMisdirectedCellsAreCountedAndChangeNothing) {
  const Circuit& two = Ready(2, relays_[1]);  // Relayed at relays_[0].
  const Circuit& one = Ready(1, relays_[0]);  // Ends at relays_[0].
  Node& r = relays_[0];
  const Address at = r.node->address();
  const auto tables = Tables(r);
  const TunnelStats& s = r.tunnel->tunnel_stats();
  const Bytes garbage(60, 0xab);

  FromAttacker(at, Bytes(kPrefix.begin(), kPrefix.end()));  // The endpoint's too_short.
  EXPECT_EQ(r.node->endpoint->stats().too_short.value(), 1u);
  Bytes short_cell(kPrefix.begin(), kPrefix.end());
  short_cell.resize(29);  // A cell header and no message.
  FromAttacker(at, short_cell);
  EXPECT_EQ(s.truncated_cell, 1u);

  FromClient(at, Cell(0x12345678, false, false, garbage));
  EXPECT_EQ(s.unknown_circuit, 1u);
  FromClient(at, Cell(one.circuit_id, false, false, garbage));
  FromClient(at, Cell(two.circuit_id, false, false, garbage));
  EXPECT_EQ(s.bad_tag, 2u);
  FromAttacker(at, Cell(two.circuit_id, false, false, garbage));
  FromAttacker(at, Cell(one.circuit_id, false, false, garbage));
  EXPECT_EQ(s.wrong_source, 2u);
  FromClient(at, Cell(0x1, true, false, Message(PingPayload{7})));
  FromClient(at, Cell(two.circuit_id, true, false, Message(PingPayload{7})));
  EXPECT_EQ(s.plaintext_not_allowed, 2u);

  // Inner ids a relay does not serve, at the last hop.
  Bytes hidden = {10, 0, 1};  // IntroEstablished.
  FromClient(at, Cell(one.circuit_id, false, false, Onion(one.hops, hidden)));
  EXPECT_EQ(s.hidden_services, 1u);
  FromClient(at, Cell(one.circuit_id, false, false, Onion(one.hops, {99, 1, 2})));
  EXPECT_EQ(s.unknown_cell_id, 1u);
  DataPayload data{Address::Ipv4({1, 2, 3, 4}, 80), Address(), hidden};
  FromClient(at, Cell(one.circuit_id, false, false, Onion(one.hops, Message(data))));
  EXPECT_EQ(s.data_not_exit, 1u);
  EXPECT_EQ(s.dropped_by_id[10], 1u);  // Counted by id too.
  EXPECT_EQ(s.dropped_by_id[99], 1u);
  EXPECT_EQ(Tables(r), tables);
  EXPECT_EQ(r.tunnel->stats().unknown_message, 0u);
}

TEST_F(RelayAbuseTest, ExtendRules) {
  const Circuit& one = Ready(1, relays_[0]);
  Node& r = relays_[0];
  const Address at = r.node->address();
  const TunnelStats& s = r.tunnel->tunnel_stats();
  const X25519KeyPair eph = X25519KeyPair::Generate();
  const wire::PrivateKey stranger = wire::PrivateKey::Generate();

  ExtendPayload extend{1, stranger.public_key().bin(), eph.public_key, Address()};
  FromClient(at, Cell(one.circuit_id, false, false, Onion(one.hops, Message(extend))));
  EXPECT_EQ(s.extend_without_relay_early, 1u);
  FromClient(at, Cell(one.circuit_id, false, true, Onion(one.hops, Message(extend))));
  EXPECT_EQ(s.extend_refused, 1u);  // Not a candidate, and no address.
  extend.node_addr = *Address::ParseIp("10.9.9.9", 8090);
  FromClient(at, Cell(one.circuit_id, false, true, Onion(one.hops, Message(extend))));
  EXPECT_EQ(s.extend_refused, 2u);  // Not global (only loopback relays reach loopback).
  extend.node_addr = *Address::Parse("[2001:db8::1]:8090");
  FromClient(at, Cell(one.circuit_id, false, true, Onion(one.hops, Message(extend))));
  EXPECT_EQ(s.extend_refused, 3u);  // IPv6.
  EXPECT_EQ(s.extends_sent, 0u);

  // A loopback relay may extend to a loopback address: the attacker's, which then answers.
  extend.node_addr = attacker_->local_addresses()[0];
  FromClient(at, Cell(one.circuit_id, false, true, Onion(one.hops, Message(extend))));
  EXPECT_EQ(s.extends_sent, 1u);
  ASSERT_EQ(attacker_inbox_.received.size(), 1u);
  const Bytes create_cell = attacker_inbox_.received[0].second;
  const uint32_t to_id = ParseCellHeader(create_cell)->circuit_id;
  auto create = DecodeCell<CreatePayload>(wire::Bytes(create_cell).subspan(kCellHeaderSize + 1));
  ASSERT_TRUE(create);
  Key32 created_key{};
  std::array<uint8_t, 32> auth{};
  const Bytes candidates(24, 0);
  CreatedPayload created{static_cast<uint16_t>(create->identifier + 1), created_key, auth,
                         candidates};
  FromAttacker(at, Cell(to_id, true, false, Message(created)));  // Wrong identifier.
  created.identifier = create->identifier;
  FromClient(at, Cell(to_id, true, false, Message(created)));        // Wrong source.
  FromAttacker(at, Cell(to_id + 1, true, false, Message(created)));  // Wrong circuit.
  EXPECT_EQ(s.created_unmatched, 3u);
  EXPECT_EQ(r.tunnel->terminal_circuits(), 1u);
  EXPECT_EQ(r.tunnel->relayed_circuits(), 0u);
  FromAttacker(at, Cell(to_id, true, false, Message(created)));  // The right one.
  EXPECT_EQ(s.circuits_extended, 1u);
  EXPECT_EQ(r.tunnel->relayed_circuits(), 1u);
}

TEST_F(RelayAbuseTest, RelayEarlyIsLimitedToEightForwardCells) {
  const Circuit& two = Ready(2, relays_[1]);
  const TunnelStats& s = relays_[0].tunnel->tunnel_stats();
  const uint64_t before = s.relayed_cells_forward;
  for (int i = 0; i < 10; ++i) {
    FromClient(relays_[0].node->address(),
               Cell(two.circuit_id, false, true, Onion(two.hops, Message(PingPayload{1}))));
  }
  EXPECT_EQ(s.relayed_cells_forward - before, 8u);
  EXPECT_EQ(s.relay_early_limit, 2u);
  FromClient(relays_[0].node->address(),
             Cell(two.circuit_id, false, false, Onion(two.hops, Message(PingPayload{1}))));
  EXPECT_EQ(s.relayed_cells_forward - before, 9u);  // Unflagged cells still pass.
}

TEST_F(RelayAbuseTest, ForgedDestroyIsRefused) {
  const Circuit& two = Ready(2, relays_[1]);
  const wire::PrivateKey forger = wire::PrivateKey::Generate();
  wire::PacketBuilder builder(wire::PacketBuffer(), kPrefix, DestroyPayload::kMessageId);
  builder.Auth(forger.public_key());
  builder.Write(DestroyPayload{two.circuit_id, kDestroyShutdown});
  auto packet = builder.FinishSigned(forger);
  FromAttacker(relays_[0].node->address(), Bytes(packet->begin(), packet->end()));
  EXPECT_EQ(relays_[0].tunnel->tunnel_stats().unauthorized_destroy, 1u);
  EXPECT_EQ(relays_[0].tunnel->relayed_circuits(), 1u);
}

TEST_F(RelayAbuseTest, BadCreatesAndFloodsStopAtTheLimits) {
  Node& r = relays_[1];
  const Address at = r.node->address();
  const TunnelStats& s = r.tunnel->tunnel_stats();
  const wire::PrivateKey attacker_key = wire::PrivateKey::Generate();
  auto create = [&](uint32_t id, std::span<const uint8_t> key) {
    CreatePayload payload{1, attacker_key.public_key().bin(), key};
    FromAttacker(at, Cell(id, true, true, Message(payload)));
  };
  const Bytes short_key(31, 1);
  create(100, short_key);
  const Bytes zero_key(32, 0);
  create(101, zero_key);
  EXPECT_EQ(s.bad_handshake, 2u);
  const X25519KeyPair eph = X25519KeyPair::Generate();
  create(102, eph.public_key);
  create(102, eph.public_key);
  EXPECT_EQ(s.circuits_joined, 1u);
  EXPECT_EQ(s.circuit_id_in_use, 1u);
  // Per source: burst 50 at 20/s (the defaults), then refused.
  for (uint32_t id = 200; id < 300; ++id) {  // All at once: no time to refill.
    CreatePayload payload{1, attacker_key.public_key().bin(), eph.public_key};
    ASSERT_FALSE(attacker_->Send(at, Cell(id, true, true, Message(payload))));
  }
  sim_.RunFor(milliseconds(10));
  // The burst of 50 paid for the all-zero key's DH, for 102 and for 48 more.
  EXPECT_EQ(s.circuits_joined, 49u);
  EXPECT_EQ(s.create_rate_limited, 52u);
  EXPECT_EQ(attacker_inbox_.received.size(), 49u);  // A CREATED for each joined one only.
}

TEST_F(RelayAbuseTest, CircuitLimitHolds) {
  TunnelSettings limited;
  limited.max_joined_circuits = 10;
  limited.create_rate = 0;
  Node r = MakeNode(9, limited);
  const wire::PrivateKey key = wire::PrivateKey::Generate();
  const X25519KeyPair eph = X25519KeyPair::Generate();
  for (uint32_t id = 1; id <= 30; ++id) {
    CreatePayload payload{1, key.public_key().bin(), eph.public_key};
    FromAttacker(r.node->address(), Cell(id, true, true, Message(payload)));
  }
  EXPECT_EQ(r.tunnel->terminal_circuits(), 10u);
  EXPECT_EQ(r.tunnel->tunnel_stats().circuit_limit, 20u);
}

}  // namespace
}  // namespace ringv8::tunnel
