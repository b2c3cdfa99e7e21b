#include "tracker/tracker_table.h"

namespace ringv8::tracker {

namespace {
uint64_t Mix(uint64_t x) {  // splitmix64's finaliser.
  x += 0x9e3779b97f4a7c15ULL;
  x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
  x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
  return x ^ (x >> 31);
}
}  // namespace

TrackerTable::TrackerTable(TrackerLimits limits) : limits_(limits) {}

TrackerTable::Stripe& TrackerTable::StripeOf(const wire::ServiceId& service) {
  return stripes_[wire::ServiceIdHash()(service) % kStripes];
}
const TrackerTable::Stripe& TrackerTable::StripeOf(const wire::ServiceId& service) const {
  return stripes_[wire::ServiceIdHash()(service) % kStripes];
}

void TrackerTable::Erase(Service& s, uint32_t i) {
  s.index.erase(s.peers[i].mid);
  if (i + 1 != s.peers.size()) {
    s.peers[i] = s.peers.back();
    s.index[s.peers[i].mid] = i;
  }
  s.peers.pop_back();
  entries_.fetch_sub(1, std::memory_order_relaxed);
}

uint32_t TrackerTable::EvictionVictim(const Service& s, uint64_t seed) const {
  uint32_t victim = static_cast<uint32_t>(Mix(seed) % s.peers.size());
  for (int k = 1; k < kEvictionSample; ++k) {
    uint32_t i = static_cast<uint32_t>(Mix(seed + k) % s.peers.size());
    if (s.peers[i].last_seen < s.peers[victim].last_seen) victim = i;
  }
  return victim;
}

bool TrackerTable::Upsert(const wire::ServiceId& service, const TrackerPeer& peer) {
  Stripe& stripe = StripeOf(service);
  std::lock_guard lock(stripe.mutex);
  auto it = stripe.services.find(service);
  if (it != stripe.services.end()) {
    Service& s = it->second;
    if (auto found = s.index.find(peer.mid); found != s.index.end()) {
      s.peers[found->second] = peer;
      return true;
    }
  }
  const bool table_full = entries_.load(std::memory_order_relaxed) >= limits_.max_entries;
  if (it == stripe.services.end()) {
    if (table_full) {
      refused_table_full_.fetch_add(1, std::memory_order_relaxed);
      return false;
    }
    it = stripe.services.emplace(service, Service{}).first;
    services_.fetch_add(1, std::memory_order_relaxed);
  }
  Service& s = it->second;
  const uint64_t seed = static_cast<uint64_t>(peer.last_seen.count()) ^ MidHash()(peer.mid);
  if (s.peers.size() >= limits_.max_per_service) {
    Erase(s, EvictionVictim(s, seed));
    evicted_service_full_.fetch_add(1, std::memory_order_relaxed);
  } else if (table_full) {
    if (s.peers.empty()) {
      refused_table_full_.fetch_add(1, std::memory_order_relaxed);
      return false;
    }
    Erase(s, EvictionVictim(s, seed));
    evicted_table_full_.fetch_add(1, std::memory_order_relaxed);
  }
  s.index.emplace(peer.mid, static_cast<uint32_t>(s.peers.size()));
  s.peers.push_back(peer);
  entries_.fetch_add(1, std::memory_order_relaxed);
  inserted_.fetch_add(1, std::memory_order_relaxed);
  return true;
}

std::optional<TrackerPeer> TrackerTable::PickOther(const wire::ServiceId& service,
                                                   const wire::Mid& exclude,
                                                   uint64_t random) const {
  const Stripe& stripe = StripeOf(service);
  std::lock_guard lock(stripe.mutex);
  auto it = stripe.services.find(service);
  if (it == stripe.services.end()) return std::nullopt;
  const std::vector<TrackerPeer>& peers = it->second.peers;
  auto self = it->second.index.find(exclude);
  const size_t candidates = peers.size() - (self != it->second.index.end() ? 1 : 0);
  if (candidates == 0) return std::nullopt;
  size_t pick = random % candidates;
  // Skip over the excluded position so that the others stay uniformly likely.
  if (self != it->second.index.end() && pick >= self->second) ++pick;
  return peers[pick];
}

bool TrackerTable::Remove(const wire::ServiceId& service, const wire::Mid& mid) {
  Stripe& stripe = StripeOf(service);
  std::lock_guard lock(stripe.mutex);
  auto it = stripe.services.find(service);
  if (it == stripe.services.end()) return false;
  auto found = it->second.index.find(mid);
  if (found == it->second.index.end()) return false;
  Erase(it->second, found->second);
  removed_.fetch_add(1, std::memory_order_relaxed);
  if (it->second.peers.empty()) {
    stripe.services.erase(it);
    services_.fetch_sub(1, std::memory_order_relaxed);
  }
  return true;
}

bool TrackerTable::Contains(const wire::ServiceId& service, const wire::Mid& mid) const {
  const Stripe& stripe = StripeOf(service);
  std::lock_guard lock(stripe.mutex);
  auto it = stripe.services.find(service);
  return it != stripe.services.end() && it->second.index.contains(mid);
}

size_t TrackerTable::PeersIn(const wire::ServiceId& service) const {
  const Stripe& stripe = StripeOf(service);
  std::lock_guard lock(stripe.mutex);
  auto it = stripe.services.find(service);
  return it == stripe.services.end() ? 0 : it->second.peers.size();
}

void TrackerTable::ForEach(
    const std::function<void(const wire::ServiceId&, const std::vector<TrackerPeer>&)>& fn) const {
  for (const Stripe& stripe : stripes_) {
    std::lock_guard lock(stripe.mutex);
    for (const auto& [service, s] : stripe.services) fn(service, s.peers);
  }
}

TrackerTable::Stats TrackerTable::stats() const {
  return {entries_.load(std::memory_order_relaxed),
          services_.load(std::memory_order_relaxed),
          evicted_service_full_.load(std::memory_order_relaxed),
          evicted_table_full_.load(std::memory_order_relaxed),
          refused_table_full_.load(std::memory_order_relaxed),
          inserted_.load(std::memory_order_relaxed),
          removed_.load(std::memory_order_relaxed)};
}

}  // namespace ringv8::tracker
