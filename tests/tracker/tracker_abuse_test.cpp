// The tracker under abuse, on the in-memory network with a virtual clock: a spoofed-source flood
// gets no more packets per second to its victim than the bucket allows, a flood of fresh keys
// stays within the configured limits and the counters say where every entry went, and garbage of
// every kind changes nothing and is counted by reason. (Real sockets: `ringv8 bench abuse`.)
#include <random>

#include <gtest/gtest.h>

#include "tests/tracker/tracker_fixture.h"

namespace ringv8::tracker {
namespace {

using ::ringv8::testing::MemoryNode;
using ::ringv8::testing::SpecKey;
using std::chrono::milliseconds;
using std::chrono::seconds;

uint64_t Drops(const TrackerStats& stats) {
  return static_cast<uint64_t>(StatsSnapshot::Of(stats).Drops());
}

// Counts the datagrams an endpoint gets from one address.
class CountFrom : public EndpointListener {
 public:
  explicit CountFrom(Address from) : from_(from) {}
  void OnPacket(const Address& source, std::span<const uint8_t>) override {
    count += source == from_;
  }
  uint64_t count = 0;

 private:
  Address from_;
};

using TrackerAbuseTest = TrackerFixture;

TEST_F(TrackerAbuseTest, SpoofedSourceFloodGetsNoMoreThanTheRateLimit) {
  StartTracker({.responses_per_second = 50, .response_burst = 200});
  // 500 keys, all "from" the victim's address, 2000 requests a second for 40 s: past the first
  // pings (5-15 s after registration) and their timeouts, and every introduction names another
  // key at the victim, so punctures go there too.
  auto victim = Node("10.0.5.5:8090");
  CountFrom from_tracker(tracker_node_.address());
  victim->endpoint->AddCatchAllListener(&from_tracker);
  std::vector<std::vector<uint8_t>> requests;
  for (int k = 0; k < 500; ++k) requests.push_back(Request(wire::PrivateKey::Generate(), kX));
  // A bystander at another address walks to the tracker once a second all along.
  auto bystander = Node("10.0.1.1:8090", 1);
  auto bystander_x = bystander->MakeCommunity(kX);

  constexpr int kSeconds = 40;
  std::vector<uint64_t> per_second;
  uint64_t received = 0;
  size_t next = 0;
  for (int second = 0; second < kSeconds; ++second) {
    bystander_x->WalkTo(tracker_node_.address());
    for (int step = 0; step < 100; ++step) {
      for (int i = 0; i < 20; ++i, ++next) {
        ASSERT_FALSE(
            victim->endpoint->Send(tracker_node_.address(), requests[next % requests.size()]));
      }
      sim_.loop->RunFor(milliseconds(10));
    }
    const uint64_t now = from_tracker.count;
    per_second.push_back(now - received);
    received = now;
  }
  // Whatever kind (response, puncture-request, ping): the burst, then at most the rate.
  EXPECT_LE(received, 200u + 50u * kSeconds);
  for (int second = 5; second < kSeconds; ++second) {
    EXPECT_LE(per_second[second], 51u) << "second " << second;
  }
  EXPECT_GE(received, 50u * kSeconds);  // Limited, not silenced.
  const TrackerStats& stats = tracker_->stats();
  EXPECT_GT(stats.rate_limited, 70000u);
  EXPECT_GT(stats.puncture_rate_limited, 0u);
  EXPECT_GT(stats.ping_rate_limited, 0u);
  // The bystander was answered every time (its own bucket).
  const PrefixStats* bystander_in = bystander->endpoint->stats().FindPrefix(wire::MakePrefix(kX));
  ASSERT_NE(bystander_in, nullptr);
  EXPECT_EQ(
      bystander_in->by_message_id[wire::IntroductionResponsePayload::kMessageId].packets_in.value(),
      static_cast<uint64_t>(kSeconds));
  victim->endpoint->RemoveCatchAllListener(&from_tracker);
}

TEST_F(TrackerAbuseTest, FloodOfFreshKeysStaysWithinTheLimits) {
  StartTracker({.max_sources = 500, .max_local_peers = 600},
               {.max_per_service = 400, .max_entries = 1000});
  // 3000 keys over 2 communities from 750 addresses (4 keys each), 100 requests per 10 ms.
  constexpr int kKeys = 3000, kSources = 750;
  std::vector<std::unique_ptr<MemoryNode>> sources;
  for (int s = 0; s < kSources; ++s) {
    sources.push_back(
        Node("10.1." + std::to_string(s / 250) + "." + std::to_string(s % 250 + 1) + ":8090"));
  }
  for (int k = 0; k < kKeys; ++k) {
    ASSERT_FALSE(sources[k % kSources]->endpoint->Send(
        tracker_node_.address(), Request(wire::PrivateKey::Generate(), k % 2 ? kY : kX)));
    if (k % 100 == 99) sim_.loop->RunFor(milliseconds(10));
  }
  sim_.loop->RunFor(seconds(1));

  const TrackerStats& stats = tracker_->stats();
  EXPECT_EQ(stats.requests, static_cast<uint64_t>(kKeys));
  EXPECT_EQ(stats.responses, static_cast<uint64_t>(kKeys));  // Every one answered.
  const TrackerTable::Stats table = table_->stats();
  EXPECT_LE(table.entries, 1000u);
  EXPECT_LE(table_->PeersIn(kX), 400u);
  EXPECT_LE(table_->PeersIn(kY), 400u);
  EXPECT_LE(tracker_->local_peers(), 600u);
  EXPECT_LE(tracker_->sources(), 500u);
  // Where the peers went: every key is in the table or was evicted, by reason.
  EXPECT_EQ(table.inserted, static_cast<uint64_t>(kKeys));
  EXPECT_EQ(table.inserted,
            table.entries + table.evicted_service_full + table.evicted_table_full + table.removed);
  EXPECT_GT(table.evicted_service_full + table.evicted_table_full, 0u);
  EXPECT_EQ(stats.local_peers_full, static_cast<uint64_t>(kKeys - 600));
  // More than the 250 sources over the bound: puncture-requests spend their target's tokens.
  EXPECT_GE(stats.bucket_evicted, static_cast<uint64_t>(kSources - 500));

  // The silent keys this shard tracks are pinged and time out, or were evicted meanwhile: all
  // are forgotten, and the entries still add up.
  sim_.loop->RunFor(seconds(30));
  EXPECT_EQ(tracker_->local_peers(), 0u);
  EXPECT_EQ(stats.forgotten, 600u);
  const TrackerTable::Stats after = table_->stats();
  EXPECT_EQ(after.inserted,
            after.entries + after.evicted_service_full + after.evicted_table_full + after.removed);
}

TEST_F(TrackerAbuseTest, GarbageOfEveryKindChangesNothingAndIsCountedByReason) {
  StartTracker({.ping_interval = std::chrono::hours(1)});  // No liveness traffic in between.
  auto peer = Node("10.0.1.1:8090", 1);
  auto peer_x = peer->MakeCommunity(kX);
  peer_x->WalkTo(tracker_node_.address());
  sim_.loop->RunFor(milliseconds(100));
  ASSERT_EQ(tracker_->stats().responses, 1u);
  const uint64_t sent_before = tracker_node_.endpoint->stats().packets_out.value();
  const TrackerTable::Stats table_before = table_->stats();

  // 64 sources, each sending a few of every kind.
  std::mt19937_64 random(42);
  auto bytes = [&](size_t n) {
    std::vector<uint8_t> out(n);
    for (auto& b : out) b = static_cast<uint8_t>(random());
    return out;
  };
  const std::vector<uint8_t> valid = Request(SpecKey(2), kX);
  const wire::Prefix prefix = wire::MakePrefix(kX);
  std::vector<std::vector<uint8_t>> garbage;
  for (int i = 0; i < 40; ++i) {
    garbage.push_back(bytes(random() % 1500));          // Random (sometimes shorter than a prefix).
    std::vector<uint8_t> tail = bytes(random() % 300);  // A valid prefix, a random rest.
    tail.insert(tail.begin(), prefix.begin(), prefix.end());
    garbage.push_back(tail);
    garbage.emplace_back(valid.begin(), valid.begin() + static_cast<long>(random() % valid.size()));
    std::vector<uint8_t> flipped = valid;  // Bit flips past the prefix, in distinct bytes.
    const size_t body = valid.size() - wire::kPrefixSize - 1, first = random() % body;
    for (size_t f = 0; f < static_cast<size_t>(1 + i % 3); ++f) {
      flipped[wire::kPrefixSize + 1 + (first + f * body / 3) % body] ^=
          static_cast<uint8_t>(1 << (i % 8));
    }
    garbage.push_back(flipped);
    std::vector<uint8_t> key_length = valid;  // The key-length field after the flag byte.
    key_length[wire::kPrefixSize + 1] = static_cast<uint8_t>(random());
    key_length[wire::kPrefixSize + 2] = static_cast<uint8_t>(random());
    garbage.push_back(key_length);
    std::vector<uint8_t> unknown = valid;  // An id the tracker does not serve.
    unknown[wire::kPrefixSize] = static_cast<uint8_t>(1 + random() % 200);
    garbage.push_back(unknown);
  }
  std::vector<uint8_t> huge = bytes(60000);
  std::copy(valid.begin(), valid.begin() + wire::kPrefixSize + 1, huge.begin());
  for (int i = 0; i < 4; ++i) garbage.push_back(huge);
  std::vector<std::unique_ptr<MemoryNode>> senders;
  for (int s = 0; s < 64; ++s) senders.push_back(Node("10.2.0." + std::to_string(s + 1) + ":8090"));
  for (size_t i = 0; i < garbage.size(); ++i) {
    ASSERT_FALSE(senders[i % senders.size()]->endpoint->Send(tracker_node_.address(), garbage[i]));
    if (i % 64 == 63) sim_.loop->RunFor(milliseconds(1));
  }
  sim_.loop->RunFor(milliseconds(100));

  // Nothing changed: no request verified, nothing sent, the table as it was.
  EXPECT_EQ(tracker_->stats().requests, 1u);
  EXPECT_EQ(tracker_node_.endpoint->stats().packets_out.value(), sent_before);
  EXPECT_EQ(table_->stats().entries, table_before.entries);
  EXPECT_EQ(table_->stats().inserted, table_before.inserted);
  EXPECT_EQ(tracker_->local_peers(), 1u);
  // Every datagram is counted once: by the endpoint (too short, too large) or the tracker (a
  // drop, or ignored: random bytes whose id byte reads 249 or 231 look like a puncture).
  const EndpointStats& endpoint = tracker_node_.endpoint->stats();
  EXPECT_EQ(endpoint.truncated.value(), 4u);
  EXPECT_EQ(endpoint.too_short.value() + endpoint.truncated.value() + Drops(tracker_->stats()) +
                tracker_->stats().ignored,
            garbage.size());
  EXPECT_EQ(tracker_->stats().other_errors, 0u) << "a drop without a reason";

  peer_x->WalkTo(tracker_node_.address());  // A valid request afterwards is answered.
  sim_.loop->RunFor(milliseconds(100));
  EXPECT_EQ(tracker_->stats().requests, 2u);
  EXPECT_EQ(tracker_->stats().responses, 2u);
}

}  // namespace
}  // namespace ringv8::tracker
