#include "tests/testing/memory_node.h"

#include <algorithm>

namespace ringv8::testing {

wire::PrivateKey SpecKey(uint8_t fill) {
  std::vector<uint8_t> bin(wire::kLibNaClKeyBinSize, fill);
  std::copy(wire::kLibNaClPrivatePrefix.begin(), wire::kLibNaClPrivatePrefix.end(), bin.begin());
  return *wire::PrivateKey::FromBin(bin);
}

MemoryNode::MemoryNode(MemoryNetwork& net, const Address& address, wire::PrivateKey key)
    : net(net), key(std::move(key)) {
  EndpointOptions options;
  options.ipv4 = address;
  endpoint = std::move(*net.Open(options));
  my_peer = std::make_shared<overlay::Peer>(this->key.public_key(), address, net.loop().Now());
}

std::unique_ptr<overlay::Community> MemoryNode::MakeCommunity(
    const wire::CommunityId& id, const overlay::CommunitySettings& settings) {
  return std::make_unique<overlay::Community>(id, my_peer, key, *endpoint, network, net.loop(),
                                              settings);
}

}  // namespace ringv8::testing
