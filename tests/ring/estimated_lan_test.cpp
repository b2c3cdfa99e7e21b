// EstimatedLanAddress: the address a node or tracker puts in its packets as its own LAN address.
#include <gtest/gtest.h>

#include "ring/endpoint.h"

namespace ringv8 {
namespace {

// An endpoint that only reports addresses.
class AddressesOnly final : public Endpoint {
 public:
  AddressesOnly(std::vector<Address> local, std::vector<Address> interfaces)
      : local_(std::move(local)), interfaces_(std::move(interfaces)) {}
  const char* backend_name() const override { return "addresses"; }
  bool is_open() const override { return true; }
  void Close() override {}
  std::error_code Send(const Address&, std::span<const uint8_t>) override { return {}; }
  std::span<const Address> local_addresses() const override { return local_; }
  std::span<const Address> interface_addresses() const override { return interfaces_; }

 private:
  std::vector<Address> local_, interfaces_;
};

TEST(EstimatedLanAddress, BoundToAllIsTheFirstIpv4InterfaceWithThePort) {
  AddressesOnly e({*Address::Parse("0.0.0.0:6421")},
                  {*Address::Parse("[fd00::2]:0"), *Address::Parse("192.0.2.2:0"),
                   *Address::Parse("198.51.100.7:0")});
  EXPECT_EQ(EstimatedLanAddress(e).ToString(), "192.0.2.2:6421");
}

TEST(EstimatedLanAddress, BoundToOneIpIsThatAddress) {
  AddressesOnly e({*Address::Parse("127.0.0.1:8090")}, {*Address::Parse("192.0.2.2:0")});
  EXPECT_EQ(EstimatedLanAddress(e).ToString(), "127.0.0.1:8090");
}

TEST(EstimatedLanAddress, NoInterfaceIsLoopbackWithThePort) {
  AddressesOnly e({*Address::Parse("0.0.0.0:6421")}, {});
  EXPECT_EQ(EstimatedLanAddress(e).ToString(), "127.0.0.1:6421");
}

// The IPv6 path (issue 15 item 1): an IPv6 address with the IPv6 socket's port, the bound one
// when it is bound to one; never the host's IPv4 address from an IPv6-only endpoint.
TEST(EstimatedLanAddress, Ipv6BoundToOneIpIsThatAddress) {
  AddressesOnly e({*Address::Parse("[::1]:8090")},
                  {*Address::Parse("192.0.2.2:0"), *Address::Parse("[fd00::2]:0")});
  EXPECT_EQ(EstimatedLanAddress(e, Address::Family::kIpv6).ToString(), "[::1]:8090");
  EXPECT_EQ(EstimatedLanAddress(e).ToString(), "0.0.0.0:0");  // No IPv4 socket: nothing.
}

TEST(EstimatedLanAddress, Ipv6BoundToAllIsTheFirstIpv6InterfaceWithThePort) {
  AddressesOnly e({*Address::Parse("0.0.0.0:7000"), *Address::Parse("[::]:7001")},
                  {*Address::Parse("192.0.2.2:0"), *Address::Parse("[fd00::2]:0")});
  EXPECT_EQ(EstimatedLanAddress(e, Address::Family::kIpv6).ToString(), "[fd00::2]:7001");
  EXPECT_EQ(EstimatedLanAddress(e).ToString(), "192.0.2.2:7000");
}

}  // namespace
}  // namespace ringv8
