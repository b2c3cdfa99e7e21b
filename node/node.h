// Node: one IPv8 instance, as py-ipv8's IPv8 class (spec 6.6): the endpoint, one Network shared
// by the overlays, the overlays with their strategies and bootstrappers, and the StepScheduler
// that steps those strategies one at a time.
//
//   auto loop = EventLoop::Create({});
//   node::Node node(**loop, node::NodeConfig::Load("configs/default.json"));
//   node.Start();
//   (*loop)->RunFor(std::chrono::seconds(60));
//   node.Stop();
//
// Built from a NodeConfig, names resolved by a Registry (Registry::Builtin() unless given).
// Building fails with ConfigError (the JSON path of the bad value) or std::system_error (the
// sockets could not be opened); nothing is left half-built. Overlays and strategies can also be
// added in code (AddOverlay, AddStrategy), before or after Start.
//
// Thread-affine: build, use and destroy it on the thread that runs `loop`. A node owns its
// StepScheduler (and with it the gate that keeps its strategies' steps one at a time), unless
// NodeOptions::scheduler names one shared by the nodes of the same loop.
#ifndef RINGV8_NODE_NODE_H_
#define RINGV8_NODE_NODE_H_

#include <map>
#include <memory>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "node/config.h"
#include "node/registry.h"
#include "overlay/community.h"
#include "overlay/network.h"
#include "ring/endpoint.h"
#include "ring/event_loop.h"
#include "ring/open_endpoint.h"
#include "ring/stats.h"
#include "strategies/step_scheduler.h"
#include "wire/keys.h"

namespace ringv8::node {

struct NodeOptions {
  const Registry* registry = nullptr;  // Not owned; null: Registry::Builtin().
  // Overlay classes the registry does not have are skipped with a warning instead of refused.
  bool skip_unknown = false;
  // Use this endpoint (not owned; e.g. a MemoryEndpoint) instead of opening config.interfaces.
  Endpoint* endpoint = nullptr;
  // Buffers, queue and socket sizes of the endpoint opened on the loop (OpenEndpoint: io_uring on
  // an io_uring loop) from config.interfaces (EndpointOptionsFor).
  EndpointOptions endpoint_options;
  // Not owned: a scheduler shared with other nodes of the same loop, which its owner attaches to
  // that loop. Null: the node's own, stepping every walker_interval, attached by Start().
  strategies::StepScheduler* scheduler = nullptr;
  // Seeds every overlay's random choices (seed + overlay index); 0: random.
  uint64_t seed = 0;
};

// A node's statistics, typed (node/stats_text.h renders them).
struct OverlayStats {
  std::string class_name;
  wire::CommunityId community_id;
  StatsSnapshot stats;  // Community::Visit.
};
struct NodeStats {
  StatsSnapshot endpoint;  // EndpointStats::Visit.
  MessageCounts messages;  // Over the endpoint's prefixes.
  std::vector<OverlayStats> overlays;
  double scheduler_lag_seconds = 0;  // How late the last strategy step started.
};

class Node {
 public:
  Node(EventLoop& loop, const NodeConfig& config, NodeOptions options = {});
  ~Node();
  Node(const Node&) = delete;
  Node& operator=(const Node&) = delete;

  // Attaches the scheduler, starts the bootstrappers and runs the on_start calls.
  void Start();
  // Clean stop: removes the strategies, keeps the final statistics (status()), unloads the
  // overlays, closes the endpoint it opened. Idempotent; the destructor calls it.
  void Stop();
  bool running() const { return running_; }

  // What an overlay built in code is constructed from: the identity of `key_alias` (empty: the
  // first key), the node's endpoint, network and loop, and settings from `initialize`, which must
  // outlive the construction:
  //   node.AddOverlay(std::make_unique<HelloCommunity>(node.Context({})), "HelloCommunity");
  OverlayContext Context(const nlohmann::json& initialize, const std::string& key_alias = "");
  // Adds an overlay built in code (py-ipv8's ipv8.overlays.append). Returns it.
  overlay::Community& AddOverlay(std::unique_ptr<overlay::Community> overlay,
                                 std::string class_name);
  // py-ipv8's add_strategy: `strategy` serves `overlay` (one of ours); target -1: always step.
  void AddStrategy(overlay::Community& overlay,
                   std::unique_ptr<strategies::DiscoveryStrategy> strategy, int target_peers);
  // Removes the overlay and its strategies. False if it is not ours.
  bool UnloadOverlay(overlay::Community& overlay);

  template <typename T>
  T* GetOverlay() const {
    for (const auto& o : overlays_) {
      if (auto* typed = dynamic_cast<T*>(o.community.get())) return typed;
    }
    return nullptr;
  }
  template <typename T>
  std::vector<T*> GetOverlays() const {
    std::vector<T*> out;
    for (const auto& o : overlays_) {
      if (auto* typed = dynamic_cast<T*>(o.community.get())) out.push_back(typed);
    }
    return out;
  }
  // The class name an overlay was loaded as ("" if it is not ours).
  std::string ClassOf(const overlay::Community& overlay) const;
  size_t overlay_count() const { return overlays_.size(); }
  size_t strategy_count() const;

  EventLoop& loop() { return loop_; }
  Endpoint& endpoint() { return *endpoint_; }
  const Endpoint& endpoint() const { return *endpoint_; }
  overlay::Network& network() { return network_; }
  strategies::StepScheduler& scheduler() { return *scheduler_; }
  // The key of the first overlay (else of the first key entry).
  const wire::PrivateKey& key() const;

  // What `ringv8 run --json` prints: mid, public_key, addresses, overlays with their peers,
  // messages in/out by id, drops by reason. After Stop: the statistics at the time of Stop.
  nlohmann::json Status() const;
  // The statistics in Status(), typed. After Stop: those at the time of Stop.
  NodeStats Stats() const;

 private:
  struct Identity {
    wire::PrivateKey key;
    std::shared_ptr<overlay::Peer> peer;
  };
  struct LoadedStrategy {
    overlay::Community* overlay;
    std::unique_ptr<strategies::DiscoveryStrategy> strategy;
    strategies::StepScheduler::Handle handle;
  };
  struct LoadedOverlay {
    std::string class_name;
    std::unique_ptr<overlay::Community> community;
  };

  void LoadKeys(const NodeConfig& config);
  void LoadOverlay(const OverlayConfig& config, const Registry& registry, size_t index);
  void RemoveStrategies(const overlay::Community* overlay);  // All when null.

  EventLoop& loop_;
  NodeOptions options_;
  std::unique_ptr<Endpoint> owned_endpoint_;
  Endpoint* endpoint_ = nullptr;
  overlay::Network network_;
  std::map<std::string, Identity> identities_;  // By alias.
  std::unique_ptr<strategies::StepScheduler> owned_scheduler_;
  strategies::StepScheduler* scheduler_ = nullptr;
  std::vector<LoadedOverlay> overlays_;
  std::vector<LoadedStrategy> strategies_;
  struct OnStartCall {
    OnStartFunction function;
    nlohmann::json args;
    overlay::Community* overlay;
    std::string path;
  };
  std::vector<OnStartCall> on_start_;  // Run by Start().
  bool running_ = false;
  bool stopped_ = false;
  nlohmann::json final_status_;
  NodeStats final_stats_;
};

// `base` with the addresses of config.interfaces (UDPIPv4, UDPIPv6) and py-ipv8's port rule (the
// next free port when one is taken). Throws ConfigError for an IP that does not parse.
EndpointOptions EndpointOptionsFor(const NodeConfig& config, EndpointOptions base = {});

}  // namespace ringv8::node

#endif  // RINGV8_NODE_NODE_H_
