// LAN discovery over real loopback sockets (127.0.0.1 only, ports chosen by the kernel): the
// beacon is sent to one port instead of broadcast to all.
#include "overlay/udp_broadcast_bootstrapper.h"

#include <gtest/gtest.h>

#include "overlay/community.h"
#include "ring/mmsg_endpoint.h"
#include "ring/uring_endpoint.h"

namespace ringv8::overlay {
namespace {

const wire::CommunityId kId = {0x1A, 0x2B};

class UdpBroadcastTest : public ::testing::TestWithParam<EventLoop::Backend> {};

TEST_P(UdpBroadcastTest, TwoNodesFindEachOtherThroughTheBeacon) {
  auto loop = EventLoop::Create({.backend = GetParam()});
  if (!loop) GTEST_SKIP() << "io_uring is not available here";
  EndpointOptions options;
  options.ipv4 = Address::Parse("127.0.0.1:0");
  auto open = [&]() -> std::unique_ptr<Endpoint> {
    if (GetParam() == EventLoop::Backend::kUring)
      return std::move(*UringEndpoint::Open(**loop, options));
    return std::move(*MmsgEndpoint::Open(**loop, options));
  };
  struct Node {
    std::unique_ptr<Endpoint> endpoint;
    Network network;
    wire::PrivateKey key = wire::PrivateKey::Generate();
    std::unique_ptr<Community> community;
  };
  Node a, b;
  for (Node* n : {&a, &b}) {
    n->endpoint = open();
    auto me = std::make_shared<Peer>(n->key.public_key(), n->endpoint->local_addresses()[0],
                                     (*loop)->Now());
    n->community = std::make_unique<Community>(kId, me, n->key, *n->endpoint, n->network, **loop);
  }
  // B listens (its own beacon goes to the discard port of 127.0.0.1).
  UdpBroadcastOptions b_options{.broadcast = *Address::Parse("127.0.0.1:0"),
                                .first_port = 9,
                                .last_port = 9,
                                .bind = *Address::Parse("127.0.0.1:0")};
  auto b_owned = std::make_unique<UDPBroadcastBootstrapper>(b_options);
  UDPBroadcastBootstrapper* b_boot = b_owned.get();
  b.community->AddBootstrapper(std::move(b_owned));
  b_boot->Initialize(*b.community);
  ASSERT_TRUE(b_boot->initialized());
  // A beacons at B's bootstrap port.
  const uint16_t port = b_boot->local_address().port();
  UdpBroadcastOptions a_options{.broadcast = *Address::Parse("127.0.0.1:0"),
                                .first_port = port,
                                .last_port = port,
                                .bind = *Address::Parse("127.0.0.1:0")};
  auto a_owned = std::make_unique<UDPBroadcastBootstrapper>(a_options);
  UDPBroadcastBootstrapper* a_boot = a_owned.get();
  a.community->AddBootstrapper(std::move(a_owned));
  a.community->Bootstrap();
  EXPECT_EQ(a_boot->beacons_sent(), 1u);

  for (int i = 0; i < 2000 && (a.community->GetPeers().empty() || b.community->GetPeers().empty());
       ++i) {
    (*loop)->RunOnce(std::chrono::milliseconds(1));
  }
  ASSERT_EQ(a.community->GetPeers().size(), 1u);
  ASSERT_EQ(b.community->GetPeers().size(), 1u);
  EXPECT_EQ(a.community->GetPeers()[0]->mid(), b.key.mid());
  EXPECT_EQ(b.community->GetPeers()[0]->mid(), a.key.mid());
  for (Node* n : {&a, &b}) n->community.reset();  // Unloads the bootstrappers.
}

INSTANTIATE_TEST_SUITE_P(Backends, UdpBroadcastTest,
                         ::testing::Values(EventLoop::Backend::kUring, EventLoop::Backend::kEpoll),
                         [](const auto& info) { return EventLoop::BackendName(info.param); });

}  // namespace
}  // namespace ringv8::overlay
