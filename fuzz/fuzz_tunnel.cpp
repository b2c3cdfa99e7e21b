// Fuzz target: a TunnelCommunity relay and exit (Tribler's id, RELAY|EXIT_BT|EXIT_IPV8|
// SPEED_TEST) on the in-memory network. The low two bits of the first input byte pick what the
// rest is:
//   0: a datagram from 10.9.9.9:7000, as from the internet (cells, CREATE/CREATED, DESTROY
//      with the fuzz-only signature, introductions);
//   1, 3: the message inside a cell of a circuit that ends at the relay (cell id and body),
//      sealed with that circuit's keys, relay_early with 3, so that EXTEND, PING,
//      speed tests, DATA (the exit path: payload classes, destinations, host names) and every
//      other id are parsed behind the layer;
//   2: a UDP datagram from an Internet host (10.8.8.8:6881, which the exit may reach) to the
//      circuit's exit socket: the reply path.
// The circuit is set up (a real CREATE -> CREATED handshake) before the first input and again
// whenever an input ended it; all tables are bounded. Host names never reach a real resolver.
// The relay is shard 0 of 2 (TunnelCommunity::SetShard): cells and DESTROYs for odd circuit ids
// are handed to shard 1, a second community of the same identity (on its own memory endpoint),
// whose tasks run after each input; the harness's circuit ids alternate between the two.
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <string>
#include <vector>

#include "tests/testing/memory_node.h"
#include "tests/testing/simulation.h"
#include "tunnel/crypto.h"
#include "tunnel/layer_cipher.h"
#include "tunnel/tunnel_community.h"

namespace {

using namespace ringv8;

const Address kInternet = *Address::Parse("10.8.8.8:6881");

// Host names in DATA resolve to nothing (a fuzzer must not query DNS).
struct NoResolver final : tunnel::HostResolver {
  void Resolve(const std::string&, Callback done) override { done(std::nullopt); }
};

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
    tunnel::TunnelSettings settings;
    settings.peer_flags =
        tunnel::kFlagRelay | tunnel::kFlagExitBt | tunnel::kFlagExitIpv8 | tunnel::kFlagSpeedTest;
    settings.exit_allowed_ips = {kInternet.WithPort(0)};
    community_ = std::make_unique<tunnel::TunnelCommunity>(
        tunnel::kTriblerTunnelCommunityId, relay_.my_peer, relay_.key, *relay_.endpoint,
        relay_.network, *sim_.loop, overlay::CommunitySettings{}, settings);
    community_->SetHostResolver(std::make_unique<NoResolver>());
    shard1_ = std::make_unique<tunnel::TunnelCommunity>(
        tunnel::kTriblerTunnelCommunityId, shard1_node_.my_peer, shard1_node_.key,
        *shard1_node_.endpoint, shard1_node_.network, *sim_.loop, overlay::CommunitySettings{},
        settings);
    shard1_->SetHostResolver(std::make_unique<NoResolver>());
    community_->SetShard(0, 2, [this](uint32_t, tunnel::TunnelCommunity::ShardTask task) {
      if (handed_.size() >= 64) return false;  // Bounded, as ShardHandOff is.
      handed_.push_back(std::move(task));
      return true;
    });
    shard1_->SetShard(1, 2, [](uint32_t, tunnel::TunnelCommunity::ShardTask) { return false; });
    EndpointOptions internet;
    internet.ipv4 = kInternet;
    internet.raw = true;
    internet_ = std::move(*sim_.net.Open(internet));
    EndpointOptions options;
    options.ipv4 = *Address::Parse("10.9.9.9:7000");
    sender_ = std::move(*sim_.net.Open(options));
    sender_->AddCatchAllListener(&capture_);
  }

  void Raw(std::span<const uint8_t> datagram) { Send(datagram); }

  // A datagram from the Internet host to the circuit's exit socket (opened first if needed).
  void Reply(std::span<const uint8_t> datagram) {
    if (!EnsureCircuit()) return;
    const tunnel::ExitSocket* socket = Owner().GetExitSocket(circuit_id_);
    if (socket == nullptr) {
      static const std::string kDhtPing =
          "d1:ad2:id20:abcdefghij0123456789e1:q4:ping1:t2:aa1:y1:qe";
      tunnel::DataPayload data{
          kInternet, Address(),
          std::span(reinterpret_cast<const uint8_t*>(kDhtPing.data()), kDhtPing.size())};
      std::vector<uint8_t> message(512);
      auto encoded = tunnel::EncodeCellMessage(data, message);
      Inner(*encoded, false);
      socket = Owner().GetExitSocket(circuit_id_);
      if (socket == nullptr) return;
    }
    (void)internet_->Send(socket->local_addresses().front(), datagram);
    sim_.loop->RunFor(std::chrono::milliseconds(10));
  }

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
    for (size_t i = 0; i < handed_.size(); ++i) handed_[i](*shard1_);  // May hand on more.
    handed_.clear();
    sim_.loop->RunFor(std::chrono::milliseconds(10));
  }

  // The shard that owns the harness's circuit.
  tunnel::TunnelCommunity& Owner() { return circuit_id_ % 2 == 0 ? *community_ : *shard1_; }

  // A circuit from the sender to the relay, by a real handshake.
  bool EnsureCircuit() {
    const std::vector<uint32_t> ids = Owner().TerminalCircuitIds();
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
  testing::MemoryNode shard1_node_{sim_.net, *Address::Parse("10.1.1.2:8090"), testing::SpecKey(1)};
  std::unique_ptr<tunnel::TunnelCommunity> shard1_;
  std::vector<tunnel::TunnelCommunity::ShardTask> handed_;
  std::unique_ptr<MemoryEndpoint> sender_;
  std::unique_ptr<MemoryEndpoint> internet_;
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
  switch (data[0] & 3) {
    case 0:
      harness->Raw(rest);
      break;
    case 2:
      harness->Reply(rest);
      break;
    default:
      harness->Inner(rest, (data[0] & 2) != 0);
  }
  return 0;
}
