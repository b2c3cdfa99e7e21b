// Tracker: one shard of an IPv8 bootstrap server (spec 8.3; py-ipv8's tracker_service.py).
//
// It listens to every prefix. On an introduction-request (246, and unlike py-ipv8 also 234) for
// any community id it verifies the signature, records the peer (address, LAN address, key) under
// that service in the shared TrackerTable, answers with an introduction-response on the same
// prefix introducing a random other peer of the service, and first sends that peer the
// puncture-request (spec 3.5). It introduces no peer of its own and never becomes a peer.
//
// Liveness as py-ipv8's: every ping_interval each peer this shard heard gets a signed
// introduction-request on one of its services (round-robin); no response within ping_timeout
// removes that service; a response with peer_limit_reached removes it too; a peer without
// services is forgotten. Unlike py-ipv8 there is no global cap of 100 peers: TrackerLimits bound
// the table instead. A peer's first ping comes after a random 0.5-1.5 ping intervals, so peers
// that registered together (a restart, a flash crowd) are not pinged in one burst; the pings
// and timeouts sit in a timer wheel of 10 ms slots, so a tick costs only the peers due in it.
//
// Abuse: every packet the tracker sends (response, puncture-request, ping) spends a token of the
// bucket of the address it goes to, so no address gets more than responses_per_second (after a
// burst) however many sources or keys name it: the tracker cannot be made to reflect a flood at
// a spoofed address. A request's token is taken before its signature is verified; a puncture
// without a token is not sent, a ping without one counts as unanswered. Every drop is counted by
// reason.
//
// Thread-affine: one Tracker per shard, on that shard's loop thread; the table is shared.
#ifndef RINGV8_TRACKER_TRACKER_H_
#define RINGV8_TRACKER_TRACKER_H_

#include <array>
#include <cstdint>
#include <map>
#include <optional>
#include <random>
#include <string>
#include <unordered_map>
#include <vector>

#include "ring/endpoint.h"
#include "ring/event_loop.h"
#include "ring/stats.h"
#include "ring/token_bucket.h"
#include "tracker/tracker_table.h"
#include "wire/keys.h"
#include "wire/packet.h"

namespace ringv8::tracker {

struct TrackerOptions {
  Duration ping_interval = std::chrono::seconds(10);
  Duration ping_timeout = std::chrono::seconds(5);
  // Per address: packets sent to it per second and the burst allowed (0: no limit).
  double responses_per_second = 50;
  double response_burst = 200;
  size_t max_sources = 1000000;      // Token buckets kept at most.
  size_t max_local_peers = 4000000;  // Peers this shard pings at most.
  uint64_t seed = 0;                 // 0: random.
};

struct TrackerStats {
  uint64_t requests = 0;       // Verified introduction-requests.
  uint64_t responses = 0;      // Introduction-responses sent.
  uint64_t introductions = 0;  // Responses that named a peer.
  uint64_t punctures = 0;      // Puncture-requests sent.
  uint64_t pings = 0;          // Liveness requests sent.
  uint64_t ping_answers = 0;
  uint64_t ping_timeouts = 0;   // Services dropped for silence.
  uint64_t limit_removals = 0;  // Services dropped for peer_limit_reached.
  uint64_t forgotten = 0;       // Peers without services left.
  Duration crypto_time{0};      // Spent verifying and signing.
  // Bounded bookkeeping: the request is still answered (or the table stays bounded).
  uint64_t table_full = 0;             // The shared table refused a new entry.
  uint64_t local_peers_full = 0;       // Not pinged: this shard pings max_local_peers already.
  uint64_t bucket_evicted = 0;         // A token bucket evicted at max_sources.
  uint64_t puncture_rate_limited = 0;  // A puncture-request not sent (the peer's rate).
  uint64_t ping_rate_limited = 0;      // A ping not sent (the peer's rate); its service dropped.
  uint64_t send_failed = 0;            // The endpoint refused a datagram (a drop there).
  // Normal peer traffic a tracker does not answer: punctures (249, 231) of peers that learned
  // its address, similarity-requests (1) of DiscoveryCommunity (by id in `messages`).
  uint64_t ignored = 0;
  // Received datagrams dropped, by reason.
  uint64_t rate_limited = 0;         // The source's token bucket was empty.
  uint64_t unknown_message = 0;      // Not an introduction request or response.
  uint64_t unexpected_response = 0;  // A response to no pending ping.
  std::array<uint64_t, wire::kWireErrorCount> wire_errors{};  // Did not decode or verify.
  uint64_t other_errors = 0;                                  // Failed for another reason.
  MessageCounts messages;  // Received (whatever became of them) and sent, by message id.

  // Every counter with its name and kind (ring/stats.h).
  template <typename F>
  void Visit(F&& fn) const {
    using enum StatKind;
    fn(Stat{"requests", kCounter, "Verified introduction-requests."}, requests);
    fn(Stat{"responses", kCounter, "Introduction-responses sent."}, responses);
    fn(Stat{"introductions", kCounter, "Responses that introduced a peer."}, introductions);
    fn(Stat{"punctures", kCounter, "Puncture-requests sent."}, punctures);
    fn(Stat{"pings", kCounter, "Liveness introduction-requests sent."}, pings);
    fn(Stat{"ping_answers", kCounter, "Liveness requests answered."}, ping_answers);
    fn(Stat{"ping_timeouts", kCounter, "Services dropped because the peer stayed silent."},
       ping_timeouts);
    fn(Stat{"limit_removals", kCounter, "Services dropped for peer_limit_reached."},
       limit_removals);
    fn(Stat{"forgotten", kCounter, "Peers forgotten (no services left)."}, forgotten);
    fn(Stat{"crypto_seconds", kSeconds, "Time spent verifying and signing."},
       std::chrono::duration<double>(crypto_time).count());
    fn(Stat{"table_full", kCounter, "New entries the full table refused."}, table_full);
    fn(Stat{"local_peers_full", kCounter, "Peers not pinged (max_local_peers)."}, local_peers_full);
    fn(Stat{"bucket_evicted", kCounter, "Token buckets evicted (max_sources)."}, bucket_evicted);
    fn(Stat{"puncture_rate_limited", kCounter, "Puncture-requests not sent (rate)."},
       puncture_rate_limited);
    fn(Stat{"ping_rate_limited", kCounter, "Pings not sent (rate)."}, ping_rate_limited);
    fn(Stat{"send_failed", kCounter, "Sends the endpoint refused (a drop there)."}, send_failed);
    fn(Stat{"ignored", kCounter, "Punctures and similarity-requests (not answered, not drops)."},
       ignored);
    fn(Stat{"rate_limited", kReceiveDrop, "The source's token bucket was empty."}, rate_limited);
    fn(Stat{"unknown_message", kReceiveDrop, "Not an introduction request or response."},
       unknown_message);
    fn(Stat{"unexpected_response", kReceiveDrop, "A response to no pending ping."},
       unexpected_response);
    wire::VisitWireErrors(wire_errors, "Datagrams that did not decode or verify.", fn);
    fn(Stat{"other_errors", kReceiveDrop, "Datagrams that failed otherwise."}, other_errors);
  }
};

class Tracker final : public EndpointListener {
 public:
  // `key` signs responses and pings; the table may be shared with other shards.
  Tracker(TrackerTable& table, const wire::PrivateKey& key, Endpoint& endpoint, EventLoop& loop,
          const TrackerOptions& options = {});
  ~Tracker();
  Tracker(const Tracker&) = delete;
  Tracker& operator=(const Tracker&) = delete;

  void OnPacket(const Address& source, std::span<const uint8_t> datagram) override;

  const TrackerStats& stats() const { return stats_; }
  size_t local_peers() const { return local_.size(); }
  size_t sources() const { return buckets_.size(); }  // Addresses with a token bucket.
  // stats() and the two gauges above, with their names and kinds (ring/stats.h).
  template <typename F>
  void Visit(F&& fn) const {
    stats_.Visit(fn);
    fn(Stat{"peers", StatKind::kGauge, "Peers the shard keeps alive."}, local_peers());
    fn(Stat{"sources", StatKind::kGauge, "Addresses with a token bucket."}, sources());
  }

 private:
  struct Pending {
    wire::ServiceId service;
    uint16_t identifier;
    TimePoint deadline;
  };
  struct LocalPeer {
    Address address;
    std::vector<wire::ServiceId> services;
    size_t next_service = 0;
    TimePoint next_ping{0};
    std::optional<Pending> pending;
  };

  template <typename RequestP>
  void OnRequest(const Address& source, wire::Bytes datagram, bool new_style);
  template <typename ResponseP>
  void OnResponse(const Address& source, wire::Bytes datagram);
  void Tick();
  // Files `mid` in the wheel slot of `due` (the last slot if `due` is further away).
  void Schedule(const wire::Mid& mid, TimePoint due);
  // The peer's next liveness event is due: time out its ping, or ping it. False: forget it.
  bool OnDue(const wire::Mid& mid, LocalPeer& peer, TimePoint now);
  void DropService(const wire::Mid& mid, LocalPeer& local, const wire::ServiceId& service);
  bool TakeToken(const Address& source);
  static void Count(uint64_t& counter) { ++counter; }
  void CountDecodeError(const std::error_code& error);
  template <typename P>
  void SendSigned(const Address& to, const wire::Prefix& prefix, const P& payload, uint64_t gt);
  template <typename P>
  void SendUnsigned(const Address& to, const wire::Prefix& prefix, const P& payload, uint64_t gt);

  TrackerTable& table_;
  wire::PrivateKey key_;
  Endpoint& endpoint_;
  EventLoop& loop_;
  TrackerOptions options_;
  Address local_address_;  // EstimatedLanAddress of the endpoint, read once (it does not move).
  struct MidHash {
    size_t operator()(const wire::Mid& mid) const {
      uint64_t h;
      std::memcpy(&h, mid.data(), sizeof(h));
      return static_cast<size_t>(h);
    }
  };
  std::unordered_map<wire::Mid, LocalPeer, MidHash> local_;
  std::unordered_map<Address, TokenBucket> buckets_;
  uint64_t global_time_ = 0;
  std::mt19937_64 random_;
  EventLoop::TimerId ticker_ = 0;
  // Timer wheel: slot (tick % size) holds the peers whose next ping or timeout falls in that
  // tick; every local peer is in exactly one slot. A peer found early is filed again.
  std::vector<std::vector<wire::Mid>> wheel_;
  int64_t wheel_tick_ = 0;  // The last tick processed.
  TrackerStats stats_;
};

}  // namespace ringv8::tracker

#endif  // RINGV8_TRACKER_TRACKER_H_
