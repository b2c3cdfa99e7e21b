#include "testbed/load_generator.h"

#include <netinet/in.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <deque>
#include <stdexcept>
#include <string>

#include "wire/payloads.h"

namespace ringv8::testbed {

namespace {
using Clock = std::chrono::steady_clock;
constexpr auto kTimeout = std::chrono::seconds(1);
}  // namespace

double LoadStats::LatencyPercentile(double p) {
  if (latencies_us.empty()) return 0;
  const size_t i = static_cast<size_t>(p * static_cast<double>(latencies_us.size() - 1));
  std::nth_element(latencies_us.begin(), latencies_us.begin() + static_cast<long>(i),
                   latencies_us.end());
  return latencies_us[i];
}

std::vector<uint8_t> SignedIntroductionRequest(const wire::PrivateKey& key,
                                               const wire::CommunityId& community,
                                               const Address& target, uint16_t identifier) {
  wire::IntroductionRequestPayload request;
  request.destination_address = target;
  request.source_lan_address = *Address::ParseIp("127.0.0.1", 0);
  request.identifier = identifier;
  return *wire::EncodePacketToVector(wire::MakePrefix(community), key, identifier, request);
}

LoadGenerator::LoadGenerator(const Address& target, int sockets) : target_(target) {
  epoll_ = epoll_create1(EPOLL_CLOEXEC);
  if (epoll_ < 0) throw std::runtime_error(std::string("epoll: ") + std::strerror(errno));
  sockets_.resize(static_cast<size_t>(sockets));
  for (int i = 0; i < sockets; ++i) {
    Socket& s = sockets_[static_cast<size_t>(i)];
    s.fd = socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (s.fd < 0 || bind(s.fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0) {
      throw std::runtime_error("cannot open load socket " + std::to_string(i) + ": " +
                               std::strerror(errno));
    }
    epoll_event event{.events = EPOLLIN, .data = {.u32 = static_cast<uint32_t>(i)}};
    epoll_ctl(epoll_, EPOLL_CTL_ADD, s.fd, &event);
  }
}

LoadGenerator::~LoadGenerator() {
  for (Socket& s : sockets_) {
    if (s.fd >= 0) close(s.fd);
  }
  if (epoll_ >= 0) close(epoll_);
}

LoadStats LoadGenerator::Register(const RequestSource& source, int window, Duration deadline) {
  return Run(Mode::kRegister, source, window, deadline);
}
LoadStats LoadGenerator::ClosedLoop(const RequestSource& source, int window, Duration duration,
                                    uint64_t max_sends) {
  return Run(Mode::kClosed, source, window, duration, max_sends);
}
LoadStats LoadGenerator::OpenLoop(const RequestSource& source, double rate, Duration duration) {
  return Run(Mode::kOpen, source, rate, duration);
}
LoadStats LoadGenerator::Flood(const RequestSource& source, double rate, Duration duration) {
  return Run(Mode::kFlood, source, rate, duration);
}
LoadStats LoadGenerator::Drain(Duration duration) { return Run(Mode::kDrain, {}, 0, duration); }

LoadStats LoadGenerator::Run(Mode mode, const RequestSource& source, double rate_or_window,
                             Duration duration, uint64_t max_sends) {
  LoadStats stats;
  sockaddr_storage to;
  const socklen_t to_len = target_.ToSockaddr(&to);
  const int n = sockets();
  std::deque<int> idle;
  for (int i = 0; i < n; ++i) {
    sockets_[static_cast<size_t>(i)].sent.reset();  // What an earlier phase left is not ours.
    idle.push_back(i);
  }
  const auto start = Clock::now();
  const auto end = start + std::chrono::duration_cast<Clock::duration>(duration);
  auto send_from = [&](int i) {
    std::span<const uint8_t> datagram = source(i);
    Socket& s = sockets_[static_cast<size_t>(i)];
    if (sendto(s.fd, datagram.data(), datagram.size(), 0, reinterpret_cast<sockaddr*>(&to),
               to_len) < 0) {
      ++stats.send_errors;
      if (mode != Mode::kFlood) idle.push_back(i);
      return;
    }
    if (mode != Mode::kFlood) s.sent = Clock::now();
    ++stats.sent;
  };
  auto receive = [&](std::chrono::nanoseconds timeout) {
    epoll_event events[64];
    timespec wait{.tv_sec = static_cast<time_t>(timeout.count() / 1000000000),
                  .tv_nsec = static_cast<long>(timeout.count() % 1000000000)};
    const int ready = epoll_pwait2(epoll_, events, 64, &wait, nullptr);
    const auto now = Clock::now();
    const size_t second =
        static_cast<size_t>(std::chrono::duration_cast<std::chrono::seconds>(now - start).count());
    for (int e = 0; e < ready; ++e) {
      const int i = static_cast<int>(events[e].data.u32);
      Socket& s = sockets_[static_cast<size_t>(i)];
      uint8_t buffer[2048];
      ssize_t size;
      while ((size = recv(s.fd, buffer, sizeof(buffer), 0)) >= 0) {
        ++stats.received;
        if (stats.received_per_second.size() <= second)
          stats.received_per_second.resize(second + 1);
        ++stats.received_per_second[second];
        if (size <= static_cast<ssize_t>(wire::kPrefixSize)) continue;
        const uint8_t id = buffer[wire::kPrefixSize];
        ++stats.received_by_id[id];
        if (id != wire::IntroductionResponsePayload::kMessageId) continue;
        if (mode != Mode::kFlood && mode != Mode::kDrain && !s.sent) continue;  // Stale.
        auto view = wire::ParsePacket(wire::Bytes(buffer, static_cast<size_t>(size)),
                                      wire::LayoutOf<wire::IntroductionResponsePayload>());
        if (!view) continue;
        auto payload = wire::DecodePayload<wire::IntroductionResponsePayload>(view->payload);
        if (!payload) continue;
        ++stats.responses;
        stats.named += !payload->wan_introduction_address.is_zero();
        if (s.sent) {
          stats.latencies_us.push_back(
              std::chrono::duration<double, std::micro>(now - *s.sent).count());
          s.sent.reset();
          if (mode != Mode::kRegister) idle.push_back(i);
        }
      }
    }
  };
  auto last_expiry = start;
  auto expire = [&] {
    const auto now = Clock::now();
    if (now - last_expiry < std::chrono::milliseconds(10)) return;  // O(sockets): not every poll.
    last_expiry = now;
    for (int i = 0; i < n; ++i) {
      Socket& s = sockets_[static_cast<size_t>(i)];
      if (s.sent && now - *s.sent > kTimeout) {
        s.sent.reset();
        ++stats.timeouts;
        if (mode != Mode::kRegister) idle.push_back(i);
      }
    }
  };
  auto in_flight = [&] { return stats.sent - stats.responses - stats.timeouts; };
  auto elapsed = [&] { return std::chrono::duration<double>(Clock::now() - start).count(); };

  const uint64_t window = static_cast<uint64_t>(std::max(rate_or_window, 1.0));
  int next = 0;  // Register: the next socket to send; flood: round-robin.
  while (Clock::now() < end) {
    switch (mode) {
      case Mode::kRegister:
        while (next < n && in_flight() < window) send_from(next++);
        if (next == n && in_flight() == 0) return stats.seconds = elapsed(), stats;
        receive(std::chrono::milliseconds(1));
        break;
      case Mode::kClosed:
        while (in_flight() < window && !idle.empty() && stats.sent < max_sends) {
          const int i = idle.front();
          idle.pop_front();
          send_from(i);
        }
        if (stats.sent >= max_sends && in_flight() == 0) return stats.seconds = elapsed(), stats;
        receive(std::chrono::nanoseconds(0));
        break;
      case Mode::kOpen:
      case Mode::kFlood: {
        const double due = elapsed() * rate_or_window;
        // At most a batch per turn: receiving and the clock are checked between batches.
        for (int batch = 0;
             batch < 256 && static_cast<double>(stats.sent + stats.send_errors) < due; ++batch) {
          if (mode == Mode::kFlood) {
            send_from(next);
            next = (next + 1) % n;
          } else if (!idle.empty()) {
            const int i = idle.front();
            idle.pop_front();
            send_from(i);
          } else {
            break;
          }
        }
        const double wait =
            (static_cast<double>(stats.sent + stats.send_errors) + 1) / rate_or_window - elapsed();
        receive(std::chrono::nanoseconds(static_cast<int64_t>(std::max(0.0, wait) * 1e9)));
        break;
      }
      case Mode::kDrain:
        receive(std::chrono::milliseconds(10));
        break;
    }
    if (mode != Mode::kFlood && mode != Mode::kDrain) expire();
  }
  stats.seconds = elapsed();
  return stats;
}

}  // namespace ringv8::testbed
