#include "tunnel/tunnel_community.h"

#include <algorithm>
#include <chrono>
#include <cstring>
#include <stdexcept>

#include "ring/debug_log.h"
#include "tunnel/address_policy.h"
#include "tunnel/crypto.h"

namespace ringv8::tunnel {
namespace {

constexpr wire::CommunityId MakeId(const uint8_t (&bytes)[20]) {
  wire::CommunityId id{};
  for (size_t i = 0; i < id.size(); ++i) id[i] = bytes[i];
  return id;
}

constexpr uint8_t kPyIpv8Id[20] = {0x81, 0xde, 0xd0, 0x73, 0x32, 0xbd, 0xc7, 0x75, 0xaa, 0x5a,
                                   0x46, 0xf9, 0x6d, 0xe9, 0xf8, 0xf3, 0x90, 0xbb, 0xc9, 0xf3};
constexpr uint8_t kTriblerId[20] = {0xa3, 0x59, 0x1a, 0x6b, 0xd8, 0x9b, 0xba, 0xca, 0x09, 0x74,
                                    0x06, 0x2a, 0x12, 0x87, 0xaf, 0xcf, 0xbc, 0x6f, 0xd6, 0xbc};

// Candidates offered in CREATED: py-ipv8 lists at most 4 relays and 4 exits.
constexpr size_t kMaxListed = 4;
// The largest datagram a speed-test response may make (spec Q14).
constexpr size_t kMaxDatagram = 65507;
// A datagram of hidden-services ids 13/17/18 sent outside cells.
constexpr uint8_t kHiddenServicesDatagramIds[] = {13, 17, 18};

bool IsHiddenServicesId(uint8_t id) { return id >= 9 && id <= 18; }
bool IsTriblerHttpId(uint8_t id) { return id == 28 || id == 29; }

}  // namespace

std::string_view DroppedIdName(uint8_t id) {
  static const std::array<std::string, 256> names = [] {
    std::array<std::string, 256> out;
    for (size_t i = 0; i < out.size(); ++i) out[i] = "dropped_id_" + std::to_string(i);
    return out;
  }();
  return names[id];
}

const wire::CommunityId kPyIpv8TunnelCommunityId = MakeId(kPyIpv8Id);
const wire::CommunityId kTriblerTunnelCommunityId = MakeId(kTriblerId);

TunnelCommunity::TunnelCommunity(const wire::CommunityId& community_id,
                                 std::shared_ptr<overlay::Peer> my_peer,
                                 const wire::PrivateKey& my_key, Endpoint& endpoint,
                                 overlay::Network& network, EventLoop& loop,
                                 const overlay::CommunitySettings& settings,
                                 const TunnelSettings& tunnel_settings,
                                 std::unique_ptr<TunnelRandom> random)
    : Community(community_id, std::move(my_peer), my_key, endpoint, network, loop, settings),
      tunnel_settings_(tunnel_settings),
      random_(random ? std::move(random) : std::make_unique<TunnelRandom>()),
      cipher_(tunnel_settings.aead),
      flags_bytes_(EncodePeerFlags(tunnel_settings.peer_flags)),
      open_buffer_(wire::kMaxDatagramSize) {
  std::memcpy(crypt_secret_.data(), my_key.bin().data() + wire::kLibNaClPrivatePrefix.size(), 32);
  SetRawHandler(
      0, [this](const Address& source, wire::Bytes datagram) { OnCell(source, datagram); },
      /*refreshes_sender=*/false);
  AddHandler<DestroyPayload>([this](const std::shared_ptr<overlay::Peer>& signer,
                                    const DestroyPayload& destroy) { OnDestroy(signer, destroy); });
  for (uint8_t id : kHiddenServicesDatagramIds) {
    SetRawHandler(id, [this, id](const Address&, wire::Bytes) {
      ++tunnel_stats_.hidden_services;
      ++tunnel_stats_.dropped_by_id[id];
    });
  }
  housekeeping_timer_ =
      loop.CallEvery(Seconds(tunnel_settings_.housekeeping_interval), [this] { Housekeeping(); });
  ping_timer_ = loop.CallEvery(Seconds(tunnel_settings_.ping_interval), [this] { PingCircuits(); });
  coarse_now_ = loop.Now();
  relay_budget_ = TokenBucket(tunnel_settings_.max_relay_rate, coarse_now_);  // Starts full.
  exit_budget_ = TokenBucket(tunnel_settings_.max_exit_rate, coarse_now_);
  exit_reply_handler_ = [this](uint32_t circuit_id, const Address& source, wire::Bytes data) {
    OnExitReply(circuit_id, source, data);
  };
  clock_timer_ =
      loop.CallEvery(std::chrono::seconds(1), [this] { coarse_now_ = this->loop().Now(); });
}

TunnelCommunity::~TunnelCommunity() {
  loop().Cancel(housekeeping_timer_);
  loop().Cancel(ping_timer_);
  loop().Cancel(clock_timer_);
}

std::vector<uint32_t> TunnelCommunity::TerminalCircuitIds() const {
  std::vector<uint32_t> ids;
  ids.reserve(terminal_.size());
  for (const auto& entry : terminal_) ids.push_back(entry.first);
  return ids;
}

namespace {

// An unordered_map's heap: one allocation per entry (the value and the next pointer, in 16-byte
// size classes with a header word, as glibc and mimalloc round them) and the bucket array.
template <typename Map>
size_t MapBytes(const Map& map) {
  const size_t node = sizeof(typename Map::value_type) + sizeof(void*) + sizeof(void*);
  return map.size() * ((node + 15) / 16 * 16) + map.bucket_count() * sizeof(void*);
}

}  // namespace

size_t TunnelCommunity::TableBytes() const {
  size_t bytes = relays_.MemoryBytes() + MapBytes(terminal_) + MapBytes(pending_extends_) +
                 MapBytes(circuits_);
  for (const auto& entry : terminal_) bytes += entry.second.offered.capacity() * sizeof(Offered);
  return bytes;
}

// ---- Cells (spec 5.1) ----

void TunnelCommunity::OnCell(const Address& source, wire::Bytes datagram) {
  std::optional<CellHeader> header = ParseCellHeader(datagram);
  if (!header) {
    ++tunnel_stats_.truncated_cell;
    return;
  }
  const uint32_t circuit_id = header->circuit_id;
  if (std::optional<RelayTable::Route> route = relays_.Find(circuit_id)) {
    if (header->plaintext) {
      ++tunnel_stats_.plaintext_not_allowed;
      return;
    }
    if (route->backward) return RelayBackward(source, datagram, *route->circuit);
    return RelayForward(source, datagram, *route->circuit, header->relay_early);
  }
  if (!OwnsCircuitId(circuit_id)) {
    return HandOffTo(circuit_id,
                     [source, cell = std::vector<uint8_t>(datagram.begin(), datagram.end())](
                         TunnelCommunity& owner) { owner.OnCell(source, cell); });
  }
  if (auto it = circuits_.find(circuit_id); it != circuits_.end()) {
    if (!header->plaintext) return OnCircuitCell(source, datagram, it->second);
    if (datagram[kCellHeaderSize] == kCellCreated) {
      return OnCircuitCreated(source, it->second, datagram.subspan(kCellHeaderSize + 1));
    }
    ++tunnel_stats_.plaintext_not_allowed;
    return;
  }
  if (!header->plaintext) {
    auto it = terminal_.find(circuit_id);
    if (it == terminal_.end()) {
      ++tunnel_stats_.unknown_circuit;
      return;
    }
    return OnTerminalCell(source, datagram, circuit_id, it->second, header->relay_early);
  }
  const uint8_t cell_id = datagram[kCellHeaderSize];
  const wire::Bytes body = datagram.subspan(kCellHeaderSize + 1);
  if (cell_id == kCellCreate) return OnCreate(source, circuit_id, body);
  if (cell_id == kCellCreated) return OnCreated(source, circuit_id, body);
  ++tunnel_stats_.plaintext_not_allowed;
}

// ---- State R (spec 5.5) ----

void TunnelCommunity::RelayForward(const Address& source, wire::Bytes datagram,
                                   RelayedCircuit& circuit, bool relay_early) {
  if (source != circuit.previous.address) {
    ++tunnel_stats_.wrong_source;
    return;
  }
  if (relay_early && circuit.relay_early_forward >= tunnel_settings_.max_relay_early) {
    ++tunnel_stats_.relay_early_limit;
    return;
  }
  // Decrypted straight into the send queue's buffer: the crypto is the only copy.
  bool queued = false;
  const std::error_code error = endpoint().SendFilled(
      circuit.next.address, datagram.size(), [&](std::span<uint8_t> out) -> size_t {
        std::optional<size_t> size = cipher_.Open(
            circuit.keys.forward, datagram.subspan(kCellHeaderSize), out.data() + kCellHeaderSize);
        if (!size) {
          ++tunnel_stats_.bad_tag;
          return 0;
        }
        if (!TakeBudget(circuit.budget, datagram.size())) {
          ++tunnel_stats_.over_budget;
          return 0;
        }
        std::memcpy(out.data(), datagram.data(), kCellHeaderSize);
        SetCellCircuitId(out.data(), circuit.next_circuit_id);
        queued = true;
        return kCellHeaderSize + *size;
      });
  if (error) ++tunnel_stats_.send_failures;
  if (!queued) return;
  if (relay_early) ++circuit.relay_early_forward;
  circuit.last_activity = coarse_now_;
  circuit.bytes += datagram.size();
  ++tunnel_stats_.relayed_cells_forward;
  tunnel_stats_.relayed_bytes_forward += datagram.size();
}

void TunnelCommunity::RelayBackward(const Address& source, wire::Bytes datagram,
                                    RelayedCircuit& circuit) {
  if (source != circuit.next.address) {
    ++tunnel_stats_.wrong_source;
    return;
  }
  const wire::Bytes layer = datagram.subspan(kCellHeaderSize);
  const size_t size = kCellHeaderSize + layer.size() + kLayerOverhead;
  if (size > kMaxUdpPayload) {
    ++tunnel_stats_.truncated_cell;  // Cannot grow by a layer within a datagram.
    return;
  }
  if (!TakeBudget(circuit.budget, datagram.size())) {
    ++tunnel_stats_.over_budget;
    return;
  }
  // Encrypted straight into the send queue's buffer: the crypto is the only copy.
  if (endpoint().SendFilled(circuit.previous.address, size, [&](std::span<uint8_t> out) {
        cipher_.SealNext(circuit.keys.backward, layer, out.data() + kCellHeaderSize);
        std::memcpy(out.data(), datagram.data(), kCellHeaderSize);
        SetCellCircuitId(out.data(), circuit.previous_circuit_id);
        return size;
      })) {
    ++tunnel_stats_.send_failures;
    return;
  }
  circuit.last_activity = coarse_now_;
  circuit.bytes += datagram.size();
  ++tunnel_stats_.relayed_cells_backward;
  tunnel_stats_.relayed_bytes_backward += datagram.size();
}

// ---- State T (spec 5.3) ----

void TunnelCommunity::OnTerminalCell(const Address& source, wire::Bytes datagram,
                                     uint32_t circuit_id, TerminalCircuit& terminal,
                                     bool relay_early) {
  if (source != terminal.previous.address) {
    ++tunnel_stats_.wrong_source;
    return;
  }
  std::optional<size_t> size =
      cipher_.Open(terminal.keys.forward, datagram.subspan(kCellHeaderSize), open_buffer_.data());
  if (!size) {
    ++tunnel_stats_.bad_tag;
    return;
  }
  if (*size == 0) {
    ++tunnel_stats_.truncated_cell;
    return;
  }
  const uint8_t cell_id = open_buffer_[0];
  const wire::Bytes body(open_buffer_.data() + 1, *size - 1);
  if (cell_id == kCellExtend && !relay_early) {
    ++tunnel_stats_.extend_without_relay_early;
    return;
  }
  // Every accepted cell keeps the circuit alive (as ipv8-rust-tunnels does); to the second, as
  // for relayed cells: no clock read per cell.
  terminal.last_activity = coarse_now_;
  terminal.bytes += datagram.size();
  switch (cell_id) {
    case kCellExtend:
      return OnExtend(circuit_id, terminal, body);
    case kCellPing:
      return OnPing(circuit_id, terminal, body);
    case kCellTestRequest:
    case kCellRustTestRequest:
      return OnTestRequest(circuit_id, terminal, cell_id, body);
    case kCellData:
      return OnExitData(circuit_id, terminal, body);
    default:
      if (IsHiddenServicesId(cell_id)) {
        ++tunnel_stats_.hidden_services;
      } else if (IsTriblerHttpId(cell_id)) {
        ++tunnel_stats_.tribler_http;
      } else {
        ++tunnel_stats_.unknown_cell_id;  // Includes CREATE/CREATED inside layers.
      }
      ++tunnel_stats_.dropped_by_id[cell_id];
  }
}

// ---- CREATE -> CREATED (spec 5.2) ----

void TunnelCommunity::OnCreate(const Address& source, uint32_t circuit_id, wire::Bytes body) {
  if (tunnel_settings_.peer_flags == 0) {
    ++tunnel_stats_.not_relay;
    return;
  }
  if (CircuitIdInUse(circuit_id)) {
    ++tunnel_stats_.circuit_id_in_use;
    return;
  }
  if (relays_.size() + terminal_.size() >= tunnel_settings_.max_joined_circuits) {
    ++tunnel_stats_.circuit_limit;
    return;
  }
  auto create = DecodeCell<CreatePayload>(body);
  if (!create) {
    ++tunnel_stats_.truncated_cell;
    return;
  }
  auto sender = wire::PublicKey::FromBin(create->node_public_key);
  if (!sender || create->key.size() != 32) {
    ++tunnel_stats_.bad_handshake;
    return;
  }
  if (!AllowCreate(source)) {
    ++tunnel_stats_.create_rate_limited;
    return;
  }
  Key32 client_ephemeral;
  std::memcpy(client_ephemeral.data(), create->key.data(), 32);
  const auto handshake_start = std::chrono::steady_clock::now();
  std::optional<HopHandshake> handshake =
      AnswerHandshake(crypt_secret_, client_ephemeral, random_->KeyPair());
  ++tunnel_stats_.handshakes;
  tunnel_stats_.handshake_seconds +=
      std::chrono::duration<double>(std::chrono::steady_clock::now() - handshake_start).count();
  if (!handshake) {
    ++tunnel_stats_.bad_handshake;
    return;
  }

  // The candidate list (spec 3.2).
  const wire::Mid sender_mid = sender->mid();
  const wire::Mid* exclude = tunnel_settings_.list_create_sender ? nullptr : &sender_mid;
  std::vector<const Candidate*> relays = CandidatesWith(kFlagRelay, kFlagExitBt, exclude);
  std::vector<const Candidate*> exits = CandidatesWith(kFlagRelay | kFlagExitBt, 0, exclude);
  relays.resize(std::min(relays.size(), kMaxListed));
  exits.resize(std::min(exits.size(), kMaxListed));
  std::vector<wire::Bytes> relay_bins, exit_bins;
  TerminalCircuit terminal;
  for (const Candidate* c : relays) relay_bins.emplace_back(c->key_bin);
  for (const Candidate* c : exits) exit_bins.emplace_back(c->key_bin);
  for (const auto* list : {&relays, &exits}) {
    for (const Candidate* c : *list) {
      const overlay::Peer* peer = network().GetVerifiedByPublicKeyBin(c->key_bin);
      terminal.offered.push_back({c->mid, peer != nullptr ? peer->address() : Address()});
    }
  }
  std::array<uint8_t, 1024> candidates_bin;
  std::optional<size_t> list_size = EncodeCandidateList(relay_bins, exit_bins, candidates_bin);
  std::array<uint8_t, candidates_bin.size() + kLayerOverhead> candidates_enc;
  // Counter 1, not py-ipv8's 2: the client's first forward cell uses 2 (spec Q1).
  cipher_.Seal(handshake->keys.forward, 1, std::span(candidates_bin).first(*list_size),
               candidates_enc.data());

  const TimePoint now = loop().Now();
  terminal.keys = handshake->keys;
  terminal.previous = {source, sender_mid};
  terminal.created = now;
  terminal.last_activity = now;
  terminal.extend_until = now + Seconds(tunnel_settings_.unstable_timeout);

  CreatedPayload created;
  created.identifier = create->identifier;
  created.key = handshake->tmp_public;
  created.auth = handshake->auth;
  created.candidates_enc = std::span(candidates_enc).first(*list_size + kLayerOverhead);
  std::array<uint8_t, 2048> message;
  auto encoded = EncodeCellMessage(created, message);
  terminal_.insert_or_assign(circuit_id, std::move(terminal));
  ++tunnel_stats_.circuits_joined;
  RINGV8_DEBUG("{}: joined circuit {:08x} from {}", LogName(), circuit_id, source.ToString());
  SendPlaintextCell(source, circuit_id, *encoded);
}

// ---- EXTEND at a terminal hop (spec 5.3.1) ----

void TunnelCommunity::OnExtend(uint32_t circuit_id, TerminalCircuit& terminal, wire::Bytes body) {
  if ((tunnel_settings_.peer_flags & kFlagRelay) == 0) {
    ++tunnel_stats_.not_relay;
    return;
  }
  if (loop().Now() > terminal.extend_until) {
    ++tunnel_stats_.extend_window_closed;
    return;
  }
  auto extend = DecodeCell<ExtendPayload>(body);
  if (!extend) {
    ++tunnel_stats_.truncated_cell;
    return;
  }
  auto next_key = wire::PublicKey::FromBin(extend->node_public_key);
  if (!next_key || pending_extends_.size() >= tunnel_settings_.max_joined_circuits) {
    ++tunnel_stats_.extend_refused;
    return;
  }
  Neighbour next{Address(), next_key->mid()};
  const overlay::Peer* known = network().GetVerifiedByPublicKeyBin(next_key->bin());
  auto offered =
      std::ranges::find_if(terminal.offered, [&](const Offered& o) { return o.mid == next.mid; });
  if (offered != terminal.offered.end()) {
    next.address = known != nullptr ? known->address() : offered->address;
  } else if (!extend->node_addr.is_zero() && ExtendTargetAllowed(extend->node_addr)) {
    next.address = known != nullptr ? known->address() : extend->node_addr;
  }
  if (next.address.is_zero()) {
    ++tunnel_stats_.extend_refused;
    return;
  }

  const uint32_t to_circuit_id = NewCircuitId();
  PendingExtend pending;
  pending.extend_identifier = extend->identifier;
  pending.identifier = random_->Identifier();
  pending.from_circuit_id = circuit_id;
  pending.next = next;
  pending.expires = loop().Now() + Seconds(tunnel_settings_.next_hop_timeout);

  CreatePayload create;
  create.identifier = pending.identifier;
  create.node_public_key = my_key().public_key().bin();
  create.key = extend->key;
  std::array<uint8_t, 512> message;
  auto encoded = EncodeCellMessage(create, message);
  if (!encoded) {
    ++tunnel_stats_.truncated_cell;
    return;
  }
  pending_extends_.insert_or_assign(to_circuit_id, pending);
  ++tunnel_stats_.extends_sent;
  SendPlaintextCell(next.address, to_circuit_id, *encoded);
}

// ---- CREATED from the next hop: T -> R (spec 5.4) ----

void TunnelCommunity::OnCreated(const Address& source, uint32_t circuit_id, wire::Bytes body) {
  auto created = DecodeCell<CreatedPayload>(body);
  if (!created) {
    ++tunnel_stats_.truncated_cell;
    return;
  }
  // Matched by circuit id, identifier and source, not by identifier alone (spec Q2).
  auto it = pending_extends_.find(circuit_id);
  if (it == pending_extends_.end() || it->second.identifier != created->identifier ||
      it->second.next.address != source || loop().Now() > it->second.expires) {
    ++tunnel_stats_.created_unmatched;
    return;
  }
  const PendingExtend pending = it->second;
  pending_extends_.erase(it);
  auto terminal = terminal_.find(pending.from_circuit_id);
  if (terminal == terminal_.end()) {
    ++tunnel_stats_.unknown_circuit;
    return;
  }
  RelayedCircuit relayed;
  relayed.previous_circuit_id = pending.from_circuit_id;
  relayed.keys = terminal->second.keys;  // With their counters (spec Q8).
  relayed.previous = terminal->second.previous;
  relayed.next = pending.next;
  relayed.next_circuit_id = circuit_id;
  relayed.last_activity = loop().Now();
  relayed.budget = TokenBucket(tunnel_settings_.max_circuit_rate, relayed.last_activity);  // Full.
  relayed.bytes = terminal->second.bytes;
  terminal_.erase(terminal);
  CloseExitSocket(pending.from_circuit_id);  // Extended: no longer its last hop.
  RelayedCircuit& installed = relays_.Add(relayed);

  ExtendedPayload extended;
  extended.identifier = pending.extend_identifier;
  extended.key = created->key;
  extended.auth = created->auth;
  extended.candidates_enc = created->candidates_enc;
  std::array<uint8_t, 2048> message;
  auto encoded = EncodeCellMessage(extended, message);
  if (!encoded) {
    ++tunnel_stats_.truncated_cell;
    return;
  }
  ++tunnel_stats_.circuits_extended;
  RINGV8_DEBUG("{}: relaying circuit {:08x} <-> {:08x} ({} <-> {})", LogName(),
               pending.from_circuit_id, circuit_id, installed.previous.address.ToString(),
               installed.next.address.ToString());
  SendBackward(installed.previous.address, pending.from_circuit_id, installed.keys, *encoded);
}

// ---- PING and speed tests at the terminal hop ----

void TunnelCommunity::OnPing(uint32_t circuit_id, TerminalCircuit& terminal, wire::Bytes body) {
  auto ping = DecodeCell<PingPayload>(body);
  if (!ping) {
    ++tunnel_stats_.truncated_cell;
    return;
  }
  std::array<uint8_t, 8> message;
  auto encoded = EncodeCellMessage(PongPayload{ping->identifier}, message);
  ++tunnel_stats_.pings_answered;
  // To the previous hop's address (py-ipv8 answers the PING's source; they are the same here).
  SendBackward(terminal.previous.address, circuit_id, terminal.keys, *encoded);
}

void TunnelCommunity::OnTestRequest(uint32_t circuit_id, TerminalCircuit& terminal, uint8_t cell_id,
                                    wire::Bytes body) {
  // 19: H identifier, H response_size, raw -> 20: H identifier, raw. 21/22 (ipv8-rust-tunnels):
  // the same with a 4-byte identifier.
  const bool rust = cell_id == kCellRustTestRequest;
  const size_t identifier_size = rust ? 4 : 2;
  if (body.size() < identifier_size + 2) {
    ++tunnel_stats_.truncated_cell;
    return;
  }
  if ((tunnel_settings_.peer_flags & kFlagSpeedTest) == 0) {
    ++tunnel_stats_.speed_test_refused;
    return;
  }
  const size_t response_size = size_t{body[identifier_size]} << 8 | body[identifier_size + 1];
  const size_t message_size = 1 + identifier_size + response_size;
  if (kCellHeaderSize + kLayerOverhead + message_size > kMaxDatagram ||
      response_size > tunnel_settings_.max_test_response) {
    ++tunnel_stats_.speed_test_refused;
    return;
  }
  // The identifier is copied before the buffer it lives in is overwritten.
  std::array<uint8_t, 4> identifier;
  std::memcpy(identifier.data(), body.data(), identifier_size);
  std::span<uint8_t> message(open_buffer_.data(), message_size);
  message[0] = rust ? kCellRustTestResponse : kCellTestResponse;
  std::memcpy(message.data() + 1, identifier.data(), identifier_size);
  random_->Fill(message.subspan(1 + identifier_size));
  ++tunnel_stats_.speed_tests_answered;
  SendBackward(terminal.previous.address, circuit_id, terminal.keys, message);
}

// ---- DESTROY (spec 5.6) ----

void TunnelCommunity::OnDestroy(const std::shared_ptr<overlay::Peer>& signer,
                                const DestroyPayload& destroy) {
  const uint32_t circuit_id = destroy.circuit_id;
  const wire::Mid& mid = signer->mid();
  // Reason 0 is never sent (py-ipv8 reads it as "do not send"): forwarded as 1 (spec Q10).
  const uint16_t reason = destroy.reason != 0 ? destroy.reason : uint16_t{kDestroyUnknown};
  RINGV8_DEBUG("{}: DESTROY of circuit {:08x}, reason {}, from {}", LogName(), circuit_id,
               destroy.reason, signer->address().ToString());
  if (!OwnsCircuitId(circuit_id)) {
    // The owner gets a Peer of its own: this one belongs to this shard's network.
    auto copy = std::make_shared<overlay::Peer>(signer->key(), signer->address(), loop().Now());
    return HandOffTo(circuit_id,
                     [copy, destroy](TunnelCommunity& owner) { owner.OnDestroy(copy, destroy); });
  }
  if (std::optional<RelayTable::Route> route = relays_.Find(circuit_id)) {
    RelayedCircuit& circuit = *route->circuit;
    // From the neighbour on the side the id belongs to; passed on to the other side.
    const Neighbour& from = route->backward ? circuit.next : circuit.previous;
    if (from.mid == mid) {
      ++tunnel_stats_.destroys_received;
      if (route->backward) {
        SendDestroy(circuit.previous.address, circuit.previous_circuit_id, reason);
      } else {
        SendDestroy(circuit.next.address, circuit.next_circuit_id, reason);
      }
      relays_.Remove(circuit.previous_circuit_id);
      return;
    }
  }
  if (auto it = terminal_.find(circuit_id);
      it != terminal_.end() && it->second.previous.mid == mid) {
    ++tunnel_stats_.destroys_received;
    terminal_.erase(it);
    CloseExitSocket(circuit_id);
    return;
  }
  if (auto it = circuits_.find(circuit_id);
      it != circuits_.end() && !it->second.hops.empty() &&
      wire::ComputeMid(it->second.hops.front().key_bin) == mid) {
    ++tunnel_stats_.destroys_received;
    circuits_.erase(it);
    if (circuit_handler_) circuit_handler_(circuit_id, CircuitEvent::kClosed);
    return;
  }
  ++tunnel_stats_.unauthorized_destroy;
}

bool TunnelCommunity::DestroyTerminalCircuit(uint32_t circuit_id, uint16_t reason) {
  auto it = terminal_.find(circuit_id);
  if (it == terminal_.end()) return false;
  if (reason != 0) SendDestroy(it->second.previous.address, circuit_id, reason);
  terminal_.erase(it);
  CloseExitSocket(circuit_id);
  return true;
}

// ---- Housekeeping (spec 5.9) ----

void TunnelCommunity::Housekeeping() {
  const TimePoint now = loop().Now();
  const double inactive = tunnel_settings_.max_time_inactive;
  relays_.RemoveIf([&](const RelayedCircuit& c) {
    if (c.bytes > tunnel_settings_.max_traffic) {
      // Both sides are told (py-ipv8 tells each side when its own entry goes, spec Q5).
      SendDestroy(c.previous.address, c.previous_circuit_id, kDestroyUnknown);
      SendDestroy(c.next.address, c.next_circuit_id, kDestroyUnknown);
      ++tunnel_stats_.circuits_over_traffic;
      return true;
    }
    if (SecondsSince(c.last_activity, now) > inactive) {
      ++tunnel_stats_.circuits_expired;
      return true;
    }
    return false;
  });
  for (auto it = terminal_.begin(); it != terminal_.end();) {
    TerminalCircuit& t = it->second;
    if (t.bytes > tunnel_settings_.max_traffic) {
      SendDestroy(t.previous.address, it->first, kDestroyUnknown);
      ++tunnel_stats_.circuits_over_traffic;
    } else if (SecondsSince(t.last_activity, now) > inactive ||
               SecondsSince(t.created, now) > tunnel_settings_.max_time) {
      ++tunnel_stats_.circuits_expired;
    } else {
      if (now > t.extend_until && !t.offered.empty()) {
        t.offered.clear();
        t.offered.shrink_to_fit();
      }
      ++it;
      continue;
    }
    CloseExitSocket(it->first);
    it = terminal_.erase(it);
  }
  ClientHousekeeping(now);
  std::erase_if(pending_extends_, [&](const auto& entry) {
    if (now <= entry.second.expires) return false;
    ++tunnel_stats_.extends_timed_out;
    return true;
  });
  std::erase_if(candidates_, [&](const Candidate& c) {
    return network().GetVerifiedByPublicKeyBin(c.key_bin) == nullptr;
  });
  if (shard_count_ > 1 && shard_index_ == 0 && hand_off_) {
    auto snapshot = std::make_shared<const std::vector<SharedCandidate>>(CandidateSnapshot());
    for (uint32_t shard = 1; shard < shard_count_; ++shard) {
      // Not counted as a drop when refused: the next housekeeping sends a fresh one.
      hand_off_(shard, [snapshot](TunnelCommunity& owner) { owner.AdoptCandidates(*snapshot); });
    }
  }
  std::erase_if(create_budgets_, [&](const auto& entry) {
    return SecondsSince(entry.second.last(), now) * tunnel_settings_.create_rate >=
           tunnel_settings_.create_burst;
  });
}

// ---- Peer flags (spec 1.3) ----

void TunnelCommunity::IntroductionRequestCallback(overlay::Peer& peer, uint64_t,
                                                  const overlay::IntroductionRequest& request) {
  OnCandidateFlags(peer, request.extra_bytes);
}

void TunnelCommunity::IntroductionResponseCallback(overlay::Peer& peer, uint64_t,
                                                   const overlay::IntroductionResponse& response) {
  OnCandidateFlags(peer, response.extra_bytes);
}

void TunnelCommunity::OnCandidateFlags(overlay::Peer& peer, wire::Bytes extra_bytes) {
  std::optional<PeerFlags> flags = ParsePeerFlags(extra_bytes);
  if (flags) SetCandidateFlags(peer, *flags);
}

void TunnelCommunity::SetCandidateFlags(const overlay::Peer& peer, PeerFlags flags) {
  // Only curve25519 peers can be circuit hops; others are never candidates.
  if (!wire::PublicKey::IsLibNaClBin(peer.public_key_bin())) return;
  auto it =
      std::ranges::find_if(candidates_, [&](const Candidate& c) { return c.mid == peer.mid(); });
  if (it != candidates_.end()) {
    it->flags = flags;  // py-ipv8's dict keeps the insertion position on update.
    return;
  }
  if (candidates_.size() >= tunnel_settings_.max_candidates) return;
  Candidate candidate;
  candidate.mid = peer.mid();
  std::memcpy(candidate.key_bin.data(), peer.public_key_bin().data(), candidate.key_bin.size());
  candidate.flags = flags;
  candidates_.push_back(candidate);
}

PeerFlags TunnelCommunity::FlagsOf(const overlay::Peer& peer) const {
  auto it =
      std::ranges::find_if(candidates_, [&](const Candidate& c) { return c.mid == peer.mid(); });
  return it != candidates_.end() ? it->flags : 0;
}

std::vector<const TunnelCommunity::Candidate*> TunnelCommunity::CandidatesWith(
    PeerFlags flags, PeerFlags without, const wire::Mid* exclude) const {
  std::vector<const Candidate*> out;
  for (const Candidate& c : candidates_) {
    if ((c.flags & flags) != flags || (c.flags & without) != 0) continue;
    if (exclude != nullptr && c.mid == *exclude) continue;
    out.push_back(&c);
  }
  return out;
}

// ---- Sending ----

void TunnelCommunity::SendPlaintextCell(const Address& to, uint32_t circuit_id,
                                        wire::Bytes message) {
  std::span<uint8_t> out = wire::PacketBuffer();
  WriteCellHeader(prefix(), CellHeader{circuit_id, true, false}, out.data());
  std::memcpy(out.data() + kCellHeaderSize, message.data(), message.size());
  SendDatagram(to, out.first(kCellHeaderSize + message.size()));
}

void TunnelCommunity::SendBackward(const Address& to, uint32_t circuit_id, SessionKeys& keys,
                                   wire::Bytes message, wire::Bytes more) {
  // Sealed straight into the send queue's buffer (an exit's replies, PONGs, EXTENDED).
  const size_t size = kCellHeaderSize + message.size() + more.size() + kLayerOverhead;
  if (endpoint().SendFilled(to, size, [&](std::span<uint8_t> out) {
        WriteCellHeader(prefix(), CellHeader{circuit_id, false, false}, out.data());
        if (more.empty()) {
          cipher_.SealNext(keys.backward, message, out.data() + kCellHeaderSize);
        } else {
          cipher_.SealNext(keys.backward, message, more, out.data() + kCellHeaderSize);
        }
        return size;
      })) {
    ++tunnel_stats_.send_failures;
  }
}

void TunnelCommunity::SendDestroy(const Address& to, uint32_t circuit_id, uint16_t reason) {
  ++tunnel_stats_.destroys_sent;
  if (Send(to, DestroyPayload{circuit_id, reason})) ++tunnel_stats_.send_failures;
}

void TunnelCommunity::SendDatagram(const Address& to, wire::Bytes datagram) {
  if (endpoint().Send(to, datagram)) ++tunnel_stats_.send_failures;
}

// ---- Limits ----

bool TunnelCommunity::CircuitIdInUse(uint32_t circuit_id) const {
  return relays_.Contains(circuit_id) || circuits_.contains(circuit_id) ||
         terminal_.contains(circuit_id) || pending_extends_.contains(circuit_id);
}

uint32_t TunnelCommunity::NewCircuitId() {
  for (;;) {
    uint64_t id = random_->CircuitId();
    if (shard_count_ > 1) id = id - id % shard_count_ + shard_index_;  // This shard's remainder.
    if (id != 0 && id <= UINT32_MAX && !CircuitIdInUse(static_cast<uint32_t>(id))) {
      return static_cast<uint32_t>(id);
    }
  }
}

// ---- Several shards ----

void TunnelCommunity::SetShard(uint32_t index, uint32_t count, HandOff hand_off) {
  if (count == 0 || index >= count) throw std::invalid_argument("shard index out of range");
  shard_index_ = index;
  shard_count_ = count;
  hand_off_ = std::move(hand_off);
}

std::vector<TunnelCommunity::SharedCandidate> TunnelCommunity::CandidateSnapshot() const {
  std::vector<SharedCandidate> snapshot;
  for (const Candidate& c : candidates_) {
    const overlay::Peer* peer = network().GetVerifiedByPublicKeyBin(c.key_bin);
    if (peer != nullptr) snapshot.push_back({c.key_bin, peer->address(), c.flags});
  }
  return snapshot;
}

void TunnelCommunity::AdoptCandidates(const std::vector<SharedCandidate>& snapshot) {
  // Peers that left shard 0's list leave this shard's network too (n log n: up to
  // max_candidates every housekeeping).
  std::vector<std::array<uint8_t, wire::kLibNaClKeyBinSize>> listed;
  listed.reserve(snapshot.size());
  for (const SharedCandidate& c : snapshot) listed.push_back(c.key_bin);
  std::ranges::sort(listed);
  std::vector<std::shared_ptr<overlay::Peer>> gone;
  for (const auto& peer : network().verified_peers()) {
    const wire::Bytes bin = peer->public_key_bin();
    std::array<uint8_t, wire::kLibNaClKeyBinSize> key{};
    if (bin.size() != key.size()) {
      gone.push_back(peer);
      continue;
    }
    std::copy(bin.begin(), bin.end(), key.begin());
    if (!std::ranges::binary_search(listed, key)) gone.push_back(peer);
  }
  for (const auto& peer : gone) network().RemovePeer(*peer);
  candidates_.clear();  // Shard 0's order (py-ipv8's insertion order), its entries unique.
  for (const SharedCandidate& c : snapshot) {
    if (candidates_.size() >= tunnel_settings_.max_candidates) break;
    overlay::Peer* peer = network().GetVerifiedByPublicKeyBin(c.key_bin);
    if (peer == nullptr) {
      auto key = wire::PublicKey::FromBin(c.key_bin);
      if (!key) continue;
      peer =
          network().AddVerifiedPeer(std::make_shared<overlay::Peer>(*key, c.address, loop().Now()));
      if (peer == nullptr) continue;
    } else if (peer->address() != c.address) {
      network().AddPeerAddress(*peer, c.address);
    }
    candidates_.push_back({peer->mid(), c.key_bin, c.flags});
  }
}

void TunnelCommunity::HandOffTo(uint32_t circuit_id, ShardTask task) {
  if (hand_off_ && hand_off_(circuit_id % shard_count_, std::move(task))) {
    ++tunnel_stats_.handed_off;
  } else {
    ++tunnel_stats_.handoff_dropped;
  }
}

bool TunnelCommunity::AllowCreate(const Address& source) {
  if (tunnel_settings_.create_rate <= 0) return true;
  if (create_budgets_.size() >= tunnel_settings_.max_create_sources) create_budgets_.clear();
  const TimePoint now = loop().Now();
  auto it =
      create_budgets_.try_emplace(source.WithPort(0), tunnel_settings_.create_burst, now).first;
  it->second.Refill(now, tunnel_settings_.create_rate, tunnel_settings_.create_burst);
  return it->second.Take();
}

bool TunnelCommunity::TakeExitBudget(TokenBucket& socket_budget, size_t bytes) {
  return TakeFromBoth([this] { return loop().Now(); }, exit_budget_, tunnel_settings_.max_exit_rate,
                      socket_budget, tunnel_settings_.max_exit_circuit_rate,
                      static_cast<double>(bytes));
}

bool TunnelCommunity::TakeBudget(TokenBucket& circuit_budget, size_t bytes) {
  return TakeFromBoth([this] { return loop().Now(); }, relay_budget_,
                      tunnel_settings_.max_relay_rate, circuit_budget,
                      tunnel_settings_.max_circuit_rate, static_cast<double>(bytes));
}

bool TunnelCommunity::ExtendTargetAllowed(const Address& target) {
  if (!target.is_v4()) return false;  // Tunnel traffic is IPv4 only (spec 1.1, Q13).
  if (IsPublicAddress(target)) return true;
  // A relay on loopback (tests, one machine) may extend to loopback.
  if (!IsLoopbackAddress(target)) return false;
  return std::ranges::any_of(endpoint().local_addresses(),
                             [](const Address& a) { return IsLoopbackAddress(a); });
}

}  // namespace ringv8::tunnel
