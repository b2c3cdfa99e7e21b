// TunnelCommunity: py-ipv8's TunnelCommunity (relay, exit, client; tunnel spec 5), byte-exact.
//
// A peer of the tunnel overlay that advertises its flags in every introduction, answers CREATE
// (state T: terminal hop of a circuit), extends circuits on EXTEND (T -> R) and then relays cells:
// forward it removes its layer, backward it adds one, swapping the circuit id. As a terminal hop
// it answers PING and speed tests, and with EXIT_BT / EXIT_IPV8 it is an exit (spec 5.7): DATA
// leaves through the circuit's ExitSocket, replies come back as DATA. DESTROY is verified by its
// signer's key, acted on and propagated. Every dropped cell or message is counted by reason.
//
// Where py-ipv8 is weak, this class does better without anything a py-ipv8 peer can see (spec 6):
// CREATED's candidate list is sealed with counter 1 (Q1), CREATED is matched by identifier,
// circuit id and source (Q2), relay_early is limited to 8 forward cells per relayed circuit (Q3),
// a relayed circuit is one record (Q5), cells must come from the neighbour on their side (Q6),
// circuit ids in use are refused and never drawn (Q9), CREATEs are rate-limited per source (Q12),
// EXTEND targets that are IPv6 or not global are refused unless this relay is on loopback (Q13).
//
// Bounds an operator sets: joined circuits, relayed bytes per second in total and per circuit
// (token buckets; cells over the budget are dropped and counted), traffic per circuit, CREATEs
// per source, the candidate table; as an exit, exit sockets open, exit bytes per second in total
// and per circuit, new destinations per circuit per second. An exit refuses (and counts) what
// its flags do not allow (Q4: before opening anything) and destinations that are not public
// unicast or are this host's own.
//
// Thread-affine: call only on the loop's thread.
#ifndef RINGV8_TUNNEL_TUNNEL_COMMUNITY_H_
#define RINGV8_TUNNEL_TUNNEL_COMMUNITY_H_

#include <array>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "overlay/community.h"
#include "ring/stats.h"
#include "ring/token_bucket.h"
#include "tunnel/circuit.h"
#include "tunnel/exit_socket.h"
#include "tunnel/exit_traffic.h"
#include "tunnel/host_resolver.h"
#include "tunnel/layer_cipher.h"
#include "tunnel/payloads.h"
#include "tunnel/relay_table.h"
#include "tunnel/session_keys.h"
#include "tunnel/tunnel_random.h"
#include "tunnel/udp_forward.h"

namespace ringv8::tunnel {

// py-ipv8's TunnelCommunity id, and Tribler's (TriblerTunnelCommunity).
extern const wire::CommunityId kPyIpv8TunnelCommunityId;
extern const wire::CommunityId kTriblerTunnelCommunityId;

struct TunnelSettings {
  // Advertised in every introduction; RELAY|SPEED_TEST is py-ipv8's default. 0: joins nothing.
  PeerFlags peer_flags = kFlagRelay | kFlagSpeedTest;
  // Relayed plus terminal circuits (py-ipv8: 100, each relayed circuit counted twice).
  size_t max_joined_circuits = 10000;
  int max_relay_early = 8;             // Flagged forward cells per relayed circuit.
  double max_time_inactive = 20;       // Seconds without a cell before a circuit is dropped.
  double max_time = 3600;              // Age limit of terminal circuits (relays have none).
  uint64_t max_traffic = 10737418240;  // Bytes per circuit, then DESTROY(1).
  double unstable_timeout = 60;        // The EXTEND window after CREATE.
  double next_hop_timeout = 10;        // A CREATE sent on EXTEND waits this long for CREATED.
  double housekeeping_interval = 5;    // py-ipv8's do_circuits.
  // Relayed bytes per second (cells over the budget are dropped), 0: unlimited.
  double max_relay_rate = 0;
  double max_circuit_rate = 0;
  // CREATEs answered per source IP: rate per second and burst (spec Q12).
  double create_rate = 20;
  double create_burst = 50;
  size_t max_create_sources = 65536;  // Source buckets kept; beyond, the table is reset.
  size_t max_candidates = 1024;       // Peers whose flags are kept.
  // Speed-test responses larger than this are not sent (the datagram limit is 65507).
  size_t max_test_response = 65507 - 64;
  AeadImpl aead = AeadImpl::kAuto;
  // Client role: own circuits at most, the ping interval, the attempts per circuit
  // (py-ipv8: circuit_timeout / next_hop_timeout = 6).
  size_t max_circuits = 1000;
  size_t min_circuits = 1;  // py-ipv8's: circuits kept per hop count asked for (BuildTunnels).
  double ping_interval = 7.5;
  int max_circuit_attempts = 6;
  // A client's first forward cell through a hop uses counter 3: py-ipv8 hops sealed their
  // candidate list with counter 2 under the same key (spec Q1). False: py-ipv8's 2.
  bool skip_reused_counter = true;
  // py-ipv8 lists a CREATE's own sender among the candidates in CREATED; ringv8 leaves it out
  // (spec 3.2; clients skip it anyway). True reproduces py-ipv8's list byte for byte.
  bool list_create_sender = false;
  // Exit role (EXIT_BT / EXIT_IPV8 in peer_flags): circuits with exit sockets at once, exit
  // bytes per second (out and back) in total and per circuit, new destinations per circuit per
  // second (burst: two seconds of it); 0: unlimited.
  size_t max_exit_sockets = 1000;
  double max_exit_rate = 0;
  double max_exit_circuit_rate = 0;
  double max_exit_destination_rate = 100;
  // Destinations an exit refuses unless allowed here: loopback (tests: 127.0.0.0/8, ::1), and
  // any non-public IP listed (tests: the vectors' TEST-NET destination).
  bool exit_allow_loopback = false;
  std::vector<Address> exit_allowed_ips;
};

// "dropped_id_13": the name of TunnelStats::dropped_by_id[13] (static storage).
std::string_view DroppedIdName(uint8_t id);

struct TunnelStats {
  // Work done.
  uint64_t circuits_joined = 0;    // CREATE answered (state T).
  uint64_t circuits_extended = 0;  // T -> R: EXTENDED sent.
  uint64_t extends_sent = 0;       // CREATE sent to a next hop on EXTEND.
  uint64_t relayed_cells_forward = 0;
  uint64_t relayed_bytes_forward = 0;
  uint64_t relayed_cells_backward = 0;
  uint64_t relayed_bytes_backward = 0;
  uint64_t pings_answered = 0;
  uint64_t speed_tests_answered = 0;
  uint64_t destroys_received = 0;
  uint64_t destroys_sent = 0;
  uint64_t circuits_expired = 0;       // Inactive or too old, removed silently.
  uint64_t circuits_over_traffic = 0;  // Over max_traffic, removed with DESTROY.
  uint64_t extends_timed_out = 0;      // CREATE on EXTEND without CREATED in time.
  uint64_t send_failures = 0;
  uint64_t handshakes = 0;       // CREATE handshakes computed (tmp key, two DH, keys).
  double handshake_seconds = 0;  // Time spent in them.
  // Drops, by reason.
  uint64_t truncated_cell = 0;         // Shorter than a cell, or a payload that does not decode.
  uint64_t unknown_circuit = 0;        // Encrypted cell on no known circuit.
  uint64_t bad_tag = 0;                // The layer did not open.
  uint64_t plaintext_not_allowed = 0;  // Plaintext cell of another id, or on a relayed circuit.
  uint64_t wrong_source = 0;           // Not from the neighbour on that side (Q6).
  uint64_t relay_early_limit = 0;
  uint64_t over_budget = 0;    // Over max_relay_rate / max_circuit_rate.
  uint64_t not_relay = 0;      // CREATE or EXTEND while not advertising RELAY.
  uint64_t circuit_limit = 0;  // CREATE at max_joined_circuits.
  uint64_t create_rate_limited = 0;
  uint64_t circuit_id_in_use = 0;  // CREATE for an id in use (Q9).
  uint64_t bad_handshake = 0;      // Bad key length or an all-zero DH.
  uint64_t extend_without_relay_early = 0;
  uint64_t extend_window_closed = 0;  // EXTEND more than unstable_timeout after CREATE.
  uint64_t extend_refused = 0;        // Target unknown, IPv6, or not global (Q13).
  uint64_t created_unmatched = 0;     // CREATED for no pending CREATE of ours (Q2).
  uint64_t unauthorized_destroy = 0;
  uint64_t data_not_exit = 0;  // DATA at a terminal hop that is not an exit.
  // Several shards: cells and DESTROYs of another shard's circuits passed to it, or dropped.
  uint64_t handed_off = 0;
  uint64_t handoff_dropped = 0;  // Its queue was full.
  // Exit role: work, per class of traffic (BitTorrent, IPv8), and refusals.
  uint64_t exit_sockets_opened = 0;
  uint64_t exit_datagrams_out_bt = 0;
  uint64_t exit_bytes_out_bt = 0;
  uint64_t exit_datagrams_out_ipv8 = 0;
  uint64_t exit_bytes_out_ipv8 = 0;
  uint64_t exit_datagrams_back_bt = 0;
  uint64_t exit_bytes_back_bt = 0;
  uint64_t exit_datagrams_back_ipv8 = 0;
  uint64_t exit_bytes_back_ipv8 = 0;
  uint64_t exit_not_allowed = 0;          // Payload of a class the flags do not allow.
  uint64_t exit_own_tunnel = 0;           // IPv8 to the tunnel overlay (hidden services).
  uint64_t exit_no_destination = 0;       // Destination 0.0.0.0:0 or port 0.
  uint64_t exit_refused_loopback = 0;     // Destination 127/8 or ::1.
  uint64_t exit_refused_not_public = 0;   // Private, link-local, multicast, reserved ...
  uint64_t exit_refused_own_address = 0;  // This host's own addresses.
  uint64_t exit_no_ipv6 = 0;              // IPv6 destination, no IPv6 socket.
  uint64_t exit_hostname_unresolved = 0;
  uint64_t exit_socket_limit = 0;       // At max_exit_sockets.
  uint64_t exit_socket_failed = 0;      // The kernel refused a socket.
  uint64_t exit_over_budget = 0;        // Over max_exit_rate / max_exit_circuit_rate, out.
  uint64_t exit_destination_rate = 0;   // Over max_exit_destination_rate.
  uint64_t exit_send_failed = 0;        // The exit socket refused the datagram.
  uint64_t exit_reply_not_allowed = 0;  // A reply the flags do not allow.
  uint64_t exit_reply_over_budget = 0;
  uint64_t speed_test_refused = 0;  // Not advertising SPEED_TEST, or too large.
  uint64_t hidden_services = 0;     // Ids 9-18, in cells or as datagrams.
  uint64_t tribler_http = 0;        // Ids 28/29.
  uint64_t unknown_cell_id = 0;
  // The same drops by message id (cells' inner ids, and 13/17/18 as datagrams): the counter
  // dropped_id_N, listed once its count is not 0.
  std::array<uint64_t, 256> dropped_by_id{};
  // Client role.
  uint64_t circuits_created = 0;  // Circuits started.
  uint64_t circuits_ready = 0;
  uint64_t circuits_failed = 0;  // No hop, or out of attempts.
  uint64_t hop_timeouts = 0;     // CREATE/EXTEND without an answer in next_hop_timeout.
  uint64_t pongs_received = 0;
  uint64_t pings_timed_out = 0;
  uint64_t data_received = 0;       // DATA cells handed to the data handler.
  uint64_t udp_forwarded_out = 0;   // Local datagrams sent into a circuit (AddUdpForward).
  uint64_t udp_forwarded_back = 0;  // Replies handed to the local sender.
  uint64_t udp_forward_no_circuit = 0;
  uint64_t bad_auth = 0;         // CREATED/EXTENDED whose auth did not verify.
  uint64_t unexpected_cell = 0;  // A cell on an own circuit that answers nothing pending.

  template <typename F>
  void Visit(F&& fn) const {
    using enum StatKind;
    fn(Stat{"circuits_joined", kCounter, "CREATEs answered."}, circuits_joined);
    fn(Stat{"circuits_extended", kCounter, "Circuits extended (EXTENDED sent)."},
       circuits_extended);
    fn(Stat{"extends_sent", kCounter, "CREATEs sent to a next hop on EXTEND."}, extends_sent);
    fn(Stat{"relayed_cells_forward", kCounter, "Cells relayed toward the exit."},
       relayed_cells_forward);
    fn(Stat{"relayed_bytes_forward", kCounter, "Bytes relayed toward the exit."},
       relayed_bytes_forward);
    fn(Stat{"relayed_cells_backward", kCounter, "Cells relayed toward the client."},
       relayed_cells_backward);
    fn(Stat{"relayed_bytes_backward", kCounter, "Bytes relayed toward the client."},
       relayed_bytes_backward);
    fn(Stat{"pings_answered", kCounter, "PINGs answered as the last hop."}, pings_answered);
    fn(Stat{"speed_tests_answered", kCounter, "Speed tests answered."}, speed_tests_answered);
    fn(Stat{"destroys_received", kCounter, "Valid DESTROYs acted on."}, destroys_received);
    fn(Stat{"destroys_sent", kCounter, "DESTROYs sent."}, destroys_sent);
    fn(Stat{"circuits_expired", kCounter, "Circuits removed as idle or too old."},
       circuits_expired);
    fn(Stat{"circuits_over_traffic", kCounter, "Circuits destroyed over max_traffic."},
       circuits_over_traffic);
    fn(Stat{"extends_timed_out", kCounter, "CREATEs on EXTEND that got no CREATED."},
       extends_timed_out);
    fn(Stat{"handshakes", kCounter, "CREATE handshakes computed."}, handshakes);
    fn(Stat{"handshake_seconds", kSeconds, "Time spent computing CREATE handshakes."},
       handshake_seconds);
    fn(Stat{"cell_send_failures", kCounter, "Tunnel sends the endpoint refused (a drop there)."},
       send_failures);
    fn(Stat{"truncated_cell", kReceiveDrop, "Short cells and undecodable payloads."},
       truncated_cell);
    fn(Stat{"unknown_circuit", kReceiveDrop, "Encrypted cells on no known circuit."},
       unknown_circuit);
    fn(Stat{"handed_off", kCounter, "Cells and DESTROYs passed to the shard owning the circuit."},
       handed_off);
    fn(Stat{"handoff_dropped", kReceiveDrop,
            "Cells and DESTROYs for another shard dropped: its queue was full."},
       handoff_dropped);
    fn(Stat{"bad_tag", kReceiveDrop, "Layers that did not open."}, bad_tag);
    fn(Stat{"plaintext_not_allowed", kReceiveDrop, "Plaintext cells that must be encrypted."},
       plaintext_not_allowed);
    fn(Stat{"wrong_source", kReceiveDrop, "Cells not from the circuit's neighbour."}, wrong_source);
    fn(Stat{"relay_early_limit", kReceiveDrop, "relay_early cells over the limit."},
       relay_early_limit);
    fn(Stat{"over_budget", kReceiveDrop, "Cells over the relay bandwidth budget."}, over_budget);
    fn(Stat{"not_relay", kReceiveDrop, "CREATE/EXTEND while not a relay."}, not_relay);
    fn(Stat{"circuit_limit", kReceiveDrop, "CREATEs at max_joined_circuits."}, circuit_limit);
    fn(Stat{"create_rate_limited", kReceiveDrop, "CREATEs over the per-source rate."},
       create_rate_limited);
    fn(Stat{"circuit_id_in_use", kReceiveDrop, "CREATEs for a circuit id in use."},
       circuit_id_in_use);
    fn(Stat{"bad_handshake", kReceiveDrop, "CREATEs with a bad key or an all-zero DH."},
       bad_handshake);
    fn(Stat{"extend_without_relay_early", kReceiveDrop, "EXTENDs without relay_early."},
       extend_without_relay_early);
    fn(Stat{"extend_window_closed", kReceiveDrop, "EXTENDs after the window closed."},
       extend_window_closed);
    fn(Stat{"extend_refused", kReceiveDrop, "EXTENDs to an unknown or refused target."},
       extend_refused);
    fn(Stat{"created_unmatched", kReceiveDrop, "CREATEDs matching no pending CREATE."},
       created_unmatched);
    fn(Stat{"unauthorized_destroy", kReceiveDrop, "DESTROYs not signed by the neighbour."},
       unauthorized_destroy);
    fn(Stat{"data_not_exit", kReceiveDrop, "DATA at a terminal hop that is not an exit."},
       data_not_exit);
    fn(Stat{"exit_sockets_opened", kCounter, "Circuits that opened exit sockets."},
       exit_sockets_opened);
    fn(Stat{"exit_datagrams_out_bt", kCounter, "BitTorrent datagrams sent out of the exit."},
       exit_datagrams_out_bt);
    fn(Stat{"exit_bytes_out_bt", kCounter, "BitTorrent bytes sent out of the exit."},
       exit_bytes_out_bt);
    fn(Stat{"exit_datagrams_out_ipv8", kCounter, "IPv8 datagrams sent out of the exit."},
       exit_datagrams_out_ipv8);
    fn(Stat{"exit_bytes_out_ipv8", kCounter, "IPv8 bytes sent out of the exit."},
       exit_bytes_out_ipv8);
    fn(Stat{"exit_datagrams_back_bt", kCounter, "BitTorrent replies tunnelled back."},
       exit_datagrams_back_bt);
    fn(Stat{"exit_bytes_back_bt", kCounter, "BitTorrent reply bytes tunnelled back."},
       exit_bytes_back_bt);
    fn(Stat{"exit_datagrams_back_ipv8", kCounter, "IPv8 replies tunnelled back."},
       exit_datagrams_back_ipv8);
    fn(Stat{"exit_bytes_back_ipv8", kCounter, "IPv8 reply bytes tunnelled back."},
       exit_bytes_back_ipv8);
    fn(Stat{"exit_not_allowed", kReceiveDrop, "DATA of a class the exit flags do not allow."},
       exit_not_allowed);
    fn(Stat{"exit_own_tunnel", kReceiveDrop, "DATA to the tunnel overlay (hidden services)."},
       exit_own_tunnel);
    fn(Stat{"exit_no_destination", kReceiveDrop, "DATA without a destination."},
       exit_no_destination);
    fn(Stat{"exit_refused_loopback", kReceiveDrop, "DATA to a loopback address."},
       exit_refused_loopback);
    fn(Stat{"exit_refused_not_public", kReceiveDrop,
            "DATA to a private, link-local, multicast or reserved address."},
       exit_refused_not_public);
    fn(Stat{"exit_refused_own_address", kReceiveDrop, "DATA to this host's own address."},
       exit_refused_own_address);
    fn(Stat{"exit_no_ipv6", kReceiveDrop, "DATA to IPv6 without an IPv6 exit socket."},
       exit_no_ipv6);
    fn(Stat{"exit_hostname_unresolved", kReceiveDrop, "DATA to a host name that did not resolve."},
       exit_hostname_unresolved);
    fn(Stat{"exit_socket_limit", kReceiveDrop, "DATA that needed an exit socket over the limit."},
       exit_socket_limit);
    fn(Stat{"exit_socket_failed", kReceiveDrop, "DATA whose exit socket could not be opened."},
       exit_socket_failed);
    fn(Stat{"exit_over_budget", kReceiveDrop, "DATA over the exit bandwidth budget."},
       exit_over_budget);
    fn(Stat{"exit_destination_rate", kReceiveDrop, "DATA to new destinations over the rate."},
       exit_destination_rate);
    fn(Stat{"exit_send_failed", kSendDrop, "Datagrams the exit socket refused."}, exit_send_failed);
    fn(Stat{"exit_reply_not_allowed", kReceiveDrop, "Replies the exit flags do not allow."},
       exit_reply_not_allowed);
    fn(Stat{"exit_reply_over_budget", kReceiveDrop, "Replies over the exit bandwidth budget."},
       exit_reply_over_budget);
    fn(Stat{"speed_test_refused", kReceiveDrop, "Speed tests not answered."}, speed_test_refused);
    fn(Stat{"hidden_services", kReceiveDrop, "Hidden-services messages (ids 9-18)."},
       hidden_services);
    fn(Stat{"tribler_http", kReceiveDrop, "Tribler HTTP messages (ids 28/29)."}, tribler_http);
    fn(Stat{"unknown_cell_id", kReceiveDrop, "Cells with an unknown message id."}, unknown_cell_id);
    for (size_t id = 0; id < dropped_by_id.size(); ++id) {
      if (dropped_by_id[id] != 0) {
        fn(Stat{DroppedIdName(static_cast<uint8_t>(id)), kCounter,
                "Messages of this id dropped (hidden services, HTTP, unknown)."},
           dropped_by_id[id]);
      }
    }
    fn(Stat{"circuits_created", kCounter, "Own circuits started."}, circuits_created);
    fn(Stat{"circuits_ready", kCounter, "Own circuits that reached their hops."}, circuits_ready);
    fn(Stat{"circuits_failed", kCounter, "Own circuits that could not be built."}, circuits_failed);
    fn(Stat{"hop_timeouts", kCounter, "Hops that did not answer CREATE/EXTEND in time."},
       hop_timeouts);
    fn(Stat{"pongs_received", kCounter, "PONGs on own circuits."}, pongs_received);
    fn(Stat{"pings_timed_out", kCounter, "PINGs on own circuits not answered in time."},
       pings_timed_out);
    fn(Stat{"data_received", kCounter, "DATA cells received on own circuits."}, data_received);
    fn(Stat{"udp_forwarded_out", kCounter, "Local datagrams forwarded into a circuit."},
       udp_forwarded_out);
    fn(Stat{"udp_forwarded_back", kCounter, "Replies forwarded to the local sender."},
       udp_forwarded_back);
    fn(Stat{"udp_forward_no_circuit", kReceiveDrop, "Local datagrams with no ready circuit."},
       udp_forward_no_circuit);
    fn(Stat{"bad_auth", kReceiveDrop, "CREATED/EXTENDED whose auth did not verify."}, bad_auth);
    fn(Stat{"unexpected_cell", kReceiveDrop, "Cells on own circuits answering nothing."},
       unexpected_cell);
  }
};

class TunnelCommunity : public overlay::Community {
 public:
  // `my_key` is the curve25519 identity (its X25519 half answers handshakes). `random` replaces
  // the RNG (tests replay recorded draws); null: libsodium's.
  TunnelCommunity(const wire::CommunityId& community_id, std::shared_ptr<overlay::Peer> my_peer,
                  const wire::PrivateKey& my_key, Endpoint& endpoint, overlay::Network& network,
                  EventLoop& loop, const overlay::CommunitySettings& settings = {},
                  const TunnelSettings& tunnel_settings = {},
                  std::unique_ptr<TunnelRandom> random = nullptr);
  ~TunnelCommunity() override;

  const TunnelSettings& tunnel_settings() const { return tunnel_settings_; }
  const TunnelStats& tunnel_stats() const { return tunnel_stats_; }
  // The tunnel counters and tables, after the community's (Community::Visit).
  void VisitOverlayStats(const std::function<void(const Stat&, double)>& fn) const override {
    tunnel_stats_.Visit(fn);
    fn(Stat{"relayed_circuits", StatKind::kGauge, "Circuits relayed (state R)."}, relays_.size());
    fn(Stat{"terminal_circuits", StatKind::kGauge, "Circuits ending here (state T)."},
       terminal_.size());
    fn(Stat{"pending_extends", StatKind::kGauge, "CREATEs on EXTEND awaiting CREATED."},
       pending_extends_.size());
    fn(Stat{"candidates", StatKind::kGauge, "Peers whose flags are known."}, candidates_.size());
    fn(Stat{"circuits", StatKind::kGauge, "Own circuits (client role)."}, circuits_.size());
    fn(Stat{"exit_sockets", StatKind::kGauge, "Circuits with exit sockets open."},
       exit_sockets_.size());
    fn(Stat{"exit_receive_buffer_bytes", StatKind::kGauge,
            "Receive buffers the exit sockets share (mapped; resident as far as used)."},
       ExitReceiveMemoryBytes());
    const ExitSocketLosses losses = ExitSocketLossTotals();
    fn(Stat{"exit_kernel_drops", StatKind::kReceiveDrop,
            "Replies the kernel dropped: an exit socket's receive buffer was full."},
       losses.kernel_drops);
    fn(Stat{"exit_kernel_send_errors", StatKind::kSendDrop,
            "Datagrams the kernel refused to send from an exit socket."},
       losses.send_errors);
  }

  // ---- Client role (spec 5.8) ----
  enum class CircuitEvent : uint8_t { kReady, kFailed, kClosed };
  using CircuitHandler = std::function<void(uint32_t circuit_id, CircuitEvent event)>;
  // DATA that came back on an own circuit: where it came from and the UDP payload.
  using DataHandler =
      std::function<void(uint32_t circuit_id, const wire::AnyAddress& origin, wire::Bytes data)>;
  void SetCircuitHandler(CircuitHandler handler) { circuit_handler_ = std::move(handler); }
  void SetDataHandler(DataHandler handler) { data_handler_ = std::move(handler); }

  // Starts a circuit of `hops` hops through RELAY candidates (the last from the previous hop's
  // exit candidates), or ending at `required_exit`. Returns its id, or 0 if it cannot start (no
  // first hop, max_circuits). The circuit handler hears kReady or kFailed.
  uint32_t CreateCircuit(size_t hops, std::optional<RequiredHop> required_exit = std::nullopt);
  const Circuit* GetCircuit(uint32_t circuit_id) const;
  size_t circuit_count() const { return circuits_.size(); }
  // DATA(destination, origin 0.0.0.0:0, payload) through a ready circuit; false if it is not.
  bool SendData(uint32_t circuit_id, const wire::AnyAddress& destination, wire::Bytes payload);
  // py-ipv8's build_tunnels: keep one more circuit of `hops` hops (at least min_circuits, at
  // most max_circuits), built now and rebuilt by housekeeping when one goes.
  void BuildTunnels(size_t hops);
  // A ready circuit of `hops` hops, or 0.
  uint32_t ReadyCircuit(size_t hops) const;
  // Datagrams to `listen` go through a ready circuit of `hops` hops to `destination`; what comes
  // back from it is sent to the last local sender (ringv8's; py-ipv8 has Tribler's SOCKS5 server
  // for this). Opens the local socket on the node's loop; fails with the kernel's error.
  std::error_code AddUdpForward(const Address& listen, const Address& destination, size_t hops);
  // PING to the last verified hop of every circuit with one (also every ping_interval).
  void PingCircuits();
  // py-ipv8's send_test_request: request_size random bytes, asking for response_size back.
  bool SendTestRequest(uint32_t circuit_id, uint16_t request_size, uint16_t response_size);
  // Tears the circuit down: DESTROY(reason) to its first hop (none for reason 0), then removed.
  void RemoveCircuit(uint32_t circuit_id, uint16_t reason);

  // The flags a peer of this overlay advertised (0 if unknown).
  PeerFlags FlagsOf(const overlay::Peer& peer) const;
  // Records `flags` for a verified peer (what an introduction from it does); public for tests.
  void SetCandidateFlags(const overlay::Peer& peer, PeerFlags flags);
  size_t relayed_circuits() const { return relays_.size(); }
  size_t terminal_circuits() const { return terminal_.size(); }
  // The ids of the circuits that end here (state T).
  std::vector<uint32_t> TerminalCircuitIds() const;
  // Heap bytes the circuit tables hold now: every entry (keys, counters, neighbours) with its
  // allocation, and the bucket arrays.
  size_t TableBytes() const;
  // Exit role: circuits with exit sockets, their sockets (null if none), their receive buffers.
  size_t exit_socket_count() const { return exit_sockets_.size(); }
  const ExitSocket* GetExitSocket(uint32_t circuit_id) const;
  size_t ExitReceiveMemoryBytes() const;
  // What the kernel lost on the exit sockets, open and closed: replies dropped because a
  // socket's receive buffer was full, and datagrams it refused to send.
  struct ExitSocketLosses {
    uint64_t kernel_drops = 0;
    uint64_t send_errors = 0;
    void Add(const ExitSocket& socket) {
      kernel_drops += socket.endpoint_stats().kernel_drops.value();
      send_errors += socket.endpoint_stats().send_errors.value();
    }
  };
  ExitSocketLosses ExitSocketLossTotals() const;
  // Resolves the host names of DATA cells (default: getaddrinfo on a worker thread).
  void SetHostResolver(std::unique_ptr<HostResolver> resolver);

  // Ends a circuit that ends here (py-ipv8's remove_exit_socket): DESTROY(reason) to its
  // previous hop unless reason is 0, then its state and exit sockets go. False if unknown.
  bool DestroyTerminalCircuit(uint32_t circuit_id, uint16_t reason);

  // Runs py-ipv8's do_circuits now (also every housekeeping_interval).
  void Housekeeping();

  // ---- Several shards on one port (docs/architecture.md, "Several shards") ----
  // Work for the shard that owns a circuit, run there on its thread with its community.
  using ShardTask = std::function<void(TunnelCommunity& owner)>;
  // Queues `task` for shard `shard`; false if its queue is full (the caller counts the drop).
  using HandOff = std::function<bool(uint32_t shard, ShardTask task)>;
  // This community is shard `index` of `count`, each with its own socket on the relay's port,
  // cells steered to shard circuit_id mod count (tunnel/cell_steering.h). The circuit ids it
  // chooses (its circuits' next links, its own circuits) have that remainder too, so both
  // directions of a circuit arrive at the shard that owns it. A cell or DESTROY that arrives here
  // for another shard's circuit (a GRO read is steered by its first datagram; DESTROY is not a
  // cell) goes there through `hand_off`. Call before any traffic; count 1: one shard, no hand-off.
  void SetShard(uint32_t index, uint32_t count, HandOff hand_off);
  uint32_t shard_index() const { return shard_index_; }
  uint32_t shard_count() const { return shard_count_; }
  // Only shard 0 walks and hears introductions; the others learn the candidates (for CREATED's
  // list and EXTEND's next hop) from it. Shard 0 sends its snapshot to every other shard through
  // the hand-off at every housekeeping, and the others adopt it as their candidates and verified
  // peers (nothing else enters their networks).
  struct SharedCandidate {
    std::array<uint8_t, wire::kLibNaClKeyBinSize> key_bin{};
    Address address;
    PeerFlags flags = 0;
  };
  std::vector<SharedCandidate> CandidateSnapshot() const;
  void AdoptCandidates(const std::vector<SharedCandidate>& snapshot);

 protected:
  wire::Bytes IntroductionExtraBytes() const override { return flags_bytes_; }
  void IntroductionRequestCallback(overlay::Peer& peer, uint64_t global_time,
                                   const overlay::IntroductionRequest& request) override;
  void IntroductionResponseCallback(overlay::Peer& peer, uint64_t global_time,
                                    const overlay::IntroductionResponse& response) override;

 private:
  struct Offered {
    wire::Mid mid{};
    Address address;  // Where it was when offered (used if it is no longer verified).
  };
  // State T (py-ipv8's exit_sockets entry, for exits and non-exits alike).
  struct TerminalCircuit {
    SessionKeys keys;
    Neighbour previous;
    TimePoint created{};
    TimePoint last_activity{};
    uint64_t bytes = 0;
    // The CreatedRequestCache: the candidates offered in CREATED, until extend_until.
    TimePoint extend_until{};
    std::vector<Offered> offered;
    // Its exit socket once opened (owned by exit_sockets_; cleared when that closes): a cell
    // finds it without a second lookup.
    ExitSocket* exit_socket = nullptr;
  };
  // py-ipv8's CreateRequestCache, keyed by the circuit id of our CREATE to the next hop.
  struct PendingExtend {
    uint16_t identifier = 0;         // Of our CREATE.
    uint16_t extend_identifier = 0;  // Of the client's EXTEND, echoed in EXTENDED.
    uint32_t from_circuit_id = 0;
    Neighbour next;
    TimePoint expires{};
  };
  struct Candidate {
    wire::Mid mid{};
    std::array<uint8_t, wire::kLibNaClKeyBinSize> key_bin{};
    PeerFlags flags = 0;
  };

  void OnCell(const Address& source, wire::Bytes datagram);
  bool OwnsCircuitId(uint32_t circuit_id) const {
    return shard_count_ == 1 || circuit_id % shard_count_ == shard_index_;
  }
  void HandOffTo(uint32_t circuit_id, ShardTask task);
  void RelayForward(const Address& source, wire::Bytes datagram, RelayedCircuit& circuit,
                    bool relay_early);
  void RelayBackward(const Address& source, wire::Bytes datagram, RelayedCircuit& circuit);
  void OnTerminalCell(const Address& source, wire::Bytes datagram, uint32_t circuit_id,
                      TerminalCircuit& terminal, bool relay_early);
  void OnCreate(const Address& source, uint32_t circuit_id, wire::Bytes body);
  void OnCreated(const Address& source, uint32_t circuit_id, wire::Bytes body);
  void OnExtend(uint32_t circuit_id, TerminalCircuit& terminal, wire::Bytes body);
  void OnPing(uint32_t circuit_id, TerminalCircuit& terminal, wire::Bytes body);
  void OnTestRequest(uint32_t circuit_id, TerminalCircuit& terminal, uint8_t cell_id,
                     wire::Bytes body);
  void OnDestroy(const std::shared_ptr<overlay::Peer>& signer, const DestroyPayload& destroy);

  // Exit role (tunnel_exit.cpp).
  void OnExitData(uint32_t circuit_id, TerminalCircuit& terminal, wire::Bytes body);
  void SendOut(uint32_t circuit_id, TerminalCircuit& terminal, ExitClass traffic, const Address& to,
               wire::Bytes data);
  void OnExitReply(uint32_t circuit_id, const Address& source, wire::Bytes data);
  // Counts and returns false for a destination the exit must not send to.
  bool ExitDestinationAllowed(const Address& to);
  ExitSocket* ExitSocketFor(uint32_t circuit_id, TerminalCircuit& terminal);
  void CloseExitSocket(uint32_t circuit_id);
  void OnCandidateFlags(overlay::Peer& peer, wire::Bytes extra_bytes);

  // Client role (tunnel_client.cpp).
  void OnCircuitCell(const Address& source, wire::Bytes datagram, Circuit& circuit);
  void OnCircuitCreated(const Address& source, Circuit& circuit, wire::Bytes body);
  void OnCircuitExtended(Circuit& circuit, wire::Bytes body);
  // Verifies the pending hop's handshake, adds it and extends further or becomes ready.
  void AddVerifiedHop(Circuit& circuit, const Key32& tmp_public, const Key32& auth,
                      wire::Bytes candidates_enc);
  void SendCreate(Circuit& circuit);
  void ExtendCircuit(Circuit& circuit);
  // Seals `message` for every verified hop and sends it to the first hop.
  void SendForward(Circuit& circuit, wire::Bytes message, bool force_relay_early = false);
  void RetryHop(Circuit& circuit);
  void FailCircuit(uint32_t circuit_id);
  void ClientHousekeeping(TimePoint now);
  // Starts the circuits circuits_needed_ asks for.
  void DoCircuits();
  // The first hop's key and address for `circuit`, or nullopt (spec 5.8 step 1).
  std::optional<Circuit::Pending> PickFirstHop(const Circuit& circuit);
  // Retries the pending hop if it has not answered `identifier` in next_hop_timeout.
  void ArmHopTimeout(const Circuit& circuit);

  // Sends `message` (cell id || body) in a plaintext cell.
  void SendPlaintextCell(const Address& to, uint32_t circuit_id, wire::Bytes message);
  // Seals `message` (then `more`, if any, as if they were one) BACKWARD with `keys` and sends it
  // in a cell with relay_early 0.
  void SendBackward(const Address& to, uint32_t circuit_id, SessionKeys& keys, wire::Bytes message,
                    wire::Bytes more = {});
  void SendDestroy(const Address& to, uint32_t circuit_id, uint16_t reason);
  void SendDatagram(const Address& to, wire::Bytes datagram);

  bool CircuitIdInUse(uint32_t circuit_id) const;
  uint32_t NewCircuitId();
  bool AllowCreate(const Address& source);
  bool ExtendTargetAllowed(const Address& target);
  // The exit budgets (max_exit_rate, max_exit_circuit_rate of `socket_budget`), out or back.
  bool TakeExitBudget(TokenBucket& socket_budget, size_t bytes);
  bool TakeBudget(TokenBucket& circuit_budget, size_t bytes);
  // Candidates with all of `flags`, curve25519 keys, in insertion order, leaving out `exclude`.
  std::vector<const Candidate*> CandidatesWith(PeerFlags flags, PeerFlags without,
                                               const wire::Mid* exclude) const;

  TunnelSettings tunnel_settings_;
  TunnelStats tunnel_stats_;
  std::unique_ptr<TunnelRandom> random_;
  LayerCipher cipher_;
  std::array<uint8_t, 2> flags_bytes_;
  std::array<uint8_t, 32> crypt_secret_{};  // The X25519 half of my_key.
  std::vector<uint8_t> open_buffer_;        // Opened terminal cells, and their answers.

  RelayTable relays_;  // State R, by either hop's circuit id.
  std::unordered_map<uint32_t, TerminalCircuit> terminal_;
  std::unordered_map<uint32_t, PendingExtend> pending_extends_;  // By to_circuit_id.
  std::unordered_map<uint32_t, Circuit> circuits_;               // Own circuits (client role).
  struct PendingRequest {
    uint32_t circuit_id = 0;
    TimePoint sent{};
  };
  std::unordered_map<uint16_t, PendingRequest> pings_;  // By identifier.
  std::unordered_map<uint16_t, PendingRequest> test_requests_;
  CircuitHandler circuit_handler_;
  DataHandler data_handler_;
  std::map<size_t, size_t> circuits_needed_;  // Hops -> circuits (py-ipv8's circuits_needed).
  std::vector<std::unique_ptr<UdpForward>> udp_forwards_;
  EventLoop::TimerId ping_timer_ = 0;
  std::vector<Candidate> candidates_;  // py-ipv8's `candidates`, in order.
  uint32_t shard_index_ = 0;
  uint32_t shard_count_ = 1;
  HandOff hand_off_;
  std::unordered_map<Address, TokenBucket> create_budgets_;  // By source IP (port 0).
  TokenBucket relay_budget_;                                 // Relayed bytes (max_relay_rate).
  // Exit sockets by terminal circuit id; closed with their circuit. They call the handler.
  ExitSocket::ReplyHandler exit_reply_handler_;
  std::unordered_map<uint32_t, std::unique_ptr<ExitSocket>> exit_sockets_;
  ExitSocket::SharedBuffers exit_buffers_;  // The exit sockets' (made with the first).
  ExitSocketLosses closed_exit_losses_;     // Of the sockets closed so far.
  TokenBucket exit_budget_;                 // Exit bytes (max_exit_rate).
  std::unique_ptr<HostResolver> resolver_;  // Made on the first host name unless injected.
  size_t resolving_ = 0;                    // DATA waiting for a name.
  EventLoop::TimerId housekeeping_timer_ = 0;
  // The loop's time, read once a second: relayed cells record their circuit's activity with it
  // (a clock read per cell cost 3% of a relay's CPU; idle limits are tens of seconds).
  TimePoint coarse_now_{};
  EventLoop::TimerId clock_timer_ = 0;
};

}  // namespace ringv8::tunnel

#endif  // RINGV8_TUNNEL_TUNNEL_COMMUNITY_H_
