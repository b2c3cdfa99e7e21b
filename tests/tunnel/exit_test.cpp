// The exit role on the in-memory network with virtual time: a client builds 2-hop circuits
// through a relay to a ringv8 exit and exchanges datagrams with UDP echo hosts (IPv4 and IPv6)
// both ways; speed tests; exit sockets close with their circuit (idle, age); forbidden
// destinations and payloads are refused before a socket opens and counted; budgets and limits;
// host names through an injected resolver. The "Internet" here is the memory network: the echo
// hosts use documentation addresses, which the exit is told to allow (exit_allowed_ips).
#include <map>
#include <memory>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "tests/testing/memory_node.h"
#include "tests/testing/simulation.h"
#include "tests/testing/udp_echo.h"
#include "tunnel/exit_traffic.h"
#include "tunnel/tunnel_community.h"

namespace ringv8::tunnel {
namespace {

using std::chrono::milliseconds;
using std::chrono::seconds;
using CircuitEvent = TunnelCommunity::CircuitEvent;

const wire::CommunityId kId = kPyIpv8TunnelCommunityId;
const Address kEcho4 = *Address::Parse("198.51.100.7:6881");
const Address kEcho6 = *Address::Parse("[2001:db8::7]:6881");

std::vector<uint8_t> Bytes(std::string_view text) { return {text.begin(), text.end()}; }
// A BEP 5 ping query: a DHT datagram, allowed by EXIT_BT.
const std::vector<uint8_t> kDhtPing =
    Bytes("d1:ad2:id20:abcdefghij0123456789e1:q4:ping1:t2:aa1:y1:qe");

class FakeResolver final : public HostResolver {
 public:
  explicit FakeResolver(std::map<std::string, Address> names) : names_(std::move(names)) {}
  void Resolve(const std::string& host, Callback done) override {
    ++lookups;
    auto it = names_.find(host);
    done(it == names_.end() ? std::nullopt : std::optional<Address>(it->second));
  }
  int lookups = 0;

 private:
  std::map<std::string, Address> names_;
};

class ExitTest : public ::testing::Test {
 protected:
  struct Node {
    std::unique_ptr<testing::MemoryNode> node;
    std::unique_ptr<TunnelCommunity> tunnel;
  };
  struct Received {
    uint32_t circuit_id;
    wire::AnyAddress origin;
    std::vector<uint8_t> data;
  };

  static TunnelSettings ExitSettings() {
    TunnelSettings s;
    s.peer_flags = kFlagRelay | kFlagExitBt | kFlagSpeedTest;
    s.exit_allowed_ips = {kEcho4.WithPort(0), kEcho6.WithPort(0)};
    return s;
  }

  void Build(TunnelSettings exit_settings = ExitSettings(), TunnelSettings client_settings = {}) {
    relay_ = MakeNode(2, {});
    exit_ = MakeNode(3, exit_settings);
    client_settings.peer_flags = 0;
    client_ = MakeNode(1, client_settings);
    client_.tunnel->SetDataHandler(
        [this](uint32_t id, const wire::AnyAddress& origin, wire::Bytes data) {
          received_.push_back({id, origin, {data.begin(), data.end()}});
        });
    for (Node* from : {&client_, &relay_, &exit_}) {
      for (Node* to : {&client_, &relay_, &exit_}) {
        if (from != to) from->tunnel->WalkTo(to->node->address());
      }
    }
    sim_.RunFor(milliseconds(100));
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

  // A 2-hop circuit client -> relay -> exit; its id once ready (0 if not).
  uint32_t BuildCircuit() {
    bool ready = false;
    uint32_t id = 0;
    client_.tunnel->SetCircuitHandler([&](uint32_t c, CircuitEvent e) {
      if (c == id && e == CircuitEvent::kReady) ready = true;
    });
    id = client_.tunnel->CreateCircuit(
        2, RequiredHop::Of(exit_.node->key.public_key().bin(), exit_.node->address()));
    sim_.RunFor(milliseconds(500));
    client_.tunnel->SetCircuitHandler({});
    return ready ? id : 0;
  }

  // The exit's only terminal circuit id (the circuit's id on the relay -> exit link).
  uint32_t ExitCircuitId() {
    auto ids = exit_.tunnel->TerminalCircuitIds();
    EXPECT_EQ(ids.size(), 1u);
    return ids.empty() ? 0 : ids.front();
  }

  const TunnelStats& exit_stats() { return exit_.tunnel->tunnel_stats(); }

  testing::Simulation sim_{TimePoint(seconds(1000))};
  testing::UdpEcho echo4_{sim_.net, kEcho4};
  testing::UdpEcho echo6_{sim_.net, kEcho6};
  Node relay_, exit_, client_;
  std::vector<Received> received_;
};

TEST_F(ExitTest, DataGoesOutAndRepliesComeBackOverIpv4AndIpv6) {
  Build();
  const uint32_t id = BuildCircuit();
  ASSERT_NE(id, 0u);
  ASSERT_TRUE(client_.tunnel->SendData(id, kEcho4, kDhtPing));
  ASSERT_TRUE(client_.tunnel->SendData(id, kEcho6, kDhtPing));
  sim_.RunFor(milliseconds(100));

  ASSERT_EQ(echo4_.received.size(), 1u);
  EXPECT_EQ(echo4_.received[0], kDhtPing);
  ASSERT_EQ(echo6_.received.size(), 1u);
  // One exit socket per circuit: both families, not the exit's node socket.
  const ExitSocket* socket = exit_.tunnel->GetExitSocket(ExitCircuitId());
  ASSERT_NE(socket, nullptr);
  ASSERT_EQ(socket->local_addresses().size(), 2u);
  EXPECT_EQ(echo4_.sources[0], socket->local_addresses()[0]);
  EXPECT_EQ(echo6_.sources[0], socket->local_addresses()[1]);
  EXPECT_NE(echo4_.sources[0], exit_.node->address());

  ASSERT_EQ(received_.size(), 2u);
  for (const Received& r : received_) {
    EXPECT_EQ(r.circuit_id, id);
    EXPECT_EQ(r.data, kDhtPing);
  }
  EXPECT_EQ(std::get<Address>(received_[0].origin), kEcho4);
  EXPECT_EQ(std::get<Address>(received_[1].origin), kEcho6);
  EXPECT_EQ(exit_stats().exit_sockets_opened, 1u);
  EXPECT_EQ(exit_stats().exit_datagrams_out_bt, 2u);
  EXPECT_EQ(exit_stats().exit_bytes_out_bt, 2 * kDhtPing.size());
  EXPECT_EQ(exit_stats().exit_datagrams_back_bt, 2u);

  // A second circuit gets its own socket: the destination sees another source.
  const uint32_t second = BuildCircuit();
  ASSERT_NE(second, 0u);
  ASSERT_TRUE(client_.tunnel->SendData(second, kEcho4, kDhtPing));
  sim_.RunFor(milliseconds(100));
  ASSERT_EQ(echo4_.sources.size(), 2u);
  EXPECT_NE(echo4_.sources[1], echo4_.sources[0]);
  EXPECT_EQ(exit_.tunnel->exit_socket_count(), 2u);
  EXPECT_EQ(exit_stats().bad_tag + exit_stats().wrong_source, 0u);
}

TEST_F(ExitTest, UnsolicitedRepliesComeBackAndForbiddenOnesAreDropped) {
  Build();
  const uint32_t id = BuildCircuit();
  ASSERT_NE(id, 0u);
  ASSERT_TRUE(client_.tunnel->SendData(id, kEcho4, kDhtPing));
  sim_.RunFor(milliseconds(100));
  const Address exit_socket = echo4_.sources.at(0);
  received_.clear();
  // Another host (incoming uTP, a DHT query) may write to the socket; only allowed payloads pass.
  testing::UdpEcho stranger(sim_.net, *Address::Parse("203.0.113.9:4000"));
  std::vector<uint8_t> utp(20, 0);
  utp[0] = 0x11;  // ST_FIN, version 1.
  EXPECT_FALSE(stranger.endpoint->Send(exit_socket, utp));
  EXPECT_FALSE(stranger.endpoint->Send(exit_socket, Bytes("not bittorrent")));
  sim_.RunFor(milliseconds(100));
  ASSERT_EQ(received_.size(), 1u);
  EXPECT_EQ(std::get<Address>(received_[0].origin), *Address::Parse("203.0.113.9:4000"));
  EXPECT_EQ(received_[0].data, utp);
  EXPECT_EQ(exit_stats().exit_reply_not_allowed, 1u);
}

TEST_F(ExitTest, SpeedTestBothWays) {
  Build();
  const uint32_t id = BuildCircuit();
  ASSERT_NE(id, 0u);
  ASSERT_TRUE(client_.tunnel->SendTestRequest(id, 1200, 1300));
  sim_.RunFor(milliseconds(100));
  const Circuit* circuit = client_.tunnel->GetCircuit(id);
  EXPECT_EQ(circuit->test_responses, 1u);
  EXPECT_GT(circuit->bytes_up, 1200u);
  EXPECT_GT(circuit->bytes_down, 1300u);
  EXPECT_EQ(exit_stats().speed_tests_answered, 1u);
}

TEST_F(ExitTest, ForbiddenDestinationsAndPayloadsAreRefusedBeforeASocketOpens) {
  TunnelSettings settings = ExitSettings();
  settings.exit_allowed_ips.clear();
  Build(settings);
  const uint32_t id = BuildCircuit();
  ASSERT_NE(id, 0u);
  const char* refused[] = {"127.0.0.1:53",     "10.1.2.3:6881",    "192.168.1.1:6881",
                           "224.0.0.1:6881",   "169.254.1.1:6881", "255.255.255.255:6881",
                           "[::1]:6881",       "[fe80::1]:6881",   "[fd00::1]:6881",
                           "198.51.100.7:6881"};
  for (const char* text : refused) {
    ASSERT_TRUE(client_.tunnel->SendData(id, *Address::Parse(text), kDhtPing)) << text;
  }
  ASSERT_TRUE(client_.tunnel->SendData(id, Address(), kDhtPing));  // No destination.
  ASSERT_TRUE(client_.tunnel->SendData(id, exit_.node->address(), kDhtPing));
  // Payloads an EXIT_BT exit does not carry: not BitTorrent; IPv8 (EXIT_IPV8 is off); IPv8 to
  // the tunnel overlay itself (hidden services).
  const Address public_destination = *Address::Parse("1.1.1.1:6881");
  ASSERT_TRUE(client_.tunnel->SendData(id, public_destination, Bytes("hello")));
  std::vector<uint8_t> ipv8(40, 7);
  ipv8[0] = 0;
  ipv8[1] = 2;
  ASSERT_TRUE(client_.tunnel->SendData(id, public_destination, ipv8));
  std::vector<uint8_t> own(exit_.tunnel->prefix().begin(), exit_.tunnel->prefix().end());
  own.resize(40, 1);
  ASSERT_TRUE(client_.tunnel->SendData(id, public_destination, own));
  sim_.RunFor(milliseconds(100));

  const TunnelStats& s = exit_stats();
  EXPECT_EQ(s.exit_refused_loopback, 2u);
  EXPECT_EQ(s.exit_refused_not_public, 8u);
  EXPECT_EQ(s.exit_no_destination, 1u);
  EXPECT_EQ(s.exit_refused_own_address, 1u);
  EXPECT_EQ(s.exit_not_allowed, 2u);
  EXPECT_EQ(s.exit_own_tunnel, 1u);
  EXPECT_EQ(s.exit_datagrams_out_bt + s.exit_datagrams_out_ipv8, 0u);
  EXPECT_EQ(s.exit_sockets_opened, 0u);  // Q4: nothing opened for what is refused.
  EXPECT_TRUE(echo4_.received.empty());
}

TEST_F(ExitTest, AnExitForIpv8CarriesIpv8ButNotBitTorrent) {
  TunnelSettings settings = ExitSettings();
  settings.peer_flags = kFlagRelay | kFlagExitIpv8;
  Build(settings);
  const uint32_t id = BuildCircuit();
  ASSERT_NE(id, 0u);
  std::vector<uint8_t> ipv8(40, 7);
  ipv8[0] = 0;
  ipv8[1] = 2;
  ASSERT_TRUE(client_.tunnel->SendData(id, kEcho4, ipv8));
  ASSERT_TRUE(client_.tunnel->SendData(id, kEcho4, kDhtPing));
  sim_.RunFor(milliseconds(100));
  ASSERT_EQ(echo4_.received.size(), 1u);
  EXPECT_EQ(echo4_.received[0], ipv8);
  ASSERT_EQ(received_.size(), 1u);  // The echo of the IPv8 packet.
  EXPECT_EQ(exit_stats().exit_datagrams_out_ipv8, 1u);
  EXPECT_EQ(exit_stats().exit_datagrams_back_ipv8, 1u);
  EXPECT_EQ(exit_stats().exit_not_allowed, 1u);
}

TEST_F(ExitTest, ANonExitLastHopDropsData) {
  TunnelSettings settings;
  settings.peer_flags = kFlagRelay;
  Build(settings);
  const uint32_t id = BuildCircuit();
  ASSERT_NE(id, 0u);
  ASSERT_TRUE(client_.tunnel->SendData(id, kEcho4, kDhtPing));
  sim_.RunFor(milliseconds(100));
  EXPECT_EQ(exit_stats().data_not_exit, 1u);
  EXPECT_TRUE(echo4_.received.empty());
  EXPECT_EQ(exit_.tunnel->exit_socket_count(), 0u);
}

TEST_F(ExitTest, ExitSocketsCloseWhenTheCircuitIdlesAgesOrIsDestroyed) {
  TunnelSettings exit_settings = ExitSettings();
  exit_settings.max_time = 100;
  TunnelSettings quiet;
  quiet.ping_interval = 1e6;
  Build(exit_settings, quiet);
  // Idle: nothing for 20 s.
  uint32_t id = BuildCircuit();
  ASSERT_NE(id, 0u);
  ASSERT_TRUE(client_.tunnel->SendData(id, kEcho4, kDhtPing));
  sim_.RunFor(milliseconds(100));
  EXPECT_EQ(exit_.tunnel->exit_socket_count(), 1u);
  sim_.RunFor(seconds(30));
  EXPECT_EQ(exit_.tunnel->exit_socket_count(), 0u);
  EXPECT_EQ(exit_.tunnel->terminal_circuits(), 0u);

  // Age: data every 5 s keeps it active, max_time (100 s) ends it.
  id = BuildCircuit();
  ASSERT_NE(id, 0u);
  for (int i = 0; i < 25; ++i) {
    ASSERT_TRUE(client_.tunnel->SendData(id, kEcho4, kDhtPing));
    sim_.RunFor(seconds(5));
    if (exit_.tunnel->exit_socket_count() == 0) break;
  }
  EXPECT_EQ(exit_.tunnel->exit_socket_count(), 0u);
  EXPECT_GE(exit_stats().exit_datagrams_out_bt, 15u);

  // Destroyed by the client.
  id = BuildCircuit();
  ASSERT_NE(id, 0u);
  ASSERT_TRUE(client_.tunnel->SendData(id, kEcho4, kDhtPing));
  sim_.RunFor(milliseconds(100));
  EXPECT_EQ(exit_.tunnel->exit_socket_count(), 1u);
  client_.tunnel->RemoveCircuit(id, kDestroyShutdown);
  sim_.RunFor(milliseconds(100));
  EXPECT_EQ(exit_.tunnel->exit_socket_count(), 0u);
}

TEST_F(ExitTest, BudgetsAndLimitsAreEnforcedAndCounted) {
  TunnelSettings settings = ExitSettings();
  settings.max_exit_circuit_rate = 1000;   // Bytes per second.
  settings.max_exit_destination_rate = 2;  // New destinations per second, burst 4.
  settings.max_exit_sockets = 1;
  for (int i = 1; i <= 10; ++i) {
    settings.exit_allowed_ips.push_back(
        *Address::ParseIp("198.51.100." + std::to_string(100 + i), 0));
  }
  Build(settings);
  const uint32_t id = BuildCircuit();
  ASSERT_NE(id, 0u);
  echo4_.answer = false;
  std::vector<uint8_t> big(200, 'x');
  big.front() = 'd';
  big.back() = 'e';
  for (int i = 0; i < 20; ++i) ASSERT_TRUE(client_.tunnel->SendData(id, kEcho4, big));
  sim_.RunFor(milliseconds(10));
  EXPECT_EQ(echo4_.received.size(), 5u);  // 1000 bytes of budget.
  EXPECT_EQ(exit_stats().exit_over_budget, 15u);

  sim_.RunFor(seconds(5));  // Both budgets refill: 4 new destinations may follow at once.
  for (int i = 1; i <= 10; ++i) {
    const Address to = *Address::ParseIp("198.51.100." + std::to_string(100 + i), 6881);
    ASSERT_TRUE(client_.tunnel->SendData(id, to, kDhtPing));
  }
  sim_.RunFor(milliseconds(10));
  EXPECT_EQ(exit_stats().exit_destination_rate, 6u);

  // A second circuit needs a second exit socket: over max_exit_sockets.
  const uint32_t second = BuildCircuit();
  ASSERT_NE(second, 0u);
  ASSERT_TRUE(client_.tunnel->SendData(second, kEcho4, kDhtPing));
  sim_.RunFor(milliseconds(100));
  EXPECT_EQ(exit_stats().exit_socket_limit, 1u);
}

TEST_F(ExitTest, HostNamesAreResolvedWithoutBlocking) {
  Build();
  auto resolver = std::make_unique<FakeResolver>(
      std::map<std::string, Address>{{"router.example", kEcho4.WithPort(0)}});
  FakeResolver* lookups = resolver.get();
  exit_.tunnel->SetHostResolver(std::move(resolver));
  const uint32_t id = BuildCircuit();
  ASSERT_NE(id, 0u);
  ASSERT_TRUE(client_.tunnel->SendData(id, wire::HostPort{"router.example", 6881}, kDhtPing));
  ASSERT_TRUE(client_.tunnel->SendData(id, wire::HostPort{"nowhere.example", 6881}, kDhtPing));
  sim_.RunFor(milliseconds(100));
  EXPECT_EQ(lookups->lookups, 2);
  ASSERT_EQ(echo4_.received.size(), 1u);
  ASSERT_EQ(received_.size(), 1u);
  EXPECT_EQ(std::get<Address>(received_[0].origin), kEcho4);
  EXPECT_EQ(exit_stats().exit_hostname_unresolved, 1u);
}

// is_allowed (spec 5.7) on the vectors' payloads and crafted edge cases.
TEST(ExitTraffic, ClassifiesAsPyIpv8Does) {
  PacketPrefix prefix{};
  prefix[1] = 2;
  prefix[2] = 0x81;
  const PeerFlags bt = kFlagExitBt, ipv8 = kFlagExitIpv8;
  auto data = [](std::initializer_list<uint8_t> bytes) { return std::vector<uint8_t>(bytes); };

  EXPECT_TRUE(IsDht(kDhtPing));
  EXPECT_TRUE(IsDht(Bytes("de")));
  EXPECT_FALSE(IsDht(Bytes("d")));
  EXPECT_FALSE(IsDht(Bytes("dx")));

  std::vector<uint8_t> utp(20, 0);
  utp[0] = 0x41;  // Type 4 (ST_SYN), version 1.
  utp[1] = 3;
  EXPECT_TRUE(IsUtp(utp));
  utp[1] = 4;  // Almost uTP: an extension byte too large.
  EXPECT_FALSE(IsUtp(utp));
  utp[1] = 0;
  utp[0] = 0x51;  // Type 5: none.
  EXPECT_FALSE(IsUtp(utp));
  utp[0] = 0x42;  // Version 2.
  EXPECT_FALSE(IsUtp(utp));
  EXPECT_FALSE(IsUtp(std::vector<uint8_t>(19, 0x01)));  // Short.

  EXPECT_TRUE(IsUdpTracker(data({0, 0, 0, 3, 9, 9, 9, 9})));  // A response's action.
  EXPECT_FALSE(IsUdpTracker(data({0, 0, 0, 4, 9, 9, 9, 9})));
  EXPECT_TRUE(IsUdpTracker(data({9, 9, 9, 9, 9, 9, 9, 9, 0, 0, 0, 1})));  // A request's.
  EXPECT_FALSE(IsUdpTracker(data({0, 0, 0})));

  std::vector<uint8_t> packet(23, 0);
  packet[1] = 2;
  EXPECT_TRUE(IsIpv8(packet));
  packet[1] = 3;
  EXPECT_FALSE(IsIpv8(packet));
  packet[1] = 1;
  EXPECT_TRUE(IsIpv8(packet));
  EXPECT_FALSE(IsIpv8(std::span(packet).first(22)));

  EXPECT_EQ(ClassifyExit(kDhtPing, bt, prefix), ExitClass::kBitTorrent);
  EXPECT_EQ(ClassifyExit(kDhtPing, ipv8, prefix), ExitClass::kRefused);
  std::vector<uint8_t> foreign(40, 9);
  foreign[0] = 0;
  foreign[1] = 2;
  EXPECT_EQ(ClassifyExit(foreign, ipv8, prefix), ExitClass::kIpv8);
  EXPECT_EQ(ClassifyExit(foreign, bt, prefix), ExitClass::kRefused);
  std::vector<uint8_t> own(prefix.begin(), prefix.end());
  own.resize(30, 1);
  EXPECT_EQ(ClassifyExit(own, 0, prefix), ExitClass::kOwnTunnel);  // Every terminal hop.
  EXPECT_EQ(ClassifyExit(own, ipv8, prefix), ExitClass::kIpv8);
  EXPECT_EQ(ClassifyExit(Bytes("hello"), bt | ipv8, prefix), ExitClass::kRefused);
}

}  // namespace
}  // namespace ringv8::tunnel
