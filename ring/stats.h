// Typed statistics: every statistics struct of the library (EndpointStats, CommunityStats,
// TrackerStats, ...) enumerates its own counters, once, in a member
//
//   template <typename F> void Visit(F&& fn) const;  // fn(const Stat&, double value) per counter
//
// that names each counter, says what kind it is and describes it. The renderers (node/stats_text.h:
// --json and Prometheus /metrics) read only this list, so adding or renaming a counter is one
// change in one place, and what counts as a drop is decided where the counter is declared.
//
// StatsSnapshot copies a struct's counters (to hand them to another thread, or to sum them over
// shards or nodes). Thread-compatible; Visit's thread rule is the visited struct's.
#ifndef RINGV8_RING_STATS_H_
#define RINGV8_RING_STATS_H_

#include <array>
#include <cstdint>
#include <string_view>
#include <vector>

namespace ringv8 {

enum class StatKind : uint8_t {
  kCounter,      // Only grows: events, packets, bytes.
  kGauge,        // A current level: table sizes, peers.
  kSeconds,      // Only grows, in seconds (CPU or crypto time).
  kReceiveDrop,  // A received datagram was disposed of, for the reason the name gives.
  kSendDrop,     // A datagram to send was lost, for the reason the name gives.
};

constexpr bool IsDrop(StatKind kind) {
  return kind == StatKind::kReceiveDrop || kind == StatKind::kSendDrop;
}

// A counter's identity. `name` is the key in --json (under "drops" for drops) and in /metrics
// (PREFIX_name_total, PREFIX_name, PREFIX_name_total for seconds, PREFIX_drops_total{reason=name});
// names and help texts have static storage.
struct Stat {
  std::string_view name;
  StatKind kind;
  std::string_view help;
};

// py-ipv8's NetworkStat in plain numbers: packets and bytes by message id, each way.
struct MessageCounts {
  std::array<uint64_t, 256> packets_in{}, bytes_in{}, packets_out{}, bytes_out{};
};

class StatsSnapshot {
 public:
  struct Entry {
    Stat stat;
    double value;
  };

  StatsSnapshot() = default;
  // The counters of `stats` now.
  template <typename S>
  static StatsSnapshot Of(const S& stats) {
    StatsSnapshot snapshot;
    stats.Visit([&](const Stat& stat, double value) {
      snapshot.entries_.push_back({stat, value});
    });
    return snapshot;
  }

  // Adds another snapshot of the same struct, counter by counter (an empty snapshot takes the
  // other's layout; an empty one adds nothing). Gauges add too: the sum of table sizes over shards
  // is the total size.
  void Add(const StatsSnapshot& other);
  // The same matched by name, for snapshots whose lists depend on their values (a counter listed
  // once it is not 0): a counter only `other` has is appended.
  void Merge(const StatsSnapshot& other);

  template <typename F>
  void Visit(F&& fn) const {
    for (const Entry& e : entries_) fn(e.stat, e.value);
  }
  // The value of the counter called `name`; throws std::out_of_range if there is none, so that a
  // renamed counter fails loudly instead of reading 0.
  double Value(std::string_view name) const;
  // The sum of every counter of `kind`.
  double Sum(StatKind kind) const;
  double Drops() const { return Sum(StatKind::kReceiveDrop) + Sum(StatKind::kSendDrop); }
  const std::vector<Entry>& entries() const { return entries_; }

 private:
  std::vector<Entry> entries_;
};

}  // namespace ringv8

#endif  // RINGV8_RING_STATS_H_
