// ringv8 bench tracker: a load generator for IPv8 trackers (ringv8's, py-ipv8's, any).
//
// N peers (own keys, own UDP sockets on 127.0.0.1) in C communities send pre-signed
// introduction-requests, at most one outstanding each: either closed-loop with W requests in
// flight (--window) or open-loop at R requests/s (--rate). Every peer registers once before the
// timed phase, so introductions can name other peers. Measured in the same run: the machine's
// crypto ceiling, one Ed25519 verify + one sign per request on one core, and the tracker's rate
// as a share of it.
#include <netinet/in.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <deque>
#include <iostream>

#include <fmt/format.h>
#include <nlohmann/json.hpp>
#include <spdlog/spdlog.h>

#include "overlay/packet.h"
#include "overlay/payloads.h"
#include "tools/command.h"
#include "tools/tracker_server.h"

namespace ringv8::tools {

namespace {

using nlohmann::json;
using Clock = std::chrono::steady_clock;

struct BenchTrackerOptions {
  std::string target;
  int peers = 1000;
  int communities = 10;
  double duration = 5;
  int window = 64;
  double rate = 0;  // 0: closed loop with --window.
  int shards = 1;
  std::string backend = "auto";
  bool json = false;
};

constexpr int kRequestsPerPeer = 4;  // Pre-signed, used in turn (identifiers 1..4).
constexpr auto kTimeout = std::chrono::seconds(1);

struct BenchPeer {
  int fd = -1;
  std::vector<std::vector<uint8_t>> requests;
  int next = 0;
  std::optional<Clock::time_point> sent;
};

// Ed25519 verify of a signed 246 + one sign of a response-sized message, on this core.
double CryptoCeilingPerCore() {
  const overlay::PrivateKey key = overlay::PrivateKey::Generate();
  overlay::IntroductionRequestPayload request;
  auto packet = overlay::EncodePacketToVector(overlay::MakePrefix({1}), key, 1, request);
  auto view =
      overlay::ParsePacket(*packet, overlay::LayoutOf<overlay::IntroductionRequestPayload>());
  std::vector<uint8_t> response(150, 7);
  int n = 0;
  const auto start = Clock::now();
  while (Clock::now() - start < std::chrono::milliseconds(700)) {
    for (int i = 0; i < 16; ++i, ++n) {
      if (overlay::VerifySignature(*view)) throw std::logic_error("verify failed");
      (void)key.Sign(response);
    }
  }
  return n / std::chrono::duration<double>(Clock::now() - start).count();
}

double Percentile(std::vector<double>& values, double p) {
  if (values.empty()) return 0;
  size_t i = static_cast<size_t>(p * (values.size() - 1));
  std::nth_element(values.begin(), values.begin() + i, values.end());
  return values[i];
}

int RunBenchTracker(const BenchTrackerOptions& o) {
  spdlog::info("measuring the crypto ceiling (verify + sign per request, one core)");
  const double ceiling = CryptoCeilingPerCore();

  std::unique_ptr<TrackerServer> server;
  Address target;
  if (o.target.empty()) {
    TrackerServerOptions options;
    options.ip = "127.0.0.1";
    options.shards = o.shards;
    options.backend = *ParseEndpointBackend(o.backend);
    server = std::make_unique<TrackerServer>(overlay::PrivateKey::Generate(), options);
    server->Start();
    target = *Address::ParseIp("127.0.0.1", server->port());
  } else {
    auto parsed = Address::Parse(o.target);
    if (!parsed) {
      spdlog::error("--target: '{}' is not ip:port", o.target);
      return kExitUsage;
    }
    target = *parsed;
  }

  spdlog::info("pre-signing {} requests from {} peers", o.peers * kRequestsPerPeer, o.peers);
  int epoll = epoll_create1(EPOLL_CLOEXEC);
  std::vector<BenchPeer> peers(o.peers);
  for (int i = 0; i < o.peers; ++i) {
    BenchPeer& p = peers[i];
    p.fd = socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (p.fd < 0 || bind(p.fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0) {
      spdlog::error("cannot open peer socket {}: {}", i, std::strerror(errno));
      return kExitRuntime;
    }
    epoll_event event{.events = EPOLLIN, .data = {.u32 = static_cast<uint32_t>(i)}};
    epoll_ctl(epoll, EPOLL_CTL_ADD, p.fd, &event);
    const overlay::PrivateKey key = overlay::PrivateKey::Generate();
    overlay::CommunityId community{0xBE, static_cast<uint8_t>(i % o.communities),
                                   static_cast<uint8_t>((i % o.communities) >> 8)};
    for (int k = 1; k <= kRequestsPerPeer; ++k) {
      overlay::IntroductionRequestPayload request;
      request.destination_address = target;
      request.source_lan_address = *Address::ParseIp("127.0.0.1", 0);
      request.identifier = static_cast<uint16_t>(k);
      p.requests.push_back(
          *overlay::EncodePacketToVector(overlay::MakePrefix(community), key, k, request));
    }
  }
  sockaddr_storage to;
  const socklen_t to_len = target.ToSockaddr(&to);

  uint64_t sent = 0, responses = 0, timeouts = 0, named = 0, punctures = 0, send_errors = 0;
  std::vector<double> latencies_us;
  std::deque<int> idle;
  for (int i = 0; i < o.peers; ++i) idle.push_back(i);
  auto send_from = [&](int i) {
    BenchPeer& p = peers[i];
    const auto& request = p.requests[p.next++ % kRequestsPerPeer];
    if (sendto(p.fd, request.data(), request.size(), 0, reinterpret_cast<sockaddr*>(&to), to_len) <
        0) {
      ++send_errors;
      idle.push_back(i);
      return;
    }
    p.sent = Clock::now();
    ++sent;
  };
  bool timed = false;
  // Waits up to `timeout` for responses. Open loop (--rate) sleeps until the next send is due;
  // closed loop (--window) polls, so that the tracker's replies never pay for waking it (on a
  // VM a wake-up is an inter-processor interrupt and an exit, measured at 5-8% of the tracker's
  // CPU time).
  auto receive = [&](std::chrono::nanoseconds timeout) {
    epoll_event events[64];
    timespec wait{.tv_sec = static_cast<time_t>(timeout.count() / 1000000000),
                  .tv_nsec = static_cast<long>(timeout.count() % 1000000000)};
    int n = epoll_pwait2(epoll, events, 64, &wait, nullptr);
    for (int e = 0; e < n; ++e) {
      const int i = static_cast<int>(events[e].data.u32);
      uint8_t buffer[2048];
      ssize_t size;
      while ((size = recv(peers[i].fd, buffer, sizeof(buffer), 0)) > 0) {
        if (size <= static_cast<ssize_t>(overlay::kPrefixSize)) continue;
        const uint8_t id = buffer[overlay::kPrefixSize];
        if (id == overlay::PunctureRequestPayload::kMessageId) {
          punctures += timed;
          continue;
        }
        if (id != overlay::IntroductionResponsePayload::kMessageId || !peers[i].sent) continue;
        auto view = overlay::ParsePacket(overlay::Bytes(buffer, static_cast<size_t>(size)),
                                         overlay::LayoutOf<overlay::IntroductionResponsePayload>());
        if (!view) continue;
        auto payload = overlay::DecodePayload<overlay::IntroductionResponsePayload>(view->payload);
        if (!payload) continue;
        if (timed) {
          ++responses;
          named += !payload->wan_introduction_address.is_zero();
          latencies_us.push_back(
              std::chrono::duration<double, std::micro>(Clock::now() - *peers[i].sent).count());
        }
        peers[i].sent.reset();
        idle.push_back(i);
      }
    }
  };
  auto last_expiry = Clock::now();
  auto expire = [&] {
    const auto now = Clock::now();
    if (now - last_expiry < std::chrono::milliseconds(10)) return;  // O(peers): not every poll.
    last_expiry = now;
    for (int i = 0; i < o.peers; ++i) {
      if (peers[i].sent && now - *peers[i].sent > kTimeout) {
        peers[i].sent.reset();
        timeouts += timed;
        idle.push_back(i);
      }
    }
  };

  // Registration: every peer once, W at a time.
  int registered = 0;
  const auto registration_deadline = Clock::now() + std::chrono::seconds(30);
  while (registered < o.peers && Clock::now() < registration_deadline) {
    while (sent - registered < static_cast<uint64_t>(o.window) &&
           sent < static_cast<uint64_t>(o.peers)) {
      send_from(static_cast<int>(sent));
    }
    receive(std::chrono::milliseconds(10));
    expire();
    registered = static_cast<int>(std::count_if(
        peers.begin(), peers.end(), [](const BenchPeer& p) { return !p.sent && p.next > 0; }));
  }
  idle.clear();
  for (int i = 0; i < o.peers; ++i) {
    if (!peers[i].sent) idle.push_back(i);
  }

  spdlog::info(
      "timed phase: {} s, {}", o.duration,
      o.rate > 0 ? fmt::format("{} requests/s", o.rate) : fmt::format("window {}", o.window));
  timed = true;
  sent = 0;
  const auto start = Clock::now();
  const auto end = start + std::chrono::duration_cast<Clock::duration>(
                               std::chrono::duration<double>(o.duration));
  uint64_t in_flight_limit = static_cast<uint64_t>(std::max(o.window, 1));
  while (Clock::now() < end) {
    if (o.rate > 0) {
      const double due = std::chrono::duration<double>(Clock::now() - start).count() * o.rate;
      while (sent < due && !idle.empty()) {
        int i = idle.front();
        idle.pop_front();
        send_from(i);
      }
      const double next = (static_cast<double>(sent) + 1) / o.rate;
      const double now = std::chrono::duration<double>(Clock::now() - start).count();
      receive(std::chrono::nanoseconds(static_cast<int64_t>(std::max(0.0, next - now) * 1e9)));
    } else {
      while (sent - responses - timeouts < in_flight_limit && !idle.empty()) {
        int i = idle.front();
        idle.pop_front();
        send_from(i);
      }
      receive(std::chrono::nanoseconds(0));  // Polls: a reply never has to wake the generator.
    }
    expire();
  }
  const double seconds = std::chrono::duration<double>(Clock::now() - start).count();
  for (BenchPeer& p : peers) close(p.fd);
  close(epoll);

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
      {"latency_us",
       {{"p50", Percentile(latencies_us, 0.5)}, {"p99", Percentile(latencies_us, 0.99)}}},
      {"timeouts", timeouts},
      {"send_errors", send_errors},
      {"introductions_named", named},
      {"puncture_requests_received", punctures},
      {"crypto_ceiling_per_core", ceiling},
      {"ratio_to_one_core_ceiling", responses / seconds / ceiling},
  };
  if (server) {
    server->Stop();
    json tracker = server->Result();
    double cpu = 0, crypto = 0;
    for (const json& shard : tracker["per_shard"]) {
      cpu += shard.value("cpu_seconds", 0.0);
      crypto += shard.value("crypto_seconds", 0.0);
    }
    const double handled = tracker["requests"].get<double>();
    result["tracker"] = {{"shards", o.shards},
                         {"backend", tracker["backend"]},
                         {"requests", tracker["requests"]},
                         {"cpu_seconds", cpu},
                         // Verify + sign over the shards' CPU time: 1.0 would be pure crypto.
                         {"crypto_share_of_cpu", cpu > 0 ? crypto / cpu : 0},
                         {"cpu_seconds_per_1000_requests", handled > 0 ? cpu / handled * 1000 : 0},
                         {"drops", tracker["drops"]},
                         {"entries", tracker["entries"]}};
  }
  if (o.json) {
    std::cout << result.dump() << std::endl;
  } else {
    std::cout << fmt::format(
        "tracker: {:.0f} responses/s ({:.0f}% of one core's crypto ceiling, {:.0f}/s), latency "
        "p50 {:.0f} us p99 {:.0f} us, {} timeouts, {} introductions named a peer, {} puncture "
        "requests received\n",
        responses / seconds, 100 * responses / seconds / ceiling, ceiling,
        result["latency_us"]["p50"].get<double>(), result["latency_us"]["p99"].get<double>(),
        timeouts, named, punctures);
  }
  return kExitOk;
}

}  // namespace

void AddBenchTrackerCommand(CLI::App& bench, RunFunction* run) {
  static BenchTrackerOptions options;
  auto* cmd = bench.add_subcommand(
      "tracker",
      "Load an IPv8 tracker with pre-signed introduction-requests from N peers; without --target "
      "a ringv8 tracker is started in this process on its own shards");
  cmd->add_option("--target", options.target, "Tracker to load, IP:PORT (default: in-process)");
  cmd->add_option("--peers", options.peers, "Peers (keys and source ports)")
      ->check(CLI::Range(1, 60000))
      ->capture_default_str();
  cmd->add_option("--communities", options.communities, "Communities the peers are spread over")
      ->check(CLI::Range(1, 65535))
      ->capture_default_str();
  cmd->add_option("--duration", options.duration, "Seconds of the timed phase")
      ->check(CLI::PositiveNumber)
      ->capture_default_str();
  auto* window = cmd->add_option("--window", options.window, "Requests in flight (closed loop)")
                     ->check(CLI::Range(1, 60000))
                     ->capture_default_str();
  cmd->add_option("--rate", options.rate, "Requests per second instead (open loop)")
      ->check(CLI::PositiveNumber)
      ->excludes(window);
  cmd->add_option("--shards", options.shards, "Shards of the in-process tracker")
      ->check(CLI::Range(1, 64))
      ->capture_default_str();
  cmd->add_option("--backend", options.backend, "Endpoint backend of the in-process tracker")
      ->check(CLI::IsMember({"auto", "uring", "mmsg"}))
      ->capture_default_str();
  cmd->add_flag("--json", options.json, "Print the result as one JSON object");
  cmd->callback([run] { *run = [] { return RunBenchTracker(options); }; });
}

}  // namespace ringv8::tools
