#include "testbed/bare_exit.h"

#include <netinet/in.h>
#include <netinet/udp.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cstring>
#include <stdexcept>
#include <unordered_map>

#include "testbed/bench_util.h"
#include "testbed/tunnel_bench_util.h"
#include "tunnel/layer_cipher.h"
#include "tunnel/payloads.h"

namespace ringv8::testbed {

BareExit::BareExit(Direction direction, const std::vector<uint32_t>& ids,
                   const std::vector<tunnel::DirectionKey>& keys, const Address& destination)
    : direction_(direction), ids_(ids), keys_(keys), destination_(destination) {
  fd_ = LoopbackSocket(&address_, /*gro=*/true);
  timeval timeout{0, 50'000};  // How soon the thread sees stop_ when nothing arrives.
  setsockopt(fd_, SOL_SOCKET, SO_RCVTIMEO, &timeout, sizeof(timeout));
  try {
    for (size_t i = 0; i < ids_.size(); ++i) {
      circuit_fds_.push_back(LoopbackSocket(&circuit_addresses_.emplace_back(), /*gro=*/true));
    }
  } catch (...) {
    for (int fd : circuit_fds_) close(fd);
    close(fd_);
    throw;
  }
  thread_ = std::thread([this] { direction_ == Direction::kOut ? RunOut() : RunBack(); });
}

BareExit::~BareExit() {
  stop_ = true;
  thread_.join();
  for (int fd : circuit_fds_) close(fd);
  close(fd_);
}

double BareExit::CpuSeconds() { return ThreadCpuSeconds(thread_.native_handle()); }

void BareExit::RunOut() {
  PinToCpu(1);
  pthread_setname_np(pthread_self(), "bare exit");
  std::unordered_map<uint32_t, size_t> circuit;
  for (size_t i = 0; i < ids_.size(); ++i) circuit.emplace(ids_[i], i);
  sockaddr_storage to;
  const socklen_t to_length = destination_.ToSockaddr(&to);
  tunnel::LayerCipher cipher;
  std::vector<uint8_t> message(65536);
  ReceiveBatch batch(65536);
  while (!stop_.load(std::memory_order_relaxed)) {
    const int n = batch.Read(fd_, MSG_WAITFORONE);
    ForEachDatagram(batch, n, [&](std::span<const uint8_t> cell) {
      const auto header = tunnel::ParseCellHeader(cell);
      if (!header) return;
      const auto found = circuit.find(header->circuit_id);
      if (found == circuit.end()) return;
      const auto opened =
          cipher.Open(keys_[found->second], cell.subspan(tunnel::kCellHeaderSize), message.data());
      if (!opened || *opened < kDataIpv4Overhead) return;
      if (sendto(circuit_fds_[found->second], message.data() + kDataIpv4Overhead,
                 *opened - kDataIpv4Overhead, 0, reinterpret_cast<sockaddr*>(&to),
                 to_length) >= 0) {
        sent_.fetch_add(1, std::memory_order_relaxed);
      }
    });
  }
}

}  // namespace ringv8::testbed

namespace ringv8::testbed {

void BareExit::RunBack() {
  PinToCpu(1);
  pthread_setname_np(pthread_self(), "bare exit");
  const int poll = epoll_create1(0);
  for (size_t i = 0; i < circuit_fds_.size(); ++i) {
    epoll_event event{};
    event.events = EPOLLIN;
    event.data.u64 = i;
    epoll_ctl(poll, EPOLL_CTL_ADD, circuit_fds_[i], &event);
  }
  std::vector<std::vector<uint8_t>> headers;
  for (uint32_t id : ids_) headers.push_back(CellHeader(id));
  tunnel::LayerCipher cipher;
  std::array<uint8_t, kDataIpv4Overhead> head{};
  head[0] = tunnel::kCellData;
  ReceiveBatch batch(65536);  // A GRO read each.
  // Cells of one wake-up, sent as UDP_SEGMENT runs of equal size.
  GsoRun run(fd_, {destination_});
  epoll_event events[kBatch];
  while (!stop_.load(std::memory_order_relaxed)) {
    const int ready = epoll_wait(poll, events, kBatch, 50);
    for (int e = 0; e < ready; ++e) {
      const size_t i = events[e].data.u64;
      const int n = batch.Read(circuit_fds_[i], MSG_DONTWAIT);
      ForEachDatagram(batch, n, [&](std::span<const uint8_t> payload) {
        uint8_t* cell = run.Room(
            0, tunnel::kCellHeaderSize + tunnel::kLayerOverhead + head.size() + payload.size());
        if (cell == nullptr) return;
        std::memcpy(cell, headers[i].data(), tunnel::kCellHeaderSize);
        cipher.SealNext(keys_[i], head, payload, cell + tunnel::kCellHeaderSize);
        run.Add();
      });
    }
    run.Flush();
    sent_.store(run.sent(), std::memory_order_relaxed);
  }
  close(poll);
}

}  // namespace ringv8::testbed
