// Shared fixtures for protocol tests on the in-memory network: the spec's fixed keys and a node
// (endpoint, its own Network, my_peer) that communities are built on.
// Thread-compatible; everything runs on the test's virtual-clock loop.
#ifndef RINGV8_TESTS_TESTING_MEMORY_NODE_H_
#define RINGV8_TESTS_TESTING_MEMORY_NODE_H_

#include <memory>

#include "overlay/community.h"
#include "overlay/network.h"
#include "overlay/peer.h"
#include "ring/memory_endpoint.h"
#include "wire/keys.h"

namespace ringv8::testing {

// Spec 11.2's keys: "LibNaCLSK:" followed by 64 bytes of `fill` (K1 = 1, K2 = 2, K3 = 3).
wire::PrivateKey SpecKey(uint8_t fill);

// A node on a MemoryNetwork. Destroy it before the network and the loop; its communities
// (owned by the test) before it.
struct MemoryNode {
  MemoryNode(MemoryNetwork& net, const Address& address,
             wire::PrivateKey key = wire::PrivateKey::Generate());

  Address address() const { return endpoint->local_addresses()[0]; }
  // A plain Community on this node.
  std::unique_ptr<overlay::Community> MakeCommunity(
      const wire::CommunityId& id, const overlay::CommunitySettings& settings = {});

  MemoryNetwork& net;
  wire::PrivateKey key;
  std::unique_ptr<MemoryEndpoint> endpoint;
  overlay::Network network;
  std::shared_ptr<overlay::Peer> my_peer;
};

}  // namespace ringv8::testing

#endif  // RINGV8_TESTS_TESTING_MEMORY_NODE_H_
