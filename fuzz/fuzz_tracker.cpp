// Fuzz target: the tracker's request handling. One Tracker shard on the in-memory network
// receives arbitrary datagrams (introduction-requests and -responses of both styles reach their
// handlers through the fuzz-only signature, fuzz_target.h); its table persists between inputs.
#include <cstddef>
#include <cstdint>

#include "fuzz/fuzz_target.h"
#include "tests/testing/memory_node.h"
#include "tracker/tracker.h"

namespace {

using namespace ringv8;

struct TrackerNode {
  TrackerNode()
      : node(network.net(), *Address::Parse("10.1.1.1:6421"), testing::SpecKey(9)),
        table(tracker::TrackerLimits{.max_per_service = 64, .max_entries = 1024}),
        tracker(table, node.key, *node.endpoint, network.loop(),
                {.max_sources = 1024, .max_local_peers = 1024, .seed = 1}) {}
  fuzz::FuzzNetwork network;
  testing::MemoryNode node;
  tracker::TrackerTable table;
  tracker::Tracker tracker;
};

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static TrackerNode* tracker = new TrackerNode();
  tracker->network.Deliver(tracker->node.address(), std::span<const uint8_t>(data, size));
  if (tracker->table.stats().entries > 1024) __builtin_trap();  // The limits hold.
  return 0;
}
