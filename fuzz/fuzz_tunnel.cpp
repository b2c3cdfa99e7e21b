// Fuzz target: a TunnelCommunity relay (Tribler's id, RELAY|SPEED_TEST) on the in-memory network.
// The first input byte picks what the rest is:
//   even: a datagram from 10.9.9.9:7000, as from the internet (cells, CREATE/CREATED, DESTROY
//         with the fuzz-only signature, introductions);
//   odd:  the message inside a cell of a circuit that ends at the relay (cell id and body),
//         sealed with that circuit's keys, relay_early from the next bit, so that EXTEND, PING,
//         speed tests, DATA and every other id are parsed behind the layer.
// The circuit is set up (a real CREATE -> CREATED handshake) before the first input and again
// whenever an input ended it; all tables are bounded.
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <vector>

#include "tests/testing/memory_node.h"
#include "tests/testing/simulation.h"
#include "tunnel/crypto.h"
#include "tunnel/layer_cipher.h"
#include "tunnel/tunnel_community.h"

namespace {

using namespace ringv8;

struct Capture final : EndpointListener {
  void OnPacket(const Address&, std::span<const uint8_t> datagram) override {
    last.assign(datagram.begin(), datagram.end());
  }
  std::vector<uint8_t> last;
};

class Harness {
 public:
  Harness()
      : relay_(sim_.net, *Address::Parse("10.1.1.1:8090"), testing::SpecKey(1)),
        prefix_(wire::MakePrefix(tunnel::kTriblerTunnelCommunityId)) {
    community_ = std::make_unique<tunnel::TunnelCommunity>(
        tunnel::kTriblerTunnelCommunityId, relay_.my_peer, relay_.key, *relay_.endpoint,
        relay_.network, *sim_.loop);
    EndpointOptions options;
    options.ipv4 = *Address::Parse("10.9.9.9:7000");
    sender_ = std::move(*sim_.net.Open(options));
    sender_->AddCatchAllListener(&capture_);
  }

  void Raw(std::span<const uint8_t> datagram) { Send(datagram); }

  void Inner(std::span<const uint8_t> message, bool relay_early) {
    if (!EnsureCircuit()) return;
    std::vector<uint8_t> cell(tunnel::kCellHeaderSize + message.size() + tunnel::kLayerOverhead);
    tunnel::WriteCellHeader(prefix_, {circuit_id_, false, relay_early}, cell.data());
    cipher_.SealNext(keys_.forward, message, cell.data() + tunnel::kCellHeaderSize);
    Send(cell);
  }

 private:
  void Send(std::span<const uint8_t> datagram) {
    (void)sender_->Send(relay_.address(), datagram);
    sim_.loop->RunFor(std::chrono::milliseconds(10));
  }

  // A circuit from the sender to the relay, by a real handshake.
  bool EnsureCircuit() {
    const std::vector<uint32_t> ids = community_->TerminalCircuitIds();
    if (std::find(ids.begin(), ids.end(), circuit_id_) != ids.end()) return true;
    ++circuit_id_;
    const tunnel::X25519KeyPair ephemeral = tunnel::X25519KeyPair::Generate();
    tunnel::CreatePayload create{1, client_key_.public_key().bin(), ephemeral.public_key};
    std::vector<uint8_t> cell(1024);
    tunnel::WriteCellHeader(prefix_, {circuit_id_, true, true}, cell.data());
    auto message =
        tunnel::EncodeCellMessage(create, std::span(cell).subspan(tunnel::kCellHeaderSize));
    cell.resize(tunnel::kCellHeaderSize + message->size());
    capture_.last.clear();
    Send(cell);
    if (capture_.last.size() <= tunnel::kCellHeaderSize + 1) return false;
    auto created = tunnel::DecodeCell<tunnel::CreatedPayload>(
        std::span<const uint8_t>(capture_.last).subspan(tunnel::kCellHeaderSize + 1));
    if (!created || created->key.size() != 32) return false;
    tunnel::Key32 tmp, hop;
    std::memcpy(tmp.data(), created->key.data(), 32);
    std::memcpy(hop.data(), relay_.key.public_key().bin().data() + 10, 32);
    auto keys = tunnel::CompleteHandshake(ephemeral, hop, tmp, created->auth);
    if (!keys) return false;
    keys_ = *keys;
    return true;
  }

  testing::Simulation sim_{std::chrono::seconds(1000)};
  testing::MemoryNode relay_;
  wire::Prefix prefix_;
  std::unique_ptr<tunnel::TunnelCommunity> community_;
  std::unique_ptr<MemoryEndpoint> sender_;
  Capture capture_;
  wire::PrivateKey client_key_ = testing::SpecKey(2);
  tunnel::LayerCipher cipher_;
  tunnel::SessionKeys keys_;
  uint32_t circuit_id_ = 0x1000;
};

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static Harness* harness = new Harness();  // One relay for the whole run, as a server sees it.
  if (size == 0) return 0;
  const std::span<const uint8_t> rest(data + 1, size - 1);
  if ((data[0] & 1) == 0) {
    harness->Raw(rest);
  } else {
    harness->Inner(rest, (data[0] & 2) != 0);
  }
  return 0;
}
