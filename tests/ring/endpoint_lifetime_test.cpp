// Destroying an endpoint never runs its loop: no timer or posted work of the owner fires while
// the endpoint goes away, whatever the kernel still holds.
#include <memory>

#include <gtest/gtest.h>

#include "ring/open_endpoint.h"

namespace ringv8 {
namespace {

using std::chrono::milliseconds;

class EndpointLifetime : public ::testing::TestWithParam<EndpointBackend> {};

TEST_P(EndpointLifetime, DestroyingAnEndpointWithWorkInFlightRunsNothing) {
  EndpointOptions options;
  options.ipv4 = *Address::ParseIp("127.0.0.1", 0);
  auto opened = OpenLoopAndEndpoint(GetParam(), options);
  if (!opened && GetParam() == EndpointBackend::kUring) GTEST_SKIP() << opened.error().message();
  ASSERT_TRUE(opened) << opened.error().message();
  EventLoop& loop = *opened->loop;
  const Address self = opened->endpoint->local_addresses()[0];
  std::vector<uint8_t> datagram(100, 0);
  loop.RunOnce(milliseconds(0));  // Receives armed.
  for (int i = 0; i < 32; ++i) ASSERT_FALSE(opened->endpoint->Send(self, datagram));
  int fired = 0;
  loop.CallLater(milliseconds(0), [&] { ++fired; });
  loop.Post([&] { ++fired; });

  opened->endpoint.reset();  // Receives armed, sends queued: the kernel may hold buffers.
  EXPECT_EQ(fired, 0);

  // The loop finishes what the kernel held on its own next iterations (or when destroyed).
  loop.RunOnce(milliseconds(0));
  for (int i = 0; i < 100 && loop.orphan_count() > 0; ++i) loop.RunOnce(milliseconds(1));
  EXPECT_EQ(loop.orphan_count(), 0u);
  EXPECT_EQ(fired, 2);
}

TEST_P(EndpointLifetime, ALoopDestroyedRightAfterItsEndpointFreesEverything) {
  EndpointOptions options;
  options.ipv4 = *Address::ParseIp("127.0.0.1", 0);
  auto opened = OpenLoopAndEndpoint(GetParam(), options);
  if (!opened && GetParam() == EndpointBackend::kUring) GTEST_SKIP() << opened.error().message();
  ASSERT_TRUE(opened) << opened.error().message();
  opened->loop->RunOnce(milliseconds(0));
  const Address self = opened->endpoint->local_addresses()[0];
  ASSERT_FALSE(opened->endpoint->Send(self, std::vector<uint8_t>(100, 0)));
  opened->endpoint.reset();
  opened->loop.reset();  // ASan (make asan) reports anything left behind.
}

INSTANTIATE_TEST_SUITE_P(Backends, EndpointLifetime,
                         ::testing::Values(EndpointBackend::kUring, EndpointBackend::kMmsg),
                         [](const auto& info) {
                           return info.param == EndpointBackend::kUring ? "uring" : "mmsg";
                         });

}  // namespace
}  // namespace ringv8
