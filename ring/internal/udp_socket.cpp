#include "ring/internal/udp_socket.h"

#include <fcntl.h>
#include <linux/sock_diag.h>
#include <netinet/in.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include <spdlog/spdlog.h>

#include "ring/internal/udp_offload.h"

namespace ringv8::internal {

namespace {

void SetBufferSize(int fd, int force_option, int option, int bytes) {
  // FORCE ignores rmem_max/wmem_max but needs CAP_NET_ADMIN; fall back to the capped option.
  if (setsockopt(fd, SOL_SOCKET, force_option, &bytes, sizeof(bytes)) != 0) {
    setsockopt(fd, SOL_SOCKET, option, &bytes, sizeof(bytes));
  }
}

}  // namespace

Result<UdpSocket> OpenUdpSocket(const Address& bind, const EndpointOptions& options) {
  const int family = bind.is_v4() ? AF_INET : AF_INET6;
  int fd = socket(family, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0) return Unexpected{Errno(errno)};
  int one = 1;
  if (family == AF_INET6) setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof(one));
  setsockopt(fd, SOL_SOCKET, SO_RXQ_OVFL, &one, sizeof(one));
  if (options.reuse_port && setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &one, sizeof(one)) != 0) {
    const int error = errno;
    close(fd);
    return Unexpected{Errno(error)};
  }
  SetBufferSize(fd, SO_RCVBUFFORCE, SO_RCVBUF, options.socket_buffer_bytes);
  SetBufferSize(fd, SO_SNDBUFFORCE, SO_SNDBUF, options.socket_buffer_bytes);

  const int attempts = options.port_fallback && bind.port() != 0 ? options.port_attempts : 1;
  int error = 0;
  for (int i = 0; i < attempts; ++i) {
    uint32_t port = bind.port() + static_cast<uint32_t>(i);
    if (port > 65535) break;
    sockaddr_storage addr;
    socklen_t len = bind.WithPort(static_cast<uint16_t>(port)).ToSockaddr(&addr);
    if (::bind(fd, reinterpret_cast<sockaddr*>(&addr), len) == 0) {
      error = 0;
      break;
    }
    error = errno;
    if (error != EADDRINUSE) break;
  }
  if (error != 0) {
    close(fd);
    return Unexpected{Errno(error)};
  }
  if (!options.reuseport_program.empty()) {
    sock_fprog program{static_cast<unsigned short>(options.reuseport_program.size()),
                       const_cast<sock_filter*>(options.reuseport_program.data())};
    if (setsockopt(fd, SOL_SOCKET, SO_ATTACH_REUSEPORT_CBPF, &program, sizeof(program)) != 0) {
      const int attach_error = errno;
      close(fd);
      return Unexpected{Errno(attach_error)};
    }
  }
  sockaddr_storage local;
  socklen_t local_len = sizeof(local);
  getsockname(fd, reinterpret_cast<sockaddr*>(&local), &local_len);
  auto address = Address::FromSockaddr(reinterpret_cast<sockaddr*>(&local), local_len);
  if (address && bind.port() != 0 && address->port() != bind.port()) {
    spdlog::warn("{} is taken: bound {} instead (the next free port, as py-ipv8 does)",
                 bind.ToString(), address->ToString());
  }
  // UDP_GRO (kernel 5.0+): without it the kernel splits coalesced datagrams itself.
  const bool gro = options.gro && setsockopt(fd, SOL_UDP, UDP_GRO, &one, sizeof(one)) == 0;
  return UdpSocket{fd, address.value_or(bind), gro};
}

bool SocketSet::gro() const {
  for (const Socket& s : sockets_) {
    if (s.udp.gro) return true;
  }
  return false;
}

ReceiveControl ReadControl(const msghdr& msg) {
  ReceiveControl out;
  for (cmsghdr* c = CMSG_FIRSTHDR(const_cast<msghdr*>(&msg)); c != nullptr;
       c = CMSG_NXTHDR(const_cast<msghdr*>(&msg), c)) {
    if (c->cmsg_level == SOL_SOCKET && c->cmsg_type == SO_RXQ_OVFL &&
        c->cmsg_len >= CMSG_LEN(sizeof(uint32_t))) {
      uint32_t value;
      std::memcpy(&value, CMSG_DATA(c), sizeof(value));
      out.drops = value;
    } else if (c->cmsg_level == SOL_UDP && c->cmsg_type == UDP_GRO &&
               c->cmsg_len >= CMSG_LEN(sizeof(int))) {
      int size;
      std::memcpy(&size, CMSG_DATA(c), sizeof(size));
      if (size > 0 && size <= 65535) out.gro_segment = static_cast<uint16_t>(size);
    }
  }
  return out;
}

std::optional<uint32_t> ReadSocketDrops(int fd) {
  uint32_t meminfo[SK_MEMINFO_VARS] = {};
  socklen_t length = sizeof(meminfo);
  if (getsockopt(fd, SOL_SOCKET, SO_MEMINFO, meminfo, &length) != 0 ||
      length <= SK_MEMINFO_DROPS * sizeof(uint32_t)) {
    return std::nullopt;
  }
  return meminfo[SK_MEMINFO_DROPS];
}

void SocketSet::PollDrops(EndpointStats& stats) {
  for (Socket& socket : sockets_) {
    if (auto drops = ReadSocketDrops(socket.udp.fd)) {
      stats.kernel_drops.Add(socket.overflow.Update(*drops));
    }
  }
}

std::error_code SocketSet::Open(const EndpointOptions& options) {
  for (const auto& bind : {options.ipv4, options.ipv6}) {
    if (!bind) continue;
    auto socket = OpenUdpSocket(*bind, options);
    if (!socket) {
      CloseAll();
      return socket.error();
    }
    sockets_.push_back({*socket, {}});
    local_.push_back(socket->local);
  }
  return sockets_.empty() ? Errno(EINVAL) : std::error_code();
}

void SocketSet::CloseAll() {
  for (auto& s : sockets_) close(s.udp.fd);
  sockets_.clear();
  local_.clear();
}

int SocketSet::IndexFor(const Address& to) const {
  for (size_t i = 0; i < sockets_.size(); ++i) {
    if (sockets_[i].udp.local.family() == to.family()) return static_cast<int>(i);
  }
  return -1;
}

std::error_code CheckSend(bool open, int socket_index, size_t size, EndpointStats& stats) {
  int error = 0;
  if (!open) {
    error = ENOTCONN;
  } else if (size > kMaxUdpPayload) {
    stats.send_too_large.Add();
    return Errno(EMSGSIZE);
  } else if (socket_index < 0) {
    error = EAFNOSUPPORT;
  }
  if (error != 0) stats.CountSendError(error);
  return error == 0 ? std::error_code() : Errno(error);
}

}  // namespace ringv8::internal
