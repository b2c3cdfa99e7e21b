#include "tunnel/exit_socket.h"

namespace ringv8::tunnel {

ExitSocket::SharedBuffers ExitSocket::SharedBuffers::Make() {
  return {std::make_shared<SendBuffers>(kSharedSendBuffers),
          std::make_shared<ReceiveBuffers>(kSharedReceiveBuffers, kReceiveBufferSize,
                                           kSharedReceiveBuffers)};
}

EndpointOptions ExitSocket::EndpointOptionsFor(bool ipv6, const SharedBuffers& buffers) {
  EndpointOptions options;
  options.ipv4 = Address();
  if (ipv6) options.ipv6 = Address::Ipv6({}, 0);
  options.raw = true;
  options.gro = true;
  options.gro_buffer_size = kReceiveBufferSize;
  options.gso = true;
  options.shared_receive_buffers = buffers.receive;
  options.receive_when_ready = true;
  // Deep enough for a GRO read of cells that all leave by this socket; touched only as far as
  // used (SendPool), like the receive buffers.
  options.send_queue_capacity = 4096;
  options.send_buffers = buffers.send;
  options.socket_buffer_bytes = 256 << 10;
  return options;
}

Result<std::unique_ptr<ExitSocket>> ExitSocket::Open(
    Endpoint& node_endpoint, const SharedBuffers& buffers, uint32_t circuit_id,
    const ReplyHandler* on_reply, TimePoint now, double budget_burst, double destination_burst) {
  // Both families as py-ipv8 opens them; a host without IPv6 gets the IPv4 socket alone.
  auto endpoint = node_endpoint.OpenAnother(EndpointOptionsFor(true, buffers));
  if (!endpoint) endpoint = node_endpoint.OpenAnother(EndpointOptionsFor(false, buffers));
  if (!endpoint) return Unexpected{endpoint.error()};
  return std::unique_ptr<ExitSocket>(new ExitSocket(circuit_id, std::move(*endpoint), on_reply, now,
                                                    budget_burst, destination_burst));
}

ExitSocket::ExitSocket(uint32_t circuit_id, std::unique_ptr<Endpoint> endpoint,
                       const ReplyHandler* on_reply, TimePoint now, double budget_burst,
                       double destination_burst)
    : circuit_id_(circuit_id),
      endpoint_(std::move(endpoint)),
      on_reply_(on_reply),
      budget_(budget_burst, now),
      destinations_(destination_burst, now) {
  endpoint_->AddCatchAllListener(this);
}

ExitSocket::~ExitSocket() { endpoint_->RemoveCatchAllListener(this); }

bool ExitSocket::has_ipv6() const {
  for (const Address& local : endpoint_->local_addresses()) {
    if (!local.is_v4()) return true;
  }
  return false;
}

void ExitSocket::OnPacket(const Address& source, std::span<const uint8_t> datagram) {
  (*on_reply_)(circuit_id_, source, datagram);
}

}  // namespace ringv8::tunnel
