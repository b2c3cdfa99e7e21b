// Swarm: a local IPv8 network in one process, for `ringv8 swarm` (and `make run`).
//
// A bootstrap node serves every community (a plain Community per id, no peer limit, blacklisted
// by the others as py-ipv8 blacklists its trackers). N nodes on 127.0.0.1, each a node::Node
// built from a py-ipv8 configuration, run on K shard threads; each shard has one EventLoop (real
// UDP sockets, io_uring or recvmmsg) and one StepScheduler for all its nodes. Every node joins M
// of the C communities (RandomWalk, target 20) and runs DiscoveryCommunity with RandomChurn and
// PeriodicSimilarity, as py-ipv8's default configuration does.
//
// A community has converged when every member has reached its target peer count (or all the
// other members, when there are fewer). Shards publish a snapshot every 100 ms; Run() watches
// them, reports once a second, and returns when all communities converged or time is up. A soak
// run goes on to the end of its duration and reports resident memory and table sizes over time.
// Thread-compatible: Run() on one thread; it starts and joins the shard threads.
#ifndef RINGV8_TESTBED_SWARM_H_
#define RINGV8_TESTBED_SWARM_H_

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "ring/clock.h"
#include "ring/open_endpoint.h"

namespace ringv8::testbed {

struct SwarmOptions {
  int nodes = 200;
  int communities = 20;
  int communities_per_node = 0;  // 0: min(communities, 5).
  int shards = 0;                // 0: one per core.
  int target_peers = 20;
  double duration = 60;  // Seconds; the run ends earlier when everything converged...
  bool soak = false;     // ...unless soaking: then it runs the whole duration (memory, tables).
  EndpointBackend backend = EndpointBackend::kAuto;
};

// What the live view shows, once a second.
struct SwarmProgress {
  double elapsed = 0;          // Seconds since the nodes started.
  std::vector<int> at_target;  // Per community: members at their target.
  std::vector<int> members;    // Per community.
  uint64_t packets_in = 0, packets_out = 0, drops = 0, kernel_drops = 0;
  double max_lag_ms = 0;  // The largest scheduler lag over the shards.
  // The nodes' tables (not the bootstrap node's): verified peers and walkable addresses, summed
  // and the largest of one node; and the process's resident memory.
  uint64_t verified_peers = 0, addresses = 0;
  uint64_t max_node_verified = 0, max_node_addresses = 0;
  double rss_mib = 0;
};

class Swarm {
 public:
  explicit Swarm(SwarmOptions options);

  // Waits up to the given time on the calling thread; false ends the run early (a signal).
  using Wait = std::function<bool(Duration)>;

  // Builds the swarm, runs it, and returns the summary (see `ringv8 swarm --help`). `progress`
  // is called about once a second from the calling thread. Throws std::runtime_error when the
  // swarm cannot be built (sockets, memory).
  nlohmann::json Run(const std::function<void(const SwarmProgress&)>& progress, const Wait& wait);

 private:
  SwarmOptions options_;
};

}  // namespace ringv8::testbed

#endif  // RINGV8_TESTBED_SWARM_H_
