// Fuzz target: a node with a DiscoveryCommunity and a plain Community (the golden vectors'
// "custom" id) on the in-memory network receives arbitrary datagrams from one source. Signed
// handlers are reached through the fuzz-only signature (fuzz_target.h). Peers learned along the
// way stay in the node's Network between inputs, so later inputs meet a populated node; every
// table involved is bounded.
#include <cstddef>
#include <cstdint>

#include "fuzz/fuzz_target.h"
#include "overlay/discovery_community.h"
#include "tests/testing/memory_node.h"
#include "wire/hex.h"

namespace {

using namespace ringv8;

struct Node {
  Node() : node(network.net(), *Address::Parse("10.1.1.1:8090"), testing::SpecKey(1)) {
    discovery = std::make_unique<overlay::DiscoveryCommunity>(
        node.my_peer, node.key, *node.endpoint, node.network, network.loop());
    wire::CommunityId custom{};
    for (uint8_t i = 0; i < custom.size(); ++i) custom[i] = static_cast<uint8_t>(i + 1);
    community = node.MakeCommunity(custom);
  }
  fuzz::FuzzNetwork network;
  testing::MemoryNode node;
  std::unique_ptr<overlay::DiscoveryCommunity> discovery;
  std::unique_ptr<overlay::Community> community;
};

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static Node* node = new Node();  // One node for the whole run, as a server sees it.
  node->network.Deliver(node->node.address(), std::span<const uint8_t>(data, size));
  return 0;
}
