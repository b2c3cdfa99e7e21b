#include "overlay/community.h"

#include <algorithm>

#include <spdlog/spdlog.h>

#include "ring/debug_log.h"
#include "wire/hex.h"

namespace ringv8::overlay {

namespace {

// Dispersy-era message ids: py-ipv8 registers a handler that only logs them.
constexpr uint8_t kDeprecatedIds[] = {255, 254, 253, 252, 251, 248, 247, 244, 243,
                                      242, 241, 240, 239, 238, 237, 236, 235};

bool InPrivateSubnet(const Address& a) {
  if (!a.is_v4()) return false;
  const uint32_t ip = a.ipv4_host_order();
  return (ip >> 16) == 0xC0A8 || (ip >> 20) == 0xAC1 || (ip >> 24) == 0x0A;
}

uint64_t Seed(uint64_t seed) { return seed != 0 ? seed : std::random_device()(); }

}  // namespace

uint64_t CommunityStats::total_drops() const {
  return static_cast<uint64_t>(StatsSnapshot::Of(*this).Drops());
}

Community::Community(const wire::CommunityId& community_id, std::shared_ptr<Peer> my_peer,
                     const wire::PrivateKey& my_key, Endpoint& endpoint, Network& network,
                     EventLoop& loop, const CommunitySettings& settings)
    : community_id_(community_id),
      prefix_(wire::MakePrefix(community_id)),
      my_peer_(std::move(my_peer)),
      my_key_(my_key),
      endpoint_(endpoint),
      network_(network),
      loop_(loop),
      settings_(settings),
      my_estimated_wan_(settings.wan_address.value_or(Address())),
      random_(Seed(settings.seed)) {
  network_.AddBlacklistedMid(my_peer_->mid());
  network_.RegisterServiceProvider(community_id_, this);
  RegisterBaseHandlers();
  endpoint_.AddListener(prefix_, this);
}

Community::~Community() {
  endpoint_.RemoveListener(prefix_, this);
  network_.UnregisterServiceProvider(community_id_);
  for (auto& bootstrapper : bootstrappers_) bootstrapper->Unload();
}

void Community::CountDrop(const std::error_code& error) {
  if (error.category() == wire::WireErrorCategory()) {
    CountDrop(static_cast<wire::WireError>(error.value()));
  } else {
    CountDrop(wire::WireError::kBadKey);
  }
}

std::error_code Community::SendRaw(const Address& to, wire::Bytes packet) {
  std::error_code error = endpoint_.Send(to, packet);
  if (error) ++stats_.send_failures;
  return error;
}

// ---- Addresses (spec 3.3) ----

Address Community::my_estimated_lan(Address::Family family) const {
  if (settings_.lan_address && settings_.lan_address->family() == family) {
    return *settings_.lan_address;
  }
  return EstimatedLanAddress(endpoint_, family);
}

Address Community::my_preferred_address() const {
  // py-ipv8 re-guesses on every call: the IPv6 socket if there is one, else (LAN ip, v4 port).
  for (const Address& local : endpoint_.local_addresses()) {
    if (local.is_v6()) return EstimatedLanAddress(endpoint_, Address::Family::kIpv6);
  }
  return my_estimated_lan();
}

bool Community::AddressIsLan(const Address& address) const {
  for (const Address& ip : endpoint_.interface_addresses()) {
    if (ip.SameIp(address)) return true;
  }
  return false;
}

bool Community::AtPeerLimit() const {
  return settings_.max_peers >= 0 && GetPeers().size() >= static_cast<size_t>(settings_.max_peers);
}

bool Community::OverPeerLimit() const {
  return settings_.max_peers >= 0 && GetPeers().size() > static_cast<size_t>(settings_.max_peers);
}

// ---- Packet intake ----

void Community::OnPacket(const Address& source, std::span<const uint8_t> datagram) {
  const uint8_t id = datagram[wire::kPrefixSize];
  if (!quiet_[id]) {
    if (Peer* peer = network_.GetVerifiedByAddress(source)) peer->set_last_response(loop_.Now());
  }
  const RawHandler& handler = handlers_[id];
  if (!handler) {
    ++stats_.unknown_message;
    RINGV8_DEBUG("{}: dropped message {} from {}: unknown_message", LogName(),
                 id, source.ToString());
    return;
  }
  handler(source, datagram);
}

std::shared_ptr<Peer> Community::SenderOf(const wire::PacketView& view, const Address& source) {
  if (Peer* known = network_.GetVerifiedByPublicKeyBin(view.public_key_bin)) {
    network_.AddPeerAddress(*known, source);
    return network_.SharedPeer(*known);
  }
  auto key = wire::PublicKey::FromBin(view.public_key_bin);
  if (!key) return nullptr;
  return std::make_shared<Peer>(std::move(*key), source, loop_.Now());
}

void Community::RegisterBaseHandlers() {
  AddHandler<wire::IntroductionRequestPayload>([this](const std::shared_ptr<Peer>& peer,
                                                      const wire::IntroductionRequestPayload& p,
                                                      uint64_t gt) {
    if (p.supports_new_style) peer->new_style_intro = true;
    OnIntroductionRequest(peer, gt,
                          {p.destination_address, p.source_lan_address, p.source_wan_address,
                           p.identifier, false, p.extra_bytes});
  });
  AddHandler<wire::NewIntroductionRequestPayload>(
      [this](const std::shared_ptr<Peer>& peer, const wire::NewIntroductionRequestPayload& p,
             uint64_t gt) {
        peer->new_style_intro = true;
        OnIntroductionRequest(peer, gt,
                              {p.destination_address, p.source_lan_address, p.source_wan_address,
                               p.identifier, true, p.extra_bytes});
      });
  AddHandler<wire::IntroductionResponsePayload>([this](const std::shared_ptr<Peer>& peer,
                                                       const wire::IntroductionResponsePayload& p,
                                                       uint64_t gt) {
    if (p.supports_new_style) peer->new_style_intro = true;
    OnIntroductionResponse(
        peer, gt,
        {p.destination_address, p.source_lan_address, p.source_wan_address,
         p.lan_introduction_address, p.wan_introduction_address, p.identifier, false,
         p.intro_supports_new_style, p.peer_limit_reached, p.extra_bytes});
  });
  AddHandler<wire::NewIntroductionResponsePayload>(
      [this](const std::shared_ptr<Peer>& peer, const wire::NewIntroductionResponsePayload& p,
             uint64_t gt) {
        peer->new_style_intro = true;
        OnIntroductionResponse(
            peer, gt,
            {p.destination_address, p.source_lan_address, p.source_wan_address,
             p.lan_introduction_address, p.wan_introduction_address, p.identifier, true,
             p.intro_supports_new_style, false, p.extra_bytes});
      });
  AddHandler<wire::PunctureRequestPayload>(
      [this](const Address& source, const wire::PunctureRequestPayload& p) {
        OnPunctureRequest<wire::PunctureRequestPayload, wire::PuncturePayload>(source, p);
      });
  AddHandler<wire::NewPunctureRequestPayload>(
      [this](const Address& source, const wire::NewPunctureRequestPayload& p) {
        OnPunctureRequest<wire::NewPunctureRequestPayload, wire::NewPuncturePayload>(source, p);
      });
  // Punctures only open NAT mappings; their side effects (a known peer gains the source address,
  // last_response) happen in the intake.
  AddHandler<wire::PuncturePayload>(
      [](const std::shared_ptr<Peer>&, const wire::PuncturePayload&) {});
  AddHandler<wire::NewPuncturePayload>(
      [](const std::shared_ptr<Peer>&, const wire::NewPuncturePayload&) {});
  for (uint8_t id : kDeprecatedIds) {
    handlers_[id] = [this](const Address&, wire::Bytes) { ++stats_.deprecated_message; };
  }
}

// ---- Introduction requests (spec 3.4, 3.5) ----

std::string Community::LogName() const {
  return wire::ToHex(wire::Bytes(community_id_).first(4)) + "..";
}

void Community::WalkTo(const Address& address) {
  RINGV8_DEBUG("{}: walk to {}", LogName(), address.ToString());
  SendIntroductionRequestTo(address, network_.IsNewStyle(address));
}

void Community::SendIntroductionRequest(Peer& peer) {
  SendIntroductionRequestTo(peer.address(), peer.new_style_intro);
}

void Community::SendIntroductionRequestTo(const Address& to, bool new_style) {
  // The identifier and the global-time header are both the claimed time mod 65536.
  const uint16_t global_time = static_cast<uint16_t>(my_peer_->ClaimGlobalTime() % 65536);
  if (new_style || to.is_v6()) {
    wire::NewIntroductionRequestPayload request;  // Flags 0x00, as py-ipv8 sends.
    request.destination_address = to;
    request.source_lan_address = my_estimated_lan(to.family());
    request.source_wan_address = my_preferred_address();
    request.identifier = global_time;
    request.extra_bytes = IntroductionExtraBytes();
    (void)SendWithGlobalTime(to, request, global_time);
  } else {
    wire::IntroductionRequestPayload request;  // Flags 0x01: advice, as py-ipv8 always sends.
    request.destination_address = to;
    request.source_lan_address = my_estimated_lan();
    request.source_wan_address = my_estimated_wan_;
    request.identifier = global_time;
    request.extra_bytes = IntroductionExtraBytes();
    (void)SendWithGlobalTime(to, request, global_time);
  }
}

void Community::OnIntroductionRequest(const std::shared_ptr<Peer>& peer, uint64_t global_time,
                                      const IntroductionRequest& request) {
  if (OverPeerLimit()) {
    ++stats_.peer_limit;
    RINGV8_DEBUG("{}: introduction-request from {} dropped: over max_peers", LogName(),
                 peer->address().ToString());
    return;
  }
  RINGV8_DEBUG("{}: introduction-request from {} (peer {}), answered", LogName(),
               peer->address().ToString(), wire::ToHex(peer->mid()).substr(0, 8));
  if (request.source_lan_address.is_v4())
    network_.SetPeerLanAddress(*peer, request.source_lan_address);
  AnswerIntroductionRequest(peer, request, peer->address(), peer->new_style_intro);
  IntroductionRequestCallback(*peer, global_time, request);
}

void Community::AnswerIntroductionRequest(const std::shared_ptr<Peer>& peer,
                                          const IntroductionRequest& request,
                                          const Address& socket_address, bool new_style) {
  Peer* verified = network_.AddVerifiedPeer(peer);
  Peer& sender = verified != nullptr ? *verified : *peer;
  network_.DiscoverServices(sender, std::span<const ServiceId>(&community_id_, 1));
  SendIntroductionResponse(request.destination_address, socket_address, request.identifier,
                           new_style);
}

Peer* Community::PickIntroduction(const Peer* exclude, bool new_style) {
  const std::vector<Peer*>& peers = GetPeers();
  auto eligible = [&](const Peer* p) {
    return p != exclude && (new_style || p->address().is_v4());
  };
  if (peers.empty()) return nullptr;
  // Rejection sampling keeps this O(1) in the common case (one excluded peer); the scan is the
  // exact fallback when most peers are ineligible.
  for (int attempt = 0; attempt < 8; ++attempt) {
    Peer* candidate = peers[std::uniform_int_distribution<size_t>(0, peers.size() - 1)(random_)];
    if (eligible(candidate)) return candidate;
  }
  std::vector<Peer*> candidates;
  for (Peer* p : peers) {
    if (eligible(p)) candidates.push_back(p);
  }
  if (candidates.empty()) return nullptr;
  return candidates[std::uniform_int_distribution<size_t>(0, candidates.size() - 1)(random_)];
}

void Community::SendIntroductionResponse(const Address& lan_socket_address,
                                         const Address& socket_address, uint16_t identifier,
                                         bool new_style) {
  const uint16_t global_time = static_cast<uint16_t>(my_peer_->ClaimGlobalTime() % 65536);
  const Peer* other = network_.GetVerifiedByAddress(socket_address);
  Peer* introduced = PickIntroduction(other, new_style);
  Address lan_intro, wan_intro;
  if (introduced != nullptr) {
    const Address address = introduced->address();
    if (address.is_v4() && AddressIsLan(address)) {
      lan_intro = address;
      wan_intro = my_estimated_wan_.WithPort(address.port());
    } else {
      lan_intro = introduced->address_of(AddressKind::kUdpV4Lan).value_or(Address());
      wan_intro = address;
    }
    // The puncture request goes out first (spec 3.5c); lan_walker is the address the requester
    // used for us, as py-ipv8 does.
    if (new_style || !lan_socket_address.is_v4() || !socket_address.is_v4()) {
      (void)Send(address,
                 wire::NewPunctureRequestPayload{lan_socket_address, socket_address, identifier});
    } else {
      (void)Send(address,
                 wire::PunctureRequestPayload{lan_socket_address, socket_address, identifier});
    }
  }
  if (new_style) {
    wire::NewIntroductionResponsePayload response;
    response.destination_address = socket_address;
    response.source_lan_address = my_estimated_lan(socket_address.family());
    response.source_wan_address = my_preferred_address();
    response.lan_introduction_address = lan_intro;
    response.wan_introduction_address = wan_intro;
    response.identifier = identifier;
    response.extra_bytes = IntroductionExtraBytes();
    response.intro_supports_new_style = introduced != nullptr && introduced->new_style_intro;
    (void)SendWithGlobalTime(socket_address, response, global_time);
  } else {
    wire::IntroductionResponsePayload response;
    response.destination_address = socket_address;
    response.source_lan_address = my_estimated_lan();
    response.source_wan_address = my_estimated_wan_;
    response.lan_introduction_address = lan_intro;
    response.wan_introduction_address = wan_intro;
    response.identifier = identifier;
    response.extra_bytes = IntroductionExtraBytes();
    response.supports_new_style = true;
    response.intro_supports_new_style = introduced != nullptr && introduced->new_style_intro;
    response.peer_limit_reached = AtPeerLimit();
    (void)SendWithGlobalTime(socket_address, response, global_time);
  }
}

// ---- Introduction responses (spec 3.6) ----

void Community::OnIntroductionResponse(const std::shared_ptr<Peer>& peer, uint64_t global_time,
                                       const IntroductionResponse& response) {
  const Address& destination = response.destination_address;
  const Address& lan_intro = response.lan_introduction_address;
  const Address& wan_intro = response.wan_introduction_address;
  RINGV8_DEBUG("{}: introduction-response from {} (peer {}): introduces {} / {}", LogName(),
               peer->address().ToString(), wire::ToHex(peer->mid()).substr(0, 8),
               lan_intro.ToString(), wan_intro.ToString());
  if (destination.is_v4() && !InPrivateSubnet(destination)) my_estimated_wan_ = destination;
  my_peer_->AddAddress(destination);
  // (py-ipv8's interface switch for nodes on both IPv4 and IPv6 is not reproduced: ringv8 nodes
  // answer on the family they were reached on.)
  // A blacklisted responder (a tracker) is not verified. py-ipv8 still records its services,
  // which is what makes the addresses it introduces walkable; here DiscoverAddress records the
  // service with each address, which has the same effect.
  Peer* verified = network_.AddVerifiedPeer(peer);
  Peer& sender = verified != nullptr ? *verified : *peer;
  std::shared_ptr<Peer> introducer = verified != nullptr ? network_.SharedPeer(*verified) : peer;
  network_.DiscoverServices(sender, std::span<const ServiceId>(&community_id_, 1));
  const Address zero;
  const Address wan = my_estimated_wan_;
  auto discover = [&](const Address& a) {
    network_.DiscoverAddress(introducer, a, community_id_, response.intro_supports_new_style);
  };
  if (wan_intro != zero && !wan_intro.SameIp(wan)) {
    if (lan_intro != zero) discover(lan_intro);
    discover(wan_intro);
  } else if (lan_intro != zero && wan_intro.SameIp(wan)) {
    discover(lan_intro);
  } else if (wan_intro != zero) {
    discover(wan_intro);
    discover(my_estimated_lan().WithPort(wan_intro.port()));
  }
  IntroductionResponseCallback(sender, global_time, response);
}

// ---- Punctures (spec 3.7) ----

template <typename PunctureRequestP, typename PunctureP>
void Community::OnPunctureRequest(const Address& /*source*/, const PunctureRequestP& request) {
  Address target = request.wan_walker_address;
  if (target.SameIp(my_estimated_wan_)) target = request.lan_walker_address;
  PunctureP puncture;
  puncture.source_lan_address = my_estimated_lan();
  puncture.source_wan_address = request.wan_walker_address;  // The walker's, as py-ipv8 sends.
  puncture.identifier = request.identifier;
  (void)Send(target, puncture);
}

// ---- Walking helpers (spec 6.1) ----

void Community::AddBootstrapper(std::unique_ptr<Bootstrapper> bootstrapper) {
  for (const Address& a : bootstrapper->Blacklist()) network_.AddToBlacklist(a);
  bootstrappers_.push_back(std::move(bootstrapper));
}

void Community::Bootstrap() {
  for (auto& bootstrapper : bootstrappers_) {
    auto addresses = bootstrapper->GetAddresses(*this, std::chrono::seconds(60));
    bootstrapper->Initialize(*this);
    RINGV8_DEBUG("{}: bootstrapping: {} addresses from a bootstrapper", LogName(),
                 addresses.size());
    size_t walked = 0;
    for (const Address& a : addresses) {
      if (settings_.max_peers > 0 && walked >= static_cast<size_t>(settings_.max_peers)) break;
      WalkTo(a);
      ++walked;
    }
  }
}

void Community::GetNewIntroduction(Peer* from_peer) {
  if (from_peer == nullptr) {
    const std::vector<Peer*>& peers = GetPeers();
    if (peers.empty()) {
      Bootstrap();
      return;
    }
    const bool any_ready = std::any_of(bootstrappers_.begin(), bootstrappers_.end(),
                                       [](const auto& b) { return b->initialized(); });
    if (any_ready && std::uniform_real_distribution<double>(0, 1)(random_) < 0.05) {
      for (auto& b : bootstrappers_) b->KeepAlive(*this);
      return;
    }
    from_peer = peers[std::uniform_int_distribution<size_t>(0, peers.size() - 1)(random_)];
  }
  SendIntroductionRequest(*from_peer);
}

}  // namespace ringv8::overlay
