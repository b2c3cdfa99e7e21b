#include "testbed/endpoint_bench.h"

#include <netinet/in.h>
#include <netinet/udp.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstring>
#include <future>
#include <stdexcept>
#include <thread>
#include <vector>

#include <fmt/format.h>
#include <pthread.h>
#include <sched.h>
#include <spdlog/spdlog.h>
#include <time.h>

#include "ring/open_endpoint.h"
#include "testbed/bench_util.h"

namespace ringv8::testbed {

namespace {

using Clock = std::chrono::steady_clock;
using nlohmann::json;

// Sends `size`-byte datagrams to `to` until `stop`: 64 per sendmmsg, or with `gso` as UDP_SEGMENT
// sends of as many as fit in 64 KiB. `rate` > 0 paces it (datagrams/s). Returns what the kernel
// took.
uint64_t Blast(const Address& to, int size, const std::atomic<bool>& stop, double rate = 0,
               bool gso = false) {
  PinToCpu(0);
  pthread_setname_np(pthread_self(), "generator");
  int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  int big = 8 << 20;
  setsockopt(fd, SOL_SOCKET, SO_SNDBUFFORCE, &big, sizeof(big));
  sockaddr_storage addr;
  socklen_t len = to.ToSockaddr(&addr);
  std::vector<uint8_t> data(static_cast<size_t>(size), 0x5A);
  data[0] = 0x00;
  data[1] = 0x02;
  const int per_gso = std::min(kBatch, 65507 / size);
  iovec iov[kBatch];
  for (auto& v : iov) v = {data.data(), data.size()};
  mmsghdr headers[kBatch];
  alignas(cmsghdr) uint8_t control[CMSG_SPACE(sizeof(uint16_t))] = {};
  for (auto& h : headers) {
    h.msg_hdr = msghdr{};
    h.msg_hdr.msg_name = &addr;
    h.msg_hdr.msg_namelen = len;
    h.msg_hdr.msg_iov = iov;
    h.msg_hdr.msg_iovlen = 1;
  }
  if (gso) {
    msghdr& msg = headers[0].msg_hdr;
    msg.msg_iovlen = static_cast<size_t>(per_gso);
    SetUdpSegment(msg, control, sizeof(control), static_cast<uint16_t>(size));
  }
  uint64_t count = 0;
  const auto start = Clock::now();
  while (!stop.load(std::memory_order_relaxed)) {
    if (gso) {
      if (sendmsg(fd, &headers[0].msg_hdr, 0) > 0) count += static_cast<uint64_t>(per_gso);
    } else {
      int n = sendmmsg(fd, headers, kBatch, 0);
      if (n > 0) count += static_cast<uint64_t>(n);
    }
    Pace(start, count, rate);
  }
  close(fd);
  return count;
}

struct Measurement {
  uint64_t buffer_exhausted = 0;  // Receives that found no free buffer (io_uring).
  uint64_t received = 0;
  uint64_t sent = 0;
  uint64_t kernel_drops = 0;
  double average_batch = 0;
  double seconds = 0;
};

// The baseline: a plain blocking recvmmsg loop on its own socket.
Measurement MeasureBaseline(int size, double seconds, double rate) {
  Address to;
  const int fd = LoopbackSocket(&to);
  ReceiveBatch batch(2048);
  std::atomic<bool> stop{false};
  Measurement m;
  auto sender = std::async(std::launch::async, [&] { return Blast(to, size, stop, rate); });
  uint64_t calls = 0;
  uint32_t drops = 0;
  const auto start = Clock::now();
  const auto end = start + std::chrono::duration<double>(seconds);
  while (Clock::now() < end) {
    int n = batch.Read(fd, MSG_WAITFORONE);
    if (n > 0) {
      m.received += static_cast<uint64_t>(n);
      ++calls;
      // The last message carries the socket's cumulative drop counter.
      drops = DropsIn(batch.headers[n - 1].msg_hdr, drops);
    }
  }
  m.seconds = std::chrono::duration<double>(Clock::now() - start).count();
  stop = true;
  m.sent = sender.get();
  close(fd);
  m.kernel_drops = drops;
  m.average_batch = calls > 0 ? static_cast<double>(m.received) / static_cast<double>(calls) : 0;
  return m;
}

class Counting final : public EndpointListener {
 public:
  void OnPacket(const Address&, std::span<const uint8_t>) override { ++count; }
  uint64_t count = 0;
};

double AverageBatch(const EndpointStats& stats) {
  double batches = 0;
  for (int i = 0; i < EndpointStats::kBatchBuckets; ++i) {
    batches += static_cast<double>(stats.receive_batches[i].value());
  }
  return batches > 0 ? static_cast<double>(stats.packets_in.value()) / batches : 0;
}

LoopAndEndpoint OpenLoopback(EndpointBackend backend, bool offloads = true,
                             uint32_t send_queue = 4096) {
  EndpointOptions options;
  options.send_queue_capacity = send_queue;
  options.ipv4 = Address::Ipv4(0x7F000001u, 0);
  options.gso = offloads;
  options.gro = offloads;
  auto opened = OpenLoopAndEndpoint(backend, options);
  if (!opened) {
    throw std::runtime_error(fmt::format("cannot open the {} endpoint: {}",
                                         backend == EndpointBackend::kUring ? "io_uring" : "mmsg",
                                         opened.error().message()));
  }
  return std::move(*opened);
}

Measurement MeasureEndpoint(EndpointBackend backend, int size, double seconds, double rate) {
  auto opened = OpenLoopback(backend);
  Measurement m;
  Counting counter;
  opened.endpoint->AddCatchAllListener(&counter);
  std::atomic<bool> stop{false};
  opened.loop->RunOnce(std::chrono::milliseconds(0));  // Arms receives.
  const Address to = opened.endpoint->local_addresses()[0];
  auto sender = std::async(std::launch::async, [&] { return Blast(to, size, stop, rate); });
  const auto start = Clock::now();
  opened.loop->CallLater(
      std::chrono::duration_cast<Duration>(std::chrono::duration<double>(seconds)),
      [&] { opened.loop->Stop(); });
  opened.loop->Run();
  m.seconds = std::chrono::duration<double>(Clock::now() - start).count();
  m.received = counter.count;
  stop = true;
  m.sent = sender.get();
  m.kernel_drops = opened.endpoint->stats().kernel_drops.value();
  m.buffer_exhausted = opened.endpoint->stats().buffer_exhausted.value();
  m.average_batch = AverageBatch(opened.endpoint->stats());
  opened.endpoint->RemoveCatchAllListener(&counter);
  return m;
}

Measurement Measure(int mode, int size, double seconds, double rate) {
  return mode == 0   ? MeasureBaseline(size, seconds, rate)
         : mode == 1 ? MeasureEndpoint(EndpointBackend::kMmsg, size, seconds, rate)
                     : MeasureEndpoint(EndpointBackend::kUring, size, seconds, rate);
}

constexpr const char* kModes[3] = {"baseline", "mmsg", "uring"};

}  // namespace

json RunEndpointBench(const EndpointBenchOptions& options) {
  const int size = options.payload_size;
  Measurement total[3];
  std::vector<double> mmsg_ratios, uring_ratios;
  PinToCpu(1);  // The receiver; the sender thread pins itself to CPU 0.
  for (int round = 0; round < options.rounds; ++round) {
    double round_pps[3] = {};
    for (int mode = 0; mode < 3; ++mode) {
      Measurement m = Measure(mode, size, options.seconds, 0);
      round_pps[mode] = m.seconds > 0 ? static_cast<double>(m.received) / m.seconds : 0;
      spdlog::info("payload {} round {} {}: {:.0f} packets/s", size, round + 1, kModes[mode],
                   round_pps[mode]);
      total[mode].received += m.received;
      total[mode].sent += m.sent;
      total[mode].kernel_drops += m.kernel_drops;
      total[mode].seconds += m.seconds;
      total[mode].average_batch += m.average_batch / options.rounds;
    }
    if (round_pps[0] > 0) {
      mmsg_ratios.push_back(round_pps[1] / round_pps[0]);
      uring_ratios.push_back(round_pps[2] / round_pps[0]);
    }
  }
  auto pps = [](const Measurement& m) {
    return m.seconds > 0 ? static_cast<double>(m.received) / m.seconds : 0.0;
  };
  const double baseline = pps(total[0]);
  // Paced: each receiver at the same rate, a share of what the plain loop took.
  const double rate = baseline * options.paced_share;
  json paced = {{"rate", rate}, {"share_of_baseline", options.paced_share}};
  for (int mode = 0; mode < 3; ++mode) {
    Measurement m = Measure(mode, size, options.seconds, rate);
    spdlog::info("payload {} paced at {:.0f}/s {}: received {} of {}, {} kernel drops", size, rate,
                 kModes[mode], m.received, m.sent, m.kernel_drops);
    paced[kModes[mode]] = {{"sent", m.sent},
                           {"received", m.received},
                           {"drops", m.kernel_drops},
                           {"buffer_exhausted", m.buffer_exhausted}};
  }
  return {
      {"payload_size", size},
      {"baseline_pps", baseline},
      {"mmsg_pps", pps(total[1])},
      {"uring_pps", pps(total[2])},
      // Median of the per-round ratios: each round measures the three back to back.
      {"mmsg_ratio", Median(mmsg_ratios)},
      {"uring_ratio", Median(uring_ratios)},
      {"uring_to_mmsg", pps(total[1]) > 0 ? pps(total[2]) / pps(total[1]) : 0},
      {"drops",
       {{"baseline", total[0].kernel_drops},
        {"mmsg", total[1].kernel_drops},
        {"uring", total[2].kernel_drops}}},
      {"average_batch",
       {{"baseline", total[0].average_batch},
        {"mmsg", total[1].average_batch},
        {"uring", total[2].average_batch}}},
      {"paced", paced},
      {"seconds_per_mode", options.seconds * options.rounds},
  };
}

// ---- Latency ----

namespace {

// Round trips of one datagram at a time to `to`, in microseconds (a lost one: 1 s, counted).
std::vector<double> Ping(const Address& to, int pings, uint64_t* lost) {
  PinToCpu(0);
  Address self;
  const int fd = LoopbackSocket(&self);
  timeval timeout{1, 0};
  setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, sizeof(timeout));
  sockaddr_storage addr;
  socklen_t len = to.ToSockaddr(&addr);
  std::vector<uint8_t> data(64, 0x5A), answer(2048);
  data[0] = 0x00;
  data[1] = 0x02;
  std::vector<double> rtts;
  for (int i = 0; i < pings; ++i) {
    std::memcpy(data.data() + 23, &i, sizeof(i));
    const auto start = Clock::now();
    sendto(fd, data.data(), data.size(), 0, reinterpret_cast<sockaddr*>(&addr), len);
    for (;;) {
      ssize_t n = recv(fd, answer.data(), answer.size(), 0);
      if (n < 0 && errno == EINTR) continue;
      if (n < 0) {  // No answer within 1 s.
        ++*lost;
        break;
      }
      if (n == static_cast<ssize_t>(data.size()) && std::memcmp(answer.data() + 23, &i, 4) == 0) {
        rtts.push_back(std::chrono::duration<double, std::micro>(Clock::now() - start).count());
        break;
      }
    }
  }
  close(fd);
  return rtts;
}

class Echo final : public EndpointListener {
 public:
  explicit Echo(Endpoint& endpoint) : endpoint_(endpoint) {}
  void OnPacket(const Address& source, std::span<const uint8_t> datagram) override {
    (void)endpoint_.Send(source, datagram);
  }

 private:
  Endpoint& endpoint_;
};

json LatencyOf(std::vector<double> rtts, uint64_t lost) {
  return {{"pings", rtts.size()},
          {"lost", lost},
          {"p50_us", Percentile(rtts, 0.5)},
          {"p99_us", Percentile(rtts, 0.99)}};
}

}  // namespace

json RunLatencyBench(const EndpointBenchOptions& options) {
  PinToCpu(1);
  json result = json::object();
  {  // Baseline: a plain blocking echo loop.
    Address server;
    const int fd = LoopbackSocket(&server);
    std::atomic<bool> stop{false};
    std::thread echo([&] {
      uint8_t buffer[2048];
      sockaddr_storage from;
      while (!stop.load()) {
        socklen_t len = sizeof(from);
        ssize_t n =
            recvfrom(fd, buffer, sizeof(buffer), 0, reinterpret_cast<sockaddr*>(&from), &len);
        if (n > 0)
          sendto(fd, buffer, static_cast<size_t>(n), 0, reinterpret_cast<sockaddr*>(&from), len);
      }
    });
    uint64_t lost = 0;
    std::vector<double> rtts = Ping(server, options.pings, &lost);
    stop = true;
    echo.join();
    close(fd);
    result["baseline"] = LatencyOf(std::move(rtts), lost);
  }
  for (EndpointBackend backend : {EndpointBackend::kMmsg, EndpointBackend::kUring}) {
    auto opened = OpenLoopback(backend);
    Echo echo(*opened.endpoint);
    opened.endpoint->AddCatchAllListener(&echo);
    opened.loop->RunOnce(std::chrono::milliseconds(0));  // Arms receives.
    uint64_t lost = 0;
    std::vector<double> rtts;
    const Address server = opened.endpoint->local_addresses()[0];
    std::thread client([&] {
      rtts = Ping(server, options.pings, &lost);
      opened.loop->Stop();
    });
    opened.loop->Run();
    client.join();
    opened.endpoint->RemoveCatchAllListener(&echo);
    json& r = result[backend == EndpointBackend::kUring ? "uring" : "mmsg"];
    r = LatencyOf(std::move(rtts), lost);
    r["batched_waits"] = opened.loop->batched_waits();
  }
  const double mmsg_p50 = result["mmsg"]["p50_us"].get<double>();
  result["uring_p50_to_mmsg"] =
      mmsg_p50 > 0 ? result["uring"]["p50_us"].get<double>() / mmsg_p50 : 0;
  return result;
}

// ---- Forward ----

namespace {

struct Forwarded {
  double cpu_seconds = 0;
  uint64_t kernel_drops = 0;
  double datagrams_per_read = 1, datagrams_per_send = 1;  // What GRO and GSO batched.
  uint64_t send_queue_full = 0;
};

// The baseline forwarder: recvmmsg a batch, sendmmsg it on to `next`.
class PlainForwarder {
 public:
  explicit PlainForwarder(const Address& next) : fd_(LoopbackSocket(&address_)) {
    thread_ = std::thread([this, next] { result_ = Run(next); });
  }
  const Address& address() const { return address_; }
  Forwarded Stop() {
    stop_ = true;
    thread_.join();
    close(fd_);
    return result_;
  }

 private:
  Forwarded Run(const Address& next) {
    PinToCpu(1);
    pthread_setname_np(pthread_self(), "forwarder");
    const double cpu_start = ThreadCpuSeconds();
    sockaddr_storage to;
    const socklen_t to_len = next.ToSockaddr(&to);
    ReceiveBatch batch(2048);
    uint32_t drops = 0;
    while (!stop_.load(std::memory_order_relaxed)) {
      int n = batch.Read(fd_, MSG_WAITFORONE);
      if (n <= 0) continue;
      drops = DropsIn(batch.headers[n - 1].msg_hdr, drops);
      for (int i = 0; i < n; ++i) {
        msghdr& msg = batch.headers[i].msg_hdr;
        batch.iov[i].iov_len = batch.headers[i].msg_len;
        msg.msg_name = &to;
        msg.msg_namelen = to_len;
        msg.msg_control = nullptr;
        msg.msg_controllen = 0;
      }
      for (int sent = 0; sent < n;) {
        int k = sendmmsg(fd_, batch.headers + sent, static_cast<unsigned>(n - sent), 0);
        if (k <= 0) break;
        sent += k;
      }
    }
    return {ThreadCpuSeconds() - cpu_start, drops};
  }
  Address address_;
  int fd_;
  std::atomic<bool> stop_{false};
  std::thread thread_;
  Forwarded result_;
};

// An endpoint that sends every datagram it receives on to `next`, on its own loop and thread.
class EndpointForwarder final : public EndpointListener {
 public:
  EndpointForwarder(EndpointBackend backend, bool offloads, const Address& next) : next_(next) {
    std::promise<Address> bound;
    auto future = bound.get_future();
    thread_ = std::thread([this, backend, offloads, &bound] {
      PinToCpu(1);
      pthread_setname_np(pthread_self(), "forwarder");
      try {
        // A relay's queue holds what one iteration's GRO reads bring: 32 x 64 datagrams, twice.
        opened_ = OpenLoopback(backend, offloads, 16384);
      } catch (...) {
        bound.set_exception(std::current_exception());
        return;
      }
      opened_.endpoint->AddCatchAllListener(this);
      opened_.loop->RunOnce(std::chrono::milliseconds(0));  // Arms receives.
      bound.set_value(opened_.endpoint->local_addresses()[0]);
      const double cpu_start = ThreadCpuSeconds();
      opened_.loop->Run();
      result_.cpu_seconds = ThreadCpuSeconds() - cpu_start;
      const EndpointStats& stats = opened_.endpoint->stats();
      result_.kernel_drops = stats.kernel_drops.value();
      result_.send_queue_full = stats.send_queue_full.value();
      const double in = static_cast<double>(stats.packets_in.value());
      const double out = static_cast<double>(stats.packets_out.value());
      const double reads = in - stats.gro_segments.value() + stats.gro_reads.value();
      const double sends = out - stats.gso_segments.value() + stats.gso_sends.value();
      if (reads > 0) result_.datagrams_per_read = in / reads;
      if (sends > 0) result_.datagrams_per_send = out / sends;
      opened_.endpoint->RemoveCatchAllListener(this);
      opened_.endpoint.reset();  // Before its loop.
      opened_.loop.reset();
    });
    try {
      address_ = future.get();
    } catch (...) {
      thread_.join();
      throw;
    }
  }
  const Address& address() const { return address_; }
  void OnPacket(const Address&, std::span<const uint8_t> datagram) override {
    (void)opened_.endpoint->Send(next_, datagram);  // A full queue is counted there.
  }
  Forwarded Stop() {
    opened_.loop->Stop();
    thread_.join();
    return result_;
  }

 private:
  Address next_;
  Address address_;
  LoopAndEndpoint opened_;
  std::thread thread_;
  Forwarded result_;
};

}  // namespace

json RunForwardBench(const ForwardBenchOptions& options) {
  struct Mode {
    const char* forwarder;
    bool offloads;
  };
  const Mode modes[] = {
      {"plain", false}, {"mmsg", false}, {"mmsg", true}, {"uring", false}, {"uring", true}};
  json runs = json::array();
  double plain_per_cpu[2] = {};
  for (const bool generator_gso : {false, true}) {
    for (const Mode& mode : modes) {
      Sink sink;
      std::unique_ptr<PlainForwarder> plain;
      std::unique_ptr<EndpointForwarder> endpoint;
      Address forwarder;
      if (std::string(mode.forwarder) == "plain") {
        plain = std::make_unique<PlainForwarder>(sink.address());
        forwarder = plain->address();
      } else {
        endpoint = std::make_unique<EndpointForwarder>(std::string(mode.forwarder) == "uring"
                                                           ? EndpointBackend::kUring
                                                           : EndpointBackend::kMmsg,
                                                       mode.offloads, sink.address());
        forwarder = endpoint->address();
      }
      std::atomic<bool> stop{false};
      auto generator = std::async(std::launch::async, [&] {
        return Blast(forwarder, options.payload_size, stop, options.rate, generator_gso);
      });
      std::this_thread::sleep_for(std::chrono::duration<double>(options.seconds));
      stop = true;
      const uint64_t sent = generator.get();
      std::this_thread::sleep_for(std::chrono::milliseconds(200));  // What is queued drains.
      const Forwarded f = plain ? plain->Stop() : endpoint->Stop();
      const uint64_t forwarded = sink.count();
      const double per_cpu = f.cpu_seconds > 0 ? forwarded / f.cpu_seconds : 0;
      if (plain) plain_per_cpu[generator_gso] = per_cpu;
      json run = {{"forwarder", mode.forwarder},
                  {"gso_gro", mode.offloads},
                  {"generator_gso", generator_gso},
                  {"sent", sent},
                  {"forwarded", forwarded},
                  {"forwarded_per_second", forwarded / options.seconds},
                  {"forwarder_cpu_seconds", f.cpu_seconds},
                  {"per_cpu_second", per_cpu},
                  {"lost", sent - std::min(sent, forwarded)},
                  {"forwarder_kernel_drops", f.kernel_drops},
                  {"forwarder_send_queue_full", f.send_queue_full},
                  {"datagrams_per_read", f.datagrams_per_read},
                  {"datagrams_per_send", f.datagrams_per_send},
                  {"ratio_per_cpu_second",
                   plain_per_cpu[generator_gso] > 0 ? per_cpu / plain_per_cpu[generator_gso] : 0}};
      spdlog::info("forward {} B, generator {}, {} {}: {:.0f}/s, {:.0f} per CPU-second ({:.2f}x)",
                   options.payload_size, generator_gso ? "GSO" : "plain", mode.forwarder,
                   mode.offloads ? "GSO+GRO" : "plain", forwarded / options.seconds, per_cpu,
                   run["ratio_per_cpu_second"].get<double>());
      runs.push_back(std::move(run));
    }
  }
  // The headline: the best endpoint with GSO+GRO, fed by a GSO generator, against the plain
  // forwarder with the same generator.
  double best = 0;
  for (const json& run : runs) {
    if (run["gso_gro"].get<bool>() && run["generator_gso"].get<bool>()) {
      best = std::max(best, run["ratio_per_cpu_second"].get<double>());
    }
  }
  return {{"payload_size", options.payload_size},
          {"seconds_per_mode", options.seconds},
          {"offered_rate", options.rate},
          {"runs", runs},
          {"gso_gro_ratio_per_cpu_second", best}};
}

}  // namespace ringv8::testbed
