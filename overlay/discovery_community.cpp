#include "overlay/discovery_community.h"

#include <algorithm>

namespace ringv8::overlay {

namespace {

// The ping cache of a peer: on pong, the round trip goes into the peer's pings.
class PingCache final : public NumberCache {
 public:
  PingCache(uint64_t number, std::shared_ptr<Peer> peer, TimePoint sent)
      : NumberCache(DiscoveryCommunity::kPingCacheName, number, DiscoveryCommunity::kPingTimeout),
        peer_(std::move(peer)),
        sent_(sent) {}
  Peer& peer() const { return *peer_; }
  TimePoint sent() const { return sent_; }

 private:
  std::shared_ptr<Peer> peer_;
  TimePoint sent_;
};

std::vector<ServiceId> SplitIds(wire::Bytes ids) {
  std::vector<ServiceId> out(ids.size() / 20);
  for (size_t i = 0; i < out.size(); ++i) std::copy_n(ids.begin() + i * 20, 20, out[i].begin());
  return out;
}

}  // namespace

DiscoveryCommunity::DiscoveryCommunity(std::shared_ptr<Peer> my_peer,
                                       const wire::PrivateKey& my_key, Endpoint& endpoint,
                                       Network& network, EventLoop& loop,
                                       const CommunitySettings& settings)
    : Community(kDiscoveryCommunityId, std::move(my_peer), my_key, endpoint, network, loop,
                settings),
      request_cache_(loop) {
  SetRawHandler(wire::IntroductionRequestPayload::kMessageId,
                [this](const Address& source, wire::Bytes datagram) {
                  OnIntroductionRequest246(source, datagram);
                });
  AddHandler<wire::SimilarityRequestPayload>(
      [this](const std::shared_ptr<Peer>& peer, const wire::SimilarityRequestPayload& p) {
        OnSimilarityRequest(peer, p);
      });
  AddHandler<wire::SimilarityResponsePayload>(
      [this](const std::shared_ptr<Peer>& peer, const wire::SimilarityResponsePayload& p) {
        OnSimilarityResponse(peer, p);
      });
  AddHandler<wire::PingPayload>([this](const Address& source, const wire::PingPayload& p) {
    (void)Send(source, wire::PongPayload{p.identifier});
  });
  AddHandler<wire::PongPayload>(
      [this](const Address& source, const wire::PongPayload& p) { OnPong(source, p); });
}

DiscoveryCommunity::~DiscoveryCommunity() { request_cache_.Shutdown(); }

void DiscoveryCommunity::OnIntroductionRequest246(const Address& source, wire::Bytes datagram) {
  if (OverPeerLimit()) {
    CountPeerLimit();
    return;
  }
  auto view = wire::ParsePacket(datagram, wire::LayoutOf<wire::IntroductionRequestPayload>());
  if (!view) return CountDrop(view.error());
  if (std::error_code error = wire::VerifySignature(*view)) return CountDrop(error);
  // The legacy form first ('Y' + 20-byte mid, then the 246 body); its "introduce me to" never
  // matches in py-ipv8, so only the body matters.
  wire::IntroductionRequestPayload request;
  if (auto legacy = wire::DecodePayload<wire::DiscoveryIntroductionRequestPayload>(view->payload)) {
    request = legacy->request;
  } else if (auto plain = wire::DecodePayload<wire::IntroductionRequestPayload>(view->payload)) {
    request = *plain;
  } else {
    return CountDrop(plain.error());
  }
  CountHandled();
  auto key = wire::PublicKey::FromBin(view->public_key_bin);
  if (!key) return CountDrop(key.error());
  // A fresh Peer: the 0x20 flag is ignored and no LAN address is recorded, as in py-ipv8.
  auto peer = std::make_shared<Peer>(std::move(*key), source, loop().Now());
  AnswerIntroductionRequest(
      peer,
      {request.destination_address, request.source_lan_address, request.source_wan_address,
       request.identifier, false, request.extra_bytes},
      source, /*new_style=*/false);
}

void DiscoveryCommunity::IntroductionResponseCallback(Peer& peer, uint64_t /*global_time*/,
                                                      const IntroductionResponse& /*response*/) {
  SendSimilarityRequest(peer.address());
}

std::vector<DiscoveryCommunity::LocalKey> DiscoveryCommunity::LocalKeys() const {
  std::vector<LocalKey> keys;
  for (const auto& [id, overlay] : network().service_overlays()) {
    const wire::PrivateKey& key = overlay->my_key();
    auto it = std::find_if(keys.begin(), keys.end(), [&](const LocalKey& k) {
      return k.key->public_key() == key.public_key();
    });
    if (it == keys.end()) {
      keys.push_back({&key, &overlay->my_peer(), {}});
      it = keys.end() - 1;
    }
    it->ids.insert(it->ids.end(), id.begin(), id.end());
  }
  return keys;
}

template <wire::Payload P>
void DiscoveryCommunity::SendSignedBy(const LocalKey& local, const Address& to, const P& payload,
                                      uint64_t gt) {
  wire::PacketBuilder builder(wire::PacketBuffer(), prefix(), P::kMessageId);
  builder.Auth(local.key->public_key());
  builder.GlobalTime(gt);
  builder.Write(payload);
  auto packet = builder.FinishSigned(*local.key);
  if (packet) (void)endpoint().Send(to, *packet);
}

void DiscoveryCommunity::SendSimilarityRequest(const Address& address) {
  for (const LocalKey& local : LocalKeys()) {
    const uint64_t gt = local.peer->ClaimGlobalTime();
    wire::SimilarityRequestPayload request;
    request.identifier = static_cast<uint16_t>(gt % 65536);
    request.lan_address = my_estimated_lan();
    request.wan_address = my_estimated_wan();
    request.preference_list = local.ids;
    SendSignedBy(local, address, request, gt);
  }
}

void DiscoveryCommunity::OnSimilarityRequest(const std::shared_ptr<Peer>& peer,
                                             const wire::SimilarityRequestPayload& p) {
  // The sender need not be verified; its services are kept until it is.
  const auto services = SplitIds(p.preference_list);
  network().DiscoverServices(*peer, services);
  for (const LocalKey& local : LocalKeys()) {
    wire::SimilarityResponsePayload response;
    response.identifier = p.identifier;
    response.preference_list = local.ids;
    SendSignedBy(local, peer->address(), response, local.peer->ClaimGlobalTime());
  }
}

void DiscoveryCommunity::OnSimilarityResponse(const std::shared_ptr<Peer>& peer,
                                              const wire::SimilarityResponsePayload& p) {
  const bool verified = network().GetVerifiedByPublicKeyBin(peer->public_key_bin()) != nullptr;
  // py-ipv8: `0 <= max_peers < len(get_peers())`, so a new key is still taken at exactly max_peers.
  if (OverPeerLimit() && !verified) {
    CountPeerLimit();
    return;
  }
  Peer* known = network().AddVerifiedPeer(peer);
  if (known == nullptr) return;
  const auto services = SplitIds(p.preference_list);
  network().DiscoverServices(*known, services);
}

void DiscoveryCommunity::SendPing(Peer& peer) {
  const uint64_t gt = my_peer().ClaimGlobalTime();
  const uint16_t identifier = static_cast<uint16_t>(gt % 65536);
  // py-ipv8 keys this cache by the unreduced global time, so its pongs stop matching once the
  // clock passes 65535. ringv8 departs: it keys the cache by the identifier on the wire.
  std::shared_ptr<Peer> shared = network().SharedPeer(peer);
  if (!shared) return;
  if (request_cache_.Add(std::make_unique<PingCache>(identifier, shared, loop().Now())) ==
      nullptr) {
    return;  // A ping with this identifier is still outstanding.
  }
  (void)SendWithGlobalTime(peer.address(), wire::PingPayload{identifier}, gt);
}

void DiscoveryCommunity::OnPong(const Address& /*source*/, const wire::PongPayload& p) {
  auto cache = request_cache_.Pop(kPingCacheName, p.identifier);
  if (!cache) return;  // Unknown or late: ignored, as py-ipv8 does.
  auto& ping = static_cast<PingCache&>(*cache);
  ping.peer().AddPing(std::chrono::duration<double>(loop().Now() - ping.sent()).count());
}

}  // namespace ringv8::overlay
