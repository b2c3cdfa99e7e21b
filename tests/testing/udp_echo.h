// UdpEcho: a UDP host on the in-memory network (a raw endpoint) that answers every datagram with
// its own bytes, or with `reply` if set, and remembers what came from where: the "Internet"
// behind an exit in protocol tests.
// Thread-compatible; runs on the test's loop.
#ifndef RINGV8_TESTS_TESTING_UDP_ECHO_H_
#define RINGV8_TESTS_TESTING_UDP_ECHO_H_

#include <memory>
#include <vector>

#include <gtest/gtest.h>

#include "ring/memory_endpoint.h"

namespace ringv8::testing {

class UdpEcho final : public EndpointListener {
 public:
  UdpEcho(MemoryNetwork& net, const Address& address) {
    EndpointOptions options;
    options.ipv4.reset();
    if (address.is_v4()) options.ipv4 = address;
    if (!address.is_v4()) options.ipv6 = address;
    options.raw = true;
    endpoint = std::move(*net.Open(options));
    endpoint->AddCatchAllListener(this);
  }
  ~UdpEcho() { endpoint->RemoveCatchAllListener(this); }
  UdpEcho(const UdpEcho&) = delete;
  UdpEcho& operator=(const UdpEcho&) = delete;

  void OnPacket(const Address& source, std::span<const uint8_t> datagram) override {
    sources.push_back(source);
    received.emplace_back(datagram.begin(), datagram.end());
    if (answer) {
      const std::vector<uint8_t>& out = reply.empty() ? received.back() : reply;
      EXPECT_FALSE(endpoint->Send(source, out));
    }
  }

  std::unique_ptr<MemoryEndpoint> endpoint;
  std::vector<Address> sources;
  std::vector<std::vector<uint8_t>> received;
  std::vector<uint8_t> reply;  // Empty: echo.
  bool answer = true;
};

}  // namespace ringv8::testing

#endif  // RINGV8_TESTS_TESTING_UDP_ECHO_H_
