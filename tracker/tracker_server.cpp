#include "tracker/tracker_server.h"

#include <map>
#include <mutex>
#include <stdexcept>
#include <system_error>

#include <fmt/format.h>

#include "wire/hex.h"

namespace ringv8::tracker {

using nlohmann::json;

namespace {
// {"in": {"246": {"packets": n, "bytes": n}}, "out": {...}}: the ids that occurred.
json MessagesJson(const TrackerStats& t) {
  json in = json::object(), out = json::object();
  for (int id = 0; id < 256; ++id) {
    if (t.packets_in[id] != 0) {
      in[std::to_string(id)] = {{"packets", t.packets_in[id]}, {"bytes", t.bytes_in[id]}};
    }
    if (t.packets_out[id] != 0) {
      out[std::to_string(id)] = {{"packets", t.packets_out[id]}, {"bytes", t.bytes_out[id]}};
    }
  }
  return {{"in", in}, {"out", out}};
}
json EndpointDropsJson(const EndpointStats& s) {
  json drops = json::object();
  s.ForEachDrop([&](const char* name, uint64_t n) { drops[name] = n; });
  return drops;
}
}  // namespace

// One shard: the ring::Shard (thread, loop, socket), its Tracker, and what it last published.
struct TrackerServer::ShardState {
  explicit ShardState(int index, EndpointBackend backend)
      : shard(fmt::format("shard {}", index), backend) {}

  Shard shard;
  std::unique_ptr<Tracker> tracker;      // The shard's thread only.
  mutable std::mutex mutex;              // Guards what follows (never taken on the packet path).
  const EndpointStats* stats = nullptr;  // While the shard runs.
  json result = json::object();
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
  // Published once a second (for --metrics and live status) and when the shard stops.
  state.shard.loop().CallEvery(std::chrono::seconds(1), [&state] { Publish(state); });
}

void TrackerServer::Publish(ShardState& state) {
  const Tracker& tracker = *state.tracker;
  const TrackerStats& t = tracker.stats();
  std::lock_guard lock(state.mutex);
  const EndpointStats& s = *state.stats;
  state.result = {
      {"requests", t.requests},
      {"responses", t.responses},
      {"introductions", t.introductions},
      {"punctures", t.punctures},
      {"pings", t.pings},
      {"ping_answers", t.ping_answers},
      {"ping_timeouts", t.ping_timeouts},
      {"limit_removals", t.limit_removals},
      {"peers", tracker.local_peers()},
      {"packets_in", s.packets_in.value()},
      {"packets_out", s.packets_out.value()},
      {"bytes_in", s.bytes_in.value()},
      {"bytes_out", s.bytes_out.value()},
      {"sources", tracker.sources()},
      {"kernel_drops", s.kernel_drops.value()},
      {"drops", t.drops},
      {"endpoint_drops", EndpointDropsJson(s)},
      {"crypto_seconds", std::chrono::duration<double>(t.crypto_time).count()},
      {"messages", MessagesJson(t)},
      // When this snapshot was taken (steady clock, seconds): rates between snapshots.
      {"published_at",
       std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch()).count()},
      {"cpu_seconds", state.shard.cpu_seconds()}};
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

json TrackerServer::Result() const {
  json per_shard = json::array();
  uint64_t requests = 0, responses = 0, introductions = 0, peers = 0;
  std::map<std::string, uint64_t> drops;
  for (const auto& state : shards_) {
    json r;
    {
      std::lock_guard lock(state->mutex);
      r = state->result;
    }
    requests += r.value("requests", uint64_t{0});
    responses += r.value("responses", uint64_t{0});
    introductions += r.value("introductions", uint64_t{0});
    peers += r.value("peers", uint64_t{0});
    // The tracker's drops and the endpoint's (kernel, truncated, too short, ...) in one map.
    for (const char* field : {"drops", "endpoint_drops"}) {
      if (!r.contains(field)) continue;
      for (const auto& [reason, n] : r[field].items()) {
        if (n.get<uint64_t>() != 0) drops[reason] += n.get<uint64_t>();
      }
    }
    per_shard.push_back(r);
  }
  const auto t = table_.stats();
  drops["evicted_service_full"] = t.evicted_service_full;
  drops["evicted_table_full"] = t.evicted_table_full;
  drops["refused_table_full"] = t.refused_table_full;
  return {{"mid", wire::ToHex(key_.mid())},
          {"port", port_},
          {"backend", backend_},
          {"requests", requests},
          {"responses", responses},
          {"introductions", introductions},
          {"peers", peers},
          {"entries", t.entries},
          {"services", t.services},
          {"table",
           {{"entries", t.entries},
            {"services", t.services},
            {"inserted", t.inserted},
            {"removed", t.removed},
            {"evicted_service_full", t.evicted_service_full},
            {"evicted_table_full", t.evicted_table_full},
            {"refused_table_full", t.refused_table_full},
            {"max_entries", options_.limits.max_entries},
            {"max_per_service", options_.limits.max_per_service}}},
          {"drops", drops},
          {"per_shard", per_shard}};
}

}  // namespace ringv8::tracker
