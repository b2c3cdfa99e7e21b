// The fixture of the tracker tests: one tracker shard on an in-memory network with a virtual
// clock, and helpers to make nodes and requests. Thread-compatible (the test's thread).
#ifndef RINGV8_TESTS_TRACKER_TRACKER_FIXTURE_H_
#define RINGV8_TESTS_TRACKER_TRACKER_FIXTURE_H_

#include <memory>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "tests/testing/memory_node.h"
#include "tests/testing/simulation.h"
#include "tracker/tracker.h"
#include "wire/payloads.h"

namespace ringv8::tracker {

inline const wire::CommunityId kX = {0xA1};
inline const wire::CommunityId kY = {0xB2};

class TrackerFixture : public ::testing::Test {
 protected:
  TrackerFixture()
      : tracker_node_(sim_.net, *Address::Parse("10.0.0.1:6421"), testing::SpecKey(9)) {}

  // The tracker (seed 1) on a fresh table with `limits`.
  void StartTracker(TrackerOptions options = {}, TrackerLimits limits = {}) {
    options.seed = 1;
    table_ = std::make_unique<TrackerTable>(limits);
    tracker_ = std::make_unique<Tracker>(*table_, tracker_node_.key, *tracker_node_.endpoint,
                                         *sim_.loop, options);
  }
  std::unique_ptr<testing::MemoryNode> Node(const std::string& address,
                                            wire::PrivateKey key = wire::PrivateKey::Generate()) {
    return std::make_unique<testing::MemoryNode>(sim_.net, *Address::Parse(address),
                                                 std::move(key));
  }
  // A node with the spec's fixed key `spec_key` (testing::SpecKey).
  std::unique_ptr<testing::MemoryNode> Node(const std::string& address, uint8_t spec_key) {
    return Node(address, testing::SpecKey(spec_key));
  }
  // A signed introduction-request of `key` for `community`, as a walker sends it.
  std::vector<uint8_t> Request(const wire::PrivateKey& key, const wire::CommunityId& community,
                               uint16_t identifier = 1) {
    wire::IntroductionRequestPayload request;
    request.destination_address = tracker_node_.address();
    request.identifier = identifier;
    return *wire::EncodePacketToVector(wire::MakePrefix(community), key, identifier, request);
  }

  testing::Simulation sim_{std::chrono::seconds(100), /*seed=*/7};
  testing::MemoryNode tracker_node_;
  std::unique_ptr<TrackerTable> table_;
  std::unique_ptr<Tracker> tracker_;
};

}  // namespace ringv8::tracker

#endif  // RINGV8_TESTS_TRACKER_TRACKER_FIXTURE_H_
