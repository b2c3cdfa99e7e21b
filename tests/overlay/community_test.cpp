#include "overlay/community.h"

#include <algorithm>

#include <gtest/gtest.h>

#include "ring/memory_endpoint.h"
#include "ring/open_endpoint.h"
#include "tests/testing/memory_node.h"
#include "tests/testing/simulation.h"
#include "wire/hex.h"

namespace ringv8::overlay {
namespace {

using ::ringv8::testing::SpecKey;
using std::chrono::milliseconds;
using std::chrono::seconds;

Address A(const char* text) { return *Address::Parse(text); }

const wire::CommunityId kWalkId = {0,  1,  2,  3,  4,  5,  6,  7,  8,  9,
                                   10, 11, 12, 13, 14, 15, 16, 17, 18, 19};

// Records every datagram delivered to an endpoint, in delivery order across all of them.
struct WireLog {
  struct Entry {
    Address from, to;
    std::string hex;
  };
  std::vector<Entry> entries;
};

class Tap final : public EndpointListener {
 public:
  Tap(WireLog* log, Address self) : log_(log), self_(self) {}
  void OnPacket(const Address& source, std::span<const uint8_t> datagram) override {
    log_->entries.push_back({source, self_, wire::ToHex(datagram)});
  }

 private:
  WireLog* log_;
  Address self_;
};

// One node with one community (and a tap on its endpoint).
struct Node : ::ringv8::testing::MemoryNode {
  Node(MemoryNetwork& net, const Address& address, wire::PrivateKey key, CommunitySettings settings,
       WireLog* log, const wire::CommunityId& id = kWalkId)
      : MemoryNode(net, address, std::move(key)), community(MakeCommunity(id, settings)) {
    if (log != nullptr) {
      tap = std::make_unique<Tap>(log, address);
      endpoint->AddCatchAllListener(tap.get());
    }
  }
  ~Node() {
    if (tap) endpoint->RemoveCatchAllListener(tap.get());
  }

  std::unique_ptr<Community> community;
  std::unique_ptr<Tap> tap;
};

class CommunityTest : public ::testing::Test {
 protected:
  Node& AddNode(const char* wan, uint8_t key_fill, const char* lan, WireLog* log = nullptr,
                int max_peers = 30) {
    CommunitySettings settings;
    settings.lan_address = A(lan);
    settings.wan_address = A(wan);
    settings.max_peers = max_peers;
    settings.seed = key_fill;
    nodes_.push_back(std::make_unique<Node>(sim_.net, A(wan), SpecKey(key_fill), settings, log));
    return *nodes_.back();
  }
  Node& AddNode(const Address& address, int max_peers = 30) {
    CommunitySettings settings;
    settings.max_peers = max_peers;
    settings.seed = nodes_.size() + 1;
    nodes_.push_back(
        std::make_unique<Node>(sim_.net, address, wire::PrivateKey::Generate(), settings, nullptr));
    return *nodes_.back();
  }
  void Run(Duration d = milliseconds(10)) { sim_.loop->RunFor(d); }

  ::ringv8::testing::Simulation sim_;
  std::vector<std::unique_ptr<Node>> nodes_;
};

// Spec 11.5: C walks to B, then A walks to B; every packet and its order as py-ipv8 produces.
TEST_F(CommunityTest, ThreeNodeWalkReproducesTheSpecByteForByte) {
  WireLog log;
  Node& a = AddNode("1.1.1.1:8090", 1, "192.168.1.10:8090", &log);
  Node& b = AddNode("2.2.2.2:7000", 2, "10.0.0.5:7000", &log);
  Node& c = AddNode("3.3.3.3:6000", 3, "172.16.0.9:6000", &log);

  c.community->WalkTo(b.address());
  Run();
  a.community->WalkTo(b.address());
  Run();

  ASSERT_EQ(log.entries.size(), 6u);
  // 1. C->B 246 and 2. B->C 245.
  EXPECT_EQ(log.entries[0].from, c.address());
  EXPECT_EQ(log.entries[0].to, b.address());
  EXPECT_EQ(log.entries[0].hex.substr(44, 2), "f6");
  EXPECT_EQ(log.entries[1].from, b.address());
  EXPECT_EQ(log.entries[1].to, c.address());
  EXPECT_EQ(log.entries[1].hex.substr(44, 2), "f5");
  // 3. A->B 246.
  EXPECT_EQ(log.entries[2].hex,
            "0002000102030405060708090a0b0c0d0e0f10111213f6004a4c69624e61434c504b3aa4e09292b651c2"
            "78b9772c569f5fa9bb13d906b46ab68c9df9dc2b4409f8a2098a88e3dd7409f195fd52db2d3cba5d72ca"
            "6709bf1d94121bf3748801b40f6f5c0000000000000001020202021b58c0a8010a1f9a010101011f9a01"
            "0001871064536956c8a30ae64937a7330df8af0fa813b229ab1d6621eadce9cf9d9bbeb65f4a39f75380"
            "73c4494ae809453bc5ed57e819da1ca2edf7d2d327b61b09");
  // 4. B->C 250, sent before the response.
  EXPECT_EQ(log.entries[3].to, c.address());
  EXPECT_EQ(log.entries[3].hex,
            "0002000102030405060708090a0b0c0d0e0f10111213fa0000000000000003020202021b58010101011f"
            "9a0001");
  // 5. B->A 245 introducing C.
  EXPECT_EQ(log.entries[4].to, a.address());
  EXPECT_EQ(log.entries[4].hex,
            "0002000102030405060708090a0b0c0d0e0f10111213f5004a4c69624e61434c504b3ace8d3ad1ccb633"
            "ec7b70c17814a5c76ecd029685050d344745ba05870e587d598139770ea87d175f56a35466c34c7ecccb"
            "8d8a91b4ee37a25df60f5b8fc9b3940000000000000002010101011f9a0a0000051b58020202021b58ac"
            "100009177003030303177010000164a1af3a19fced7f4e152624cec2cd42e44a2d55a86c584c91887dbc"
            "19cd6d103dd74e3770505d85a663c20060a632053c206a4016839131931bdd2f5b74f504");
  // 6. C->A 249.
  EXPECT_EQ(log.entries[5].from, c.address());
  EXPECT_EQ(log.entries[5].to, a.address());
  EXPECT_EQ(log.entries[5].hex,
            "0002000102030405060708090a0b0c0d0e0f10111213f9004a4c69624e61434c504b3a5dfedd3b6bd47f"
            "6fa28ee15d969d5bb0ea53774d488bdaf9df1c6e0124b3ef22ed4928c628d1c2c6eae903389059956129"
            "59273a5c63f93636c14614ac8737d10000000000000002ac1000091770010101011f9a00016546ff0549"
            "52f18de3df408ff7764de1b9003e959d41edfdb9a5bb60081d73bcfbd1bd652ef40637dcd93268c7badf"
            "6a36892b5ce279b1e6c9f6da80b87eb707");

  // 7. A's walkable addresses, and A now talks new style to B.
  auto walkable = a.community->GetWalkableAddresses();
  std::sort(walkable.begin(), walkable.end());
  EXPECT_EQ(walkable, (std::vector<Address>{A("3.3.3.3:6000"), A("172.16.0.9:6000")}));
  Peer* b_at_a = a.network.GetVerifiedByAddress(b.address());
  ASSERT_NE(b_at_a, nullptr);
  EXPECT_TRUE(b_at_a->new_style_intro);
  const size_t before = log.entries.size();
  a.community->SendIntroductionRequest(*b_at_a);
  Run();
  ASSERT_GT(log.entries.size(), before + 1);
  EXPECT_EQ(log.entries[before].hex.substr(44, 2), "ea");      // 234
  EXPECT_EQ(log.entries[before + 1].hex.substr(44, 2), "e8");  // 232 to C first
}

TEST_F(CommunityTest, TwoNodesVerifyEachOther) {
  Node& a = AddNode(A("10.0.0.1:1000"));
  Node& b = AddNode(A("10.0.0.2:1000"));
  a.community->WalkTo(b.address());
  Run();
  ASSERT_EQ(a.community->GetPeers().size(), 1u);
  ASSERT_EQ(b.community->GetPeers().size(), 1u);
  EXPECT_EQ(a.community->GetPeers()[0]->mid(), b.key.mid());
  EXPECT_EQ(b.community->GetPeers()[0]->mid(), a.key.mid());
  EXPECT_EQ(a.community->stats().total_drops(), 0u);
  EXPECT_EQ(b.community->stats().total_drops(), 0u);
}

TEST_F(CommunityTest, FiftyNodesFindPeersThroughOneBootstrapNode) {
  Node& hub = AddNode(A("10.1.0.1:1000"), /*max_peers=*/-1);  // Unlimited, as a tracker.
  std::vector<Node*> nodes;
  for (int i = 0; i < 50; ++i) {
    nodes.push_back(&AddNode(Address::Ipv4(0x0A020000u + static_cast<uint32_t>(i) + 1, 1000)));
  }
  for (Node* n : nodes) n->community->WalkTo(hub.address());
  Run();
  // A few rounds of walking to what was introduced.
  for (int round = 0; round < 5; ++round) {
    for (Node* n : nodes) {
      auto walkable = n->community->GetWalkableAddresses();
      if (!walkable.empty()) n->community->WalkTo(walkable[0]);
      n->community->GetNewIntroduction();
    }
    Run();
  }
  for (Node* n : nodes) EXPECT_GE(n->community->GetPeers().size(), 3u);
  EXPECT_EQ(hub.community->GetPeers().size(), 50u);
  for (Node* n : nodes) EXPECT_EQ(n->community->stats().total_drops(), 0u);
}

TEST_F(CommunityTest, APeerAtMaxPeersSetsPeerLimitReached) {
  Node& full = AddNode(A("10.3.0.1:1000"), /*max_peers=*/1);
  Node& first = AddNode(A("10.3.0.2:1000"));
  Node& second = AddNode(A("10.3.0.3:1000"));
  WireLog log;
  Tap tap(&log, second.address());
  second.endpoint->AddCatchAllListener(&tap);
  first.community->WalkTo(full.address());
  Run();
  second.community->WalkTo(full.address());  // full has 1 peer: not over, answers with 0x04.
  Run();
  // The response (245); `first`, introduced to `second`, also sends it a puncture (249).
  auto it = std::find_if(log.entries.begin(), log.entries.end(),
                         [](const WireLog::Entry& e) { return e.hex.substr(44, 2) == "f5"; });
  ASSERT_NE(it, log.entries.end());
  auto response = wire::FromHex(it->hex);
  auto decoded = wire::DecodePacket<wire::IntroductionResponsePayload>(*response);
  ASSERT_TRUE(decoded);
  EXPECT_TRUE(decoded->payload.peer_limit_reached);
  // Now over the limit: requests are dropped without an answer.
  const size_t answered = log.entries.size();
  Node& third = AddNode(A("10.3.0.4:1000"));
  third.community->WalkTo(full.address());
  Run();
  EXPECT_EQ(third.community->GetPeers().size(), 0u);
  EXPECT_EQ(full.community->stats().peer_limit, 1u);
  EXPECT_EQ(log.entries.size(), answered);
  second.endpoint->RemoveCatchAllListener(&tap);
}

TEST_F(CommunityTest, MalformedPacketsAreCountedAndChangeNothing) {
  Node& a = AddNode(A("10.4.0.1:1000"));
  Node& b = AddNode(A("10.4.0.2:1000"));
  a.community->WalkTo(b.address());
  Run();
  const size_t peers = b.network.verified_count();
  const size_t addresses = b.network.address_count();
  const uint64_t lamport = b.my_peer->lamport_timestamp();

  // A valid 246 from a stranger, then broken variants of it.
  wire::PrivateKey stranger = wire::PrivateKey::Generate();
  wire::IntroductionRequestPayload request;
  request.destination_address = b.address();
  request.identifier = 9;
  auto good = *wire::EncodePacketToVector(b.community->prefix(), stranger, 9, request);
  auto send = [&](std::vector<uint8_t> bytes) {
    (void)a.endpoint->Send(b.address(), bytes);
    Run();
  };
  auto truncated = good;
  truncated.resize(good.size() - 70);
  send(truncated);
  auto bad_signature = good;
  bad_signature.back() ^= 1;
  send(bad_signature);
  auto trailing = *wire::EncodePacketToVector(b.community->prefix(), stranger, 9,
                                              wire::PunctureRequestPayload{});
  trailing.push_back(0);
  send(trailing);
  auto bad_key = good;
  bad_key[25] = 'X';
  send(bad_key);
  auto unknown = good;
  unknown[22] = 77;
  send(unknown);

  const auto& stats = b.community->stats();
  EXPECT_EQ(stats.drops[static_cast<int>(wire::WireError::kTruncated)], 1u);
  EXPECT_EQ(stats.drops[static_cast<int>(wire::WireError::kBadSignature)], 1u);
  EXPECT_EQ(stats.drops[static_cast<int>(wire::WireError::kTrailingBytes)], 1u);
  EXPECT_EQ(stats.drops[static_cast<int>(wire::WireError::kUnknownKeyType)], 1u);
  EXPECT_EQ(stats.unknown_message, 1u);
  EXPECT_EQ(b.network.verified_count(), peers);
  EXPECT_EQ(b.network.address_count(), addresses);
  EXPECT_EQ(b.my_peer->lamport_timestamp(), lamport);
}

}  // namespace
}  // namespace ringv8::overlay

namespace ringv8::overlay {
namespace {

// C sits behind a NAT that drops unsolicited datagrams. A learns C from B, B's puncture request
// makes C puncture toward A, and A's walk to C then gets through.
TEST_F(CommunityTest, APeerBehindNatBecomesReachableThroughThePuncture) {
  Node& a = AddNode(A("10.5.0.1:1000"));
  Node& b = AddNode(A("10.5.0.2:1000"));
  Node& c = AddNode(A("10.5.0.3:1000"));
  sim_.net.SetNat(c.address());

  // Unsolicited: dropped by the NAT.
  a.community->WalkTo(c.address());
  Run();
  EXPECT_EQ(sim_.net.nat_dropped(), 1u);
  EXPECT_EQ(a.community->GetPeers().size(), 0u);

  c.community->WalkTo(b.address());  // Opens C's NAT toward B.
  Run();
  a.community->WalkTo(b.address());  // B introduces C to A and asks C to puncture toward A.
  Run();
  auto walkable = a.community->GetWalkableAddresses();
  ASSERT_NE(std::find(walkable.begin(), walkable.end(), c.address()), walkable.end());
  a.community->WalkTo(c.address());
  Run();
  EXPECT_NE(a.network.GetVerifiedByAddress(c.address()), nullptr);
  EXPECT_NE(c.network.GetVerifiedByAddress(a.address()), nullptr);
  EXPECT_EQ(sim_.net.nat_dropped(), 1u);  // Nothing else was dropped.
}

}  // namespace
}  // namespace ringv8::overlay

namespace ringv8::overlay {
namespace {

// Every base message id, broken four ways, is dropped and counted, and changes nothing.
TEST_F(CommunityTest, MalformedPacketsOfEveryMessageIdAreDroppedAndCounted) {
  Node& a = AddNode(A("10.4.1.1:1000"));
  Node& b = AddNode(A("10.4.1.2:1000"));
  a.community->WalkTo(b.address());
  Run();
  const size_t peers = b.network.verified_count();
  const size_t addresses = b.network.address_count();
  const uint64_t lamport = b.my_peer->lamport_timestamp();
  const uint64_t sent = b.endpoint->stats().packets_out.value();

  wire::PrivateKey k = wire::PrivateKey::Generate();
  const wire::Prefix prefix = b.community->prefix();
  const Address x = A("1.2.3.4:5");
  std::vector<std::vector<uint8_t>> valid = {
      *wire::EncodePacketToVector(prefix, k, 1, wire::IntroductionRequestPayload{x, x, x}),
      *wire::EncodePacketToVector(prefix, k, 1, wire::NewIntroductionRequestPayload{x, x, x}),
      *wire::EncodePacketToVector(prefix, k, 1, wire::IntroductionResponsePayload{x, x, x, x, x}),
      *wire::EncodePacketToVector(prefix, k, 1,
                                  wire::NewIntroductionResponsePayload{x, x, x, x, x}),
      *wire::EncodePacketToVector(prefix, k, 1, wire::PuncturePayload{x, x, 1}),
      *wire::EncodePacketToVector(prefix, k, 1, wire::NewPuncturePayload{x, x, 1}),
      *wire::EncodePacketToVector(prefix, k, 1, wire::PunctureRequestPayload{x, x, 1}),
      *wire::EncodePacketToVector(prefix, k, 1, wire::NewPunctureRequestPayload{x, x, 1}),
  };
  uint64_t expected_drops = 0;
  for (const auto& packet : valid) {
    const bool is_signed = packet[wire::kPrefixSize] != 250 && packet[wire::kPrefixSize] != 232;
    std::vector<std::vector<uint8_t>> broken;
    broken.emplace_back(packet.begin(), packet.begin() + 40);  // Truncated.
    auto trailing = packet;
    if (is_signed) {
      trailing.insert(trailing.end() - 64, 0x00);  // Trailing byte inside the signed part.
      trailing.back() ^= 1;                        // (and so a bad signature as well)
    } else {
      trailing.push_back(0x00);  // Unsigned fixed layouts reject trailing bytes.
    }
    if (packet[wire::kPrefixSize] != 246 && packet[wire::kPrefixSize] != 245 &&
        packet[wire::kPrefixSize] != 234 && packet[wire::kPrefixSize] != 233) {
      broken.push_back(trailing);  // Requests and responses end in a raw tail: no trailing bytes.
    }
    if (is_signed) {
      auto bad_signature = packet;
      bad_signature.back() ^= 1;
      broken.push_back(bad_signature);
      auto wrong_key_length = packet;
      wrong_key_length[24] = 0x30;  // 48 instead of 74: the key is cut.
      broken.push_back(wrong_key_length);
    }
    for (const auto& bytes : broken) {
      (void)a.endpoint->Send(b.address(), bytes);
      ++expected_drops;
    }
  }
  Run();
  EXPECT_EQ(b.community->stats().total_drops(), expected_drops);
  EXPECT_EQ(b.network.verified_count(), peers);
  EXPECT_EQ(b.network.address_count(), addresses);
  EXPECT_EQ(b.my_peer->lamport_timestamp(), lamport);
  EXPECT_EQ(b.endpoint->stats().packets_out.value(), sent);
}

// A subclass's own message: an id, a payload struct, a handler, a one-line send.
struct Echo {
  static constexpr uint8_t kMessageId = 1;
  static constexpr bool kSigned = true;
  static constexpr bool kGlobalTime = false;  // As py-ipv8's ez_send of a bare payload.
  wire::Bytes data;
  bool Read(wire::Reader& r) { return r.ReadVarlenH(&data); }
  void Write(wire::Writer& w) const { w.WriteVarlenH(data); }
};

class EchoCommunity final : public Community {
 public:
  using Community::Community;
  void Listen() {
    AddHandler<Echo>([this](const std::shared_ptr<Peer>& peer, const Echo& echo) {
      received.assign(echo.data.begin(), echo.data.end());
      from = peer->mid();
    });
  }
  std::vector<uint8_t> received;
  wire::Mid from{};
};

TEST_F(CommunityTest, ASubclassAddsItsOwnMessageInAFewLines) {
  Node& a = AddNode(A("10.4.2.1:1000"));
  Node& b = AddNode(A("10.4.2.2:1000"));
  const wire::CommunityId id{0xEC};
  EchoCommunity echo_a(id, a.my_peer, a.key, *a.endpoint, a.network, *sim_.loop);
  EchoCommunity echo_b(id, b.my_peer, b.key, *b.endpoint, b.network, *sim_.loop);
  echo_b.Listen();
  const std::vector<uint8_t> text = {'h', 'i'};
  ASSERT_FALSE(echo_a.Send(b.address(), Echo{text}));
  Run();
  EXPECT_EQ(echo_b.received, text);
  EXPECT_EQ(echo_b.from, a.key.mid());
}

}  // namespace
}  // namespace ringv8::overlay

namespace ringv8::overlay {
namespace {

class HookCommunity final : public Community {
 public:
  using Community::Community;
  std::vector<std::pair<uint64_t, std::vector<uint8_t>>> requests;  // (gt, extra_bytes)
  std::vector<IntroductionResponse> responses;

 protected:
  void IntroductionRequestCallback(Peer&, uint64_t gt, const IntroductionRequest& r) override {
    requests.emplace_back(gt, std::vector<uint8_t>(r.extra_bytes.begin(), r.extra_bytes.end()));
  }
  void IntroductionResponseCallback(Peer&, uint64_t, const IntroductionResponse& r) override {
    responses.push_back(r);
    responses.back().extra_bytes = {};  // Not valid after the call.
  }
};

TEST_F(CommunityTest, SubclassHooksSeeRequestsAndResponses) {
  Node& a = AddNode(A("10.4.3.1:1000"));
  Node& b = AddNode(A("10.4.3.2:1000"));
  const wire::CommunityId id{0x40};
  HookCommunity hook_a(id, a.my_peer, a.key, *a.endpoint, a.network, *sim_.loop);
  HookCommunity hook_b(id, b.my_peer, b.key, *b.endpoint, b.network, *sim_.loop);
  hook_a.WalkTo(b.address());
  Run();
  ASSERT_EQ(hook_b.requests.size(), 1u);
  ASSERT_EQ(hook_a.responses.size(), 1u);
  EXPECT_EQ(hook_a.responses[0].destination_address, a.address());
  EXPECT_FALSE(hook_a.responses[0].new_style);
  // extra_bytes reach the hook (TunnelCommunity-style piggybacking).
  wire::IntroductionRequestPayload request;
  request.destination_address = b.address();
  const std::vector<uint8_t> extra = {1, 2, 3};
  request.extra_bytes = extra;
  request.identifier = 500;
  ASSERT_FALSE(hook_a.SendWithGlobalTime(b.address(), request, 500));
  Run();
  ASSERT_EQ(hook_b.requests.size(), 2u);
  EXPECT_EQ(hook_b.requests[1].first, 500u);
  EXPECT_EQ(hook_b.requests[1].second, extra);
}

}  // namespace
}  // namespace ringv8::overlay

namespace ringv8::overlay {
namespace {

// On the IPv6 path a node sends IPv6 addresses as its LAN and WAN (issue 15 item 1): an
// IPv6-only node bound to one address says that address, never the host's IPv4 address.
TEST(CommunityIpv6Test, IntroductionsOverIpv6CarryIpv6Addresses) {
  testing::Simulation sim{TimePoint(std::chrono::seconds(1000))};
  auto open = [&](const char* text) {
    EndpointOptions options;
    options.ipv6 = Address::Parse(text);
    return std::move(*sim.net.Open(options));
  };
  std::unique_ptr<MemoryEndpoint> a_endpoint = open("[fd00::1]:8090");
  std::unique_ptr<MemoryEndpoint> b_endpoint = open("[fd00::2]:8090");
  const Address a_address = *Address::Parse("[fd00::1]:8090");
  const Address b_address = *Address::Parse("[fd00::2]:8090");
  WireLog log;
  Tap tap(&log, b_address);
  b_endpoint->AddCatchAllListener(&tap);
  const wire::PrivateKey key = SpecKey(1);
  Network network;
  auto peer = std::make_shared<Peer>(key.public_key(), a_address, sim.loop->Now());
  Community a(kWalkId, peer, key, *a_endpoint, network, *sim.loop);
  a.WalkTo(b_address);
  sim.RunFor(milliseconds(10));
  ASSERT_EQ(log.entries.size(), 1u);
  const std::vector<uint8_t> bytes = *wire::FromHex(log.entries[0].hex);
  auto view = wire::ParsePacket(bytes, {.is_signed = true, .has_global_time = true});
  ASSERT_TRUE(view);
  ASSERT_EQ(view->message_id, wire::NewIntroductionRequestPayload::kMessageId);
  auto request = wire::DecodePayload<wire::NewIntroductionRequestPayload>(view->payload);
  ASSERT_TRUE(request);
  EXPECT_EQ(request->source_lan_address.ToString(), "[fd00::1]:8090");
  EXPECT_EQ(request->source_wan_address.ToString(), "[fd00::1]:8090");
  b_endpoint->RemoveCatchAllListener(&tap);
}

}  // namespace
}  // namespace ringv8::overlay

namespace ringv8::overlay {
namespace {

// The same on real sockets: a ::1-only node and a dual-stack node (127.0.0.1 and ::1) walk to
// an IPv6 and an IPv4 listener; the address fields of what they send are checked.
class Ipv6SocketTest : public ::testing::Test {
 protected:
  // The introduction-request `node` sends to a fresh listener at `listen_at`.
  wire::NewIntroductionRequestPayload RequestOver(const EndpointOptions& node,
                                                  const char* listen_at, uint8_t* message_id) {
    auto opened = OpenLoopAndEndpoint(EndpointBackend::kMmsg, node);
    EXPECT_TRUE(opened) << (opened ? "" : opened.error().message());
    if (!opened) return {};
    EndpointOptions listener_options;
    if (std::string(listen_at).find(':') != std::string::npos) {
      listener_options.ipv4.reset();
      listener_options.ipv6 = Address::ParseIp(listen_at, 0);
    } else {
      listener_options.ipv4 = Address::ParseIp(listen_at, 0);
    }
    auto listener = OpenEndpoint(*opened->loop, listener_options);
    EXPECT_TRUE(listener);
    if (!listener) return {};
    const Address to = (*listener)->local_addresses()[0];
    local_.assign(opened->endpoint->local_addresses().begin(),
                  opened->endpoint->local_addresses().end());
    WireLog log;
    Tap tap(&log, to);
    (*listener)->AddCatchAllListener(&tap);
    const wire::PrivateKey key = SpecKey(1);
    Network network;
    auto peer = std::make_shared<Peer>(key.public_key(), opened->endpoint->local_addresses()[0],
                                       opened->loop->Now());
    {
      Community community(kWalkId, peer, key, *opened->endpoint, network, *opened->loop);
      community.WalkTo(to);
      for (int i = 0; i < 50 && log.entries.empty(); ++i) opened->loop->RunFor(milliseconds(10));
    }
    (*listener)->RemoveCatchAllListener(&tap);
    EXPECT_EQ(log.entries.size(), 1u);
    if (log.entries.empty()) return {};
    const std::vector<uint8_t> bytes = *wire::FromHex(log.entries[0].hex);
    *message_id = bytes[22];
    wire::NewIntroductionRequestPayload out;
    auto view = wire::ParsePacket(bytes, {.is_signed = true, .has_global_time = true});
    if (*message_id == 234) {
      out = *wire::DecodePayload<wire::NewIntroductionRequestPayload>(view->payload);
    } else {
      auto old = *wire::DecodePayload<wire::IntroductionRequestPayload>(view->payload);
      out.source_lan_address = old.source_lan_address;
      out.source_wan_address = old.source_wan_address;
    }
    return out;
  }
  std::vector<Address> local_;
};

TEST_F(Ipv6SocketTest, Ipv6OnlyNodeSendsItsBoundIpv6Address) {
  EndpointOptions node;
  node.ipv4.reset();
  node.ipv6 = Address::ParseIp("::1", 0);
  uint8_t id = 0;
  auto request = RequestOver(node, "::1", &id);
  ASSERT_EQ(local_.size(), 1u);
  EXPECT_EQ(id, 234);
  EXPECT_EQ(request.source_lan_address, local_[0]);  // [::1]:port, not the host's IPv4.
  EXPECT_EQ(request.source_wan_address, local_[0]);
}

TEST_F(Ipv6SocketTest, DualStackNodeSendsIpv6OverIpv6AndIpv4OverIpv4) {
  EndpointOptions node;
  node.ipv4 = Address::ParseIp("127.0.0.1", 0);
  node.ipv6 = Address::ParseIp("::1", 0);
  uint8_t id = 0;
  auto over6 = RequestOver(node, "::1", &id);
  ASSERT_EQ(local_.size(), 2u);
  const Address v4 = local_[0].is_v4() ? local_[0] : local_[1];
  const Address v6 = local_[0].is_v6() ? local_[0] : local_[1];
  EXPECT_EQ(id, 234);
  EXPECT_EQ(over6.source_lan_address, v6);
  EXPECT_EQ(over6.source_wan_address, v6);
  auto over4 = RequestOver(node, "127.0.0.1", &id);
  const Address v4_again = local_[0].is_v4() ? local_[0] : local_[1];
  EXPECT_EQ(id, 246);
  EXPECT_EQ(over4.source_lan_address, v4_again);  // 127.0.0.1:port (this socket's).
  (void)v4;
}

}  // namespace
}  // namespace ringv8::overlay
