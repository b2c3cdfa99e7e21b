#include "node/tunnel_shards.h"

#include <chrono>
#include <stdexcept>
#include <string>

#include <fmt/format.h>

#include "node/stats_text.h"
#include "overlay/network.h"
#include "tunnel/cell_steering.h"
#include "wire/hex.h"

namespace ringv8::node {
namespace {

tunnel::TunnelCommunity& TheTunnel(Node& node) {
  const std::vector<tunnel::TunnelCommunity*> tunnels = node.GetOverlays<tunnel::TunnelCommunity>();
  if (tunnels.size() != 1) {
    throw std::runtime_error(
        fmt::format("several shards need exactly one TunnelCommunity overlay (this node has {})",
                    tunnels.size()));
  }
  return *tunnels[0];
}

}  // namespace

struct TunnelShards::State {
  std::unique_ptr<Shard> shard;
  // On the shard's thread.
  overlay::Network network;
  std::unique_ptr<tunnel::TunnelCommunity> community;
  Endpoint* endpoint = nullptr;
  // Under TunnelShards::mutex_.
  ShardStats published;
};

EndpointOptions TunnelShards::ReusePortOptions(EndpointOptions options) {
  options.reuse_port = true;
  return options;
}

TunnelShards::TunnelShards(Node& node, uint32_t count, EndpointBackend backend,
                           uint32_t send_queue_capacity)
    : node_(node),
      tunnel_(TheTunnel(node)),
      community_id_(tunnel_.community_id()),
      count_(count),
      hand_off_(count) {
  if (count < 2) throw std::runtime_error("TunnelShards is for 2 shards or more");
  tunnel_.SetShard(0, count_, hand_off_.Function());
  hand_off_.Attach(0, node_.loop(), tunnel_);
  // What the shards copy, taken here on the node's thread.
  EndpointOptions options = ReusePortOptions({});
  options.send_queue_capacity = send_queue_capacity;
  options.ipv4.reset();
  for (const Address& a : node_.endpoint().local_addresses()) {
    (a.is_v4() ? options.ipv4 : options.ipv6) = a;
  }
  options.reuseport_program =
      tunnel::CellSteeringProgram(wire::MakePrefix(tunnel_.community_id()), count_);
  const wire::CommunityId id = tunnel_.community_id();
  const wire::PrivateKey key = tunnel_.my_key();
  const tunnel::TunnelSettings settings = tunnel_.tunnel_settings();
  for (uint32_t index = 1; index < count_; ++index) {
    auto owned = std::make_unique<State>();
    State& state = *owned;
    states_.push_back(std::move(owned));
    state.shard = std::make_unique<Shard>(fmt::format("tunnel shard {}", index), backend);
    auto publish = [this, &state] {
      ShardStats stats{StatsSnapshot::Of(*state.community),
                       StatsSnapshot::Of(state.endpoint->stats()), state.shard->cpu_seconds()};
      std::lock_guard lock(mutex_);
      state.published = std::move(stats);
    };
    state.shard->Start(
        [=, this, &state](Shard& shard) {
          // Bound after the sockets before it: socket `index` of the port's reuseport group.
          state.endpoint = &shard.OpenEndpoint(options);
          auto peer = std::make_shared<overlay::Peer>(
              key.public_key(), state.endpoint->local_addresses()[0], shard.loop().Now());
          state.community = std::make_unique<tunnel::TunnelCommunity>(
              id, peer, key, *state.endpoint, state.network, shard.loop(),
              overlay::CommunitySettings{}, settings);
          state.community->SetShard(index, count_, hand_off_.Function());
          hand_off_.Attach(index, shard.loop(), *state.community);
          shard.loop().CallEvery(std::chrono::seconds(1), publish);
        },
        [=, this, &state] {
          if (state.community == nullptr) return;
          publish();
          hand_off_.Detach(index);
          state.community.reset();
        });
    if (!state.shard->WaitBuilt()) {
      const std::string error = state.shard->error();
      Stop();
      throw std::runtime_error(error);
    }
  }
}

TunnelShards::~TunnelShards() { Stop(); }

void TunnelShards::Stop() {
  if (stopped_) return;
  stopped_ = true;
  for (auto& state : states_) state->shard->Stop();
  for (auto& state : states_) state->shard->Join();
  // The node's community is one shard again: it may outlive this object, never the reverse.
  tunnel_.SetShard(0, 1, {});
  hand_off_.Detach(0);
}

std::vector<TunnelShards::ShardStats> TunnelShards::Stats() const {
  std::vector<ShardStats> out;
  std::lock_guard lock(mutex_);
  for (const auto& state : states_) out.push_back(state->published);
  return out;
}

void TunnelShards::AddTo(NodeStats& stats) const {
  for (const ShardStats& shard : Stats()) {
    stats.endpoint.Merge(shard.endpoint);
    for (OverlayStats& overlay : stats.overlays) {
      if (overlay.community_id == community_id_) overlay.stats.Merge(shard.tunnel);
    }
  }
}

void TunnelShards::AddTo(nlohmann::json& status) const {
  const std::string id = wire::ToHex(community_id_);
  nlohmann::json shards = nlohmann::json::array();
  uint32_t index = 1;
  for (const ShardStats& shard : Stats()) {
    AddStatsJson(shard.endpoint, status, /*sum=*/true);
    for (nlohmann::json& overlay : status["overlays"]) {
      if (overlay["community_id"] == id) AddStatsJson(shard.tunnel, overlay, /*sum=*/true);
    }
    nlohmann::json one = {{"shard", index++}, {"cpu_seconds", shard.cpu_seconds}};
    one["tunnel"] = StatsJson(shard.tunnel);
    one["endpoint"] = StatsJson(shard.endpoint);
    shards.push_back(std::move(one));
  }
  status["tunnel_shards"] = std::move(shards);
}

}  // namespace ringv8::node
