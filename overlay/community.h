// Community: one IPv8 overlay, as py-ipv8's Community (spec sections 3.2-3.8).
//
// A community is a 22-byte prefix (00 02 + community id) on the node's endpoint, a 256-entry
// handler table, and the peer-discovery protocol every overlay speaks: introduction requests and
// responses (old style 246/245 and new style 234/233), puncture requests and punctures, LAN/WAN
// address estimation, max_peers. Its view of the world is the node's shared Network.
//
// A subclass adds a message in a few lines:
//   struct Hello { static constexpr uint8_t kMessageId = 1; static constexpr bool kSigned = true;
//                  Bytes text; bool Read(Reader& r) { return r.ReadVarlenH(&text); }
//                  void Write(Writer& w) const { w.WriteVarlenH(text); } };
//   AddHandler<Hello>([this](const std::shared_ptr<Peer>& peer, const Hello& hello) { ... });
//   (void)Send(peer.address(), Hello{...});
// Signed handlers receive the verified sender; unsigned ones receive the source address. A
// payload type may set `static constexpr bool kGlobalTime = false` for messages sent without the
// global-time header (py-ipv8's ez_send of a bare payload).
//
// Every dropped packet is counted by reason (stats()). Handlers run on the loop thread.
// Thread-affine: call only on the thread that runs the endpoint's loop.
#ifndef RINGV8_OVERLAY_COMMUNITY_H_
#define RINGV8_OVERLAY_COMMUNITY_H_

#include <array>
#include <bitset>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <random>
#include <type_traits>
#include <vector>

#include "overlay/bootstrapper.h"
#include "overlay/network.h"
#include "overlay/peer.h"
#include "ring/debug_log.h"
#include "ring/endpoint.h"
#include "ring/event_loop.h"
#include "ring/stats.h"
#include "wire/packet.h"
#include "wire/payloads.h"

namespace ringv8::overlay {

struct CommunitySettings {
  // Requests are dropped while the community has more than max_peers peers (-1: no limit).
  int max_peers = 30;
  // py-ipv8 estimates these itself; tests and NAT setups may fix them.
  std::optional<Address> lan_address;  // my_estimated_lan.
  std::optional<Address> wan_address;  // Initial my_estimated_wan (py-ipv8: 0.0.0.0:0).
  // Seed of the community's random choices (introductions); 0: random.
  uint64_t seed = 0;
};

struct CommunityStats {
  std::array<uint64_t, wire::kWireErrorCount> drops{};  // By wire::WireError.
  uint64_t unknown_message = 0;                         // No handler for the message id.
  uint64_t deprecated_message = 0;  // A Dispersy-era id (py-ipv8 only logs them).
  uint64_t peer_limit = 0;          // Requests dropped at max_peers.
  uint64_t handled = 0;
  uint64_t send_failures = 0;  // The endpoint refused a datagram (counted there by reason).

  // Every counter with its name and kind (ring/stats.h).
  template <typename F>
  void Visit(F&& fn) const {
    using enum StatKind;
    fn(Stat{"handled", kCounter, "Messages handed to a handler."}, handled);
    fn(Stat{"send_failures", kCounter, "Sends the endpoint refused (a drop there)."},
       send_failures);
    wire::VisitWireErrors(drops, "Messages that did not decode or verify.", fn);
    fn(Stat{"unknown_message", kReceiveDrop, "No handler for the message id."}, unknown_message);
    fn(Stat{"deprecated_message", kReceiveDrop, "A Dispersy-era message id."}, deprecated_message);
    fn(Stat{"peer_limit", kReceiveDrop, "Requests dropped at max_peers."}, peer_limit);
  }
  uint64_t total_drops() const;
};

// What the introduction hooks see, for old and new style alike (py-ipv8 passes the payload).
// `extra_bytes` points into the datagram and is valid during the callback only.
struct IntroductionRequest {
  Address destination_address;
  Address source_lan_address;
  Address source_wan_address;
  uint16_t identifier = 0;
  bool new_style = false;  // Arrived as 234.
  wire::Bytes extra_bytes;
};

struct IntroductionResponse {
  Address destination_address;
  Address source_lan_address;
  Address source_wan_address;
  Address lan_introduction_address;
  Address wan_introduction_address;
  uint16_t identifier = 0;
  bool new_style = false;  // Arrived as 233.
  bool intro_supports_new_style = false;
  bool peer_limit_reached = false;  // Old style only.
  wire::Bytes extra_bytes;
};

// Traits of a payload type: whether it carries the global-time header (default: yes).
template <typename P>
constexpr bool HasGlobalTime() {
  if constexpr (requires { P::kGlobalTime; }) {
    return P::kGlobalTime;
  } else {
    return true;
  }
}

class Community : public EndpointListener {
 public:
  // `my_peer` (shared by the overlays that use the same key) and `my_key` must match. The
  // endpoint, network and loop are not owned and must outlive the community.
  Community(const wire::CommunityId& community_id, std::shared_ptr<Peer> my_peer,
            const wire::PrivateKey& my_key, Endpoint& endpoint, Network& network, EventLoop& loop,
            const CommunitySettings& settings = {});
  virtual ~Community();
  Community(const Community&) = delete;
  Community& operator=(const Community&) = delete;

  const wire::CommunityId& community_id() const { return community_id_; }
  const wire::Prefix& prefix() const { return prefix_; }
  Peer& my_peer() { return *my_peer_; }
  const std::shared_ptr<Peer>& my_peer_shared() const { return my_peer_; }
  const wire::PrivateKey& my_key() const { return my_key_; }
  Network& network() { return network_; }
  const Network& network() const { return network_; }
  EventLoop& loop() { return loop_; }
  Endpoint& endpoint() { return endpoint_; }
  const CommunitySettings& settings() const { return settings_; }
  const CommunityStats& stats() const { return stats_; }
  // stats() and the community's table sizes, with their names and kinds (ring/stats.h).
  template <typename F>
  void Visit(F&& fn) const {
    stats_.Visit(fn);
    fn(Stat{"verified_peers", StatKind::kGauge, "Verified peers."}, GetPeers().size());
    fn(Stat{"walkable", StatKind::kGauge, "Addresses the walkers may visit."},
       GetWalkableAddresses().size());
    VisitOverlayStats([&](const Stat& stat, double value) { fn(stat, value); });
  }
  // A subclass's own counters and gauges, visited after the community's (names must differ).
  virtual void VisitOverlayStats(const std::function<void(const Stat&, double)>& /*fn*/) const {}
  std::mt19937_64& random() { return random_; }
  // "7e313685..": the community in log lines.
  std::string LogName() const;

  // --- Peer discovery (py-ipv8 names) ---
  void WalkTo(const Address& address);
  void SendIntroductionRequest(Peer& peer);
  // Without a peer: a random one of ours (or, 5% of the time with a bootstrapper ready, the
  // bootstrappers' keep-alive); with no peers at all: Bootstrap().
  void GetNewIntroduction(Peer* from_peer = nullptr);
  void Bootstrap();
  void AddBootstrapper(std::unique_ptr<Bootstrapper> bootstrapper);
  const std::vector<std::unique_ptr<Bootstrapper>>& bootstrappers() const { return bootstrappers_; }
  // Verified peers of this community.
  const std::vector<Peer*>& GetPeers() const { return network_.GetPeersForService(community_id_); }
  std::vector<Address> GetWalkableAddresses() const {
    return network_.GetWalkableAddresses(&community_id_);
  }

  // The LAN address in the family of the path a message takes (IPv4 unless told otherwise):
  // on the IPv6 path an IPv6 address with the IPv6 socket's port.
  Address my_estimated_lan(Address::Family family = Address::Family::kIpv4) const;
  Address my_estimated_wan() const { return my_estimated_wan_; }
  // The source_wan of new-style messages: in practice the LAN guess (spec 3.3); the IPv6
  // socket's own address when it is bound to one.
  Address my_preferred_address() const;
  bool AddressIsLan(const Address& address) const;

  // --- Messages ---
  // Registers the handler for P::kMessageId (replacing any). Signed: fn(sender, payload) or
  // fn(sender, payload, global_time); unsigned: fn(source address, payload). Payload spans are
  // valid during the call only.
  template <wire::Payload P, typename F>
  void AddHandler(F&& fn);
  // Signs (when P::kSigned) and sends P to `to`, claiming a global time from my_peer.
  template <wire::Payload P>
  std::error_code Send(const Address& to, const P& payload);
  template <wire::Payload P>
  std::error_code SendWithGlobalTime(const Address& to, const P& payload, uint64_t global_time);

  // EndpointListener.
  void OnPacket(const Address& source, std::span<const uint8_t> datagram) override;

 protected:
  // A handler for the whole datagram (after the prefix routing), for messages with more than one
  // layout (DiscoveryCommunity's legacy 246). Every datagram refreshes its sender's liveness
  // (py-ipv8's last_response) unless `refreshes_sender` is false: the TunnelCommunity's cells,
  // which ipv8-rust-tunnels handles outside Python too, skip that lookup and clock read per cell.
  using RawHandler = std::function<void(const Address&, wire::Bytes)>;
  void SetRawHandler(uint8_t message_id, RawHandler handler, bool refreshes_sender = true) {
    handlers_[message_id] = std::move(handler);
    quiet_[message_id] = !refreshes_sender;
  }
  void CountHandled() { ++stats_.handled; }
  void CountPeerLimit() { ++stats_.peer_limit; }

  // Hooks for subclasses (py-ipv8's introduction_request_callback / _response_callback).
  virtual void IntroductionRequestCallback(Peer& /*peer*/, uint64_t /*global_time*/,
                                           const IntroductionRequest& /*request*/) {}
  virtual void IntroductionResponseCallback(Peer& /*peer*/, uint64_t /*global_time*/,
                                            const IntroductionResponse& /*response*/) {}
  // The extra_bytes of every introduction request and response this community sends
  // (py-ipv8's create_introduction_request/response(extra_bytes=...)); the span must stay valid.
  virtual wire::Bytes IntroductionExtraBytes() const { return {}; }

  // Verifies `peer` for this community and answers `r` at `socket_address`.
  void AnswerIntroductionRequest(const std::shared_ptr<Peer>& peer, const IntroductionRequest& r,
                                 const Address& socket_address, bool new_style);
  void OnIntroductionRequest(const std::shared_ptr<Peer>& peer, uint64_t global_time,
                             const IntroductionRequest& request);
  // Sends an introduction response (and the puncture request to the introduced peer).
  void SendIntroductionResponse(const Address& lan_socket_address, const Address& socket_address,
                                uint16_t identifier, bool new_style);
  // At max_peers: responses set peer_limit_reached.
  bool AtPeerLimit() const;
  // Over max_peers: introduction requests are dropped unanswered (py-ipv8's rule).
  bool OverPeerLimit() const;
  void CountDrop(wire::WireError error) { ++stats_.drops[static_cast<int>(error)]; }
  void CountDrop(const std::error_code& error);
  // Resolves the sender of a verified packet: the verified peer with that key (recording
  // `source` as its address) or a new Peer.
  std::shared_ptr<Peer> SenderOf(const wire::PacketView& view, const Address& source);

 private:
  void RegisterBaseHandlers();
  void OnIntroductionResponse(const std::shared_ptr<Peer>& peer, uint64_t global_time,
                              const IntroductionResponse& response);
  template <typename PunctureRequestP, typename PunctureP>
  void OnPunctureRequest(const Address& source, const PunctureRequestP& request);
  Peer* PickIntroduction(const Peer* exclude, bool new_style);
  // create_introduction_request + send: 234 if new_style or `to` is IPv6, else 246.
  void SendIntroductionRequestTo(const Address& to, bool new_style);
  std::error_code SendRaw(const Address& to, wire::Bytes packet);

  wire::CommunityId community_id_;
  wire::Prefix prefix_;
  std::shared_ptr<Peer> my_peer_;
  wire::PrivateKey my_key_;
  Endpoint& endpoint_;
  Network& network_;
  EventLoop& loop_;
  CommunitySettings settings_;
  Address my_estimated_wan_;
  std::array<RawHandler, 256> handlers_;
  std::bitset<256> quiet_;  // Ids whose datagrams do not refresh the sender's liveness.
  std::vector<std::unique_ptr<Bootstrapper>> bootstrappers_;
  CommunityStats stats_;
  std::mt19937_64 random_;
};

// ---- Templates ----

template <wire::Payload P, typename F>
void Community::AddHandler(F&& fn) {
  static constexpr wire::PacketLayout layout{.is_signed = P::kSigned,
                                             .has_global_time = HasGlobalTime<P>()};
  handlers_[P::kMessageId] = [this, fn = std::forward<F>(fn)](const Address& source,
                                                              wire::Bytes datagram) {
    auto drop = [&](const std::error_code& error) {
      CountDrop(error);
      RINGV8_DEBUG("{}: dropped message {} from {}: {}", LogName(), P::kMessageId,
                   source.ToString(), error.message());
    };
    auto view = wire::ParsePacket(datagram, layout);
    if (!view) return drop(view.error());
    if (std::error_code error = wire::VerifySignature(*view)) return drop(error);
    auto payload = wire::DecodePayload<P>(view->payload);
    if (!payload) return drop(payload.error());
    ++stats_.handled;
    if constexpr (P::kSigned) {
      std::shared_ptr<Peer> peer = SenderOf(*view, source);
      if (!peer) return CountDrop(wire::WireError::kBadKey);
      if constexpr (std::is_invocable_v<decltype(fn), const std::shared_ptr<Peer>&, const P&,
                                        uint64_t>) {
        fn(peer, *payload, view->global_time.value_or(0));
      } else {
        fn(peer, *payload);
      }
    } else {
      fn(source, *payload);
    }
  };
}

template <wire::Payload P>
std::error_code Community::SendWithGlobalTime(const Address& to, const P& payload,
                                              uint64_t global_time) {
  wire::PacketBuilder builder(wire::PacketBuffer(), prefix_, P::kMessageId);
  if constexpr (P::kSigned) builder.Auth(my_key_.public_key());
  if constexpr (HasGlobalTime<P>()) builder.GlobalTime(global_time);
  builder.Write(payload);
  auto packet = P::kSigned ? builder.FinishSigned(my_key_) : builder.FinishUnsigned();
  if (!packet) return packet.error();
  return SendRaw(to, *packet);
}

template <wire::Payload P>
std::error_code Community::Send(const Address& to, const P& payload) {
  return SendWithGlobalTime(to, payload, my_peer_->ClaimGlobalTime());
}

}  // namespace ringv8::overlay

#endif  // RINGV8_OVERLAY_COMMUNITY_H_
