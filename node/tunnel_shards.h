// TunnelShards: a relay on several cores (`ringv8 relay --shards N`). The node's TunnelCommunity
// is shard 0: it walks, answers introductions and hears every datagram that is not a cell. Shards
// 1 .. N-1 (ring/shard.h: a thread, a loop, an endpoint) each bind the node's port with
// SO_REUSEPORT and run a TunnelCommunity of the same identity, settings and overlay; the kernel
// steers each cell to shard circuit_id mod N (tunnel/cell_steering.h), and each shard chooses its
// circuits' next links with its own remainder, so both directions of a circuit arrive at the
// shard that owns it. What lands on the wrong shard goes on through a tunnel::ShardHandOff; shard 0
// shares its candidates at every housekeeping (docs/architecture.md, "Several shards").
//
// Statistics: each shard publishes its counters once a second (and when it stops); AddTo() adds
// them to the node's (the tunnel overlay's counters and the endpoint's), and Json() lists each
// shard with its CPU time.
//
// Thread-affine to the node's thread (construct after the node, before Start; destroy before the
// node), except Stats()/AddTo()/Json(), which are thread-safe.
#ifndef RINGV8_NODE_TUNNEL_SHARDS_H_
#define RINGV8_NODE_TUNNEL_SHARDS_H_

#include <cstdint>
#include <memory>
#include <mutex>
#include <vector>

#include <nlohmann/json.hpp>

#include "node/node.h"
#include "ring/open_endpoint.h"
#include "ring/shard.h"
#include "ring/stats.h"
#include "tunnel/shard_hand_off.h"
#include "tunnel/tunnel_community.h"

namespace ringv8::node {

class TunnelShards {
 public:
  // `node`'s endpoint must have been opened with reuse_port (see ReusePortOptions) and hold
  // exactly one TunnelCommunity. Each shard's endpoint queues at most `send_queue_capacity`
  // datagrams (EndpointOptions). Throws std::runtime_error naming what failed.
  TunnelShards(Node& node, uint32_t count, EndpointBackend backend,
               uint32_t send_queue_capacity = EndpointOptions{}.send_queue_capacity);
  ~TunnelShards();
  TunnelShards(const TunnelShards&) = delete;
  TunnelShards& operator=(const TunnelShards&) = delete;

  // What the node's endpoint needs so that the shards can join its port.
  static EndpointOptions ReusePortOptions(EndpointOptions options);

  uint32_t count() const { return count_; }
  // Stops and joins shards 1 .. N-1 (their final statistics stay) and makes the node's
  // community one shard again. Call it before the node stops (Node::Stop destroys that
  // community); Stats() and AddTo() still work after it. Idempotent; the destructor calls it.
  void Stop();

  struct ShardStats {
    StatsSnapshot tunnel;    // The shard's TunnelCommunity (Community::Visit).
    StatsSnapshot endpoint;  // Its endpoint.
    double cpu_seconds = 0;
  };
  // Shards 1 .. N-1, as last published.
  std::vector<ShardStats> Stats() const;
  // Adds shards 1 .. N-1 to the node's statistics: the tunnel overlay's and the endpoint's.
  void AddTo(NodeStats& stats) const;
  // The same for Node::Status(), plus "tunnel_shards": each shard's index, CPU time, counters.
  void AddTo(nlohmann::json& status) const;

 private:
  struct State;
  void Build(uint32_t index, Shard& shard);

  Node& node_;
  tunnel::TunnelCommunity& tunnel_;  // Shard 0; not touched after Stop().
  const wire::CommunityId community_id_;
  const uint32_t count_;
  bool stopped_ = false;
  tunnel::ShardHandOff hand_off_;
  std::vector<std::unique_ptr<State>> states_;  // Shards 1 .. N-1.
  mutable std::mutex mutex_;                    // Guards each State's published stats.
};

}  // namespace ringv8::node

#endif  // RINGV8_NODE_TUNNEL_SHARDS_H_
