// TunnelCommunity's client role (tunnel spec 5.8): building circuits, sending through them,
// pings, speed tests, teardown. The relay role is in tunnel_community.cpp.
#include <algorithm>
#include <chrono>
#include <cstring>

#include "tunnel/tunnel_community.h"

namespace ringv8::tunnel {
namespace {

// The X25519 public half of a LibNaCL key bin ("LibNaCLPK:" || X25519 || Ed25519).
Key32 CryptPublicOf(const KeyBin& bin) {
  Key32 key;
  std::memcpy(key.data(), bin.data() + wire::kLibNaClPublicPrefix.size(), key.size());
  return key;
}

std::optional<KeyBin> ToKeyBin(wire::Bytes bytes) {
  if (bytes.size() != wire::kLibNaClKeyBinSize || !wire::PublicKey::IsLibNaClBin(bytes)) {
    return std::nullopt;
  }
  KeyBin bin;
  std::memcpy(bin.data(), bytes.data(), bin.size());
  return bin;
}

bool Contains(const std::vector<KeyBin>& bins, const KeyBin& bin) {
  return std::ranges::find(bins, bin) != bins.end();
}

// An unused 16-bit identifier among `pending`'s keys.
template <typename Map>
uint16_t FreshIdentifier(TunnelRandom& random, const Map& pending) {
  uint16_t id = random.Identifier();
  while (pending.contains(id)) id = random.Identifier();
  return id;
}

}  // namespace

uint32_t TunnelCommunity::CreateCircuit(size_t hops, std::optional<RequiredHop> required_exit) {
  if (hops == 0 || circuits_.size() >= tunnel_settings_.max_circuits) return 0;
  Circuit circuit;
  circuit.circuit_id = NewCircuitId();
  circuit.goal_hops = hops;
  circuit.required_exit = required_exit;
  circuit.created = circuit.last_activity = loop().Now();
  if (hops == 1 && required_exit) {
    circuit.pending = Circuit::Pending{required_exit->key_bin, required_exit->address};
  } else {
    circuit.pending = PickFirstHop(circuit);
    if (!circuit.pending) {
      ++tunnel_stats_.circuits_failed;
      return 0;
    }
  }
  ++tunnel_stats_.circuits_created;
  Circuit& stored = circuits_.emplace(circuit.circuit_id, std::move(circuit)).first->second;
  SendCreate(stored);
  return stored.circuit_id;
}

const Circuit* TunnelCommunity::GetCircuit(uint32_t circuit_id) const {
  auto it = circuits_.find(circuit_id);
  return it != circuits_.end() ? &it->second : nullptr;
}

std::optional<Circuit::Pending> TunnelCommunity::PickFirstHop(const Circuit& circuit) {
  // One hop: an exit. More: a relay that is not an exit if there is one (spec 5.8 lets ringv8
  // choose; exits as first hops are disfavoured), least used as a first hop, ties at random.
  std::vector<const Candidate*> options = circuit.goal_hops == 1
                                              ? CandidatesWith(kFlagExitBt, 0, nullptr)
                                              : CandidatesWith(kFlagRelay, kFlagExitBt, nullptr);
  if (options.empty() && circuit.goal_hops > 1) options = CandidatesWith(kFlagRelay, 0, nullptr);
  std::erase_if(options, [&](const Candidate* c) {
    return Contains(circuit.tried, c->key_bin) ||
           (circuit.required_exit && circuit.required_exit->key_bin == c->key_bin) ||
           network().GetVerifiedByPublicKeyBin(c->key_bin) == nullptr;
  });
  if (options.empty()) return std::nullopt;
  auto uses = [&](const Candidate* c) {
    return std::ranges::count_if(circuits_, [&](const auto& entry) {
      return !entry.second.hops.empty() && entry.second.hops.front().key_bin == c->key_bin;
    });
  };
  std::ranges::shuffle(options, random());
  const Candidate* pick = *std::ranges::min_element(options, {}, uses);
  return Circuit::Pending{pick->key_bin,
                          network().GetVerifiedByPublicKeyBin(pick->key_bin)->address()};
}

void TunnelCommunity::SendCreate(Circuit& circuit) {
  Circuit::Pending& pending = *circuit.pending;
  pending.ephemeral = random_->KeyPair();
  pending.identifier = random_->Identifier();
  pending.sent = loop().Now();
  ++circuit.attempts;
  circuit.tried.push_back(pending.key_bin);

  CreatePayload create;
  create.identifier = pending.identifier;
  create.node_public_key = my_key().public_key().bin();
  create.key = pending.ephemeral.public_key;
  std::array<uint8_t, 512> message;
  auto encoded = EncodeCellMessage(create, message);
  std::span<uint8_t> out = wire::PacketBuffer();
  // The CREATE is the circuit's first flagged cell (spec 2.3).
  const bool relay_early = circuit.relay_early_sent < tunnel_settings_.max_relay_early;
  if (relay_early) ++circuit.relay_early_sent;
  WriteCellHeader(prefix(), CellHeader{circuit.circuit_id, true, relay_early}, out.data());
  std::memcpy(out.data() + kCellHeaderSize, encoded->data(), encoded->size());
  SendDatagram(pending.address, out.first(kCellHeaderSize + encoded->size()));
  ArmHopTimeout(circuit);
}

void TunnelCommunity::ArmHopTimeout(const Circuit& circuit) {
  const uint32_t circuit_id = circuit.circuit_id;
  const uint16_t identifier = circuit.pending->identifier;
  loop().CallLater(Seconds(tunnel_settings_.next_hop_timeout), [this, circuit_id, identifier] {
    auto it = circuits_.find(circuit_id);
    if (it != circuits_.end() && it->second.pending && it->second.pending->identifier == identifier)
      RetryHop(it->second);
  });
}

void TunnelCommunity::ExtendCircuit(Circuit& circuit) {
  const bool last = circuit.hops.size() + 1 == circuit.goal_hops;
  auto usable = [&](const KeyBin& bin) {
    if (std::ranges::equal(bin, my_key().public_key().bin())) return false;
    if (Contains(circuit.tried, bin)) return false;
    return std::ranges::none_of(circuit.hops,
                                [&](const CircuitHop& hop) { return hop.key_bin == bin; });
  };
  Circuit::Pending pending;
  bool chosen = false;
  if (last && circuit.required_exit) {
    pending.key_bin = circuit.required_exit->key_bin;
    pending.address = circuit.required_exit->address;
    chosen = usable(pending.key_bin);
  } else {
    const std::vector<KeyBin>& list = last || circuit.relay_candidates.empty()
                                          ? circuit.exit_candidates
                                          : circuit.relay_candidates;
    auto it = std::ranges::find_if(list, usable);
    if (it != list.end()) {
      pending.key_bin = *it;  // node_addr 0.0.0.0:0: "from your candidate list".
      chosen = true;
    } else {
      // One of our own exits, named by address.
      std::vector<const Candidate*> exits = CandidatesWith(kFlagRelay | kFlagExitBt, 0, nullptr);
      std::erase_if(exits, [&](const Candidate* c) { return !usable(c->key_bin); });
      if (!exits.empty()) {
        const Candidate* pick =
            exits[std::uniform_int_distribution<size_t>(0, exits.size() - 1)(random())];
        const overlay::Peer* peer = network().GetVerifiedByPublicKeyBin(pick->key_bin);
        if (peer != nullptr && peer->address().is_v4()) {
          pending.key_bin = pick->key_bin;
          pending.address = peer->address();
          chosen = true;
        }
      }
    }
  }
  if (!chosen) return FailCircuit(circuit.circuit_id);

  pending.ephemeral = random_->KeyPair();
  pending.identifier = random_->Identifier();
  pending.sent = loop().Now();
  circuit.pending = pending;
  ++circuit.attempts;
  circuit.tried.push_back(pending.key_bin);

  ExtendPayload extend;
  extend.identifier = pending.identifier;
  extend.node_public_key = pending.key_bin;
  extend.key = pending.ephemeral.public_key;
  extend.node_addr = pending.address;
  std::array<uint8_t, 512> message;
  auto encoded = EncodeCellMessage(extend, message);
  SendForward(circuit, *encoded, /*force_relay_early=*/true);
  ArmHopTimeout(circuit);
}

void TunnelCommunity::RetryHop(Circuit& circuit) {
  ++tunnel_stats_.hop_timeouts;
  if (circuit.attempts >= tunnel_settings_.max_circuit_attempts) {
    return FailCircuit(circuit.circuit_id);
  }
  if (!circuit.hops.empty()) return ExtendCircuit(circuit);
  if (circuit.goal_hops == 1 && circuit.required_exit) return FailCircuit(circuit.circuit_id);
  std::optional<Circuit::Pending> first = PickFirstHop(circuit);
  if (!first) return FailCircuit(circuit.circuit_id);
  circuit.pending = first;
  SendCreate(circuit);  // Same circuit id, new key and identifier.
}

void TunnelCommunity::FailCircuit(uint32_t circuit_id) {
  auto it = circuits_.find(circuit_id);
  if (it == circuits_.end()) return;
  ++tunnel_stats_.circuits_failed;
  if (!it->second.hops.empty()) {
    SendDestroy(it->second.first_hop_address(), circuit_id, kDestroyUnknown);
  }
  circuits_.erase(it);
  if (circuit_handler_) circuit_handler_(circuit_id, CircuitEvent::kFailed);
}

void TunnelCommunity::RemoveCircuit(uint32_t circuit_id, uint16_t reason) {
  auto it = circuits_.find(circuit_id);
  if (it == circuits_.end()) return;
  if (reason != 0 && !it->second.hops.empty()) {
    SendDestroy(it->second.first_hop_address(), circuit_id, reason);
  }
  circuits_.erase(it);
  if (circuit_handler_) circuit_handler_(circuit_id, CircuitEvent::kClosed);
}

// ---- Sending through a circuit ----

void TunnelCommunity::SendForward(Circuit& circuit, wire::Bytes message, bool force_relay_early) {
  const size_t layers = circuit.hops.size();
  std::span<uint8_t> out = wire::PacketBuffer();
  if (kCellHeaderSize + message.size() + layers * kLayerOverhead > out.size()) return;
  // The innermost layer is the last hop's; each seal writes its counter just before the
  // message and its tag just after, so the onion grows in place.
  uint8_t* at = out.data() + kCellHeaderSize + layers * kLayerCounterSize;
  std::memmove(at, message.data(), message.size());
  size_t size = message.size();
  for (size_t k = layers; k-- > 0;) {
    at -= kLayerCounterSize;
    cipher_.SealNext(circuit.hops[k].keys.forward, std::span(at + kLayerCounterSize, size), at);
    size += kLayerOverhead;
  }
  const bool relay_early =
      force_relay_early || circuit.relay_early_sent < tunnel_settings_.max_relay_early;
  if (relay_early) ++circuit.relay_early_sent;
  WriteCellHeader(prefix(), CellHeader{circuit.circuit_id, false, relay_early}, out.data());
  circuit.bytes_up += kCellHeaderSize + size;
  SendDatagram(circuit.first_hop_address(), out.first(kCellHeaderSize + size));
}

bool TunnelCommunity::SendData(uint32_t circuit_id, const wire::AnyAddress& destination,
                               wire::Bytes payload) {
  auto it = circuits_.find(circuit_id);
  if (it == circuits_.end() || it->second.state != CircuitState::kReady) return false;
  DataPayload data;
  data.dest_address = destination;
  data.org_address = Address();
  data.data = payload;
  std::span<uint8_t> message(open_buffer_.data(), open_buffer_.size());
  auto encoded = EncodeCellMessage(data, message);
  if (!encoded) return false;
  SendForward(it->second, *encoded);
  return true;
}

void TunnelCommunity::PingCircuits() {
  const TimePoint now = loop().Now();
  for (auto& [circuit_id, circuit] : circuits_) {
    if (circuit.hops.empty()) continue;
    const uint16_t identifier = FreshIdentifier(*random_, pings_);
    pings_[identifier] = {circuit_id, now};
    std::array<uint8_t, 8> message;
    auto encoded = EncodeCellMessage(PingPayload{identifier}, message);
    SendForward(circuit, *encoded);
  }
}

bool TunnelCommunity::SendTestRequest(uint32_t circuit_id, uint16_t request_size,
                                      uint16_t response_size) {
  auto it = circuits_.find(circuit_id);
  if (it == circuits_.end() || it->second.state != CircuitState::kReady) return false;
  const uint16_t identifier = FreshIdentifier(*random_, test_requests_);
  test_requests_[identifier] = {circuit_id, loop().Now()};
  std::vector<uint8_t> data(request_size);
  random_->Fill(data);
  TestRequestPayload request{identifier, response_size, data};
  std::span<uint8_t> message(open_buffer_.data(), open_buffer_.size());
  auto encoded = EncodeCellMessage(request, message);
  if (!encoded) return false;
  SendForward(it->second, *encoded);
  return true;
}

// ---- Receiving on an own circuit ----

void TunnelCommunity::OnCircuitCell(const Address& source, wire::Bytes datagram, Circuit& circuit) {
  if (circuit.hops.empty() || source != circuit.first_hop_address()) {
    ++tunnel_stats_.wrong_source;
    return;
  }
  // Every layer is removed first hop first; each opens in place 8 bytes further on.
  wire::Bytes layer = datagram.subspan(kCellHeaderSize);
  uint8_t* out = open_buffer_.data();
  for (CircuitHop& hop : circuit.hops) {
    std::optional<size_t> size = cipher_.Open(hop.keys.backward, layer, out);
    if (!size) {
      ++tunnel_stats_.bad_tag;
      return;
    }
    layer = wire::Bytes(out, *size);
    out += kLayerCounterSize;
  }
  if (layer.empty()) {
    ++tunnel_stats_.truncated_cell;
    return;
  }
  const TimePoint now = loop().Now();
  circuit.last_activity = now;
  circuit.bytes_down += datagram.size();
  const uint8_t cell_id = layer[0];
  const wire::Bytes body = layer.subspan(1);
  switch (cell_id) {
    case kCellExtended:
      return OnCircuitExtended(circuit, body);
    case kCellPong: {
      auto pong = DecodeCell<PongPayload>(body);
      auto it = pong ? pings_.find(pong->identifier) : pings_.end();
      if (it == pings_.end() || it->second.circuit_id != circuit.circuit_id) break;
      ++circuit.pongs;
      circuit.last_rtt = SecondsSince(it->second.sent, now);
      ++tunnel_stats_.pongs_received;
      pings_.erase(it);
      return;
    }
    case kCellTestResponse: {
      auto response = DecodeCell<TestResponsePayload>(body);
      auto it = response ? test_requests_.find(response->identifier) : test_requests_.end();
      if (it == test_requests_.end() || it->second.circuit_id != circuit.circuit_id) break;
      ++circuit.test_responses;
      test_requests_.erase(it);
      return;
    }
    case kCellData: {
      auto data = DecodeCell<DataPayload>(body);
      if (!data) {
        ++tunnel_stats_.truncated_cell;
        return;
      }
      ++tunnel_stats_.data_received;
      for (auto& forward : udp_forwards_) {
        if (forward->OnData(data->org_address, data->data)) return;
      }
      if (data_handler_) data_handler_(circuit.circuit_id, data->org_address, data->data);
      return;
    }
    default:
      break;
  }
  ++tunnel_stats_.unexpected_cell;
}

void TunnelCommunity::OnCircuitCreated(const Address& source, Circuit& circuit, wire::Bytes body) {
  auto created = DecodeCell<CreatedPayload>(body);
  if (!created) {
    ++tunnel_stats_.truncated_cell;
    return;
  }
  if (!circuit.hops.empty() || !circuit.pending ||
      circuit.pending->identifier != created->identifier || circuit.pending->address != source ||
      created->key.size() != 32) {
    ++tunnel_stats_.unexpected_cell;
    return;
  }
  Key32 tmp_public;
  std::memcpy(tmp_public.data(), created->key.data(), 32);
  AddVerifiedHop(circuit, tmp_public, created->auth, created->candidates_enc);
}

void TunnelCommunity::OnCircuitExtended(Circuit& circuit, wire::Bytes body) {
  auto extended = DecodeCell<ExtendedPayload>(body);
  if (!extended) {
    ++tunnel_stats_.truncated_cell;
    return;
  }
  if (!circuit.pending || circuit.pending->identifier != extended->identifier ||
      extended->key.size() != 32) {
    ++tunnel_stats_.unexpected_cell;
    return;
  }
  Key32 tmp_public;
  std::memcpy(tmp_public.data(), extended->key.data(), 32);
  AddVerifiedHop(circuit, tmp_public, extended->auth, extended->candidates_enc);
}

void TunnelCommunity::AddVerifiedHop(Circuit& circuit, const Key32& tmp_public, const Key32& auth,
                                     wire::Bytes candidates_enc) {
  const Circuit::Pending& pending = *circuit.pending;
  std::optional<SessionKeys> keys =
      CompleteHandshake(pending.ephemeral, CryptPublicOf(pending.key_bin), tmp_public, auth);
  if (!keys) {
    ++tunnel_stats_.bad_auth;  // The hop's retry timer still runs.
    return;
  }
  if (tunnel_settings_.skip_reused_counter) keys->forward.counter = 2;
  CircuitHop hop;
  hop.key_bin = pending.key_bin;
  hop.address = pending.address;
  hop.keys = *keys;
  circuit.hops.push_back(hop);
  circuit.pending.reset();
  circuit.tried.clear();
  if (circuit.hops.size() >= circuit.goal_hops) {
    circuit.state = CircuitState::kReady;
    ++tunnel_stats_.circuits_ready;
    if (circuit_handler_) circuit_handler_(circuit.circuit_id, CircuitEvent::kReady);
    return;
  }
  // The new hop's candidate list, sealed with its forward key (spec 4.5).
  circuit.relay_candidates.clear();
  circuit.exit_candidates.clear();
  std::vector<uint8_t> list(candidates_enc.size());
  std::optional<size_t> size = cipher_.Open(hop.keys.forward, candidates_enc, list.data());
  auto decoded = size ? DecodeCandidateList(std::span(list).first(*size))
                      : Result<CandidateList>(wire::WireError::kTruncated);
  if (decoded) {
    for (wire::Bytes bin : decoded->relays) {
      if (auto key = ToKeyBin(bin)) circuit.relay_candidates.push_back(*key);
    }
    for (wire::Bytes bin : decoded->exits) {
      if (auto key = ToKeyBin(bin)) circuit.exit_candidates.push_back(*key);
    }
  }
  ExtendCircuit(circuit);
}

// ---- Housekeeping (spec 5.8, 5.9) ----

void TunnelCommunity::ClientHousekeeping(TimePoint now) {
  std::vector<std::pair<uint32_t, uint16_t>> remove;  // Circuit id, DESTROY reason (0: none).
  for (const auto& [circuit_id, circuit] : circuits_) {
    if (circuit.bytes_up + circuit.bytes_down > tunnel_settings_.max_traffic) {
      remove.push_back({circuit_id, kDestroyUnknown});
    } else if ((circuit.state == CircuitState::kReady &&
                SecondsSince(circuit.last_activity, now) > tunnel_settings_.max_time_inactive) ||
               SecondsSince(circuit.created, now) > tunnel_settings_.max_time) {
      remove.push_back({circuit_id, 0});
    }
  }
  for (const auto& [circuit_id, reason] : remove) RemoveCircuit(circuit_id, reason);
  const double timeout = tunnel_settings_.next_hop_timeout;
  std::erase_if(pings_, [&](const auto& entry) {
    if (SecondsSince(entry.second.sent, now) <= timeout) return false;
    ++tunnel_stats_.pings_timed_out;
    return true;
  });
  std::erase_if(test_requests_,
                [&](const auto& entry) { return SecondsSince(entry.second.sent, now) > timeout; });
  DoCircuits();
}

void TunnelCommunity::BuildTunnels(size_t hops) {
  if (hops == 0) return;
  size_t& needed = circuits_needed_[hops];
  needed = std::clamp(needed + 1, tunnel_settings_.min_circuits, tunnel_settings_.max_circuits);
  DoCircuits();
}

void TunnelCommunity::DoCircuits() {
  for (const auto& [hops, needed] : circuits_needed_) {
    size_t have = 0;
    for (const auto& [id, circuit] : circuits_) have += circuit.goal_hops == hops ? 1 : 0;
    // One new circuit per pass and hop count once one fails (no first hop yet): the next
    // housekeeping tries again.
    for (; have < needed; ++have) {
      if (CreateCircuit(hops) == 0) break;
    }
  }
}

std::error_code TunnelCommunity::AddUdpForward(const Address& listen, const Address& destination,
                                               size_t hops) {
  auto send = [this, hops](const Address& to, wire::Bytes data) {
    const uint32_t circuit_id = ReadyCircuit(hops);
    if (circuit_id == 0 || !SendData(circuit_id, to, data)) {
      ++tunnel_stats_.udp_forward_no_circuit;
      return false;
    }
    ++tunnel_stats_.udp_forwarded_out;
    return true;
  };
  auto forward = UdpForward::Open(endpoint(), listen, destination, std::move(send),
                                  [this] { ++tunnel_stats_.udp_forwarded_back; });
  if (!forward) return forward.error();
  udp_forwards_.push_back(std::move(*forward));
  BuildTunnels(hops);
  return {};
}

uint32_t TunnelCommunity::ReadyCircuit(size_t hops) const {
  for (const auto& [id, circuit] : circuits_) {
    if (circuit.state == CircuitState::kReady && circuit.goal_hops == hops) return id;
  }
  return 0;
}

}  // namespace ringv8::tunnel
