#include "ring/address.h"

#include <unordered_set>

#include <gtest/gtest.h>

namespace ringv8 {
namespace {

TEST(Address, DefaultIsIpv4Zero) {
  Address a;
  EXPECT_TRUE(a.is_v4());
  EXPECT_TRUE(a.is_zero());
  EXPECT_EQ(a.ToString(), "0.0.0.0:0");
}

TEST(Address, ParsesAndPrintsIpv4AndIpv6) {
  auto v4 = Address::Parse("192.168.1.10:8090");
  ASSERT_TRUE(v4);
  EXPECT_EQ(v4->ToString(), "192.168.1.10:8090");
  EXPECT_EQ(v4->ipv4_host_order(), 0xC0A8010Au);
  EXPECT_EQ(v4->port(), 8090);

  auto v6 = Address::Parse("[2001:db8::1]:9000");
  ASSERT_TRUE(v6);
  EXPECT_TRUE(v6->is_v6());
  EXPECT_EQ(v6->ToString(), "[2001:db8::1]:9000");
  EXPECT_EQ(v6->ip_bytes().size(), 16u);
}

TEST(Address, RejectsMalformedText) {
  for (const char* bad : {"", "1.2.3.4", "1.2.3.4:", "1.2.3.4:65536", "1.2.3:80", "::1:80",
                          "[::1]80", "[1.2.3.4]:80", "host:80", "1.2.3.4:-1", "[::1]:8x"}) {
    EXPECT_FALSE(Address::Parse(bad)) << bad;
  }
}

TEST(Address, RoundTripsThroughSockaddr) {
  for (const char* text : {"10.0.0.5:7759", "[::1]:80"}) {
    auto a = *Address::Parse(text);
    sockaddr_storage storage;
    socklen_t len = a.ToSockaddr(&storage);
    auto back = Address::FromSockaddr(reinterpret_cast<sockaddr*>(&storage), len);
    ASSERT_TRUE(back);
    EXPECT_EQ(*back, a);
  }
}

TEST(Address, HashesAndOrdersByValue) {
  std::unordered_set<Address> set{*Address::Parse("1.2.3.4:1"), *Address::Parse("1.2.3.4:1"),
                                  *Address::Parse("1.2.3.4:2"), *Address::Parse("[::1]:1")};
  EXPECT_EQ(set.size(), 3u);
  EXPECT_LT(*Address::Parse("1.2.3.4:1"), *Address::Parse("1.2.3.4:2"));
  EXPECT_TRUE(Address::Parse("1.2.3.4:1")->SameIp(*Address::Parse("1.2.3.4:9")));
  EXPECT_EQ(Address::Parse("1.2.3.4:1")->WithPort(9), *Address::Parse("1.2.3.4:9"));
}

}  // namespace
}  // namespace ringv8
