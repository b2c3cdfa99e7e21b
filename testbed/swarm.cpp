#include "testbed/swarm.h"

#include <algorithm>
#include <future>
#include <latch>
#include <map>
#include <memory>
#include <mutex>
#include <stdexcept>
#include <thread>

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include "node/node.h"
#include "node/stats_text.h"
#include "ring/shard.h"
#include "strategies/step_scheduler.h"
#include "testbed/process_memory.h"
#include "wire/hex.h"
#include "wire/keys.h"

namespace ringv8::testbed {

using nlohmann::json;

namespace {

constexpr Duration kSnapshotInterval = std::chrono::milliseconds(100);
constexpr double kBootstrapTimeout = 5.0;  // Seconds between re-bootstraps of a lonely overlay.

std::string CommunityIdHex(int c) {
  const std::string name = fmt::format("ringv8 swarm community {}", c);
  return wire::ToHex(
      wire::ComputeMid(wire::Bytes(reinterpret_cast<const uint8_t*>(name.data()), name.size())));
}

// Small receive rings: hundreds of endpoints share a process, each sees a few packets/s.
EndpointOptions SwarmEndpointOptions() {
  EndpointOptions options;
  options.ipv4 = Address::ParseIp("127.0.0.1", 0);
  options.receive_buffers = 256;
  options.receive_buffer_size = 2048;
  options.send_queue_capacity = 1024;
  options.socket_buffer_bytes = 1 << 20;
  options.gro = false;  // Small packets only: no 64 KiB buffers.
  return options;
}

json Interfaces() {
  return json::array({{{"interface", "UDPIPv4"}, {"ip", "127.0.0.1"}, {"port", 0}}});
}

json BootstrapConfig(int communities) {
  json overlays = json::array();
  for (int c = 0; c < communities; ++c) {
    overlays.push_back({{"class", "Community"},
                        {"key", "id"},
                        {"initialize", {{"community_id", CommunityIdHex(c)}, {"max_peers", -1}}}});
  }
  return {{"interfaces", Interfaces()},
          {"keys", {{{"alias", "id"}, {"generation", "curve25519"}}}},
          {"overlays", overlays}};
}

json NodeConfigJson(const std::vector<int>& communities, const Address& bootstrap, int target) {
  json overlays = json::array();
  overlays.push_back({{"class", "DiscoveryCommunity"},
                      {"key", "id"},
                      {"walkers",
                       {{{"strategy", "RandomChurn"}, {"peers", -1}},
                        {{"strategy", "PeriodicSimilarity"}, {"peers", -1}}}}});
  const json bootstrapper = {{"class", "DispersyBootstrapper"},
                             {"init",
                              {{"ip_addresses", {bootstrap.ToString()}},
                               {"dns_addresses", json::array()},
                               {"bootstrap_timeout", kBootstrapTimeout}}}};
  for (int c : communities) {
    overlays.push_back({{"class", "Community"},
                        {"key", "id"},
                        {"walkers", {{{"strategy", "RandomWalk"}, {"peers", target}}}},
                        {"bootstrappers", {bootstrapper}},
                        {"initialize", {{"community_id", CommunityIdHex(c)}}}});
  }
  return {{"interfaces", Interfaces()},
          {"keys", {{{"alias", "id"}, {"generation", "curve25519"}}}},
          {"walker_interval", 0.5},
          {"overlays", overlays}};
}

// A group of nodes' statistics, summed over its nodes.
struct Counters {
  StatsSnapshot endpoint;  // EndpointStats::Visit.
  StatsSnapshot overlays;  // CommunityStats::Visit.

  void AddEndpoint(const EndpointStats& s) { endpoint.Add(StatsSnapshot::Of(s)); }
  void AddCommunity(const overlay::CommunityStats& s) { overlays.Add(StatsSnapshot::Of(s)); }
  void Merge(const Counters& o) {
    endpoint.Add(o.endpoint);
    overlays.Add(o.overlays);
  }
  uint64_t total_drops() const {
    return static_cast<uint64_t>(endpoint.Drops() + overlays.Drops());
  }
  uint64_t endpoint_count(std::string_view name) const {
    return endpoint.entries().empty() ? 0 : static_cast<uint64_t>(endpoint.Value(name));
  }
  json ToJson() const {
    return {{"endpoint", node::StatsJson(endpoint)}, {"overlays", node::StatsJson(overlays)}};
  }
};

struct ShardSnapshot {
  std::vector<int> at_target;                  // Per community.
  Counters nodes;                              // The swarm's nodes.
  Counters bootstrap;                          // The bootstrap node (shard 0 only).
  uint64_t verified_peers = 0, addresses = 0;  // Summed over the nodes.
  uint64_t max_node_verified = 0, max_node_addresses = 0;
  double max_lag_ms = 0;
  double cpu_seconds = 0;
};

// The shared plan: who is in which community, and each community's goal.
struct Plan {
  SwarmOptions options;
  std::vector<std::vector<int>> communities_of;  // Per node.
  std::vector<int> members;                      // Per community.
  std::vector<int> needed;                       // Peers a member must reach, per community.
};

// One shard of the swarm: a ring::Shard (thread, loop, sockets) with its nodes, its scheduler
// and, on shard 0, the bootstrap node.
class SwarmShard {
 public:
  SwarmShard(int index, const Plan& plan, std::vector<int> node_indices)
      : shard_(fmt::format("shard {}", index), plan.options.backend),
        plan_(plan),
        node_indices_(std::move(node_indices)) {}

  // `bootstrap_promise` is set by shard 0 and awaited by the others. Each shard counts `built`
  // down once built (or failed), then waits for `go` to start its nodes.
  void Start(std::promise<Address>* bootstrap_promise, std::shared_future<Address> bootstrap,
             std::latch& built, std::shared_future<void> go) {
    shard_.Start(
        [this, bootstrap_promise, bootstrap, &built, go](Shard&) {
          try {
            Build(bootstrap_promise, bootstrap);
          } catch (...) {
            if (bootstrap_promise != nullptr && !bootstrap_set_) {
              bootstrap_promise->set_exception(std::current_exception());
            }
            built.count_down();
            throw;
          }
          built.count_down();
          go.wait();
          if (aborted_.load()) return shard_.Stop();  // Another shard failed: tear down.
          scheduler_.Attach(shard_.loop());
          for (auto& n : nodes_) n.node->Start();
          cpu_start_ = shard_.cpu_seconds();
          shard_.loop().CallEvery(kSnapshotInterval, [this] { Publish(); });
          Publish();
          started_ = true;
        },
        [this] {
          if (started_) Publish();
          Teardown();
        });
  }
  // Thread-safe.
  void Stop() { shard_.Stop(); }
  void Join() { shard_.Join(); }
  ShardSnapshot snapshot() const {
    std::lock_guard lock(mutex_);
    return snapshot_;
  }
  std::string error() const { return shard_.error(); }
  bool failed() const { return shard_.failed(); }
  void Abort() { aborted_.store(true); }
  const char* backend() const { return shard_.backend_name(); }

 private:
  struct SwarmNode {
    Endpoint* endpoint = nullptr;  // Owned by the shard.
    std::unique_ptr<node::Node> node;
    std::vector<std::pair<int, overlay::Community*>> communities;
  };

  void Build(std::promise<Address>* bootstrap_promise, std::shared_future<Address> bootstrap) {
    if (bootstrap_promise != nullptr) {
      bootstrap_endpoint_ = &shard_.OpenEndpoint(SwarmEndpointOptions());
      bootstrap_node_ = std::make_unique<node::Node>(
          shard_.loop(), node::NodeConfig::FromJson(BootstrapConfig(plan_.options.communities)),
          node::NodeOptions{.endpoint = bootstrap_endpoint_, .scheduler = &scheduler_});
      bootstrap_node_->Start();
      bootstrap_promise->set_value(bootstrap_endpoint_->local_addresses().front());
      bootstrap_set_ = true;
    }
    const Address tracker = bootstrap.get();
    for (int i : node_indices_) {
      SwarmNode n;
      n.endpoint = &shard_.OpenEndpoint(SwarmEndpointOptions());
      n.node = std::make_unique<node::Node>(
          shard_.loop(),
          node::NodeConfig::FromJson(
              NodeConfigJson(plan_.communities_of[i], tracker, plan_.options.target_peers)),
          node::NodeOptions{.endpoint = n.endpoint, .scheduler = &scheduler_});
      auto overlays = n.node->GetOverlays<overlay::Community>();
      // overlays[0] is DiscoveryCommunity; the rest follow communities_of[i]'s order.
      for (size_t k = 0; k < plan_.communities_of[i].size(); ++k) {
        n.communities.emplace_back(plan_.communities_of[i][k], overlays[k + 1]);
      }
      nodes_.push_back(std::move(n));
    }
  }

  void Publish() {
    ShardSnapshot s;
    s.at_target.assign(plan_.members.size(), 0);
    for (const SwarmNode& n : nodes_) {
      for (const auto& [c, community] : n.communities) {
        if (static_cast<int>(community->GetPeers().size()) >= plan_.needed[c]) ++s.at_target[c];
      }
      s.nodes.AddEndpoint(n.endpoint->stats());
      const overlay::Network& network = n.node->network();
      s.verified_peers += network.verified_count();
      s.addresses += network.address_count();
      s.max_node_verified = std::max<uint64_t>(s.max_node_verified, network.verified_count());
      s.max_node_addresses = std::max<uint64_t>(s.max_node_addresses, network.address_count());
      for (overlay::Community* c : n.node->GetOverlays<overlay::Community>()) {
        s.nodes.AddCommunity(c->stats());
      }
    }
    if (bootstrap_node_) {
      s.bootstrap.AddEndpoint(bootstrap_endpoint_->stats());
      for (overlay::Community* c : bootstrap_node_->GetOverlays<overlay::Community>()) {
        s.bootstrap.AddCommunity(c->stats());
      }
    }
    s.max_lag_ms = std::chrono::duration<double, std::milli>(scheduler_.max_lag()).count();
    s.cpu_seconds = shard_.cpu_seconds() - cpu_start_;
    std::lock_guard lock(mutex_);
    snapshot_ = std::move(s);
  }

  // On the shard's thread, before its endpoints close.
  void Teardown() {
    scheduler_.Detach();
    for (auto& n : nodes_) n.node->Stop();
    if (bootstrap_node_) bootstrap_node_->Stop();
    nodes_.clear();
    bootstrap_node_.reset();
  }

  Shard shard_;
  const Plan& plan_;
  std::vector<int> node_indices_;
  strategies::StepScheduler scheduler_;
  Endpoint* bootstrap_endpoint_ = nullptr;  // Owned by the shard.
  std::unique_ptr<node::Node> bootstrap_node_;
  std::vector<SwarmNode> nodes_;
  bool bootstrap_set_ = false;
  bool started_ = false;
  double cpu_start_ = 0;
  std::atomic<bool> aborted_{false};

  mutable std::mutex mutex_;  // Guards the snapshot (the monitor reads it; not the packet path).
  ShardSnapshot snapshot_;
};

Plan MakePlan(const SwarmOptions& options) {
  Plan plan;
  plan.options = options;
  const int c = options.communities;
  const int m =
      options.communities_per_node > 0 ? std::min(options.communities_per_node, c) : std::min(c, 5);
  plan.options.communities_per_node = m;
  plan.members.assign(c, 0);
  plan.communities_of.resize(options.nodes);
  for (int i = 0; i < options.nodes; ++i) {
    for (int j = 0; j < m; ++j) {
      int community = (i * m + j) % c;
      // Two slots of one node may land on the same community when m does not divide c evenly.
      auto& mine = plan.communities_of[i];
      while (std::find(mine.begin(), mine.end(), community) != mine.end()) {
        community = (community + 1) % c;
      }
      mine.push_back(community);
      ++plan.members[community];
    }
  }
  for (int k = 0; k < c; ++k) {
    plan.needed.push_back(std::min(options.target_peers, std::max(plan.members[k] - 1, 0)));
  }
  return plan;
}

double Median(std::vector<double> values) {
  if (values.empty()) return 0;
  std::sort(values.begin(), values.end());
  const size_t n = values.size();
  return n % 2 == 1 ? values[n / 2] : (values[n / 2 - 1] + values[n / 2]) / 2;
}

}  // namespace

Swarm::Swarm(SwarmOptions options) : options_(options) {
  if (options_.shards <= 0) {
    options_.shards = static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
  }
  options_.shards = std::min(options_.shards, std::max(options_.nodes, 1));
}

json Swarm::Run(const std::function<void(const SwarmProgress&)>& progress, const Wait& wait) {
  const Plan plan = MakePlan(options_);
  const int shards = options_.shards;
  for (int c = 0; c < options_.communities; ++c) {
    if (plan.members[c] <= options_.target_peers) {
      spdlog::warn("community {} has {} members: its members aim for {} peers, not {}", c,
                   plan.members[c], plan.needed[c], options_.target_peers);
    }
  }

  std::vector<std::unique_ptr<SwarmShard>> shard_list;
  for (int k = 0; k < shards; ++k) {
    std::vector<int> mine;
    for (int i = k; i < options_.nodes; i += shards) mine.push_back(i);
    shard_list.push_back(std::make_unique<SwarmShard>(k, plan, std::move(mine)));
  }
  std::promise<Address> bootstrap_promise;
  std::shared_future<Address> bootstrap = bootstrap_promise.get_future().share();
  std::promise<void> go_promise;
  std::shared_future<void> go = go_promise.get_future().share();
  std::latch built(shards);
  const auto build_start = std::chrono::steady_clock::now();
  for (int k = 0; k < shards; ++k) {
    shard_list[k]->Start(k == 0 ? &bootstrap_promise : nullptr, bootstrap, built, go);
  }
  built.wait();
  std::string error;
  for (auto& shard : shard_list) {
    if (shard->failed()) error = shard->error();
  }
  if (!error.empty()) {
    for (auto& shard : shard_list) shard->Abort();
  }
  const double build_seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - build_start).count();
  const auto start = std::chrono::steady_clock::now();
  const double rss_built = ResidentMiB();
  go_promise.set_value();

  auto elapsed = [&] {
    return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  };
  std::vector<double> converged_after(options_.communities, -1);
  int converged = 0;
  bool interrupted = false;
  double next_report = 1.0;
  // The memory profile: resident memory once a minute, at convergence and at its peak, and the
  // largest tables seen.
  json rss_per_minute = json::array({rss_built});
  double rss_converged = 0, rss_peak = rss_built;
  uint64_t peak_node_verified = 0, peak_node_addresses = 0;
  auto collect = [&] {
    SwarmProgress p;
    p.elapsed = elapsed();
    p.members = plan.members;
    p.at_target.assign(options_.communities, 0);
    for (auto& shard : shard_list) {
      ShardSnapshot s = shard->snapshot();
      for (size_t c = 0; c < s.at_target.size(); ++c) p.at_target[c] += s.at_target[c];
      for (const Counters* c : {&s.nodes, &s.bootstrap}) {
        p.packets_in += c->endpoint_count("packets_in");
        p.packets_out += c->endpoint_count("packets_out");
        p.drops += c->total_drops();
        p.kernel_drops += c->endpoint_count("kernel_drops");
      }
      p.max_lag_ms = std::max(p.max_lag_ms, s.max_lag_ms);
      p.verified_peers += s.verified_peers;
      p.addresses += s.addresses;
      p.max_node_verified = std::max(p.max_node_verified, s.max_node_verified);
      p.max_node_addresses = std::max(p.max_node_addresses, s.max_node_addresses);
    }
    p.rss_mib = ResidentMiB();
    return p;
  };
  while (error.empty() && elapsed() < options_.duration) {
    if (!wait(kSnapshotInterval)) {
      interrupted = true;
      break;
    }
    SwarmProgress p = collect();
    const bool was_converged = converged == options_.communities;
    for (int c = 0; c < options_.communities; ++c) {
      if (converged_after[c] < 0 && p.at_target[c] >= plan.members[c]) {
        converged_after[c] = p.elapsed;
        ++converged;
      }
    }
    const bool all_converged = converged == options_.communities;
    if (all_converged && !was_converged) rss_converged = p.rss_mib;
    rss_peak = std::max(rss_peak, p.rss_mib);
    peak_node_verified = std::max(peak_node_verified, p.max_node_verified);
    peak_node_addresses = std::max(peak_node_addresses, p.max_node_addresses);
    if (p.elapsed >= 60.0 * static_cast<double>(rss_per_minute.size())) {
      rss_per_minute.push_back(p.rss_mib);
    }
    if (p.elapsed >= next_report || (all_converged && !was_converged)) {
      progress(p);
      next_report = std::floor(p.elapsed) + 1.0;
    }
    if (all_converged && !options_.soak) break;
    for (auto& shard : shard_list) {
      if (shard->failed()) error = shard->error();
    }
  }
  const double run_seconds = elapsed();
  const SwarmProgress at_end = collect();
  for (auto& shard : shard_list) shard->Stop();
  for (auto& shard : shard_list) shard->Join();
  for (auto& shard : shard_list) {
    if (shard->failed() && error.empty()) error = shard->error();
  }
  if (!error.empty()) throw std::runtime_error(error);

  Counters nodes, bootstrap_counters;
  json cpu = json::array();
  double max_lag_ms = 0;
  for (auto& shard : shard_list) {
    ShardSnapshot s = shard->snapshot();
    nodes.Merge(s.nodes);
    bootstrap_counters.Merge(s.bootstrap);
    cpu.push_back(s.cpu_seconds);
    max_lag_ms = std::max(max_lag_ms, s.max_lag_ms);
  }
  SwarmProgress last = collect();
  std::vector<double> times;
  json per_community = json::array();
  for (int c = 0; c < options_.communities; ++c) {
    if (converged_after[c] >= 0) times.push_back(converged_after[c]);
    per_community.push_back(
        {{"community_id", CommunityIdHex(c)},
         {"members", plan.members[c]},
         {"needed_peers", plan.needed[c]},
         {"at_target", last.at_target[c]},
         {"converged_after", converged_after[c] >= 0 ? json(converged_after[c]) : json(nullptr)}});
  }
  const double n = std::max(options_.nodes, 1);
  return {{"nodes", options_.nodes},
          {"communities", options_.communities},
          {"communities_per_node", plan.options.communities_per_node},
          {"target_peers", options_.target_peers},
          {"shards", shards},
          {"backend", shard_list.front()->backend()},
          {"build_seconds", build_seconds},
          {"run_seconds", run_seconds},
          {"interrupted", interrupted},
          {"converged", converged == options_.communities},
          {"converged_communities", converged},
          {"convergence_seconds",
           {{"median", times.empty() ? json(nullptr) : json(Median(times))},
            {"worst", converged == options_.communities
                          ? json(*std::max_element(times.begin(), times.end()))
                          : json(nullptr)}}},
          {"per_node",
           {{"packets_in", nodes.endpoint_count("packets_in") / n},
            {"packets_out", nodes.endpoint_count("packets_out") / n},
            {"bytes_in", nodes.endpoint_count("bytes_in") / n},
            {"bytes_out", nodes.endpoint_count("bytes_out") / n}}},
          // Summed over the swarm's nodes, and of the bootstrap node.
          {"statistics", {{"nodes", nodes.ToJson()}, {"bootstrap", bootstrap_counters.ToJson()}}},
          {"drops_total", nodes.total_drops() + bootstrap_counters.total_drops()},
          {"kernel_drops", nodes.endpoint_count("kernel_drops") +
                               bootstrap_counters.endpoint_count("kernel_drops")},
          {"cpu_seconds_per_shard", cpu},
          {"max_scheduler_lag_ms", max_lag_ms},
          {"soak", options_.soak},
          {"memory",
           {{"rss_mib_built", rss_built},
            {"rss_mib_converged",
             converged == options_.communities ? json(rss_converged) : json(nullptr)},
            {"rss_mib_end", at_end.rss_mib},
            {"rss_mib_peak", std::max(rss_peak, at_end.rss_mib)},
            {"rss_mib_per_minute", rss_per_minute}}},
          {"tables",
           {{"verified_peers_end", at_end.verified_peers},
            {"addresses_end", at_end.addresses},
            {"max_node_verified_peers", std::max(peak_node_verified, at_end.max_node_verified)},
            {"max_node_addresses", std::max(peak_node_addresses, at_end.max_node_addresses)},
            {"max_addresses_per_node_bound", overlay::Network::kDefaultMaxAddresses}}},
          {"per_community", per_community}};
}

}  // namespace ringv8::testbed
