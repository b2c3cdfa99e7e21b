#include "tunnel/udp_forward.h"

namespace ringv8::tunnel {

Result<std::unique_ptr<UdpForward>> UdpForward::Open(Endpoint& node_endpoint, const Address& listen,
                                                     const Address& destination,
                                                     SendThroughCircuit send, OnReply on_reply) {
  EndpointOptions options;
  options.ipv4.reset();
  if (listen.is_v4()) options.ipv4 = listen;
  if (!listen.is_v4()) options.ipv6 = listen;
  options.raw = true;
  options.gro = false;
  options.receive_buffers = 64;
  options.receive_buffer_size = 2048;
  options.send_queue_capacity = 256;
  options.socket_buffer_bytes = 1 << 20;
  auto endpoint = node_endpoint.OpenAnother(options);
  if (!endpoint) return Unexpected{endpoint.error()};
  return std::unique_ptr<UdpForward>(
      new UdpForward(std::move(*endpoint), destination, std::move(send), std::move(on_reply)));
}

UdpForward::UdpForward(std::unique_ptr<Endpoint> endpoint, const Address& destination,
                       SendThroughCircuit send, OnReply on_reply)
    : endpoint_(std::move(endpoint)),
      destination_(destination),
      send_(std::move(send)),
      on_reply_(std::move(on_reply)) {
  endpoint_->AddCatchAllListener(this);
}

UdpForward::~UdpForward() { endpoint_->RemoveCatchAllListener(this); }

void UdpForward::OnPacket(const Address& source, std::span<const uint8_t> datagram) {
  if (send_(destination_, datagram)) local_sender_ = source;
}

bool UdpForward::OnData(const wire::AnyAddress& origin, wire::Bytes data) {
  const auto* from = std::get_if<Address>(&origin);
  if (from == nullptr || *from != destination_ || !local_sender_) return false;
  if (!endpoint_->Send(*local_sender_, data)) on_reply_();
  return true;
}

}  // namespace ringv8::tunnel
