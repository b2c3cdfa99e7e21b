#include "overlay/udp_broadcast_bootstrapper.h"

#include <netinet/in.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

#include <spdlog/spdlog.h>

#include "overlay/community.h"

namespace ringv8::overlay {

void UDPBroadcastBootstrapper::Initialize(Community& overlay) {
  if (fd_ >= 0) return;
  int fd = socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0) {
    spdlog::warn("LAN bootstrap: no socket: {}", strerror(errno));
    return;
  }
  int one = 1;
  setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
  setsockopt(fd, SOL_SOCKET, SO_BROADCAST, &one, sizeof(one));
  sockaddr_storage addr;
  socklen_t len = options_.bind.ToSockaddr(&addr);
  if (bind(fd, reinterpret_cast<sockaddr*>(&addr), len) != 0) {
    spdlog::warn("LAN bootstrap: cannot bind {}: {}", options_.bind.ToString(), strerror(errno));
    close(fd);
    return;
  }
  len = sizeof(addr);
  getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len);
  local_ = Address::FromSockaddr(reinterpret_cast<sockaddr*>(&addr), len).value_or(Address());
  Community* community = &overlay;
  if (overlay.loop().WatchFd(fd, EPOLLIN,
                             [this, community](uint32_t) { OnReadable(*community); }) != 0) {
    close(fd);
    return;
  }
  fd_ = fd;
  loop_ = &overlay.loop();
  Beacon(overlay);
}

void UDPBroadcastBootstrapper::Unload() {
  if (fd_ < 0) return;
  loop_->UnwatchFd(fd_);
  close(fd_);
  fd_ = -1;
}

void UDPBroadcastBootstrapper::Beacon(Community& overlay) {
  if (fd_ < 0) return;
  std::array<uint8_t, kBeaconHeader.size() + wire::kPrefixSize> beacon;
  std::copy(kBeaconHeader.begin(), kBeaconHeader.end(), beacon.begin());
  std::copy(overlay.prefix().begin(), overlay.prefix().end(),
            beacon.begin() + kBeaconHeader.size());
  for (uint32_t port = options_.first_port; port <= options_.last_port; ++port) {
    sockaddr_storage addr;
    socklen_t len = options_.broadcast.WithPort(static_cast<uint16_t>(port)).ToSockaddr(&addr);
    if (sendto(fd_, beacon.data(), beacon.size(), 0, reinterpret_cast<sockaddr*>(&addr), len) ==
        static_cast<ssize_t>(beacon.size())) {
      ++beacons_sent_;
    } else {
      ++beacons_failed_;  // EAGAIN when the socket buffer is full, ENETUNREACH without a LAN.
    }
  }
}

std::vector<Address> UDPBroadcastBootstrapper::GetAddresses(Community& overlay,
                                                            Duration /*timeout*/) {
  const TimePoint now = overlay.loop().Now();
  if (last_bootstrap_ && now - *last_bootstrap_ < options_.bootstrap_timeout) return {};
  last_bootstrap_ = now;
  Beacon(overlay);
  return {};
}

void UDPBroadcastBootstrapper::OnReadable(Community& overlay) {
  std::array<uint8_t, 2048> buffer;
  for (int i = 0; i < 64 && fd_ >= 0; ++i) {
    sockaddr_storage addr;
    socklen_t len = sizeof(addr);
    ssize_t n = recvfrom(fd_, buffer.data(), buffer.size(), MSG_TRUNC,
                         reinterpret_cast<sockaddr*>(&addr), &len);
    if (n < 0) return;  // EAGAIN: drained.
    auto source = Address::FromSockaddr(reinterpret_cast<sockaddr*>(&addr), len);
    const auto size = static_cast<size_t>(n);
    if (!source || size > buffer.size()) {
      ++dropped_;
      continue;
    }
    const wire::Bytes data(buffer.data(), size);
    const wire::Bytes prefix(overlay.prefix());
    if (size >= kBeaconHeader.size() &&
        std::equal(kBeaconHeader.begin(), kBeaconHeader.end(), data.begin())) {
      const wire::Bytes announced = data.subspan(kBeaconHeader.size());
      if (std::ranges::equal(announced, prefix)) {
        overlay.WalkTo(*source);
      }  // Another overlay's beacon: not for us.
    } else if (size > wire::kPrefixSize &&
               std::ranges::equal(data.first(wire::kPrefixSize), prefix)) {
      overlay.OnPacket(*source, data);
    } else {
      ++dropped_;
    }
  }
}

}  // namespace ringv8::overlay
