// One contract, three backends: UringEndpoint, MmsgEndpoint and MemoryEndpoint behave the same.
// Real sockets use 127.0.0.1 / ::1 and port 0 only.
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <cstdio>
#include <functional>
#include <thread>

#include <gtest/gtest.h>

#include "ring/event_loop.h"
#include "ring/memory_endpoint.h"
#include "ring/mmsg_endpoint.h"
#include "ring/uring_endpoint.h"

namespace ringv8 {
namespace {

using std::chrono::milliseconds;
using std::chrono::seconds;

// kUringWhenReady: UringEndpoint with EndpointOptions::receive_when_ready (a poll, then
// recvmmsg), which must keep the whole contract too.
enum class Kind { kUring, kUringWhenReady, kMmsg, kMemory };

const char* KindName(Kind kind) {
  switch (kind) {
    case Kind::kUring:
      return "uring";
    case Kind::kUringWhenReady:
      return "uring_when_ready";
    case Kind::kMmsg:
      return "mmsg";
    case Kind::kMemory:
      return "memory";
  }
  return "?";
}

PacketPrefix Prefix(uint32_t n) {
  PacketPrefix p{0x00, 0x02};
  for (int i = 0; i < 4; ++i) p[2 + i] = static_cast<uint8_t>(n >> (8 * i));
  p[21] = 0x5A;
  return p;
}

std::vector<uint8_t> Datagram(const PacketPrefix& prefix, uint8_t message_id, size_t size = 64) {
  std::vector<uint8_t> d(std::max<size_t>(size, kPacketPrefixSize + 1), 0xAB);
  std::copy(prefix.begin(), prefix.end(), d.begin());
  d[kPacketPrefixSize] = message_id;
  return d;
}

struct Received {
  Address source;
  std::vector<uint8_t> data;
};

class Recorder final : public EndpointListener {
 public:
  void OnPacket(const Address& source, std::span<const uint8_t> datagram) override {
    packets.push_back({source, {datagram.begin(), datagram.end()}});
    if (on_packet) on_packet();
  }
  std::vector<Received> packets;
  std::function<void()> on_packet;
};

class EndpointContract : public ::testing::TestWithParam<Kind> {
 protected:
  void SetUp() override {
    EventLoop::Options options;
    options.backend = GetParam() == Kind::kUring || GetParam() == Kind::kUringWhenReady
                          ? EventLoop::Backend::kUring
                          : EventLoop::Backend::kEpoll;
    if (GetParam() == Kind::kMemory) options.virtual_clock = &clock_;
    auto loop = EventLoop::Create(options);
    if (!loop) GTEST_SKIP() << "io_uring is not available here: " << loop.error().message();
    loop_ = std::move(*loop);
    if (GetParam() == Kind::kMemory) network_ = std::make_unique<MemoryNetwork>(*loop_);
  }

  void TearDown() override {
    endpoints_.clear();  // Before the network and the loop.
    network_.reset();
  }

  static EndpointOptions Loopback4() {
    EndpointOptions options;
    options.ipv4 = Address::Parse("127.0.0.1:0");
    return options;
  }

  Endpoint* Open(const EndpointOptions& options) {
    Result<std::unique_ptr<Endpoint>> endpoint = OpenRaw(options);
    EXPECT_TRUE(endpoint) << endpoint.error().message();
    if (!endpoint) return nullptr;
    endpoints_.push_back(std::move(*endpoint));
    return endpoints_.back().get();
  }

  Result<std::unique_ptr<Endpoint>> OpenRaw(const EndpointOptions& options) {
    auto cast = [](auto result) -> Result<std::unique_ptr<Endpoint>> {
      if (!result) return Unexpected{result.error()};
      return std::unique_ptr<Endpoint>(std::move(*result));
    };
    switch (GetParam()) {
      case Kind::kUring:
        return cast(UringEndpoint::Open(*loop_, options));
      case Kind::kUringWhenReady: {
        EndpointOptions when_ready = options;
        when_ready.receive_when_ready = true;
        return cast(UringEndpoint::Open(*loop_, when_ready));
      }
      case Kind::kMmsg:
        return cast(MmsgEndpoint::Open(*loop_, options));
      case Kind::kMemory:
        return cast(network_->Open(options));
    }
    return Unexpected{std::make_error_code(std::errc::invalid_argument)};
  }

  // Runs the loop until `done` or 5 s (virtual time for memory).
  void RunUntil(const std::function<bool()>& done) {
    if (GetParam() == Kind::kMemory) {
      for (int i = 0; i < 5000 && !done(); ++i) loop_->RunFor(milliseconds(1));
      return;
    }
    auto deadline = std::chrono::steady_clock::now() + seconds(5);
    while (!done() && std::chrono::steady_clock::now() < deadline) loop_->RunOnce(milliseconds(1));
  }
  void RunBriefly() {
    int i = 0;
    RunUntil([&] { return ++i > 50; });
  }

  VirtualClock clock_;
  std::unique_ptr<EventLoop> loop_;
  std::unique_ptr<MemoryNetwork> network_;
  std::vector<std::unique_ptr<Endpoint>> endpoints_;
};

TEST_P(EndpointContract, SendsAndReceivesIpv4) {
  Endpoint* a = Open(Loopback4());
  Endpoint* b = Open(Loopback4());
  ASSERT_TRUE(a && b);
  Recorder recorder;
  b->AddListener(Prefix(7), &recorder);
  const Address to = b->local_addresses()[0];
  for (int i = 0; i < 100; ++i) ASSERT_FALSE(a->Send(to, Datagram(Prefix(7), 246)));
  RunUntil([&] { return recorder.packets.size() == 100; });
  ASSERT_EQ(recorder.packets.size(), 100u);
  EXPECT_EQ(recorder.packets[0].source, a->local_addresses()[0]);
  EXPECT_EQ(recorder.packets[0].data, Datagram(Prefix(7), 246));
  EXPECT_EQ(a->stats().packets_out.value(), 100u);
  EXPECT_EQ(b->stats().packets_in.value(), 100u);
  const PrefixStats* per_prefix = b->stats().FindPrefix(Prefix(7));
  ASSERT_NE(per_prefix, nullptr);
  EXPECT_EQ(per_prefix->by_message_id[246].packets_in.value(), 100u);
  EXPECT_EQ(per_prefix->by_message_id[246].bytes_in.value(), 6400u);
}

TEST_P(EndpointContract, SendsAndReceivesIpv6) {
  EndpointOptions options;
  options.ipv4.reset();
  options.ipv6 = Address::Parse("[::1]:0");
  auto a = OpenRaw(options);
  if (!a && a.error() == std::errc::address_not_available) GTEST_SKIP() << "no ::1 here";
  ASSERT_TRUE(a) << a.error().message();
  Endpoint* b = Open(options);
  ASSERT_TRUE(b);
  endpoints_.push_back(std::move(*a));
  Endpoint* sender = endpoints_.back().get();
  Recorder recorder;
  b->AddListener(Prefix(1), &recorder);
  ASSERT_FALSE(sender->Send(b->local_addresses()[0], Datagram(Prefix(1), 234)));
  EXPECT_EQ(sender->Send(*Address::Parse("127.0.0.1:9"), Datagram(Prefix(1), 1)),
            std::errc::address_family_not_supported);
  RunUntil([&] { return !recorder.packets.empty(); });
  ASSERT_EQ(recorder.packets.size(), 1u);
  EXPECT_TRUE(recorder.packets[0].source.is_v6());
}

TEST_P(EndpointContract, DispatchesByPrefixAmongAThousand) {
  Endpoint* a = Open(Loopback4());
  Endpoint* b = Open(Loopback4());
  ASSERT_TRUE(a && b);
  std::vector<Recorder> recorders(1000);
  for (uint32_t i = 0; i < recorders.size(); ++i) b->AddListener(Prefix(i), &recorders[i]);
  EXPECT_EQ(b->listener_count(), 1000u);
  size_t total = 0;
  for (uint32_t i = 0; i < recorders.size(); ++i) {
    ASSERT_FALSE(a->Send(b->local_addresses()[0], Datagram(Prefix(i), static_cast<uint8_t>(i))));
  }
  RunUntil([&] {
    total = 0;
    for (auto& r : recorders) total += r.packets.size();
    return total == recorders.size();
  });
  for (uint32_t i = 0; i < recorders.size(); ++i) {
    ASSERT_EQ(recorders[i].packets.size(), 1u) << i;
    EXPECT_EQ(recorders[i].packets[0].data[kPacketPrefixSize], static_cast<uint8_t>(i));
  }
}

TEST_P(EndpointContract, CatchAllListenersSeeEveryPrefixAndDropsAreCounted) {
  Endpoint* a = Open(Loopback4());
  Endpoint* b = Open(Loopback4());
  ASSERT_TRUE(a && b);
  const Address to = b->local_addresses()[0];
  ASSERT_FALSE(a->Send(to, Datagram(Prefix(99), 1)));      // No listener: counted.
  ASSERT_FALSE(a->Send(to, std::vector<uint8_t>(22, 0)));  // Too short: counted.
  RunUntil([&] { return b->stats().packets_in.value() == 2; });
  EXPECT_EQ(b->stats().unknown_prefix.value(), 1u);
  EXPECT_EQ(b->stats().too_short.value(), 1u);

  Recorder all, one;
  b->AddCatchAllListener(&all);
  b->AddListener(Prefix(5), &one);
  ASSERT_FALSE(a->Send(to, Datagram(Prefix(5), 1)));
  ASSERT_FALSE(a->Send(to, Datagram(Prefix(6), 1)));
  RunUntil([&] { return all.packets.size() == 2; });
  EXPECT_EQ(all.packets.size(), 2u);
  EXPECT_EQ(one.packets.size(), 1u);
  b->RemoveCatchAllListener(&all);
}

// An exit socket: another endpoint opened beside the first (same backend, same loop) in raw
// mode, which hands every datagram to the catch-all listeners, short and empty ones too.
TEST_P(EndpointContract, ARawEndpointOpenedBesideAnotherSeesEveryDatagram) {
  Endpoint* a = Open(Loopback4());
  ASSERT_TRUE(a);
  EndpointOptions raw = Loopback4();
  raw.raw = true;
  auto opened = a->OpenAnother(raw);
  ASSERT_TRUE(opened) << opened.error().message();
  endpoints_.push_back(std::move(*opened));
  Endpoint* b = endpoints_.back().get();
  EXPECT_STREQ(b->backend_name(), a->backend_name());
  Recorder all;
  b->AddCatchAllListener(&all);
  const Address to = b->local_addresses()[0];
  ASSERT_FALSE(a->Send(to, std::vector<uint8_t>{'d', 'e'}));
  ASSERT_FALSE(a->Send(to, std::vector<uint8_t>{}));
  ASSERT_FALSE(a->Send(to, Datagram(Prefix(7), 1)));
  RunUntil([&] { return all.packets.size() == 3; });
  ASSERT_EQ(all.packets.size(), 3u);
  EXPECT_EQ(all.packets[0].data, (std::vector<uint8_t>{'d', 'e'}));
  EXPECT_TRUE(all.packets[1].data.empty());
  EXPECT_EQ(b->stats().too_short.value() + b->stats().unknown_prefix.value(), 0u);
  b->RemoveCatchAllListener(&all);
}

TEST_P(EndpointContract, ListenersMayRemoveThemselvesWhileDispatching) {
  Endpoint* a = Open(Loopback4());
  Endpoint* b = Open(Loopback4());
  ASSERT_TRUE(a && b);
  Recorder first, second;
  first.on_packet = [&] { b->RemoveListener(Prefix(3), &first); };
  b->AddListener(Prefix(3), &first);
  b->AddListener(Prefix(3), &second);
  for (int i = 0; i < 3; ++i)
    ASSERT_FALSE(a->Send(b->local_addresses()[0], Datagram(Prefix(3), 1)));
  RunUntil([&] { return second.packets.size() == 3; });
  EXPECT_EQ(first.packets.size(), 1u);
  EXPECT_EQ(second.packets.size(), 3u);
}

TEST_P(EndpointContract, TheSendQueueIsBounded) {
  EndpointOptions options = Loopback4();
  options.send_queue_capacity = 16;
  Endpoint* a = Open(options);
  Endpoint* b = Open(Loopback4());
  ASSERT_TRUE(a && b);
  int accepted = 0, refused = 0;
  for (int i = 0; i < 100; ++i) {
    std::error_code error = a->Send(b->local_addresses()[0], Datagram(Prefix(1), 1));
    if (!error) ++accepted;
    if (error == std::errc::no_buffer_space) ++refused;
  }
  EXPECT_EQ(accepted, 16);
  EXPECT_EQ(refused, 84);
  EXPECT_EQ(a->stats().send_queue_full.value(), 84u);
  RunUntil([&] { return b->stats().packets_in.value() == 16; });
  // Once the queue drained, sending works again.
  EXPECT_FALSE(a->Send(b->local_addresses()[0], Datagram(Prefix(1), 1)));
  EXPECT_EQ(a->Send(b->local_addresses()[0], std::vector<uint8_t>(70000)), std::errc::message_size);
}

TEST_P(EndpointContract, EndpointsGivenOneSetOfSendBuffersShareItsBound) {
  if (GetParam() == Kind::kMemory) GTEST_SKIP() << "memory endpoints queue no buffers";
  auto shared = std::make_shared<SendBuffers>(8);
  EndpointOptions options = Loopback4();
  options.send_buffers = shared;
  Endpoint* a = Open(options);
  Endpoint* c = Open(options);
  Endpoint* b = Open(Loopback4());
  ASSERT_TRUE(a && b && c);
  const Address to = b->local_addresses()[0];
  int accepted = 0;
  for (int i = 0; i < 5; ++i) {
    accepted += !a->Send(to, Datagram(Prefix(1), 1));
    accepted += !c->Send(to, Datagram(Prefix(1), 1));
  }
  EXPECT_EQ(accepted, 8);
  EXPECT_EQ(shared->in_use(), 8u);
  EXPECT_EQ(a->stats().send_queue_full.value() + c->stats().send_queue_full.value(), 2u);
  // A datagram over 2 KiB takes a buffer of the endpoint's own.
  EXPECT_FALSE(a->Send(to, Datagram(Prefix(1), 1, 3000)));
  RunUntil([&] { return b->stats().packets_in.value() == 9; });
  EXPECT_EQ(b->stats().packets_in.value(), 9u);
  EXPECT_EQ(shared->in_use(), 0u);  // Every buffer came back once sent.
  EXPECT_FALSE(c->Send(to, Datagram(Prefix(1), 1)));
}

// Three endpoints read into one ring of 4 buffers: a burst to each runs it dry, the datagrams
// wait in their sockets, and every one arrives; one endpoint closing leaves the others working.
TEST_P(EndpointContract, EndpointsGivenOneSetOfReceiveBuffersReceiveEverything) {
  if (GetParam() == Kind::kMemory) GTEST_SKIP() << "memory endpoints read into no buffers";
  auto shared = std::make_shared<ReceiveBuffers>(4, 2048, 4);
  EndpointOptions options = Loopback4();
  options.gro = false;
  options.shared_receive_buffers = shared;
  Endpoint* receivers[3] = {Open(options), Open(options), Open(options)};
  Endpoint* sender = Open(Loopback4());
  ASSERT_TRUE(receivers[0] && receivers[1] && receivers[2] && sender);
  Recorder recorded[3];
  for (int i = 0; i < 3; ++i) receivers[i]->AddListener(Prefix(1), &recorded[i]);
  RunBriefly();  // Arms the receives.
  auto burst = [&](int count) {
    for (int n = 0; n < count; ++n) {
      for (Endpoint* to : receivers) {
        if (to == nullptr) continue;
        ASSERT_FALSE(sender->Send(to->local_addresses()[0], Datagram(Prefix(1), 1)));
      }
    }
  };
  burst(40);
  RunUntil([&] {
    return recorded[0].packets.size() + recorded[1].packets.size() + recorded[2].packets.size() ==
           120;
  });
  for (const Recorder& r : recorded) EXPECT_EQ(r.packets.size(), 40u);
  uint64_t kernel_drops = 0;
  for (Endpoint* e : receivers) kernel_drops += e->stats().kernel_drops.value();
  EXPECT_EQ(kernel_drops, 0u);
  if (GetParam() == Kind::kUring) {
    uint64_t exhausted = 0;
    for (Endpoint* e : receivers) exhausted += e->stats().buffer_exhausted.value();
    EXPECT_GT(exhausted, 0u);  // The ring ran dry and the receives were re-armed.
  }
  receivers[1]->RemoveListener(Prefix(1), &recorded[1]);
  endpoints_.erase(endpoints_.begin() + 1);
  receivers[1] = nullptr;
  burst(10);
  RunUntil([&] { return recorded[0].packets.size() == 50 && recorded[2].packets.size() == 50; });
  EXPECT_EQ(recorded[0].packets.size(), 50u);
  EXPECT_EQ(recorded[2].packets.size(), 50u);
  // One datagram per buffer: GRO reads would not fit.
  options.gro = true;
  Result<std::unique_ptr<Endpoint>> gro = OpenRaw(options);
  ASSERT_FALSE(gro);
  EXPECT_EQ(gro.error(), std::errc::invalid_argument);
}

// A socket holding more than one turn's reads (16 batches of 4 buffers here) is read to the end
// although nothing more arrives: epoll reports it again; a uring poll would not, so the
// when-ready endpoint reads what is left after the next wait.
TEST_P(EndpointContract, ASocketHoldingMoreThanOneTurnsReadsIsReadToTheEnd) {
  if (GetParam() == Kind::kMemory) GTEST_SKIP() << "memory endpoints read into no buffers";
  auto shared = std::make_shared<ReceiveBuffers>(4, 2048, 4);
  EndpointOptions options = Loopback4();
  options.gro = false;
  options.shared_receive_buffers = shared;
  Endpoint* receiver = Open(options);
  Endpoint* sender = Open(Loopback4());
  ASSERT_TRUE(receiver && sender);
  Recorder recorder;
  receiver->AddListener(Prefix(1), &recorder);
  RunBriefly();
  constexpr size_t kCount = 200;  // Over three turns of 64.
  for (size_t n = 0; n < kCount; ++n) {
    ASSERT_FALSE(sender->Send(receiver->local_addresses()[0], Datagram(Prefix(1), 1)));
  }
  RunUntil([&] { return recorder.packets.size() == kCount; });
  EXPECT_EQ(recorder.packets.size(), kCount);
  EXPECT_EQ(receiver->stats().kernel_drops.value(), 0u);
}

TEST(SendBuffers, HandsOutBackToBackAndNoMoreThanItsCount) {
  SendBuffers buffers(2);
  uint8_t* first = buffers.Take(SendBuffers::kBufferSize);
  buffers.Shrink(first, 100);
  uint8_t* second = buffers.Take(SendBuffers::kBufferSize);
  ASSERT_TRUE(first && second);
  EXPECT_EQ(second - first, 100);  // Right after the first as written.
  EXPECT_EQ(buffers.Take(1), nullptr);
  EXPECT_EQ(buffers.in_use(), 2u);
  buffers.Give(second);  // The last taken: the next takes its place.
  EXPECT_EQ(buffers.Take(10), second);
  buffers.Give(first);
  buffers.Give(second);
  EXPECT_EQ(buffers.in_use(), 0u);
  EXPECT_EQ(buffers.Take(10), first);  // Its block emptied: from the start again, in cache.
}

TEST_P(EndpointContract, OversizedDatagramsAreDroppedAndCounted) {
  EndpointOptions small = Loopback4();
  small.receive_buffer_size = 1024;
  small.receive_buffers = 1024;
  small.gro = false;  // With GRO, buffers hold 64 KiB (udp_offload_test.cpp cuts a GRO read).
  Endpoint* a = Open(Loopback4());
  Endpoint* b = Open(small);
  ASSERT_TRUE(a && b);
  Recorder recorder;
  b->AddListener(Prefix(2), &recorder);
  ASSERT_FALSE(a->Send(b->local_addresses()[0], Datagram(Prefix(2), 1, 1500)));
  ASSERT_FALSE(a->Send(b->local_addresses()[0], Datagram(Prefix(2), 2, 200)));
  RunUntil([&] { return recorder.packets.size() == 1; });
  ASSERT_EQ(recorder.packets.size(), 1u);
  EXPECT_EQ(recorder.packets[0].data[kPacketPrefixSize], 2);
  EXPECT_EQ(b->stats().truncated.value(), 1u);
}

// The socket buffer overflows while the loop is not running: every datagram either arrives or
// is counted as a kernel drop (SO_RXQ_OVFL, read from the control messages of later ones).
TEST_P(EndpointContract, KernelDropsAreCountedWhenTheSocketOverflows) {
  if (GetParam() == Kind::kMemory) GTEST_SKIP() << "no kernel socket";
  EndpointOptions small = Loopback4();
  small.socket_buffer_bytes = 16384;
  small.receive_buffers = 16;
  Endpoint* b = Open(small);
  ASSERT_TRUE(b);
  Recorder recorder;
  b->AddListener(Prefix(2), &recorder);
  // From a plain socket, so that nothing of the loop runs while they are sent.
  int fd = socket(AF_INET, SOCK_DGRAM, 0);
  ASSERT_GE(fd, 0);
  sockaddr_storage to;
  const socklen_t to_len = b->local_addresses()[0].ToSockaddr(&to);
  constexpr uint64_t kSent = 2000;
  const std::vector<uint8_t> datagram = Datagram(Prefix(2), 1, 200);
  for (uint64_t i = 0; i < kSent; ++i) {
    ASSERT_EQ(
        sendto(fd, datagram.data(), datagram.size(), 0, reinterpret_cast<sockaddr*>(&to), to_len),
        static_cast<ssize_t>(datagram.size()));
  }
  // The overflow count comes with a datagram that arrives after the drops.
  ASSERT_EQ(
      sendto(fd, datagram.data(), datagram.size(), 0, reinterpret_cast<sockaddr*>(&to), to_len),
      static_cast<ssize_t>(datagram.size()));
  close(fd);
  RunUntil([&] { return recorder.packets.size() + b->stats().kernel_drops.value() == kSent + 1; });
  EXPECT_GT(b->stats().kernel_drops.value(), 0u);
  EXPECT_EQ(recorder.packets.size() + b->stats().kernel_drops.value(), kSent + 1);
}

TEST_P(EndpointContract, ClosingWhileTrafficIsInFlightIsSafe) {
  Endpoint* a = Open(Loopback4());
  Endpoint* b = Open(Loopback4());
  ASSERT_TRUE(a && b);
  Recorder recorder;
  b->AddListener(Prefix(4), &recorder);
  for (int i = 0; i < 500; ++i) (void)a->Send(b->local_addresses()[0], Datagram(Prefix(4), 1));
  RunUntil([&] { return !recorder.packets.empty(); });
  for (int i = 0; i < 500; ++i) (void)a->Send(b->local_addresses()[0], Datagram(Prefix(4), 1));
  b->Close();
  a->Close();
  EXPECT_FALSE(a->is_open());
  EXPECT_EQ(a->Send(*Address::Parse("127.0.0.1:9"), Datagram(Prefix(4), 1)),
            std::errc::not_connected);
  RunBriefly();
  const size_t seen = recorder.packets.size();
  RunBriefly();
  EXPECT_EQ(recorder.packets.size(), seen);  // Nothing arrives after Close.
  endpoints_.clear();                        // Destroying closed endpoints is clean too.
}

TEST_P(EndpointContract, StopFromAnotherThreadWhileReceiving) {
  if (GetParam() == Kind::kMemory) GTEST_SKIP() << "memory endpoints run on virtual time";
  Endpoint* b = Open(Loopback4());
  ASSERT_TRUE(b);
  Recorder recorder;
  b->AddListener(Prefix(8), &recorder);
  const Address to = b->local_addresses()[0];
  std::atomic<bool> sending{true};
  std::thread sender([&] {
    int fd = socket(AF_INET, SOCK_DGRAM, 0);
    sockaddr_storage addr;
    socklen_t len = to.ToSockaddr(&addr);
    auto d = Datagram(Prefix(8), 1);
    while (sending) sendto(fd, d.data(), d.size(), 0, reinterpret_cast<sockaddr*>(&addr), len);
    close(fd);
  });
  std::thread stopper([&] {
    std::this_thread::sleep_for(milliseconds(100));
    loop_->Stop();
  });
  loop_->Run();
  stopper.join();
  sending = false;
  sender.join();
  EXPECT_GT(recorder.packets.size(), 0u);
}

TEST_P(EndpointContract, PortFallbackTriesTheFollowingPorts) {
  Endpoint* first = Open(Loopback4());
  ASSERT_TRUE(first);
  EndpointOptions options;
  options.ipv4 = first->local_addresses()[0];
  auto taken = OpenRaw(options);
  EXPECT_FALSE(taken);
  options.port_fallback = true;
  Endpoint* second = Open(options);
  ASSERT_TRUE(second);
  EXPECT_GT(second->local_addresses()[0].port(), first->local_addresses()[0].port());
}

INSTANTIATE_TEST_SUITE_P(Backends, EndpointContract,
                         ::testing::Values(Kind::kUring, Kind::kUringWhenReady, Kind::kMmsg,
                                           Kind::kMemory),
                         [](const auto& info) { return KindName(info.param); });

// A plain socket sending bursts of one datagram to an endpoint, as a peer's kernel would.
class BurstSender {
 public:
  explicit BurstSender(const Address& to)
      : fd_(socket(AF_INET, SOCK_DGRAM, 0)), length_(to.ToSockaddr(&to_)) {}
  ~BurstSender() { close(fd_); }
  BurstSender(const BurstSender&) = delete;
  BurstSender& operator=(const BurstSender&) = delete;
  void Send(int count) {
    for (int i = 0; i < count; ++i) {
      sendto(fd_, datagram_.data(), datagram_.size(), 0, reinterpret_cast<sockaddr*>(&to_),
             length_);
    }
  }

 private:
  int fd_;
  sockaddr_storage to_{};
  socklen_t length_;
  std::vector<uint8_t> datagram_ = Datagram(Prefix(1), 1);
};

// io_uring only: a tiny buffer ring under a burst runs dry; the endpoint counts it, re-arms, and
// receives again.
TEST(UringEndpoint, RecoversFromBufferRingExhaustion) {
  auto loop = EventLoop::Create({.backend = EventLoop::Backend::kUring});
  if (!loop) GTEST_SKIP() << "io_uring is not available here";
  EndpointOptions options;
  options.ipv4 = Address::Parse("127.0.0.1:0");
  options.receive_buffers = 4;
  options.gro_buffers = 4;  // The ring in use with GRO (the default).
  auto endpoint = UringEndpoint::Open(**loop, options);
  ASSERT_TRUE(endpoint) << endpoint.error().message();
  Recorder recorder;
  (*endpoint)->AddListener(Prefix(1), &recorder);
  (*loop)->RunOnce(milliseconds(0));  // Arms the receive.

  BurstSender sender((*endpoint)->local_addresses()[0]);
  sender.Send(200);
  for (int i = 0; i < 50; ++i) (*loop)->RunOnce(milliseconds(1));
  EXPECT_GT((*endpoint)->stats().buffer_exhausted.value(), 0u);
  EXPECT_GT((*endpoint)->stats().receive_rearms.value(), 0u);
  const size_t before = recorder.packets.size();
  EXPECT_GT(before, 0u);
  sender.Send(3);
  for (int i = 0; i < 50 && recorder.packets.size() < before + 3; ++i) {
    (*loop)->RunOnce(milliseconds(1));
  }
  EXPECT_GE(recorder.packets.size(), before + 3);
  endpoint->reset();
}

// A ring of shared receive buffers is registered on one loop: another loop's endpoint is refused.
TEST(UringEndpoint, SharedReceiveBuffersStayOnTheirLoop) {
  auto first = EventLoop::Create({.backend = EventLoop::Backend::kUring});
  auto second = EventLoop::Create({.backend = EventLoop::Backend::kUring});
  if (!first || !second) GTEST_SKIP() << "io_uring is not available here";
  EndpointOptions options;
  options.ipv4 = Address::Parse("127.0.0.1:0");
  options.gro = false;
  options.shared_receive_buffers = std::make_shared<ReceiveBuffers>(8, 2048, 8);
  auto here = UringEndpoint::Open(**first, options);
  ASSERT_TRUE(here) << here.error().message();
  auto there = UringEndpoint::Open(**second, options);
  ASSERT_FALSE(there);
  EXPECT_EQ(there.error(), std::errc::invalid_argument);
  // Not a power of two: refused like receive_buffers.
  options.shared_receive_buffers = std::make_shared<ReceiveBuffers>(6, 2048, 6);
  auto odd = UringEndpoint::Open(**second, options);
  ASSERT_FALSE(odd);
  EXPECT_EQ(odd.error(), std::errc::invalid_argument);
}

// A shared ring circulates few buffers while that is enough, and more each time it runs dry.
TEST(UringEndpoint, SharedReceiveBuffersCirculateMoreWhenTheyRunDry) {
  auto loop = EventLoop::Create({.backend = EventLoop::Backend::kUring});
  if (!loop) GTEST_SKIP() << "io_uring is not available here";
  EndpointOptions options;
  options.ipv4 = Address::Parse("127.0.0.1:0");
  options.gro = false;
  auto shared = std::make_shared<ReceiveBuffers>(64, 2048, 2);
  options.shared_receive_buffers = shared;
  auto endpoint = UringEndpoint::Open(**loop, options);
  ASSERT_TRUE(endpoint) << endpoint.error().message();
  EXPECT_EQ(shared->circulating(), 2u);
  Recorder recorder;
  (*endpoint)->AddListener(Prefix(1), &recorder);
  (*loop)->RunOnce(milliseconds(0));  // Arms the receive.

  BurstSender sender((*endpoint)->local_addresses()[0]);
  sender.Send(1);
  for (int i = 0; i < 50 && recorder.packets.size() < 1; ++i) (*loop)->RunOnce(milliseconds(1));
  EXPECT_EQ(shared->circulating(), 2u);  // One datagram at a time: two buffers suffice.
  sender.Send(300);
  for (int i = 0; i < 200 && recorder.packets.size() < 301; ++i) {
    (*loop)->RunOnce(milliseconds(1));
  }
  EXPECT_EQ(recorder.packets.size(), 301u);  // Nothing lost while it grew.
  EXPECT_GT((*endpoint)->stats().buffer_exhausted.value(), 0u);
  EXPECT_GT(shared->circulating(), 2u);
  EXPECT_LE(shared->circulating(), 64u);
  endpoint->reset();
}

// N sends to distinct destinations cost about one kernel entry per iteration, not N.
TEST(UringEndpoint, BatchesSendsIntoFewKernelEntries) {
  auto loop = EventLoop::Create({.backend = EventLoop::Backend::kUring});
  if (!loop) GTEST_SKIP() << "io_uring is not available here";
  EndpointOptions options;
  options.ipv4 = Address::Parse("127.0.0.1:0");
  options.send_queue_capacity = 10000;
  auto endpoint = UringEndpoint::Open(**loop, options);
  ASSERT_TRUE(endpoint);
  (*loop)->RunOnce(milliseconds(0));
  const uint64_t entries_before = (*loop)->kernel_entries();
  auto d = Datagram(Prefix(1), 1);
  for (int i = 0; i < 10000; ++i) {
    // Distinct destinations on the discard-like high ports of 127.0.0.1 (nobody listens).
    ASSERT_FALSE(
        (*endpoint)->Send(Address::Ipv4(0x7F000001u, static_cast<uint16_t>(20000 + i)), d));
  }
  (*loop)->RunOnce(milliseconds(0));
  const uint64_t entries = (*loop)->kernel_entries() - entries_before;
  EXPECT_LE(entries, 10000u / 32) << "kernel entries for 10,000 sends";
  ::testing::Test::RecordProperty("kernel_entries_for_10000_sends", static_cast<int>(entries));
  std::printf("kernel entries for 10,000 sends: %llu\n", static_cast<unsigned long long>(entries));
  for (int i = 0; i < 100 && (*endpoint)->stats().packets_out.value() < 10000; ++i) {
    (*loop)->RunOnce(milliseconds(1));
  }
  EXPECT_EQ((*endpoint)->stats().packets_out.value() + (*endpoint)->stats().send_errors.value(),
            10000u);
  endpoint->reset();
}

}  // namespace
}  // namespace ringv8
