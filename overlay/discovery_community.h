// DiscoveryCommunity: the overlay every py-ipv8 node runs to find peers and learn which overlays
// they serve (spec 3.9).
//
// On top of Community: its own handling of 246 (the legacy "introduce me to" form first; always
// answered with 245, never marked new-style, no LAN address recorded), similarity requests and
// responses that announce every overlay of the node (one message per local key, signed with that
// key), and ping/pong to measure round trips.
// Thread-affine: call only on the loop's thread.
#ifndef RINGV8_OVERLAY_DISCOVERY_COMMUNITY_H_
#define RINGV8_OVERLAY_DISCOVERY_COMMUNITY_H_

#include <string>
#include <vector>

#include "overlay/community.h"
#include "overlay/request_cache.h"

namespace ringv8::overlay {

inline constexpr wire::CommunityId kDiscoveryCommunityId = wire::kDiscoveryCommunityId;

class DiscoveryCommunity : public Community {
 public:
  static constexpr const char* kPingCacheName = "discoverypingcache";
  static constexpr Duration kPingTimeout = std::chrono::seconds(5);

  DiscoveryCommunity(std::shared_ptr<Peer> my_peer, const wire::PrivateKey& my_key,
                     Endpoint& endpoint, Network& network, EventLoop& loop,
                     const CommunitySettings& settings = {});
  ~DiscoveryCommunity() override;

  // py-ipv8's get_available_strategies: the strategies this overlay offers by name.
  static std::vector<std::string> AvailableStrategies() {
    return {"PeriodicSimilarity", "RandomChurn"};
  }

  // One similarity request per local key, announcing that key's overlays.
  void SendSimilarityRequest(const Address& address);
  void SendPing(Peer& peer);
  RequestCache& request_cache() { return request_cache_; }

 protected:
  void IntroductionResponseCallback(Peer& peer, uint64_t global_time,
                                    const IntroductionResponse& response) override;

 private:
  // The node's overlays grouped by key, in registration order.
  struct LocalKey {
    const wire::PrivateKey* key;
    Peer* peer;
    std::vector<uint8_t> ids;  // Concatenated community ids.
  };
  std::vector<LocalKey> LocalKeys() const;
  void OnIntroductionRequest246(const Address& source, wire::Bytes datagram);
  void OnSimilarityRequest(const std::shared_ptr<Peer>& peer,
                           const wire::SimilarityRequestPayload& p);
  void OnSimilarityResponse(const std::shared_ptr<Peer>& peer,
                            const wire::SimilarityResponsePayload& p);
  void OnPong(const Address& source, const wire::PongPayload& p);
  template <wire::Payload P>
  void SendSignedBy(const LocalKey& local, const Address& to, const P& payload, uint64_t gt);

  RequestCache request_cache_;
};

}  // namespace ringv8::overlay

#endif  // RINGV8_OVERLAY_DISCOVERY_COMMUNITY_H_
