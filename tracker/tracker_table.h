// TrackerTable: what a tracker knows, the peers of every service (community), shared by the
// tracker's shards so that an introduction may name any peer of the service, whichever shard
// heard it.
//
// Bounded: at most max_per_service peers in one service and max_entries (peer, service) pairs in
// all. A full service evicts its longest-silent peer of a small random sample (approximate LRU,
// O(1)); a full table evicts in the service being written to, or refuses a new service. Every
// eviction and refusal is counted.
//
// Thread-safe: services are spread over 64 stripes, each with its own mutex, held for one lookup
// or update (no global lock on the packet path).
#ifndef RINGV8_TRACKER_TRACKER_TABLE_H_
#define RINGV8_TRACKER_TRACKER_TABLE_H_

#include <array>
#include <atomic>
#include <cstdint>
#include <functional>
#include <mutex>
#include <optional>
#include <unordered_map>
#include <vector>

#include "ring/address.h"
#include "ring/clock.h"
#include "ring/stats.h"
#include "wire/keys.h"
#include "wire/packet.h"

namespace ringv8::tracker {

struct TrackerLimits {
  size_t max_per_service = 100000;
  size_t max_entries = 4000000;  // (peer, service) pairs.
};

struct TrackerPeer {
  wire::Mid mid{};
  Address address;      // Where its requests come from.
  Address lan_address;  // Its own claim (source_lan_address).
  bool new_style = false;
  TimePoint last_seen{0};
};

class TrackerTable {
 public:
  struct Stats {
    uint64_t entries = 0;
    uint64_t services = 0;
    uint64_t evicted_service_full = 0;
    uint64_t evicted_table_full = 0;
    uint64_t refused_table_full = 0;  // A new service while the table was full of others.
    // Where entries went: every entry inserted is still there, evicted or removed (Remove()).
    uint64_t inserted = 0;
    uint64_t removed = 0;

    // Every counter with its name and kind (ring/stats.h).
    template <typename F>
    void Visit(F&& fn) const {
      using enum StatKind;
      fn(Stat{"entries", kGauge, "(peer, community) entries in the table."}, entries);
      fn(Stat{"services", kGauge, "Communities with at least one peer."}, services);
      fn(Stat{"inserted", kCounter, "Entries inserted."}, inserted);
      fn(Stat{"removed", kCounter, "Entries removed (silent or full peers)."}, removed);
      fn(Stat{"evicted_service_full", kCounter, "Entries evicted at max_per_service."},
         evicted_service_full);
      fn(Stat{"evicted_table_full", kCounter, "Entries evicted at max_entries."},
         evicted_table_full);
      fn(Stat{"refused_table_full", kCounter, "New communities refused at max_entries."},
         refused_table_full);
    }
  };

  explicit TrackerTable(TrackerLimits limits = {});
  TrackerTable(const TrackerTable&) = delete;
  TrackerTable& operator=(const TrackerTable&) = delete;

  // Adds or refreshes `peer` in `service`. False if it was refused (counted).
  bool Upsert(const wire::ServiceId& service, const TrackerPeer& peer);
  // A random peer of `service` other than `exclude` (uniform; `random` picks it).
  std::optional<TrackerPeer> PickOther(const wire::ServiceId& service, const wire::Mid& exclude,
                                       uint64_t random) const;
  // Removes `mid` from `service`. False if it was not there.
  bool Remove(const wire::ServiceId& service, const wire::Mid& mid);
  bool Contains(const wire::ServiceId& service, const wire::Mid& mid) const;
  size_t PeersIn(const wire::ServiceId& service) const;
  // Calls fn(service, peers) for every service, one stripe at a time (for /services).
  void ForEach(
      const std::function<void(const wire::ServiceId&, const std::vector<TrackerPeer>&)>& fn) const;

  Stats stats() const;
  const TrackerLimits& limits() const { return limits_; }

 private:
  struct MidHash {
    size_t operator()(const wire::Mid& mid) const {
      uint64_t h;
      std::memcpy(&h, mid.data(), sizeof(h));  // SHA-1 output.
      return static_cast<size_t>(h);
    }
  };
  struct Service {
    std::vector<TrackerPeer> peers;                          // Dense, for O(1) random picks.
    std::unordered_map<wire::Mid, uint32_t, MidHash> index;  // mid -> position in peers.
  };
  struct Stripe {
    mutable std::mutex mutex;
    std::unordered_map<wire::ServiceId, Service, wire::ServiceIdHash> services;
  };
  static constexpr size_t kStripes = 64;
  static constexpr int kEvictionSample = 8;

  Stripe& StripeOf(const wire::ServiceId& service);
  const Stripe& StripeOf(const wire::ServiceId& service) const;
  // With the stripe held: removes position `i` of `s` (swap with the last).
  void Erase(Service& s, uint32_t i);
  // With the stripe held: the longest-silent of a few sampled peers.
  uint32_t EvictionVictim(const Service& s, uint64_t seed) const;

  TrackerLimits limits_;
  std::array<Stripe, kStripes> stripes_;
  std::atomic<uint64_t> entries_{0};
  std::atomic<uint64_t> services_{0};
  std::atomic<uint64_t> evicted_service_full_{0};
  std::atomic<uint64_t> evicted_table_full_{0};
  std::atomic<uint64_t> refused_table_full_{0};
  std::atomic<uint64_t> inserted_{0};
  std::atomic<uint64_t> removed_{0};
};

}  // namespace ringv8::tracker

#endif  // RINGV8_TRACKER_TRACKER_TABLE_H_
