#include "testbed/bench_util.h"

#include <netinet/in.h>
#include <netinet/udp.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstring>
#include <stdexcept>
#include <string>
#include <thread>

#include <pthread.h>
#include <sched.h>
#include <time.h>

namespace ringv8::testbed {

void PinToCpu(int cpu) {
  const long cpus = sysconf(_SC_NPROCESSORS_ONLN);
  if (cpus < 2) return;
  cpu_set_t set;
  CPU_ZERO(&set);
  CPU_SET(static_cast<int>(cpu % cpus), &set);
  pthread_setaffinity_np(pthread_self(), sizeof(set), &set);
}

double ThreadCpuSeconds() {
  timespec ts{};
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
  return static_cast<double>(ts.tv_sec) + static_cast<double>(ts.tv_nsec) / 1e9;
}

double Median(std::vector<double> values) {
  if (values.empty()) return 0;
  std::sort(values.begin(), values.end());
  const size_t n = values.size();
  return n % 2 == 1 ? values[n / 2] : (values[n / 2 - 1] + values[n / 2]) / 2;
}

double Percentile(std::vector<double> values, double p) {
  if (values.empty()) return 0;
  std::sort(values.begin(), values.end());
  return values[std::min(values.size() - 1, static_cast<size_t>(p * values.size()))];
}

namespace {

Address BoundAddress(int fd) {
  sockaddr_storage addr;
  socklen_t len = sizeof(addr);
  getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len);
  return *Address::FromSockaddr(reinterpret_cast<sockaddr*>(&addr), len);
}

}  // namespace

int LoopbackSocket(Address* bound, bool gro, const Address& at) {
  int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  if (fd < 0) throw std::runtime_error(std::string("socket: ") + strerror(errno));
  int big = 8 << 20, one = 1;
  setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &big, sizeof(big));
  setsockopt(fd, SOL_SOCKET, SO_SNDBUFFORCE, &big, sizeof(big));
  setsockopt(fd, SOL_SOCKET, SO_RXQ_OVFL, &one, sizeof(one));
  if (gro) setsockopt(fd, SOL_UDP, UDP_GRO, &one, sizeof(one));
  timeval timeout{0, 100000};  // Blocking receives come back to check their stop flag.
  setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, sizeof(timeout));
  sockaddr_storage addr;
  socklen_t len = at.ToSockaddr(&addr);
  if (bind(fd, reinterpret_cast<sockaddr*>(&addr), len) != 0) {
    close(fd);
    throw std::runtime_error("bind " + at.ToString() + ": " + strerror(errno));
  }
  *bound = BoundAddress(fd);
  return fd;
}

int HoldAddress(const Address& at) {
  Address bound;
  for (int attempt = 0;; ++attempt) {
    try {
      return LoopbackSocket(&bound, /*gro=*/true, at);
    } catch (const std::runtime_error&) {
      if (attempt == 50) throw;
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
  }
}

HeldSocket::~HeldSocket() { close(fd); }

uint32_t DropsIn(msghdr& msg, uint32_t last) {
  for (cmsghdr* c = CMSG_FIRSTHDR(&msg); c != nullptr; c = CMSG_NXTHDR(&msg, c)) {
    if (c->cmsg_level == SOL_SOCKET && c->cmsg_type == SO_RXQ_OVFL) {
      std::memcpy(&last, CMSG_DATA(c), sizeof(last));
    }
  }
  return last;
}

uint64_t DatagramsIn(msghdr& msg, size_t length) {
  for (cmsghdr* c = CMSG_FIRSTHDR(&msg); c != nullptr; c = CMSG_NXTHDR(&msg, c)) {
    if (c->cmsg_level == SOL_UDP && c->cmsg_type == UDP_GRO) {
      int segment;
      std::memcpy(&segment, CMSG_DATA(c), sizeof(segment));
      if (segment > 0) return (length + static_cast<size_t>(segment) - 1) / segment;
    }
  }
  return 1;
}

ReceiveBatch::ReceiveBatch(size_t buffer_size)
    : size(buffer_size), memory(buffer_size * kBatch), names(kBatch) {
  for (int i = 0; i < kBatch; ++i) {
    iov[i] = {memory.data() + i * size, size};
    headers[i].msg_hdr = msghdr{};
    headers[i].msg_hdr.msg_name = &names[i];
    headers[i].msg_hdr.msg_namelen = sizeof(sockaddr_storage);
    headers[i].msg_hdr.msg_iov = &iov[i];
    headers[i].msg_hdr.msg_iovlen = 1;
    headers[i].msg_hdr.msg_control = control[i];
    headers[i].msg_hdr.msg_controllen = sizeof(control[i]);
  }
}

int ReceiveBatch::Read(int fd, int flags) {
  for (int i = 0; i < filled; ++i) {
    headers[i].msg_hdr.msg_namelen = sizeof(sockaddr_storage);
    headers[i].msg_hdr.msg_controllen = sizeof(control[i]);
  }
  const int n = recvmmsg(fd, headers, kBatch, flags, nullptr);
  filled = std::max(n, 0);
  return n;
}

size_t GroSegmentIn(msghdr& msg) {
  for (cmsghdr* c = CMSG_FIRSTHDR(&msg); c != nullptr; c = CMSG_NXTHDR(&msg, c)) {
    if (c->cmsg_level == SOL_UDP && c->cmsg_type == UDP_GRO) {
      int segment;
      std::memcpy(&segment, CMSG_DATA(c), sizeof(segment));
      return segment > 0 ? static_cast<size_t>(segment) : 0;
    }
  }
  return 0;
}

void SetUdpSegment(msghdr& msg, uint8_t* control, size_t control_size, uint16_t size) {
  msg.msg_control = control;
  msg.msg_controllen = control_size;
  cmsghdr* c = CMSG_FIRSTHDR(&msg);
  c->cmsg_level = SOL_UDP;
  c->cmsg_type = UDP_SEGMENT;
  c->cmsg_len = CMSG_LEN(sizeof(uint16_t));
  std::memcpy(CMSG_DATA(c), &size, sizeof(size));
}

GsoRun::GsoRun(int fd, const std::vector<Address>& destinations)
    : fd_(fd), destinations_(destinations.size()), buffer_(internal::kGsoMaxBytes) {
  for (size_t i = 0; i < destinations.size(); ++i) {
    lengths_.push_back(destinations[i].ToSockaddr(&destinations_[i]));
  }
}

uint8_t* GsoRun::Room(uint32_t to, size_t size) {
  if (size > internal::kGsoMaxBytes) return nullptr;
  if (count_ > 0 && (to != to_ || size != size_ || used_ + size > buffer_.size() ||
                     count_ == internal::kGsoMaxSegments)) {
    Flush();
  }
  to_ = to;
  size_ = size;
  return buffer_.data() + used_;
}

void GsoRun::Flush() {
  if (count_ == 0) return;
  iovec iov{buffer_.data(), used_};
  msghdr msg{};
  msg.msg_name = &destinations_[to_];
  msg.msg_namelen = lengths_[to_];
  msg.msg_iov = &iov;
  msg.msg_iovlen = 1;
  alignas(cmsghdr) uint8_t control[CMSG_SPACE(sizeof(uint16_t))] = {};
  if (count_ > 1) SetUdpSegment(msg, control, sizeof(control), static_cast<uint16_t>(size_));
  if (sendmsg(fd_, &msg, 0) >= 0) sent_ += count_;
  used_ = count_ = 0;
}

void Pace(std::chrono::steady_clock::time_point start, uint64_t count, double rate) {
  if (rate <= 0) return;
  std::this_thread::sleep_until(start +
                                std::chrono::duration_cast<std::chrono::steady_clock::duration>(
                                    std::chrono::duration<double>(count / rate)));
}

double ThreadCpuSeconds(pthread_t thread) {
  clockid_t clock;
  if (pthread_getcpuclockid(thread, &clock) != 0) return 0;
  timespec ts{};
  clock_gettime(clock, &ts);
  return static_cast<double>(ts.tv_sec) + static_cast<double>(ts.tv_nsec) / 1e9;
}

Sink::Sink(const Address& at, Inspect inspect, int cpu)
    : fd_(LoopbackSocket(&address_, /*gro=*/true, at)), inspect_(std::move(inspect)), cpu_(cpu) {
  thread_ = std::thread([this] { Run(); });
}

Sink::Sink(int held, Inspect inspect, int cpu)
    : fd_(dup(held)), inspect_(std::move(inspect)), cpu_(cpu) {
  if (fd_ < 0) throw std::runtime_error(std::string("dup: ") + strerror(errno));
  address_ = BoundAddress(fd_);
  std::vector<uint8_t> discard(65536);
  while (recv(fd_, discard.data(), discard.size(), MSG_DONTWAIT) >= 0) {
  }
  thread_ = std::thread([this] { Run(); });
}

Sink::~Sink() {
  stop_ = true;
  thread_.join();
  close(fd_);
}

void Sink::Run() {
  PinToCpu(cpu_);
  pthread_setname_np(pthread_self(), "sink");
  ReceiveBatch batch(65536);
  const bool poll = !inspect_;
  while (!stop_.load(std::memory_order_relaxed)) {
    int n = batch.Read(fd_, poll ? MSG_DONTWAIT : MSG_WAITFORONE);
    if (poll && n <= 0) {
      const timespec pause{0, 50'000};
      nanosleep(&pause, nullptr);
      continue;
    }
    for (int i = 0; i < n; ++i) {
      count_.fetch_add(DatagramsIn(batch.headers[i].msg_hdr, batch.headers[i].msg_len),
                       std::memory_order_relaxed);
    }
    if (inspect_) ForEachDatagram(batch, n, inspect_);
  }
}

}  // namespace ringv8::testbed
