#include "testbed/abuse.h"

#include <algorithm>
#include <optional>
#include <random>
#include <stdexcept>
#include <thread>

#include <nlohmann/json.hpp>
#include <spdlog/spdlog.h>

#include "node/stats_text.h"
#include "testbed/load_generator.h"
#include "testbed/process_memory.h"
#include "tracker/tracker_server.h"
#include "wire/payloads.h"

namespace ringv8::testbed {

namespace {

using nlohmann::json;

constexpr int kPeers = 1000;      // Sockets of the valid load.
constexpr int kCommunities = 10;  // The peers' communities.
constexpr int kWindow = 64;       // Requests in flight when measuring capacity.
constexpr int kRequestsPerPeer = 4;

Duration Seconds(double s) {
  return std::chrono::duration_cast<Duration>(std::chrono::duration<double>(s));
}

wire::CommunityId CommunityOf(int i) { return {0xAB, static_cast<uint8_t>(i % kCommunities)}; }

// The tracker under attack: a TrackerServer on 127.0.0.1, any free port.
struct Target {
  explicit Target(const AbuseOptions& o, tracker::TrackerOptions tracker = {},
                  tracker::TrackerLimits limits = {}) {
    tracker::TrackerServerOptions options;
    options.ip = "127.0.0.1";
    options.shards = o.shards;
    options.backend = o.backend;
    options.tracker = tracker;
    options.limits = limits;
    server = std::make_unique<tracker::TrackerServer>(wire::PrivateKey::Generate(), options);
    server->Start();
    address = *Address::ParseIp("127.0.0.1", server->port());
  }
  // The final statistics (stops the tracker).
  tracker::TrackerServerStats Finish() {
    server->Stop();
    return server->Stats();
  }
  std::unique_ptr<tracker::TrackerServer> server;
  Address address;
};

// kPeers peers with their own keys, each with pre-signed requests used in turn.
struct ValidPeers {
  explicit ValidPeers(const Address& target) {
    for (int i = 0; i < kPeers; ++i) {
      const wire::PrivateKey key = wire::PrivateKey::Generate();
      requests.emplace_back();
      for (int k = 1; k <= kRequestsPerPeer; ++k) {
        requests.back().push_back(
            SignedIntroductionRequest(key, CommunityOf(i), target, static_cast<uint16_t>(k)));
      }
    }
    next.assign(kPeers, 0);
  }
  RequestSource source() {
    return [this](int i) -> std::span<const uint8_t> {
      return requests[i][next[i]++ % kRequestsPerPeer];
    };
  }
  std::vector<std::vector<std::vector<uint8_t>>> requests;
  std::vector<int> next;
};

uint64_t Count(const StatsSnapshot& stats, std::string_view name) {
  return static_cast<uint64_t>(stats.Value(name));
}

// The tracker's drops and its endpoint's, by reason (ring/stats.h says which counters are drops).
json DropsJson(const tracker::TrackerServerStats& stats) {
  return {{"tracker", node::StatsJson(stats.tracker)["drops"]},
          {"endpoint", node::StatsJson(stats.endpoint)["drops"]}};
}

// Received datagrams disposed of with a reason: the drops (not a send that failed, nor
// bookkeeping such as an evicted entry: a full table still answers), and the ones ignored as
// punctures (random bytes whose id byte reads 249 or 231 look like one).
uint64_t DatagramDrops(const tracker::TrackerServerStats& stats) {
  return static_cast<uint64_t>(stats.tracker.Sum(StatKind::kReceiveDrop) +
                               stats.endpoint.Sum(StatKind::kReceiveDrop) +
                               stats.tracker.Value("ignored"));
}

// The tracker's own rate of `counter` (responses) between two snapshots, from what each shard
// published (once a second, with its time): summed over the shards.
double TrackerRate(const tracker::TrackerServerStats& a, const tracker::TrackerServerStats& b,
                   std::string_view counter) {
  double rate = 0;
  for (size_t k = 0; k < a.shards.size() && k < b.shards.size(); ++k) {
    const tracker::TrackerShardStats &x = a.shards[k], &y = b.shards[k];
    const double dt = y.published_at - x.published_at;
    if (dt > 0) {
      rate += (y.tracker.Value(counter) - x.tracker.Value(counter)) / dt;
    }
  }
  return rate;
}

// Runs `phase` for `seconds` and returns the tracker's response rate during it, measured
// between two of its snapshots that both fall inside the phase (the phase runs in two parts).
template <typename Phase>
double TrackerRateDuring(tracker::TrackerServer& server, double seconds, Phase phase,
                         std::vector<LoadStats>* parts) {
  parts->push_back(phase(Seconds(1.5)));
  const tracker::TrackerServerStats a = server.Stats();
  parts->push_back(phase(Seconds(std::max(seconds - 1.5, 1.5))));
  return TrackerRate(a, server.Stats(), "responses");
}

json Overload(const AbuseOptions& o) {
  Target target(o);
  LoadGenerator load(target.address, kPeers);
  ValidPeers peers(target.address);
  const RequestSource source = peers.source();
  load.Register(source, kWindow, std::chrono::seconds(30));
  spdlog::info("overload: measuring the tracker's capacity (closed loop, window {})", kWindow);
  std::vector<LoadStats> capacity, flood, after;
  auto closed = [&](Duration d) { return load.ClosedLoop(source, kWindow, d); };
  const double max_rate = TrackerRateDuring(*target.server, 5, closed, &capacity);
  const double rss_before = ResidentMiB();
  spdlog::info("overload: capacity {:.0f}/s; flooding at {:.0f}/s for {} s", max_rate, 3 * max_rate,
               o.duration);
  const double flood_rate = TrackerRateDuring(
      *target.server, o.duration, [&](Duration d) { return load.Flood(source, 3 * max_rate, d); },
      &flood);
  const double rss_flood = ResidentMiB();
  LoadStats drain = load.Drain(std::chrono::seconds(2));
  spdlog::info("overload: after the flood (closed loop, 5 s)");
  const double after_rate = TrackerRateDuring(*target.server, 5, closed, &after);
  load.Drain(std::chrono::milliseconds(500));  // What is still in flight arrives.
  const tracker::TrackerServerStats r = target.Finish();

  uint64_t sent = kPeers;  // The registration.
  double flood_seconds = 0;
  uint64_t flood_sent = 0, flood_received = 0, flood_send_errors = 0, timeouts_after = 0;
  for (const auto* phase : {&capacity, &flood, &after}) {
    for (const LoadStats& part : *phase) sent += part.sent;
  }
  for (const LoadStats& part : flood) {
    flood_seconds += part.seconds;
    flood_sent += part.sent;
    flood_received += part.responses;
    flood_send_errors += part.send_errors;
  }
  for (const LoadStats& part : after) timeouts_after += part.timeouts;
  const uint64_t arrived = Count(r.endpoint, "packets_in");
  const uint64_t kernel = Count(r.endpoint, "kernel_drops");
  const double held = flood_rate / max_rate;
  const double after_ratio = after_rate / max_rate;
  return {
      {"scenario", "overload"},
      {"capacity_per_second", max_rate},
      {"offered_per_second", flood_sent / flood_seconds},
      {"answered_per_second_during_flood", flood_rate},
      {"share_of_capacity_during_flood", held},
      {"responses_received_per_second_during_flood", flood_received / flood_seconds},
      {"answered_per_second_after", after_rate},
      {"share_of_capacity_after", after_ratio},
      {"timeouts_after", timeouts_after},
      {"latency_us_after",
       {{"p50", after.back().LatencyPercentile(0.5)},
        {"p99", after.back().LatencyPercentile(0.99)}}},
      {"sent", sent},
      {"send_errors", flood_send_errors},
      {"arrived", arrived},
      {"dropped_in_kernel", kernel},
      {"unaccounted", static_cast<int64_t>(sent) - static_cast<int64_t>(arrived + kernel)},
      {"answered_after_flood_stopped", drain.responses},
      {"rss_mib", {{"before", rss_before}, {"end_of_flood", rss_flood}, {"end", ResidentMiB()}}},
      {"entries", Count(r.table, "entries")},
      {"drops", DropsJson(r)},
      {"held", held >= 0.9 && after_ratio >= 0.9 && timeouts_after == 0}};
}

json Keys(const AbuseOptions& o) {
  tracker::TrackerOptions tracker;
  tracker.max_local_peers = o.max_entries;
  tracker::TrackerLimits limits;
  limits.max_entries = o.max_entries;
  Target target(o, tracker, limits);
  LoadGenerator load(target.address, kPeers);
  // Every request from a key never seen before (made as it is sent: keygen + sign).
  std::vector<uint8_t> datagram;
  int made = 0;
  const RequestSource source = [&](int i) -> std::span<const uint8_t> {
    datagram =
        SignedIntroductionRequest(wire::PrivateKey::Generate(), CommunityOf(i), target.address, 1);
    ++made;
    return datagram;
  };
  const double rss_before = ResidentMiB();
  double rss_peak = rss_before;
  uint64_t timeouts = 0;
  const auto start = std::chrono::steady_clock::now();
  while (made < o.keys) {
    // One second at a time (a closed loop; the last second sends no more than the rest).
    LoadStats second = load.ClosedLoop(source, kWindow, std::chrono::seconds(1),
                                       static_cast<uint64_t>(o.keys - made));
    timeouts += second.timeouts;
    rss_peak = std::max(rss_peak, ResidentMiB());
    const tracker::TrackerServerStats now = target.server->Stats();
    spdlog::info("keys: {}/{} sent, {:.0f}/s, {} entries, {} peers, RSS {:.0f} MiB", made, o.keys,
                 second.responses_per_second(), Count(now.table, "entries"),
                 Count(now.tracker, "peers"), ResidentMiB());
  }
  const double seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  const double rss_end = ResidentMiB();
  const tracker::TrackerServerStats r = target.Finish();
  const json table = node::StatsJson(r.table);
  const uint64_t inserted = Count(r.table, "inserted");
  const uint64_t explained = Count(r.table, "entries") + Count(r.table, "evicted_service_full") +
                             Count(r.table, "evicted_table_full") + Count(r.table, "removed");
  const uint64_t peers = Count(r.tracker, "peers");
  return {{"scenario", "keys"},
          {"keys", made},
          {"seconds", seconds},
          {"requests_verified", Count(r.tracker, "requests")},
          {"answered", Count(r.tracker, "responses")},
          {"answered_per_second", r.tracker.Value("responses") / seconds},
          {"timeouts", timeouts},
          {"max_entries", o.max_entries},
          {"table", table},
          {"peers_pinged_by_shards", peers},
          {"ping_timeouts", Count(r.tracker, "ping_timeouts")},
          {"where_entries_went",
           {{"inserted", inserted},
            {"still_in_table", table["entries"]},
            {"evicted_table_full", table["evicted_table_full"]},
            {"evicted_service_full", table["evicted_service_full"]},
            {"removed_silent", table["removed"]},
            {"unexplained", static_cast<int64_t>(inserted) - static_cast<int64_t>(explained)}}},
          {"rss_mib", {{"before", rss_before}, {"peak", rss_peak}, {"end", rss_end}}},
          {"drops", DropsJson(r)},
          {"held", table["entries"].get<uint64_t>() <= o.max_entries && peers <= o.max_entries &&
                       inserted == explained}};
}

// Garbage of every kind, `count` datagrams, reproducible.
std::vector<std::vector<uint8_t>> MakeGarbage(const Address& target, size_t count) {
  std::mt19937_64 random(8);
  auto bytes = [&](size_t n) {
    std::vector<uint8_t> out(n);
    for (auto& b : out) b = static_cast<uint8_t>(random());
    return out;
  };
  const wire::PrivateKey key = wire::PrivateKey::Generate();
  const std::vector<uint8_t> valid = SignedIntroductionRequest(key, CommunityOf(0), target, 7);
  const wire::Prefix prefix = wire::MakePrefix(CommunityOf(0));
  const size_t body = valid.size() - wire::kPrefixSize - 1;
  std::vector<std::vector<uint8_t>> out;
  while (out.size() < count) {
    switch (out.size() % 7) {
      case 0:  // Random, of any length up to a full MTU (some shorter than a prefix).
        out.push_back(bytes(random() % 1473));
        break;
      case 1: {  // A valid prefix and message id, a random rest.
        std::vector<uint8_t> d = bytes(random() % 400);
        d.insert(d.begin(), valid.begin(), valid.begin() + wire::kPrefixSize + 1);
        out.push_back(std::move(d));
        break;
      }
      case 2:  // A signed request cut short.
        out.emplace_back(valid.begin(), valid.begin() + static_cast<long>(random() % valid.size()));
        break;
      case 3: {  // A signed request with 1-3 bits flipped past the prefix, in distinct bytes.
        std::vector<uint8_t> d = valid;
        const size_t first = random() % body, flips = 1 + random() % 3;
        for (size_t f = 0; f < flips; ++f) {
          d[wire::kPrefixSize + 1 + (first + f * body / 3) % body] ^=
              static_cast<uint8_t>(1 << (random() % 8));
        }
        out.push_back(std::move(d));
        break;
      }
      case 4: {  // The key-length field rewritten.
        std::vector<uint8_t> d = valid;
        d[wire::kPrefixSize + 1] = static_cast<uint8_t>(random());
        d[wire::kPrefixSize + 2] = static_cast<uint8_t>(random());
        out.push_back(std::move(d));
        break;
      }
      case 5: {  // 60 KB (a few of them: each costs the generator 60 KB of copying).
        std::vector<uint8_t> d = out.size() % 70 == 5 ? bytes(60000) : bytes(random() % 100 + 23);
        std::copy(prefix.begin(), prefix.end(), d.begin());
        out.push_back(std::move(d));
        break;
      }
      case 6: {  // A message id the tracker does not serve, on a valid request.
        std::vector<uint8_t> d = valid;
        d[wire::kPrefixSize] = static_cast<uint8_t>(1 + random() % 200);
        out.push_back(std::move(d));
        break;
      }
    }
  }
  return out;
}

json Garbage(const AbuseOptions& o) {
  tracker::TrackerOptions tracker;
  tracker.ping_interval = std::chrono::hours(1);  // No liveness traffic to blur the state.
  Target target(o, tracker);
  LoadGenerator valid_load(target.address, kPeers);
  ValidPeers peers(target.address);
  const RequestSource valid = peers.source();
  valid_load.Register(valid, kWindow, std::chrono::seconds(30));
  std::this_thread::sleep_for(std::chrono::milliseconds(1100));  // The shards publish each second.
  const tracker::TrackerServerStats before = target.server->Stats();

  const std::vector<std::vector<uint8_t>> garbage = MakeGarbage(target.address, 7000);
  size_t next = 0;
  const RequestSource source = [&](int) -> std::span<const uint8_t> {
    return garbage[next++ % garbage.size()];
  };
  LoadGenerator garbage_load(target.address, 256);
  spdlog::info("garbage: {} s at full speed from 256 sources", o.duration);
  LoadStats flood = garbage_load.Flood(source, 1e9, Seconds(o.duration));
  garbage_load.Drain(std::chrono::seconds(2));
  const tracker::TrackerServerStats middle = target.server->Stats();
  spdlog::info("garbage: valid requests afterwards");
  LoadStats after = valid_load.Register(valid, kWindow, std::chrono::seconds(30));
  const tracker::TrackerServerStats r = target.Finish();

  const uint64_t accepted = Count(middle.tracker, "requests") - Count(before.tracker, "requests");
  const uint64_t counted = DatagramDrops(r);
  const bool unchanged = accepted == 0 &&
                         Count(middle.table, "inserted") == Count(before.table, "inserted") &&
                         Count(middle.table, "entries") == Count(before.table, "entries") &&
                         Count(middle.tracker, "responses") == Count(before.tracker, "responses");
  return {{"scenario", "garbage"},
          {"sent", flood.sent},
          {"sent_per_second", flood.sent / flood.seconds},
          {"send_errors", flood.send_errors},
          {"replies_to_garbage", flood.received},
          {"requests_accepted", accepted},
          {"state_unchanged", unchanged},
          {"counted_as_drops", counted},
          {"unaccounted", static_cast<int64_t>(flood.sent) - static_cast<int64_t>(counted)},
          {"drops", DropsJson(r)},
          {"valid_requests_after", kPeers},
          {"answered_after", after.responses},
          {"held", unchanged && flood.received == 0 && counted == flood.sent &&
                       after.responses == static_cast<uint64_t>(kPeers)}};
}

json Spoof(const AbuseOptions& o) {
  tracker::TrackerOptions tracker;  // 50/s, burst 200: the defaults of `ringv8 tracker`.
  Target target(o, tracker);
  LoadGenerator victim(target.address, 1);
  std::vector<std::vector<uint8_t>> requests;
  for (int k = 0; k < 1000; ++k) {
    requests.push_back(
        SignedIntroductionRequest(wire::PrivateKey::Generate(), CommunityOf(0), target.address, 1));
  }
  size_t next = 0;
  const RequestSource source = [&](int) -> std::span<const uint8_t> {
    return requests[next++ % requests.size()];
  };
  constexpr double kRate = 5000;
  spdlog::info("spoof: {:.0f} requests/s from one address with 1000 keys for {} s", kRate,
               o.duration);
  LoadStats flood = victim.Flood(source, kRate, Seconds(o.duration));
  const tracker::TrackerServerStats r = target.Finish();
  const double bound = tracker.response_burst + tracker.responses_per_second * flood.seconds;
  // Past the burst (5 s at most), whole seconds only.
  std::optional<uint64_t> max_per_second;  // Not measured in a run of under 7 s.
  for (size_t s = 5; s + 1 < flood.received_per_second.size(); ++s) {
    max_per_second = std::max(max_per_second.value_or(0), flood.received_per_second[s]);
  }
  return {
      {"scenario", "spoof"},
      {"offered_per_second", flood.sent / flood.seconds},
      {"seconds", flood.seconds},
      {"received_by_victim", flood.received},
      {"responses", flood.received_by_id[wire::IntroductionResponsePayload::kMessageId]},
      {"puncture_requests", flood.received_by_id[wire::PunctureRequestPayload::kMessageId] +
                                flood.received_by_id[wire::NewPunctureRequestPayload::kMessageId]},
      {"pings", flood.received_by_id[wire::IntroductionRequestPayload::kMessageId]},
      {"limit_per_second", tracker.responses_per_second},
      {"burst", tracker.response_burst},
      {"bound", bound},
      {"max_in_one_second_after_burst", max_per_second ? json(*max_per_second) : json(nullptr)},
      {"received_per_second", flood.received_per_second},
      {"drops", DropsJson(r)},
      {"held",
       static_cast<double>(flood.received) <= bound &&
           static_cast<double>(max_per_second.value_or(0)) <= tracker.responses_per_second * 1.1}};
}

}  // namespace

json RunAbuseScenario(const std::string& scenario, const AbuseOptions& options) {
  if (scenario == "overload") return Overload(options);
  if (scenario == "keys") return Keys(options);
  if (scenario == "garbage") return Garbage(options);
  if (scenario == "spoof") return Spoof(options);
  throw std::invalid_argument("unknown abuse scenario '" + scenario + "'");
}

}  // namespace ringv8::testbed
