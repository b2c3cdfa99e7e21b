#include "tracker/tracker_server.h"

#include <latch>
#include <map>
#include <mutex>
#include <stdexcept>
#include <system_error>

#include <fmt/format.h>
#include <time.h>

#include "node/node.h"  // EndpointDrops
#include "wire/hex.h"

namespace ringv8::tools {

using nlohmann::json;

namespace {
// {"in": {"246": {"packets": n, "bytes": n}}, "out": {...}}: the ids that occurred.
json MessagesJson(const overlay::TrackerStats& t) {
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
}  // namespace

class TrackerServer::Shard {
 public:
  void Main(int index, uint16_t* port, std::latch& bound, overlay::TrackerTable& table,
            const overlay::PrivateKey& key, const TrackerServerOptions& o) {
    bool counted = false;
    try {
      EndpointOptions options;
      options.ipv4 = Address::ParseIp(o.ip, *port);
      if (!options.ipv4) throw std::runtime_error("bad IPv4 address " + o.ip);
      options.reuse_port = true;
      auto opened = OpenLoopAndEndpoint(o.backend, options);
      if (!opened) throw std::system_error(opened.error(), "cannot open the UDP socket");
      if (index == 0) *port = opened->endpoint->local_addresses().front().port();
      overlay::TrackerOptions tracker_options = o.tracker;
      if (tracker_options.seed != 0) tracker_options.seed += index;
      overlay::Tracker tracker(table, key, *opened->endpoint, *opened->loop, tracker_options);
      {
        std::lock_guard lock(mutex_);
        loop_ = opened->loop.get();
        endpoint_ = opened->endpoint.get();
        backend_ = opened->endpoint->backend_name();
        if (stop_) loop_->Stop();
      }
      bound.count_down();
      counted = true;
      timespec start{};
      clock_gettime(CLOCK_THREAD_CPUTIME_ID, &start);
      // Published once a second (for --metrics and live status) and at the end.
      auto publish = [&] {
        timespec now{};
        clock_gettime(CLOCK_THREAD_CPUTIME_ID, &now);
        const EndpointStats& s = opened->endpoint->stats();
        const overlay::TrackerStats& t = tracker.stats();
        json snapshot = {
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
            {"endpoint_drops", node::EndpointDrops(s)},
            {"crypto_seconds", std::chrono::duration<double>(t.crypto_time).count()},
            {"messages", MessagesJson(t)},
            // When this snapshot was taken (steady clock, seconds): rates between snapshots.
            {"published_at",
             std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch())
                 .count()},
            {"cpu_seconds", static_cast<double>(now.tv_sec - start.tv_sec) +
                                static_cast<double>(now.tv_nsec - start.tv_nsec) / 1e9}};
        std::lock_guard lock(mutex_);
        result_ = std::move(snapshot);
      };
      const EventLoop::TimerId publisher =
          opened->loop->CallEvery(std::chrono::seconds(1), publish);
      opened->loop->RunFor(std::chrono::hours(24 * 365 * 100));
      opened->loop->Cancel(publisher);  // Closing the endpoint runs the loop once more.
      publish();
      std::lock_guard lock(mutex_);
      loop_ = nullptr;
      endpoint_ = nullptr;
    } catch (const std::exception& e) {
      std::lock_guard lock(mutex_);
      error_ = fmt::format("shard {}: {}", index, e.what());
      if (!counted) bound.count_down();
    }
  }
  void Stop() {
    std::lock_guard lock(mutex_);
    stop_ = true;
    if (loop_ != nullptr) loop_->Stop();
  }
  std::pair<uint64_t, uint64_t> packets() const {
    std::lock_guard lock(mutex_);
    if (endpoint_ == nullptr) return {0, 0};
    return {endpoint_->stats().packets_in.value(), endpoint_->stats().packets_out.value()};
  }
  json result() const {
    std::lock_guard lock(mutex_);
    return result_;
  }
  std::string error() const {
    std::lock_guard lock(mutex_);
    return error_;
  }
  std::string backend() const {
    std::lock_guard lock(mutex_);
    return backend_;
  }

 private:
  mutable std::mutex mutex_;
  EventLoop* loop_ = nullptr;
  Endpoint* endpoint_ = nullptr;
  bool stop_ = false;
  json result_ = json::object();
  std::string error_;
  std::string backend_;
};

TrackerServer::TrackerServer(const overlay::PrivateKey& key, TrackerServerOptions options)
    : key_(key), options_(std::move(options)), table_(options_.limits) {}

TrackerServer::~TrackerServer() { Stop(); }

void TrackerServer::Start() {
  port_ = options_.port;
  // Shard 0 binds first (it learns the port when it is 0); the others join that port.
  for (int k = 0; k < std::max(options_.shards, 1); ++k) {
    shards_.push_back(std::make_unique<Shard>());
    std::latch bound(1);
    threads_.emplace_back(
        [this, k, &bound] { shards_[k]->Main(k, &port_, bound, table_, key_, options_); });
    bound.wait();
    if (std::string error = shards_[k]->error(); !error.empty()) {
      Stop();
      throw std::runtime_error(error);
    }
  }
  backend_ = shards_.front()->backend();
}

void TrackerServer::Stop() {
  for (auto& shard : shards_) shard->Stop();
  for (auto& thread : threads_) {
    if (thread.joinable()) thread.join();
  }
}

std::pair<uint64_t, uint64_t> TrackerServer::packets() const {
  uint64_t in = 0, out = 0;
  for (const auto& shard : shards_) {
    auto [i, o] = shard->packets();
    in += i;
    out += o;
  }
  return {in, out};
}

json TrackerServer::Result() const {
  json per_shard = json::array();
  uint64_t requests = 0, responses = 0, introductions = 0, peers = 0;
  std::map<std::string, uint64_t> drops;
  for (const auto& shard : shards_) {
    json r = shard->result();
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
  return {{"mid", overlay::ToHex(key_.mid())},
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

}  // namespace ringv8::tools
