// The SO_REUSEPORT steering of a relay's shards on real sockets (127.0.0.1): cells of the tunnel
// overlay go to socket circuit_id mod N, everything else to socket 0.
#include "tunnel/cell_steering.h"

#include <arpa/inet.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cstring>
#include <memory>
#include <vector>

#include <gtest/gtest.h>

#include "ring/open_endpoint.h"
#include "tunnel/payloads.h"
#include "tunnel/tunnel_community.h"

namespace ringv8::tunnel {
namespace {

class Counter final : public EndpointListener {
 public:
  void OnPacket(const Address&, std::span<const uint8_t> datagram) override {
    datagrams.emplace_back(datagram.begin(), datagram.end());
  }
  std::vector<std::vector<uint8_t>> datagrams;
};

std::vector<uint8_t> Cell(const wire::CommunityId& community, uint32_t circuit_id) {
  std::vector<uint8_t> cell(kCellHeaderSize + 40, 0x5a);
  WriteCellHeader(wire::MakePrefix(community), CellHeader{circuit_id, false, false}, cell.data());
  return cell;
}

TEST(CellSteering, CellsGoToTheirCircuitsShardAndEverythingElseToShardZero) {
  for (const EndpointBackend backend : {EndpointBackend::kUring, EndpointBackend::kMmsg}) {
    for (const uint32_t shards : {2u, 3u}) {
      SCOPED_TRACE(::testing::Message() << shards << " shards, backend " << int(backend));
      EndpointOptions options;
      options.ipv4 = Address::ParseIp("127.0.0.1", 0);
      options.reuse_port = true;
      options.raw = true;
      options.gro = false;  // Each datagram steered alone (a GRO read goes whole by its first).
      options.reuseport_program =
          CellSteeringProgram(wire::MakePrefix(kPyIpv8TunnelCommunityId), shards);
      auto first = OpenLoopAndEndpoint(backend, options);
      ASSERT_TRUE(first) << first.error().message();
      std::vector<std::unique_ptr<Endpoint>> more;
      options.ipv4 = first->endpoint->local_addresses()[0];
      for (uint32_t i = 1; i < shards; ++i) {
        auto endpoint = OpenEndpoint(*first->loop, options);
        ASSERT_TRUE(endpoint) << endpoint.error().message();
        more.push_back(std::move(*endpoint));
      }
      std::vector<Counter> counters(shards);
      std::vector<Endpoint*> endpoints{first->endpoint.get()};
      for (auto& e : more) endpoints.push_back(e.get());
      for (uint32_t i = 0; i < shards; ++i) endpoints[i]->AddCatchAllListener(&counters[i]);

      std::vector<std::vector<uint8_t>> expected[3];
      auto expect = [&](uint32_t shard, std::vector<uint8_t> datagram) {
        expected[shard].push_back(std::move(datagram));
      };
      for (uint32_t id : {0u, 1u, 2u, 3u, 4u, 5u, 0x7fffffffu, 0xffffffffu, 0x80000001u}) {
        expect(id % shards, Cell(kPyIpv8TunnelCommunityId, id));
      }
      std::vector<uint8_t> introduction = Cell(kPyIpv8TunnelCommunityId, 1);
      introduction[wire::kPrefixSize] = 246;  // Not a cell: the control plane.
      expect(0, introduction);
      expect(0, Cell(kTriblerTunnelCommunityId, 1));  // Another overlay's cell.
      std::vector<uint8_t> other_version = Cell(kPyIpv8TunnelCommunityId, 1);
      other_version[1] ^= 1;
      expect(0, other_version);
      std::vector<uint8_t> short_cell = Cell(kPyIpv8TunnelCommunityId, 1);
      short_cell.resize(kCircuitIdOffset + 2);  // The circuit id cut short.
      expect(0, short_cell);
      expect(0, {});  // Empty.

      int fd = socket(AF_INET, SOCK_DGRAM, 0);
      sockaddr_storage to;
      const socklen_t to_len = options.ipv4->ToSockaddr(&to);
      size_t total = 0;
      for (const auto& list : expected) {
        for (const auto& datagram : list) {
          ASSERT_EQ(sendto(fd, datagram.data(), datagram.size(), 0,
                           reinterpret_cast<sockaddr*>(&to), to_len),
                    static_cast<ssize_t>(datagram.size()));
          ++total;
        }
      }
      close(fd);
      for (int i = 0; i < 200; ++i) {
        size_t got = 0;
        for (const Counter& c : counters) got += c.datagrams.size();
        if (got == total) break;
        first->loop->RunFor(std::chrono::milliseconds(5));
      }
      for (uint32_t i = 0; i < shards; ++i) {
        EXPECT_EQ(counters[i].datagrams, expected[i]) << "shard " << i;
        endpoints[i]->RemoveCatchAllListener(&counters[i]);
      }
    }
  }
}

TEST(CellSteering, RefusesZeroShards) {
  EXPECT_THROW(CellSteeringProgram(wire::MakePrefix(kPyIpv8TunnelCommunityId), 0),
               std::invalid_argument);
}

}  // namespace
}  // namespace ringv8::tunnel
