// UdpForward: a local UDP port whose datagrams travel through a circuit to one destination, and
// whose replies come back to the local sender (the client's side of an exit, for tools and
// tests: `ringv8 run` with "udp_forward"; Tribler does this with its SOCKS5 UDP associate).
//
// Owned by the TunnelCommunity; thread-affine to its loop.
#ifndef RINGV8_TUNNEL_UDP_FORWARD_H_
#define RINGV8_TUNNEL_UDP_FORWARD_H_

#include <functional>
#include <memory>

#include "ring/endpoint.h"
#include "wire/serializer.h"

namespace ringv8::tunnel {

class UdpForward final : public EndpointListener {
 public:
  // Sends `data` to `destination` through a circuit; false if none is ready (counted there).
  using SendThroughCircuit = std::function<bool(const Address& destination, wire::Bytes data)>;
  // The local sender got a reply (for counting).
  using OnReply = std::function<void()>;

  static Result<std::unique_ptr<UdpForward>> Open(Endpoint& node_endpoint, const Address& listen,
                                                  const Address& destination,
                                                  SendThroughCircuit send, OnReply on_reply);
  ~UdpForward();
  UdpForward(const UdpForward&) = delete;
  UdpForward& operator=(const UdpForward&) = delete;

  const Address& listen_address() const { return endpoint_->local_addresses().front(); }
  // DATA from the circuit: true (and sent to the local sender) if it comes from the destination.
  bool OnData(const wire::AnyAddress& origin, wire::Bytes data);
  void OnPacket(const Address& source, std::span<const uint8_t> datagram) override;

 private:
  UdpForward(std::unique_ptr<Endpoint> endpoint, const Address& destination,
             SendThroughCircuit send, OnReply on_reply);

  std::unique_ptr<Endpoint> endpoint_;
  Address destination_;
  SendThroughCircuit send_;
  OnReply on_reply_;
  std::optional<Address> local_sender_;  // The last one; replies go there.
};

}  // namespace ringv8::tunnel

#endif  // RINGV8_TUNNEL_UDP_FORWARD_H_
