#include "strategies/random_churn.h"

#include <algorithm>
#include <mutex>
#include <random>

#include "ring/debug_log.h"

namespace ringv8::strategies {

void RandomChurn::TakeStep() {
  std::lock_guard lock(walk_lock());  // As py-ipv8's strategies take their walk_lock.
  overlay::Network& network = discovery_->network();
  const TimePoint now = discovery_->loop().Now();
  // sample_size peers of the whole network (all overlays). py-ipv8 draws a random sample, which
  // bounds nothing; ringv8 walks the peers round-robin, so every peer is looked at once per
  // ceil(peers / sample_size) steps and a silent peer is dropped within drop_time + one round.
  const auto& peers = network.verified_peers();
  const size_t count =
      std::min(peers.size(), static_cast<size_t>(std::max(options_.sample_size, 0)));
  std::vector<std::shared_ptr<overlay::Peer>> sample;
  sample.reserve(count);
  for (size_t i = 0; i < count; ++i) sample.push_back(peers[(cursor_ + i) % peers.size()]);
  cursor_ = peers.empty() ? 0 : (cursor_ + count) % peers.size();
  for (const auto& peer : sample) {
    const Address address = peer->address();
    // py-ipv8 never drops a peer that has not answered since it was created (last_response 0),
    // so a peer that leaves right after its first packet stays forever. ringv8 measures such a
    // peer's silence from its creation: it is pinged, and dropped if it never answers.
    const TimePoint last =
        peer->last_response() != TimePoint(0) ? peer->last_response() : peer->creation_time();
    const bool should_drop = now > last + Seconds(options_.drop_time);
    const bool is_inactive = now > last + Seconds(options_.inactive_time);
    auto pinged = pinged_.find(address);
    if (should_drop && pinged != pinged_.end()) {
      pinged_.erase(pinged);
      RINGV8_DEBUG("{}: dropping silent peer {}", discovery_->LogName(), address.ToString());
      network.RemovePeer(*peer);
    } else if (is_inactive || peer->ping_count() < 5) {
      if (pinged != pinged_.end() && now > pinged->second + Seconds(options_.ping_interval)) {
        pinged_.erase(pinged);
        pinged = pinged_.end();
      }
      if (pinged == pinged_.end()) {
        pinged_[address] = now;
        discovery_->SendPing(*peer);
      }
    }
  }
  // Forget pings of peers that are gone, so the table stays bounded by the network.
  if (pinged_.size() > 2 * network.verified_count() + 16) {
    std::erase_if(pinged_, [&](const auto& entry) {
      return network.GetVerifiedByAddress(entry.first) == nullptr;
    });
  }
}

void PeriodicSimilarity::TakeStep() {
  std::lock_guard lock(walk_lock());  // As py-ipv8's strategies take their walk_lock.
  const TimePoint now = discovery_->loop().Now();
  if (last_step_ && now - *last_step_ < std::chrono::seconds(1)) return;
  const auto& peers = discovery_->network().verified_peers();
  if (peers.empty()) return;
  last_step_ = now;
  const auto& peer =
      peers[std::uniform_int_distribution<size_t>(0, peers.size() - 1)(discovery_->random())];
  discovery_->SendSimilarityRequest(peer->address());
}

}  // namespace ringv8::strategies
