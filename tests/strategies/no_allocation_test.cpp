// The scheduler allocates nothing per step, and a random walk's pick allocates nothing and takes
// O(1) probes among 100,000 walkable addresses: counted by replacing operator new in this binary.
#include <atomic>
#include <cstdlib>
#include <map>
#include <new>
#include <random>
#include <set>
#include <vector>

#include <gtest/gtest.h>

#include "overlay/network.h"
#include "strategies/step_scheduler.h"
#include "tests/testing/simulation.h"
#include "wire/keys.h"

namespace {
std::atomic<long> g_allocations{0};
}  // namespace

// The replacements pair malloc with free; GCC cannot see that and warns at the call sites.
#pragma GCC diagnostic ignored "-Wmismatched-new-delete"

void* operator new(std::size_t size) {
  g_allocations.fetch_add(1, std::memory_order_relaxed);  // A count only.
  if (void* p = std::malloc(size == 0 ? 1 : size)) return p;
  throw std::bad_alloc();
}
void operator delete(void* p) noexcept { std::free(p); }
void operator delete(void* p, std::size_t) noexcept { std::free(p); }

namespace ringv8::strategies {
namespace {

class NoOp final : public DiscoveryStrategy {
 public:
  NoOp() : DiscoveryStrategy(nullptr) {}
  const char* name() const override { return "NoOp"; }
  void TakeStep() override { ++steps; }
  int steps = 0;
};

TEST(StepSchedulerAllocations, TenThousandStepsAllocateNothing) {
  ::ringv8::testing::Simulation sim;
  auto& loop = sim.loop;
  StepScheduler scheduler;
  std::vector<NoOp> strategies(1000);
  for (auto& s : strategies) scheduler.Add(&s, -1);
  scheduler.Attach(*loop);
  loop->RunFor(std::chrono::seconds(2));  // Warm up: the loop's containers reach their size.
  const long before = g_allocations.load();
  loop->RunFor(std::chrono::seconds(5));
  const long allocations = g_allocations.load() - before;
  scheduler.Detach();
  EXPECT_EQ(strategies[0].steps, 15);  // At 0, 0.5, ..., 7 s.
  EXPECT_EQ(allocations, 0);
}

// 100,000 addresses introduced for `service` by one (verified) introducer.
void FillWalkable(overlay::Network& network, const overlay::ServiceId& service) {
  auto introducer = std::make_shared<overlay::Peer>(wire::PrivateKey::Generate().public_key(),
                                                    Address::Ipv4(0x0A000001u, 1), TimePoint(0));
  for (uint32_t i = 0; i < 100000; ++i) {
    network.DiscoverAddress(introducer, Address::Ipv4(0x0B000000u + i, 8090), service, false);
  }
}

TEST(RandomWalkPick, OneOf100000WalkableAddressesInOneProbeWithoutAllocating) {
  overlay::Network network;
  const overlay::ServiceId service{7};
  FillWalkable(network, service);
  ASSERT_EQ(network.GetWalkableAddresses(&service).size(), 100000u);
  std::mt19937_64 random(1);
  int examined = 0, found = 0;
  const long before = g_allocations.load();
  for (int i = 0; i < 1000; ++i) {
    const Address* a = network.RandomWalkableAddress(&service, random, [&](const Address&) {
      ++examined;
      return true;
    });
    found += a != nullptr ? 1 : 0;
  }
  EXPECT_EQ(g_allocations.load() - before, 0);
  EXPECT_EQ(found, 1000);
  EXPECT_EQ(examined, 1000);  // One probe per pick, not a scan of 100,000.
}

TEST(RandomWalkPick, FindsTheFewAcceptedAddressesUniformlyAndNoneWhenNothingQualifies) {
  overlay::Network network;
  const overlay::ServiceId service{7}, other{8};
  FillWalkable(network, service);
  // Three addresses not waiting for an answer: found by the counting pass, each of them.
  const std::set<Address> open = {Address::Ipv4(0x0B000005u, 8090),
                                  Address::Ipv4(0x0B00F000u, 8090),
                                  Address::Ipv4(0x0B01869Fu, 8090)};
  std::mt19937_64 random(2);
  std::map<Address, int> picked;
  for (int i = 0; i < 300; ++i) {
    const Address* a = network.RandomWalkableAddress(
        &service, random, [&](const Address& candidate) { return open.contains(candidate); });
    ASSERT_NE(a, nullptr);
    ++picked[*a];
  }
  ASSERT_EQ(picked.size(), 3u);
  for (const auto& [address, n] : picked) EXPECT_GT(n, 50) << address.ToString();
  // Nothing walkable for another service, nothing accepted: none.
  EXPECT_EQ(network.RandomWalkableAddress(&other, random, [](const Address&) { return true; }),
            nullptr);
  EXPECT_EQ(network.RandomWalkableAddress(&service, random, [](const Address&) { return false; }),
            nullptr);
}

}  // namespace
}  // namespace ringv8::strategies
