#include "testbed/tracker_bench.h"

#include <algorithm>
#include <chrono>
#include <iostream>

#include <fmt/format.h>
#include <nlohmann/json.hpp>
#include <spdlog/spdlog.h>

#include "node/stats_text.h"
#include "testbed/load_generator.h"
#include "tracker/tracker_server.h"
#include "wire/packet.h"
#include "wire/payloads.h"

namespace ringv8::testbed {

namespace {

using nlohmann::json;
using Clock = std::chrono::steady_clock;

constexpr int kRequestsPerPeer = 4;  // Pre-signed, used in turn (identifiers 1..4).

// Ed25519 verify of a signed 246 + one sign of a response-sized message, on this core.
double CryptoCeilingPerCore() {
  const wire::PrivateKey key = wire::PrivateKey::Generate();
  wire::IntroductionRequestPayload request;
  auto packet = wire::EncodePacketToVector(wire::MakePrefix({1}), key, 1, request);
  auto view = wire::ParsePacket(*packet, wire::LayoutOf<wire::IntroductionRequestPayload>());
  std::vector<uint8_t> response(150, 7);
  int n = 0;
  const auto start = Clock::now();
  while (Clock::now() - start < std::chrono::milliseconds(700)) {
    for (int i = 0; i < 16; ++i, ++n) {
      if (wire::VerifySignature(*view)) throw std::logic_error("verify failed");
      (void)key.Sign(response);
    }
  }
  return n / std::chrono::duration<double>(Clock::now() - start).count();
}

}  // namespace

json RunTrackerBench(const TrackerBenchOptions& o) {
  spdlog::info("measuring the crypto ceiling (verify + sign per request, one core)");
  const double ceiling = CryptoCeilingPerCore();

  std::unique_ptr<tracker::TrackerServer> server;
  Address target;
  if (!o.target) {
    tracker::TrackerServerOptions options;
    options.ip = "127.0.0.1";
    options.shards = o.shards;
    options.backend = o.backend;
    server = std::make_unique<tracker::TrackerServer>(wire::PrivateKey::Generate(), options);
    server->Start();
    target = *Address::ParseIp("127.0.0.1", server->port());
  } else {
    target = *o.target;
  }

  spdlog::info("pre-signing {} requests from {} peers", o.peers * kRequestsPerPeer, o.peers);
  LoadGenerator load(target, o.peers);
  std::vector<std::vector<std::vector<uint8_t>>> requests(o.peers);  // Per peer, used in turn.
  std::vector<int> next(o.peers, 0);
  for (int i = 0; i < o.peers; ++i) {
    const wire::PrivateKey key = wire::PrivateKey::Generate();
    wire::CommunityId community{0xBE, static_cast<uint8_t>(i % o.communities),
                                static_cast<uint8_t>((i % o.communities) >> 8)};
    for (int k = 1; k <= kRequestsPerPeer; ++k) {
      requests[i].push_back(
          SignedIntroductionRequest(key, community, target, static_cast<uint16_t>(k)));
    }
  }
  const RequestSource source = [&](int i) -> std::span<const uint8_t> {
    return requests[i][next[i]++ % kRequestsPerPeer];
  };

  // Registration: every peer once, W at a time, so introductions can name other peers.
  load.Register(source, o.window, std::chrono::seconds(30));
  spdlog::info(
      "timed phase: {} s, {}", o.duration,
      o.rate > 0 ? fmt::format("{} requests/s", o.rate) : fmt::format("window {}", o.window));
  const Duration duration =
      std::chrono::duration_cast<Duration>(std::chrono::duration<double>(o.duration));
  LoadStats run = o.rate > 0 ? load.OpenLoop(source, o.rate, duration)
                             : load.ClosedLoop(source, o.window, duration);
  const double seconds = run.seconds;
  const uint64_t sent = run.sent, responses = run.responses, timeouts = run.timeouts,
                 named = run.named, send_errors = run.send_errors;
  const uint64_t punctures = run.received_by_id[wire::PunctureRequestPayload::kMessageId] +
                             run.received_by_id[wire::NewPunctureRequestPayload::kMessageId];

  json result = {
      {"peers", o.peers},
      {"communities", o.communities},
      {"mode", o.rate > 0 ? "rate" : "window"},
      {"window", o.window},
      {"offered_rate", o.rate},
      {"seconds", seconds},
      {"requests_sent", sent},
      {"responses", responses},
      {"responses_per_second", responses / seconds},
      {"latency_us", {{"p50", run.LatencyPercentile(0.5)}, {"p99", run.LatencyPercentile(0.99)}}},
      {"timeouts", timeouts},
      {"send_errors", send_errors},
      {"introductions_named", named},
      {"puncture_requests_received", punctures},
      {"crypto_ceiling_per_core", ceiling},
      {"ratio_to_one_core_ceiling", responses / seconds / ceiling},
  };
  if (server) {
    server->Stop();
    const tracker::TrackerServerStats tracker = server->Stats();
    double cpu = 0;
    for (const tracker::TrackerShardStats& shard : tracker.shards) cpu += shard.cpu_seconds;
    const double crypto = tracker.tracker.Value("crypto_seconds");
    const double handled = tracker.tracker.Value("requests");
    result["tracker"] = {{"shards", o.shards},
                         {"backend", server->backend()},
                         {"requests", static_cast<uint64_t>(handled)},
                         {"cpu_seconds", cpu},
                         // Verify + sign over the shards' CPU time: 1.0 would be pure crypto.
                         {"crypto_share_of_cpu", cpu > 0 ? crypto / cpu : 0},
                         {"cpu_seconds_per_1000_requests", handled > 0 ? cpu / handled * 1000 : 0},
                         {"drops", node::StatsJson(tracker.tracker)["drops"]},
                         {"endpoint_drops", node::StatsJson(tracker.endpoint)["drops"]},
                         {"entries", static_cast<uint64_t>(tracker.table.Value("entries"))}};
  }
  return result;
}

}  // namespace ringv8::testbed
