#include "tracker/tracker.h"

#include <algorithm>

#include "wire/packet.h"
#include "wire/payloads.h"
#include "wire/wire_error.h"

namespace ringv8::tracker {

namespace {

constexpr Duration kTickInterval = std::chrono::milliseconds(10);

int64_t TickOf(TimePoint t) { return t / kTickInterval; }

wire::ServiceId ServiceOf(wire::Bytes prefix) {
  wire::ServiceId service;
  std::copy(prefix.begin() + 2, prefix.begin() + wire::kPrefixSize, service.begin());
  return service;
}

wire::Prefix PrefixOf(wire::Bytes prefix) {
  wire::Prefix out;
  std::copy(prefix.begin(), prefix.begin() + wire::kPrefixSize, out.begin());
  return out;
}

}  // namespace

Tracker::Tracker(TrackerTable& table, const wire::PrivateKey& key, Endpoint& endpoint,
                 EventLoop& loop, const TrackerOptions& options)
    : table_(table),
      key_(key),
      endpoint_(endpoint),
      loop_(loop),
      options_(options),
      random_(options.seed != 0 ? options.seed : std::random_device()()) {
  // As py-ipv8's tracker (a Community): its estimated LAN address, also when bound to 0.0.0.0.
  local_address_ = EstimatedLanAddress(endpoint_);
  endpoint_.AddCatchAllListener(this);
  // Slots for the longest delay a peer is filed with (a first ping), plus slack.
  const Duration span = options_.ping_interval * 3 / 2 + options_.ping_timeout;
  wheel_.resize(static_cast<size_t>(span / kTickInterval) + 2);
  wheel_tick_ = TickOf(loop_.Now());
  ticker_ = loop_.CallEvery(kTickInterval, [this] { Tick(); });
}

Tracker::~Tracker() {
  loop_.Cancel(ticker_);
  endpoint_.RemoveCatchAllListener(this);
}

template <typename P>
void Tracker::SendSigned(const Address& to, const wire::Prefix& prefix, const P& payload,
                         uint64_t gt) {
  wire::PacketBuilder builder(wire::PacketBuffer(), prefix, P::kMessageId);
  builder.Auth(key_.public_key());
  builder.GlobalTime(gt);
  builder.Write(payload);
  const auto start = std::chrono::steady_clock::now();
  auto packet = builder.FinishSigned(key_);
  stats_.crypto_time += std::chrono::steady_clock::now() - start;
  if (!packet || endpoint_.Send(to, *packet)) return Count(stats_.send_failed);
  ++stats_.messages.packets_out[P::kMessageId];
  stats_.messages.bytes_out[P::kMessageId] += packet->size();
}

template <typename P>
void Tracker::SendUnsigned(const Address& to, const wire::Prefix& prefix, const P& payload,
                           uint64_t gt) {
  wire::PacketBuilder builder(wire::PacketBuffer(), prefix, P::kMessageId);
  builder.GlobalTime(gt);
  builder.Write(payload);
  auto packet = builder.FinishUnsigned();
  if (!packet || endpoint_.Send(to, *packet)) return Count(stats_.send_failed);
  ++stats_.messages.packets_out[P::kMessageId];
  stats_.messages.bytes_out[P::kMessageId] += packet->size();
}

bool Tracker::TakeToken(const Address& source) {
  if (options_.responses_per_second <= 0) return true;
  const TimePoint now = loop_.Now();
  auto it = buckets_.find(source);
  if (it == buckets_.end()) {
    if (buckets_.size() >= options_.max_sources) {
      buckets_.erase(buckets_.begin());  // An arbitrary one: the table stays bounded.
      Count(stats_.bucket_evicted);
    }
    it = buckets_.emplace(source, TokenBucket(options_.response_burst, now)).first;
  }
  it->second.Refill(now, options_.responses_per_second, options_.response_burst);
  return it->second.Take();
}

void Tracker::OnPacket(const Address& source, std::span<const uint8_t> datagram) {
  const uint8_t id = datagram[wire::kPrefixSize];  // The endpoint delivers at least prefix + id.
  ++stats_.messages.packets_in[id];
  stats_.messages.bytes_in[id] += datagram.size();
  switch (id) {
    case wire::IntroductionRequestPayload::kMessageId:
      return OnRequest<wire::IntroductionRequestPayload>(source, datagram, false);
    case wire::NewIntroductionRequestPayload::kMessageId:
      return OnRequest<wire::NewIntroductionRequestPayload>(source, datagram, true);
    case wire::IntroductionResponsePayload::kMessageId:
      return OnResponse<wire::IntroductionResponsePayload>(source, datagram);
    case wire::NewIntroductionResponsePayload::kMessageId:
      return OnResponse<wire::NewIntroductionResponsePayload>(source, datagram);
    case wire::PuncturePayload::kMessageId:
    case wire::NewPuncturePayload::kMessageId:
      return Count(stats_.ignored);  // Peers on one LAN puncture towards the address they know.
    case wire::SimilarityRequestPayload::kMessageId:
      // DiscoveryCommunity asks everyone that introduced it, the tracker too.
      if (std::equal(wire::kDiscoveryCommunityId.begin(), wire::kDiscoveryCommunityId.end(),
                     datagram.begin() + 2)) {  // After 00 02.
        return Count(stats_.ignored);
      }
      return Count(stats_.unknown_message);
    default:
      return Count(stats_.unknown_message);  // Pings and community messages.
  }
}

template <typename RequestP>
void Tracker::OnRequest(const Address& source, wire::Bytes datagram, bool new_style) {
  if (!TakeToken(source)) return Count(stats_.rate_limited);
  const auto start = std::chrono::steady_clock::now();
  auto decoded = wire::DecodePacket<RequestP>(datagram);
  stats_.crypto_time += std::chrono::steady_clock::now() - start;
  if (!decoded) return CountDecodeError(decoded.error());
  const RequestP& request = decoded->payload;
  const wire::ServiceId service = ServiceOf(decoded->view.prefix);
  const wire::Prefix prefix = PrefixOf(decoded->view.prefix);
  ++stats_.requests;

  TrackerPeer peer;
  peer.mid = wire::ComputeMid(decoded->view.public_key_bin);
  peer.address = source;
  peer.lan_address = request.source_lan_address;
  peer.new_style = new_style || request.supports_new_style;
  peer.last_seen = loop_.Now();
  if (!table_.Upsert(service, peer)) Count(stats_.table_full);

  // Liveness bookkeeping for the peers this shard hears (a verified request may move a peer).
  auto local = local_.find(peer.mid);
  if (local == local_.end() && local_.size() < options_.max_local_peers) {
    local = local_.emplace(peer.mid, LocalPeer{}).first;
    // The first ping after 0.5-1.5 intervals spreads the peers that arrived together.
    const double spread = std::uniform_real_distribution<double>(0.5, 1.5)(random_);
    local->second.next_ping =
        loop_.Now() + std::chrono::duration_cast<Duration>(options_.ping_interval * spread);
    Schedule(peer.mid, local->second.next_ping);
  }
  if (local != local_.end()) {
    local->second.address = source;
    auto& services = local->second.services;
    if (std::find(services.begin(), services.end(), service) == services.end()) {
      services.push_back(service);
    }
  } else {
    Count(stats_.local_peers_full);
  }

  const uint16_t gt = static_cast<uint16_t>(++global_time_ % 65536);
  std::optional<TrackerPeer> introduced = table_.PickOther(service, peer.mid, random_());
  Address lan_intro, wan_intro;
  if (introduced) {
    lan_intro = introduced->lan_address;
    wan_intro = introduced->address;
    ++stats_.introductions;
    // The puncture-request spends a token of the peer it goes to: no address gets more packets
    // from the tracker than its bucket allows, however many sources name it.
    const bool new_puncture = new_style || !request.destination_address.is_v4() || !source.is_v4();
    if (!TakeToken(introduced->address)) {
      Count(stats_.puncture_rate_limited);
    } else if (new_puncture) {
      SendUnsigned(
          introduced->address, prefix,
          wire::NewPunctureRequestPayload{request.destination_address, source, request.identifier},
          global_time_);
      ++stats_.punctures;
    } else {
      SendUnsigned(
          introduced->address, prefix,
          wire::PunctureRequestPayload{request.destination_address, source, request.identifier},
          global_time_);
      ++stats_.punctures;
    }
  }
  // The fields both response layouts share; the tracker's own address is its LAN and WAN.
  auto answer = [&](auto response) {
    response.destination_address = source;
    response.source_lan_address = local_address_;
    response.source_wan_address = local_address_;
    response.lan_introduction_address = lan_intro;
    response.wan_introduction_address = wan_intro;
    response.identifier = request.identifier;
    response.intro_supports_new_style = introduced && introduced->new_style;
    SendSigned(source, prefix, response, gt);
  };
  if (new_style) {
    answer(wire::NewIntroductionResponsePayload{});
  } else {
    wire::IntroductionResponsePayload response;
    response.supports_new_style = true;
    answer(response);
  }
  ++stats_.responses;
}

template <typename ResponseP>
void Tracker::OnResponse(const Address& /*source*/, wire::Bytes datagram) {
  const auto start = std::chrono::steady_clock::now();
  auto decoded = wire::DecodePacket<ResponseP>(datagram);
  stats_.crypto_time += std::chrono::steady_clock::now() - start;
  if (!decoded) return CountDecodeError(decoded.error());
  auto local = local_.find(wire::ComputeMid(decoded->view.public_key_bin));
  if (local == local_.end() || !local->second.pending ||
      local->second.pending->identifier != decoded->payload.identifier) {
    return Count(stats_.unexpected_response);
  }
  const wire::ServiceId service = local->second.pending->service;
  local->second.pending.reset();
  ++stats_.ping_answers;
  if constexpr (std::is_same_v<ResponseP, wire::IntroductionResponsePayload>) {
    if (decoded->payload.peer_limit_reached) {
      ++stats_.limit_removals;
      DropService(local->first, local->second, service);
      if (local->second.services.empty()) {
        local_.erase(local);
        ++stats_.forgotten;
      }
    }
  }
}

void Tracker::CountDecodeError(const std::error_code& error) {
  if (error.category() == wire::WireErrorCategory()) {
    ++stats_.wire_errors[static_cast<size_t>(error.value()) % stats_.wire_errors.size()];
  } else {
    ++stats_.other_errors;
  }
}

void Tracker::DropService(const wire::Mid& mid, LocalPeer& local, const wire::ServiceId& service) {
  table_.Remove(service, mid);
  std::erase(local.services, service);
}

void Tracker::Schedule(const wire::Mid& mid, TimePoint due) {
  const int64_t tick =
      std::clamp(TickOf(due), wheel_tick_ + 1, wheel_tick_ + static_cast<int64_t>(wheel_.size()));
  wheel_[static_cast<size_t>(tick) % wheel_.size()].push_back(mid);
}

void Tracker::Tick() {
  const TimePoint now = loop_.Now();
  // Slots not yet processed, at most one turn of the wheel (a stalled loop catches up at once).
  const int64_t last = std::min(TickOf(now), wheel_tick_ + static_cast<int64_t>(wheel_.size()));
  std::vector<wire::Mid> due;
  while (wheel_tick_ < last) {
    ++wheel_tick_;
    due.swap(wheel_[static_cast<size_t>(wheel_tick_) % wheel_.size()]);
    for (const wire::Mid& mid : due) {
      auto it = local_.find(mid);
      if (it == local_.end()) continue;  // Forgotten (peer_limit_reached) since it was filed.
      if (!OnDue(mid, it->second, now)) {
        local_.erase(it);
        ++stats_.forgotten;
      }
    }
    due.clear();
  }
}

bool Tracker::OnDue(const wire::Mid& mid, LocalPeer& peer, TimePoint now) {
  if (peer.pending && peer.pending->deadline <= now) {
    ++stats_.ping_timeouts;
    DropService(mid, peer, peer.pending->service);
    peer.pending.reset();
    if (peer.services.empty()) return false;
  }
  if (peer.pending || now < peer.next_ping) {
    Schedule(mid, peer.pending ? peer.pending->deadline : peer.next_ping);
    return true;  // Answered or not yet due: filed again.
  }
  // Services the table no longer holds for it (evicted) are not ours to ping.
  std::erase_if(peer.services,
                [&](const wire::ServiceId& service) { return !table_.Contains(service, mid); });
  if (peer.services.empty()) return false;
  const wire::ServiceId service = peer.services[peer.next_service++ % peer.services.size()];
  if (!TakeToken(peer.address)) {
    // Its address already gets all the packets it may (a flood from or to it): the ping cannot
    // go, so the service counts as unanswered. A real peer registers again with its next walk.
    Count(stats_.ping_rate_limited);
    DropService(mid, peer, service);
    if (peer.services.empty()) return false;
    peer.next_ping = now + options_.ping_interval;
    Schedule(mid, peer.next_ping);
    return true;
  }
  const uint16_t identifier = static_cast<uint16_t>(++global_time_ % 65536);
  wire::IntroductionRequestPayload ping;
  ping.destination_address = peer.address;
  ping.source_lan_address = local_address_;
  ping.source_wan_address = local_address_;
  ping.identifier = identifier;
  SendSigned(peer.address, wire::MakePrefix(service), ping, identifier);
  peer.pending = Pending{service, identifier, now + options_.ping_timeout};
  peer.next_ping = now + options_.ping_interval;
  ++stats_.pings;
  Schedule(mid, peer.pending->deadline);
  return true;
}

}  // namespace ringv8::tracker
