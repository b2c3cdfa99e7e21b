#include "overlay/dispersy_bootstrapper.h"

#include <algorithm>
#include <random>

#include <netdb.h>
#include <spdlog/spdlog.h>

#include "overlay/community.h"

namespace ringv8::overlay {

DispersyBootstrapperOptions DispersyBootstrapperOptions::Defaults() {
  DispersyBootstrapperOptions options;
  for (const char* text :
       {"130.161.119.206:6421", "130.161.119.206:6422", "131.180.27.155:6423",
        "131.180.27.156:6424", "131.180.27.161:6427", "131.180.27.161:6521", "131.180.27.161:6522",
        "131.180.27.162:6523", "131.180.27.162:6524", "130.161.119.215:6525",
        "130.161.119.215:6526", "130.161.119.201:6527", "130.161.119.201:6528"}) {
    options.ip_addresses.push_back(*Address::Parse(text));
  }
  options.dns_addresses = {{"dispersy1.tribler.org", 6421}, {"dispersy1.st.tudelft.nl", 6421},
                           {"dispersy2.tribler.org", 6422}, {"dispersy2.st.tudelft.nl", 6422},
                           {"dispersy3.tribler.org", 6423}, {"dispersy3.st.tudelft.nl", 6423},
                           {"dispersy4.tribler.org", 6424}};
  return options;
}

DispersyBootstrapper::DispersyBootstrapper(DispersyBootstrapperOptions options)
    : options_(std::move(options)),
      self_(std::make_shared<std::atomic<DispersyBootstrapper*>>(this)) {}

DispersyBootstrapper::~DispersyBootstrapper() { Unload(); }

void DispersyBootstrapper::Unload() {
  self_->store(nullptr);  // Results that arrive later are dropped.
  if (resolver_.joinable()) resolver_.join();
}

void DispersyBootstrapper::Initialize(Community& overlay) {
  if (initialized_) return;
  initialized_ = true;
  for (const Address& a : options_.ip_addresses) overlay.network().AddToBlacklist(a);
  if (options_.dns_addresses.empty()) return;
  // getaddrinfo blocks; it runs on its own thread and posts each result to the loop.
  EventLoop* loop = &overlay.loop();
  Community* community = &overlay;
  resolver_ = std::jthread([names = options_.dns_addresses, loop, community, self = self_] {
    for (const auto& [host, port] : names) {
      if (self->load() == nullptr) return;
      addrinfo hints{};
      hints.ai_family = AF_INET;  // py-ipv8 uses gethostbyname: IPv4 only.
      hints.ai_socktype = SOCK_DGRAM;
      addrinfo* result = nullptr;
      int error = getaddrinfo(host.c_str(), nullptr, &hints, &result);
      if (error != 0) {
        spdlog::warn("bootstrap: cannot resolve {}: {}", host, gai_strerror(error));
        continue;
      }
      auto address = Address::FromSockaddr(result->ai_addr, result->ai_addrlen);
      freeaddrinfo(result);
      if (!address) continue;
      const Address resolved = address->WithPort(port);
      loop->Post([self, community, resolved] {
        DispersyBootstrapper* bootstrapper = self->load();
        if (bootstrapper == nullptr) return;
        auto& ips = bootstrapper->options_.ip_addresses;
        if (std::find(ips.begin(), ips.end(), resolved) != ips.end()) return;
        ips.push_back(resolved);
        community->network().AddToBlacklist(resolved);
      });
    }
  });
}

std::vector<Address> DispersyBootstrapper::GetAddresses(Community& overlay, Duration /*timeout*/) {
  const TimePoint now = overlay.loop().Now();
  if (last_bootstrap_ && now - *last_bootstrap_ < options_.bootstrap_timeout) return {};
  last_bootstrap_ = now;
  for (const Address& a : options_.ip_addresses) {
    overlay.network().AddToBlacklist(a);
    overlay.WalkTo(a);
  }
  return {};  // py-ipv8 walks directly and returns nothing.
}

void DispersyBootstrapper::KeepAlive(Community& overlay) {
  if (options_.ip_addresses.empty()) return;
  const auto& ips = options_.ip_addresses;
  const Address& a =
      ips[std::uniform_int_distribution<size_t>(0, ips.size() - 1)(overlay.random())];
  overlay.network().AddToBlacklist(a);
  overlay.WalkTo(a);
}

}  // namespace ringv8::overlay
