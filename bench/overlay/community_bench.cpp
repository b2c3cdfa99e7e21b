// The whole handling of one incoming signed introduction-request by a Community (parse, verify,
// peer and service tables, pick an introduction, build the puncture request, build and sign the
// response, hand both to the endpoint) against the bare crypto it needs: one
// crypto_sign_verify_detached of the request and one crypto_sign_detached of a response-sized
// message. Measured paired (alternating blocks of both) for about two seconds per run.
// Target: overhead beyond the two crypto calls under 10%.
#include <sodium.h>

#include <chrono>
#include <cstdio>
#include <cstring>
#include <iostream>
#include <vector>

#include <nlohmann/json.hpp>

#include "overlay/community.h"
#include "ring/endpoint.h"

namespace ringv8::overlay {
namespace {

// Accepts every datagram and drops it: the benchmark measures the protocol, not a socket.
class NullEndpoint final : public Endpoint {
 public:
  const char* backend_name() const override { return "null"; }
  bool is_open() const override { return true; }
  void Close() override {}
  std::error_code Send(const Address&, std::span<const uint8_t> datagram) override {
    ++sent;
    bytes += datagram.size();
    return {};
  }
  std::span<const Address> local_addresses() const override { return local_; }
  std::span<const Address> interface_addresses() const override { return interfaces_; }
  std::vector<Address> local_ = {*Address::Parse("10.0.0.1:8090")};
  std::vector<Address> interfaces_ = {*Address::Parse("10.0.0.1:0")};
  uint64_t sent = 0, bytes = 0;
};

const wire::CommunityId kId = {0x42, 1,  2,  3,  4,  5,  6,  7,  8,  9,
                               10,   11, 12, 13, 14, 15, 16, 17, 18, 19};

struct Request {
  Address source;
  std::vector<uint8_t> packet;
};

int Run(bool json) {
  if (sodium_init() < 0) return 1;
  VirtualClock clock;
  auto loop = *EventLoop::Create({.backend = EventLoop::Backend::kEpoll, .virtual_clock = &clock});
  NullEndpoint endpoint;
  Network network;
  wire::PrivateKey key = wire::PrivateKey::Generate();
  auto my_peer =
      std::make_shared<Peer>(key.public_key(), *Address::Parse("10.0.0.1:8090"), clock.Now());
  CommunitySettings settings;
  settings.max_peers = -1;
  settings.seed = 7;
  Community community(kId, my_peer, key, endpoint, network, *loop, settings);

  // 512 requesters with their own keys; after the first pass they are known peers (steady state).
  std::vector<Request> requests;
  for (uint32_t i = 0; i < 512; ++i) {
    wire::PrivateKey requester = wire::PrivateKey::Generate();
    wire::IntroductionRequestPayload request;
    request.destination_address = *Address::Parse("10.0.0.1:8090");
    request.source_lan_address = Address::Ipv4(0xC0A80000u + i, 7000);
    request.identifier = static_cast<uint16_t>(i);
    Address source = Address::Ipv4(0x0B000000u + i, 7000);
    requests.push_back(
        {source, *wire::EncodePacketToVector(community.prefix(), requester, i, request)});
  }
  for (const Request& r : requests) community.OnPacket(r.source, r.packet);  // Warm up.
  if (community.stats().total_drops() != 0 || community.GetPeers().size() != requests.size()) {
    std::fprintf(stderr, "setup failed: %llu drops\n",
                 static_cast<unsigned long long>(community.stats().total_drops()));
    return 1;
  }

  // The baseline signs a message as long as the response's signed part.
  std::vector<uint8_t> response_body(requests[0].packet.size() + 12 - 64, 0x33);
  std::vector<uint8_t> secret(crypto_sign_SECRETKEYBYTES), public_key(crypto_sign_PUBLICKEYBYTES);
  crypto_sign_keypair(public_key.data(), secret.data());
  uint8_t signature[64];

  using Clock = std::chrono::steady_clock;
  Clock::duration handled{}, bare{};
  size_t next_handle = 0, next_bare = 0;
  uint64_t blocks = 0;
  const auto end = Clock::now() + std::chrono::seconds(2);
  for (int round = 0; Clock::now() < end; ++round) {
    for (int half = 0; half < 2; ++half) {
      const bool handle_turn = (round + half) % 2 == 0;
      auto t0 = Clock::now();
      for (int i = 0; i < 32; ++i) {
        if (handle_turn) {
          const Request& r = requests[next_handle++ % requests.size()];
          community.OnPacket(r.source, r.packet);
        } else {
          const Request& r = requests[next_bare++ % requests.size()];
          const size_t signed_length = r.packet.size() - 64;
          int ok = crypto_sign_verify_detached(r.packet.data() + signed_length, r.packet.data(),
                                               signed_length, r.packet.data() + 25 + 42);
          crypto_sign_detached(signature, nullptr, response_body.data(), response_body.size(),
                               secret.data());
          if (ok != 0) return 1;
        }
      }
      (handle_turn ? handled : bare) += Clock::now() - t0;
    }
    ++blocks;
  }
  const double per_handle =
      std::chrono::duration<double, std::micro>(handled).count() / static_cast<double>(next_handle);
  const double per_bare =
      std::chrono::duration<double, std::micro>(bare).count() / static_cast<double>(next_bare);
  nlohmann::json result = {{"handle_us", per_handle},
                           {"bare_verify_sign_us", per_bare},
                           {"ratio", per_handle / per_bare},
                           {"overhead_percent", (per_handle / per_bare - 1) * 100},
                           {"requests", next_handle},
                           {"datagrams_sent", endpoint.sent},
                           {"drops", community.stats().total_drops()}};
  if (json) {
    std::cout << result.dump() << "\n";
  } else {
    std::printf(
        "introduction-request handling: %.1f us; bare verify + sign: %.1f us; "
        "overhead %.1f%% (target < 10%%); %llu requests, %llu datagrams out\n",
        per_handle, per_bare, (per_handle / per_bare - 1) * 100,
        static_cast<unsigned long long>(next_handle),
        static_cast<unsigned long long>(endpoint.sent));
  }
  return community.stats().total_drops() == 0 ? 0 : 1;
}

}  // namespace
}  // namespace ringv8::overlay

int main(int argc, char** argv) {
  bool json = argc > 1 && std::strcmp(argv[1], "--json") == 0;
  return ringv8::overlay::Run(json);
}
