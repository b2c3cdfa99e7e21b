#include "tracker/tracker_server.h"

#include <mutex>
#include <stdexcept>
#include <system_error>

#include <fmt/format.h>

namespace ringv8::tracker {

// One shard: the ring::Shard (thread, loop, socket), its Tracker, and what it last published.
struct TrackerServer::ShardState {
  explicit ShardState(int index, EndpointBackend backend)
      : shard(fmt::format("shard {}", index), backend) {}

  Shard shard;
  std::unique_ptr<Tracker> tracker;      // The shard's thread only.
  mutable std::mutex mutex;              // Guards what follows (never taken on the packet path).
  const EndpointStats* stats = nullptr;  // While the shard runs.
  TrackerShardStats published;
};

void TrackerServer::Build(int index, ShardState& state) {
  EndpointOptions options;
  options.ipv4 = Address::ParseIp(options_.ip, port_);
  if (!options.ipv4) throw std::runtime_error("bad IPv4 address " + options_.ip);
  options.reuse_port = true;
  Endpoint& endpoint = state.shard.OpenEndpoint(options);
  if (index == 0) port_ = endpoint.local_addresses().front().port();
  TrackerOptions tracker_options = options_.tracker;
  if (tracker_options.seed != 0) tracker_options.seed += index;
  state.tracker =
      std::make_unique<Tracker>(table_, key_, endpoint, state.shard.loop(), tracker_options);
  {
    std::lock_guard lock(state.mutex);
    state.stats = &endpoint.stats();
  }
  // Published now (a started server always has statistics), once a second (for --metrics and
  // live status) and when the shard stops.
  Publish(state);
  state.shard.loop().CallEvery(std::chrono::seconds(1), [&state] { Publish(state); });
}

void TrackerServer::Publish(ShardState& state) {
  TrackerShardStats published;
  published.tracker = StatsSnapshot::Of(*state.tracker);
  published.messages = state.tracker->stats().messages;
  published.cpu_seconds = state.shard.cpu_seconds();
  published.published_at =
      std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch()).count();
  std::lock_guard lock(state.mutex);
  published.endpoint = StatsSnapshot::Of(*state.stats);
  state.published = std::move(published);
}

TrackerServer::TrackerServer(const wire::PrivateKey& key, TrackerServerOptions options)
    : key_(key), options_(std::move(options)), table_(options_.limits) {}

TrackerServer::~TrackerServer() { Stop(); }

void TrackerServer::Start() {
  port_ = options_.port;
  // Shard 0 binds first (it learns the port when it is 0); the others join that port.
  for (int k = 0; k < std::max(options_.shards, 1); ++k) {
    shards_.push_back(std::make_unique<ShardState>(k, options_.backend));
    ShardState& state = *shards_.back();
    state.shard.Start([this, k, &state](Shard&) { Build(k, state); },
                      [&state] {
                        if (state.tracker == nullptr) return;
                        Publish(state);
                        std::lock_guard lock(state.mutex);
                        state.stats = nullptr;
                        state.tracker.reset();
                      });
    if (!state.shard.WaitBuilt()) {
      const std::string error = state.shard.error();
      Stop();
      throw std::runtime_error(error);
    }
  }
  backend_ = shards_.front()->shard.backend_name();
}

void TrackerServer::Stop() {
  for (auto& state : shards_) state->shard.Stop();
  for (auto& state : shards_) state->shard.Join();
}

std::pair<uint64_t, uint64_t> TrackerServer::packets() const {
  uint64_t in = 0, out = 0;
  for (const auto& state : shards_) {
    std::lock_guard lock(state->mutex);
    if (state->stats == nullptr) continue;
    in += state->stats->packets_in.value();
    out += state->stats->packets_out.value();
  }
  return {in, out};
}

TrackerServerStats TrackerServer::Stats() const {
  TrackerServerStats stats;
  for (const auto& state : shards_) {
    {
      std::lock_guard lock(state->mutex);
      stats.shards.push_back(state->published);
    }
    stats.tracker.Add(stats.shards.back().tracker);
    stats.endpoint.Add(stats.shards.back().endpoint);
  }
  stats.table = StatsSnapshot::Of(table_.stats());
  return stats;
}

}  // namespace ringv8::tracker
