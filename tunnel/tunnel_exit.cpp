// TunnelCommunity, exit role (tunnel spec 5.7): DATA at the last hop of a circuit leaves through
// the circuit's ExitSocket; what comes back on it returns as DATA, sealed backward.
#include <cstring>
#include <string>
#include <vector>

#include "ring/debug_log.h"
#include "tunnel/address_policy.h"
#include "tunnel/tunnel_community.h"

namespace ringv8::tunnel {
namespace {

constexpr PeerFlags kExitFlags = kFlagExitBt | kFlagExitIpv8;
// DATA waiting for host names to resolve, at most (each holds a copy of its payload).
constexpr size_t kMaxResolving = 256;

}  // namespace

void TunnelCommunity::SetHostResolver(std::unique_ptr<HostResolver> resolver) {
  resolver_ = std::move(resolver);
}

const ExitSocket* TunnelCommunity::GetExitSocket(uint32_t circuit_id) const {
  auto it = exit_sockets_.find(circuit_id);
  return it == exit_sockets_.end() ? nullptr : it->second.get();
}

size_t TunnelCommunity::ExitReceiveMemoryBytes() const {
  return exit_buffers_.receive != nullptr ? exit_buffers_.receive->bytes() : 0;
}

TunnelCommunity::ExitSocketLosses TunnelCommunity::ExitSocketLossTotals() const {
  ExitSocketLosses losses = closed_exit_losses_;
  for (const auto& [id, socket] : exit_sockets_) losses.Add(*socket);
  return losses;
}

void TunnelCommunity::CloseExitSocket(uint32_t circuit_id) {
  auto it = exit_sockets_.find(circuit_id);
  if (it == exit_sockets_.end()) return;
  closed_exit_losses_.Add(*it->second);
  if (auto terminal = terminal_.find(circuit_id); terminal != terminal_.end()) {
    terminal->second.exit_socket = nullptr;
  }
  exit_sockets_.erase(it);
}

void TunnelCommunity::OnExitData(uint32_t circuit_id, TerminalCircuit& terminal, wire::Bytes body) {
  const PeerFlags flags = tunnel_settings_.peer_flags;
  if ((flags & kExitFlags) == 0) {
    ++tunnel_stats_.data_not_exit;
    return;
  }
  auto data = DecodeCell<DataPayload>(body);
  if (!data) {
    ++tunnel_stats_.truncated_cell;
    return;
  }
  // Q4: what may pass is decided before anything is opened.
  const ExitClass traffic = ClassifyExit(data->data, flags, prefix());
  if (traffic == ExitClass::kRefused) {
    ++tunnel_stats_.exit_not_allowed;
    return;
  }
  if (traffic == ExitClass::kOwnTunnel) {
    ++tunnel_stats_.exit_own_tunnel;  // Hidden services: not implemented (spec 3.5).
    return;
  }
  if (const auto* ip = std::get_if<Address>(&data->dest_address)) {
    return SendOut(circuit_id, terminal, traffic, *ip, data->data);
  }
  const auto& host = std::get<wire::HostPort>(data->dest_address);
  if (host.port == 0 || host.host.empty() || resolving_ >= kMaxResolving) {
    ++tunnel_stats_.exit_hostname_unresolved;
    return;
  }
  if (!resolver_) resolver_ = MakeSystemResolver(loop());
  ++resolving_;
  resolver_->Resolve(std::string(host.host),
                     [this, circuit_id, traffic, port = host.port,
                      payload = std::vector<uint8_t>(data->data.begin(), data->data.end())](
                         std::optional<Address> ip) {
                       --resolving_;
                       if (!ip) {
                         ++tunnel_stats_.exit_hostname_unresolved;
                         return;
                       }
                       // The circuit may have gone meanwhile.
                       auto it = terminal_.find(circuit_id);
                       if (it == terminal_.end()) return;
                       SendOut(circuit_id, it->second, traffic, ip->WithPort(port), payload);
                     });
}

bool TunnelCommunity::ExitDestinationAllowed(const Address& to) {
  if (to.port() == 0 || to.WithPort(0).is_zero() || to.WithPort(0) == Address::Ipv6({}, 0)) {
    ++tunnel_stats_.exit_no_destination;
    return false;
  }
  for (const Address& local : endpoint().local_addresses()) {
    if (local == to) {  // This node's own socket: never a loop through ourselves.
      ++tunnel_stats_.exit_refused_own_address;
      return false;
    }
  }
  for (const Address& allowed : tunnel_settings_.exit_allowed_ips) {
    if (allowed.SameIp(to)) return true;
  }
  if (IsLoopbackAddress(to)) {
    if (tunnel_settings_.exit_allow_loopback) return true;
    ++tunnel_stats_.exit_refused_loopback;
    return false;
  }
  if (!IsPublicAddress(to)) {
    ++tunnel_stats_.exit_refused_not_public;
    return false;
  }
  for (const Address& own : endpoint().interface_addresses()) {
    if (own.SameIp(to)) {
      ++tunnel_stats_.exit_refused_own_address;
      return false;
    }
  }
  return true;
}

ExitSocket* TunnelCommunity::ExitSocketFor(uint32_t circuit_id, TerminalCircuit& terminal) {
  if (terminal.exit_socket != nullptr) return terminal.exit_socket;
  if (exit_sockets_.size() >= tunnel_settings_.max_exit_sockets) {
    ++tunnel_stats_.exit_socket_limit;
    return nullptr;
  }
  const double destination_burst = 2 * tunnel_settings_.max_exit_destination_rate;
  if (exit_buffers_.send == nullptr) exit_buffers_ = ExitSocket::SharedBuffers::Make();
  auto socket =
      ExitSocket::Open(endpoint(), exit_buffers_, circuit_id, &exit_reply_handler_, loop().Now(),
                       tunnel_settings_.max_exit_circuit_rate, destination_burst);
  if (!socket) {
    ++tunnel_stats_.exit_socket_failed;
    RINGV8_DEBUG("exit socket for circuit {} refused: {}", circuit_id, socket.error().message());
    return nullptr;
  }
  ++tunnel_stats_.exit_sockets_opened;
  RINGV8_DEBUG("circuit {} exits through {}", circuit_id,
               (*socket)->local_addresses().front().ToString());
  terminal.exit_socket = exit_sockets_.emplace(circuit_id, std::move(*socket)).first->second.get();
  return terminal.exit_socket;
}

void TunnelCommunity::SendOut(uint32_t circuit_id, TerminalCircuit& terminal, ExitClass traffic,
                              const Address& to, wire::Bytes data) {
  if (!ExitDestinationAllowed(to)) return;
  ExitSocket* socket = ExitSocketFor(circuit_id, terminal);
  if (socket == nullptr) return;
  if (!to.is_v4() && !socket->has_ipv6()) {
    ++tunnel_stats_.exit_no_ipv6;
    return;
  }
  const double destination_rate = tunnel_settings_.max_exit_destination_rate;
  if (destination_rate > 0 && !socket->KnownDestination(to)) {
    socket->destinations().Refill(loop().Now(), destination_rate, 2 * destination_rate);
    if (!socket->destinations().Take()) {
      ++tunnel_stats_.exit_destination_rate;
      return;
    }
    socket->RememberDestination(to);
  }
  if (!TakeExitBudget(socket->budget(), data.size())) {
    ++tunnel_stats_.exit_over_budget;
    return;
  }
  if (socket->Send(to, data)) {
    ++tunnel_stats_.exit_send_failed;
    return;
  }
  socket->bytes_out += data.size();
  if (traffic == ExitClass::kBitTorrent) {
    ++tunnel_stats_.exit_datagrams_out_bt;
    tunnel_stats_.exit_bytes_out_bt += data.size();
  } else {
    ++tunnel_stats_.exit_datagrams_out_ipv8;
    tunnel_stats_.exit_bytes_out_ipv8 += data.size();
  }
}

void TunnelCommunity::OnExitReply(uint32_t circuit_id, const Address& source, wire::Bytes data) {
  auto terminal = terminal_.find(circuit_id);
  if (terminal == terminal_.end() || terminal->second.exit_socket == nullptr) return;  // Closing.
  ExitSocket& socket = *terminal->second.exit_socket;
  // Any source may answer (DHT and incoming uTP are unsolicited); the payload must pass.
  const ExitClass traffic = ClassifyExit(data, tunnel_settings_.peer_flags, prefix());
  if (traffic == ExitClass::kRefused || traffic == ExitClass::kOwnTunnel) {
    ++tunnel_stats_.exit_reply_not_allowed;
    return;
  }
  if (!TakeExitBudget(socket.budget(), data.size())) {
    ++tunnel_stats_.exit_reply_over_budget;
    return;
  }
  // DATA(dest 0.0.0.0:0, org source, data): the header here, the datagram sealed after it where
  // it was received (no copy).
  DataPayload reply;
  reply.dest_address = Address();  // 01 00000000 0000
  reply.org_address = source;
  auto header = EncodeCellMessage(reply, open_buffer_);
  if (!header) {
    ++tunnel_stats_.truncated_cell;
    return;
  }
  socket.bytes_back += data.size();
  terminal->second.bytes += data.size();
  if (traffic == ExitClass::kBitTorrent) {
    ++tunnel_stats_.exit_datagrams_back_bt;
    tunnel_stats_.exit_bytes_back_bt += data.size();
  } else {
    ++tunnel_stats_.exit_datagrams_back_ipv8;
    tunnel_stats_.exit_bytes_back_ipv8 += data.size();
  }
  SendBackward(terminal->second.previous.address, circuit_id, terminal->second.keys, *header, data);
}

}  // namespace ringv8::tunnel
