// TrackerServer: `ringv8 tracker`'s engine, also started in-process by `ringv8 bench tracker`.
// K shards (ring/shard.h: a thread with its own event loop), each with a socket on the same port
// (SO_REUSEPORT) and a Tracker; one TrackerTable shared by all.
// Thread-compatible: Start, Stop and Result from one thread; packets() from any.
#ifndef RINGV8_TRACKER_TRACKER_SERVER_H_
#define RINGV8_TRACKER_TRACKER_SERVER_H_

#include <memory>
#include <string>
#include <vector>

#include "ring/open_endpoint.h"
#include "ring/shard.h"
#include "ring/stats.h"
#include "tracker/tracker.h"
#include "tracker/tracker_table.h"
#include "wire/keys.h"

namespace ringv8::tracker {

struct TrackerServerOptions {
  std::string ip = "0.0.0.0";
  uint16_t port = 0;  // 0: any free port.
  int shards = 1;
  EndpointBackend backend = EndpointBackend::kAuto;
  TrackerOptions tracker;
  TrackerLimits limits;
};

// One shard's statistics as it last published them (once a second, and when it stops).
struct TrackerShardStats {
  StatsSnapshot tracker;   // Tracker::Visit: its counters, drops, peers and sources.
  StatsSnapshot endpoint;  // EndpointStats::Visit.
  MessageCounts messages;
  double cpu_seconds = 0;   // CPU time of the shard's thread.
  double published_at = 0;  // Steady clock, seconds: rates between snapshots.
};

struct TrackerServerStats {
  std::vector<TrackerShardStats> shards;
  StatsSnapshot tracker, endpoint;  // Summed over the shards.
  StatsSnapshot table;              // TrackerTable::Stats::Visit (shared by the shards).
};

class TrackerServer {
 public:
  TrackerServer(const wire::PrivateKey& key, TrackerServerOptions options);
  ~TrackerServer();  // Stops.

  // Opens the shards; throws std::runtime_error naming the shard that failed.
  void Start();
  void Stop();
  uint16_t port() const { return port_; }
  const std::string& backend() const { return backend_; }
  const TrackerTable& table() const { return table_; }
  // Packets in and out so far, over the shards (thread-safe).
  std::pair<uint64_t, uint64_t> packets() const;
  // Final after Stop, else as the shards last published them (once a second). Thread-safe.
  TrackerServerStats Stats() const;
  const wire::PrivateKey& key() const { return key_; }
  const TrackerServerOptions& options() const { return options_; }

 private:
  struct ShardState;
  // On shard `index`'s thread: opens its socket and builds its Tracker.
  void Build(int index, ShardState& state);
  // On a shard's thread: its statistics for Result().
  static void Publish(ShardState& state);
  wire::PrivateKey key_;
  TrackerServerOptions options_;
  TrackerTable table_;
  std::vector<std::unique_ptr<ShardState>> shards_;
  uint16_t port_ = 0;
  std::string backend_;
};

}  // namespace ringv8::tracker

#endif  // RINGV8_TRACKER_TRACKER_SERVER_H_
