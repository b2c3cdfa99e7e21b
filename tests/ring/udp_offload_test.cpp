// UDP GSO on send and GRO on receive, both real backends, over loopback (127.0.0.1, port 0):
// bursts of equal-size datagrams leave as UDP_SEGMENT sends, arrive as GRO reads and are split
// back into the same datagrams, intact and in order; mixed sizes and destinations; the
// 64-datagram limit; a refused GSO send is resent one by one and GSO stays off; a short GSO send
// is counted per datagram; a GRO read larger than its buffer keeps the datagrams that fit and
// counts the others.
#include "ring/internal/udp_offload.h"

#include <cstring>

#include <gtest/gtest.h>

#include "ring/event_loop.h"
#include "ring/fault_injection.h"
#include "ring/mmsg_endpoint.h"
#include "ring/receive_buffers.h"
#include "ring/uring_endpoint.h"

namespace ringv8 {
namespace {

enum class Kind { kUring, kMmsg };

// Datagram `seq` of `size` bytes: a prefix, then the sequence number, then a pattern of it.
std::vector<uint8_t> Numbered(uint32_t seq, size_t size) {
  std::vector<uint8_t> d(size);
  d[0] = 0x00;
  d[1] = 0x02;
  for (size_t i = 2; i < size; ++i) d[i] = static_cast<uint8_t>(seq * 7 + i);
  std::memcpy(d.data() + 23, &seq, sizeof(seq));
  return d;
}

class Recorder final : public EndpointListener {
 public:
  void OnPacket(const Address&, std::span<const uint8_t> datagram) override {
    packets.emplace_back(datagram.begin(), datagram.end());
  }
  std::vector<std::vector<uint8_t>> packets;
};

class Gso : public ::testing::TestWithParam<Kind> {
 protected:
  void SetUp() override {
    auto loop =
        EventLoop::Create({.backend = GetParam() == Kind::kUring ? EventLoop::Backend::kUring
                                                                 : EventLoop::Backend::kEpoll});
    if (!loop) GTEST_SKIP() << "io_uring is not available here: " << loop.error().message();
    loop_ = std::move(*loop);
    sender_ = Open();
    for (auto& r : receivers_) {
      r.endpoint = Open();
      r.endpoint->AddCatchAllListener(&r.recorder);
    }
  }
  void TearDown() override {
    FaultInjection::Reset();
    for (auto& r : receivers_) {
      if (r.endpoint) r.endpoint->RemoveCatchAllListener(&r.recorder);
    }
  }

  std::unique_ptr<Endpoint> Open(EndpointOptions options = {}) {
    options.ipv4 = Address::Parse("127.0.0.1:0");
    if (GetParam() == Kind::kUring) return std::move(*UringEndpoint::Open(*loop_, options));
    return std::move(*MmsgEndpoint::Open(*loop_, options));
  }
  Address To(int receiver) { return receivers_[receiver].endpoint->local_addresses()[0]; }
  void Send(int receiver, uint32_t seq, size_t size) {
    ASSERT_FALSE(sender_->Send(To(receiver), Numbered(seq, size)));
  }
  // Runs the loop until the receivers hold `total` datagrams (5 s at most).
  void RunUntilReceived(size_t total) {
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(5);
    while (received() < total && std::chrono::steady_clock::now() < deadline) {
      loop_->RunOnce(std::chrono::milliseconds(1));
    }
    for (int i = 0; i < 5; ++i) loop_->RunOnce(std::chrono::milliseconds(1));  // No more.
  }
  size_t received() const {
    return receivers_[0].recorder.packets.size() + receivers_[1].recorder.packets.size();
  }
  const EndpointStats& sent() const { return sender_->stats(); }

  std::unique_ptr<EventLoop> loop_;
  std::unique_ptr<Endpoint> sender_;
  struct Receiver {
    std::unique_ptr<Endpoint> endpoint;
    Recorder recorder;
  } receivers_[2];
};

TEST_P(Gso, EqualSizeBurstsArriveIntactAndInOrder) {
  uint64_t total = 0;
  // 1,000 bytes: 64 datagrams per GSO send at most (UDP_MAX_SEGMENTS); 1,200 bytes: 53
  // (kGsoMaxBytes of UDP payload at most).
  for (const size_t size : {1000, 1200}) {
    const size_t per_send = std::min(internal::kGsoMaxSegments, internal::kGsoMaxBytes / size);
    for (const size_t n : {1, 2, 53, 54, 63, 64, 65, 200}) {
      SCOPED_TRACE(::testing::Message() << n << " x " << size);
      receivers_[0].recorder.packets.clear();
      const uint64_t gso_sends = sent().gso_sends.value(), segments = sent().gso_segments.value();
      std::vector<std::vector<uint8_t>> expected;
      for (uint32_t i = 0; i < n; ++i) {
        const size_t this_size = i + 1 == n && n % 2 == 0 ? 700 : size;  // Even bursts end short.
        expected.push_back(Numbered(i, this_size));
        Send(0, i, this_size);
      }
      RunUntilReceived(n);
      total += n;
      EXPECT_EQ(receivers_[0].recorder.packets, expected);
      // Full sends, then the rest in one more; a lone datagram (n = 1, the 65th) goes alone.
      const size_t full = n / per_send, rest = n % per_send;
      EXPECT_EQ(sent().gso_sends.value() - gso_sends, full + (rest > 1 ? 1 : 0));
      EXPECT_EQ(sent().gso_segments.value() - segments, full * per_send + (rest > 1 ? rest : 0));
    }
  }
  // What left as GSO sends arrived as GRO reads, split back into datagrams (on loopback the
  // kernel hands a GSO send to a GRO socket whole).
  const EndpointStats& in = receivers_[0].endpoint->stats();
  EXPECT_EQ(in.gro_segments.value(), sent().gso_segments.value());
  EXPECT_EQ(in.gro_reads.value(), sent().gso_sends.value());
  EXPECT_EQ(sent().packets_out.value(), total);
  EXPECT_EQ(sent().gso_refused.value(), 0u);
}

TEST_P(Gso, RunsOfSmallDatagramsLeaveFromOneBufferIntact) {
  // Up to internal::kJoinSegmentsUpTo bytes a run is copied into one buffer before it leaves:
  // runs of 64, a short last one, the largest size joined, and more runs in one flush than the
  // mmsg backend's joined buffer holds (the rest leave from their own buffers).
  std::vector<std::vector<uint8_t>> expected;
  uint32_t seq = 0;
  for (const size_t size : {size_t{80}, internal::kJoinSegmentsUpTo}) {
    for (uint32_t i = 0; i < 600; ++i, ++seq) {
      const size_t this_size = i == 599 ? size / 2 : size;
      expected.push_back(Numbered(seq, this_size));
      Send(0, seq, this_size);
    }
    RunUntilReceived(seq);
  }
  EXPECT_EQ(receivers_[0].recorder.packets, expected);
  EXPECT_EQ(sent().packets_out.value(), seq);
  EXPECT_EQ(sent().gso_segments.value(), seq);  // Every one in a run (600 = 9 x 64 + 24).
  EXPECT_EQ(sent().send_errors.value(), 0u);
  // A refused run of small ones is resent one by one from the datagrams' own buffers.
  FaultInjection::RefuseGso(1, EIO);
  receivers_[0].recorder.packets.clear();
  expected.clear();
  for (uint32_t i = 0; i < 10; ++i, ++seq) {
    expected.push_back(Numbered(seq, 100));
    Send(0, seq, 100);
  }
  RunUntilReceived(10);
  EXPECT_EQ(receivers_[0].recorder.packets, expected);
  EXPECT_EQ(sent().gso_refused.value(), 1u);
}

TEST_P(Gso, MixedSizesAndDestinationsKeepTheirOrder) {
  // Runs of 3 to receiver 0, 2 to receiver 1, a larger one, a lone one: only runs are segmented.
  std::vector<std::vector<uint8_t>> expected[2];
  uint32_t seq = 0;
  auto send = [&](int r, size_t size) {
    expected[r].push_back(Numbered(seq, size));
    Send(r, seq++, size);
  };
  for (int round = 0; round < 10; ++round) {
    for (int i = 0; i < 3; ++i) send(0, 500);
    for (int i = 0; i < 2; ++i) send(1, 300);
    send(1, 900);  // Larger than the run before it: starts a new one.
    send(0, 100);
  }
  RunUntilReceived(seq);
  EXPECT_EQ(receivers_[0].recorder.packets, expected[0]);
  EXPECT_EQ(receivers_[1].recorder.packets, expected[1]);
  EXPECT_EQ(sent().gso_sends.value(), 20u);     // 3 x 500 and 2 x 300 per round.
  EXPECT_EQ(sent().gso_segments.value(), 50u);  // The 900 and 100 byte ones go alone.
}

TEST_P(Gso, ARefusedGsoSendIsResentOneByOneAndGsoStaysOff) {
  FaultInjection::RefuseGso(1, EIO);
  std::vector<std::vector<uint8_t>> expected;
  for (uint32_t i = 0; i < 10; ++i) {
    expected.push_back(Numbered(i, 1000));
    Send(0, i, 1000);
  }
  RunUntilReceived(10);
  EXPECT_EQ(receivers_[0].recorder.packets, expected);
  EXPECT_EQ(sent().gso_refused.value(), 1u);
  EXPECT_EQ(sent().gso_sends.value(), 0u);
  EXPECT_EQ(sent().packets_out.value(), 10u);
  EXPECT_EQ(sent().send_errors.value(), 0u);            // Nothing lost.
  for (uint32_t i = 10; i < 20; ++i) Send(0, i, 1000);  // GSO is off for this socket now.
  RunUntilReceived(20);
  EXPECT_EQ(receivers_[0].recorder.packets.size(), 20u);
  EXPECT_EQ(sent().gso_sends.value(), 0u);
}

TEST_P(Gso, AShortGsoSendCountsEachDatagramItDidNotCarry) {
  for (uint32_t i = 0; i < 10; ++i) Send(0, i, 100);
  FaultInjection::ShortenCompletions(1);  // The GSO send reports 500 of its 1,000 bytes.
  RunUntilReceived(10);
  EXPECT_EQ(sent().gso_sends.value(), 1u);
  EXPECT_EQ(sent().packets_out.value(), 5u);
  EXPECT_EQ(sent().send_short.value(), 5u);
}

TEST_P(Gso, OffWhenTheOptionSaysSo) {
  EndpointOptions options;
  options.ipv4 = Address::Parse("127.0.0.1:0");
  options.gso = false;
  std::unique_ptr<Endpoint> plain =
      GetParam() == Kind::kUring
          ? std::unique_ptr<Endpoint>(std::move(*UringEndpoint::Open(*loop_, options)))
          : std::unique_ptr<Endpoint>(std::move(*MmsgEndpoint::Open(*loop_, options)));
  for (uint32_t i = 0; i < 10; ++i) ASSERT_FALSE(plain->Send(To(0), Numbered(i, 100)));
  RunUntilReceived(10);
  EXPECT_EQ(receivers_[0].recorder.packets.size(), 10u);
  EXPECT_EQ(plain->stats().gso_sends.value(), 0u);
  EXPECT_EQ(plain->stats().packets_out.value(), 10u);
}

TEST_P(Gso, AGroReadLargerThanItsBufferKeepsTheDatagramsThatFit) {
  EndpointOptions small;
  small.gro_buffer_size = 4096;  // A GRO read of 10 x 1,000 bytes does not fit.
  small.gro_buffers = 64;
  std::unique_ptr<Endpoint> receiver = Open(small);
  Recorder recorder;
  receiver->AddCatchAllListener(&recorder);
  std::vector<std::vector<uint8_t>> expected;
  for (uint32_t i = 0; i < 10; ++i) {
    expected.push_back(Numbered(i, 1000));
    ASSERT_FALSE(sender_->Send(receiver->local_addresses()[0], Numbered(i, 1000)));
  }
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(2);
  while (recorder.packets.size() + receiver->stats().truncated.value() < 10 &&
         std::chrono::steady_clock::now() < deadline) {
    loop_->RunOnce(std::chrono::milliseconds(1));
  }
  receiver->RemoveCatchAllListener(&recorder);
  // The whole datagrams at the start of the read are delivered, the rest counted as truncated.
  ASSERT_GE(recorder.packets.size(), 3u);
  EXPECT_LE(recorder.packets.size(), 4u);
  EXPECT_TRUE(std::equal(recorder.packets.begin(), recorder.packets.end(), expected.begin()));
  EXPECT_EQ(recorder.packets.size() + receiver->stats().truncated.value(), 10u);
  EXPECT_EQ(receiver->stats().gro_reads.value(), 1u);
}

TEST_P(Gso, SendsOfALongIterationLeaveEarlyInWholeRuns) {
  // 600 x 1,400 bytes queued in one go: each internal::kEarlyFlushBytes of them leave at once,
  // before the loop's next iteration, but only in complete runs (45 x 1,400 bytes each).
  loop_->RunOnce(std::chrono::milliseconds(0));  // The io_uring ring is enabled on the first.
  const uint64_t loop_entries = loop_->kernel_entries();
  const uint64_t endpoint_entries = sent().kernel_entries.value();
  std::vector<std::vector<uint8_t>> expected;
  for (uint32_t i = 0; i < 600; ++i) {
    expected.push_back(Numbered(i, 1400));
    Send(0, i, 1400);
  }
  const size_t early = 600 * 1400 / internal::kEarlyFlushBytes;  // 3.
  if (GetParam() == Kind::kUring) {
    EXPECT_EQ(loop_->kernel_entries() - loop_entries, early);  // One submission each.
  } else {
    EXPECT_GE(sent().kernel_entries.value() - endpoint_entries, early);  // A sendmmsg at least.
  }
  RunUntilReceived(600);
  EXPECT_EQ(receivers_[0].recorder.packets, expected);
  EXPECT_EQ(sent().gso_sends.value(), 14u);  // 13 x 45 + 15: no run was cut short.
  EXPECT_EQ(sent().gso_segments.value(), 600u);
  EXPECT_EQ(sent().send_errors.value(), 0u);
}

TEST_P(Gso, GroReadsIntoSharedReceiveBuffersLargeEnoughForThem) {
  // An exit's sockets share their receive buffers and read with GRO when they are ready
  // (receive_when_ready; uring also on its provided-buffer ring): the buffers must hold a GRO
  // read; smaller ones are refused.
  for (const bool when_ready : {false, true}) {
    if (when_ready && GetParam() != Kind::kUring) continue;  // mmsg always reads so.
    SCOPED_TRACE(when_ready ? "receive_when_ready" : "provided-buffer ring");
    EndpointOptions options;
    options.ipv4 = Address::Parse("127.0.0.1:0");
    options.receive_when_ready = when_ready;
    options.shared_receive_buffers = std::make_shared<ReceiveBuffers>(8, 2048, 8);
    auto open = [&]() -> Result<std::unique_ptr<Endpoint>> {
      if (GetParam() == Kind::kUring) {
        auto e = UringEndpoint::Open(*loop_, options);
        if (!e) return Unexpected{e.error()};
        return std::unique_ptr<Endpoint>(std::move(*e));
      }
      auto e = MmsgEndpoint::Open(*loop_, options);
      if (!e) return Unexpected{e.error()};
      return std::unique_ptr<Endpoint>(std::move(*e));
    };
    auto refused = open();
    ASSERT_FALSE(refused);
    EXPECT_EQ(refused.error(), std::errc::invalid_argument);
    options.shared_receive_buffers =
        std::make_shared<ReceiveBuffers>(8, options.gro_buffer_size, 2);
    auto first = open();
    ASSERT_TRUE(first) << first.error().message();
    auto second = open();
    ASSERT_TRUE(second) << second.error().message();
    Recorder recorders[2];
    std::vector<std::vector<uint8_t>> expected[2];
    Endpoint* receivers[2] = {first->get(), second->get()};
    for (int r = 0; r < 2; ++r) receivers[r]->AddCatchAllListener(&recorders[r]);
    for (uint32_t i = 0; i < 40; ++i) {
      const int r = i < 20 ? 0 : 1;
      expected[r].push_back(Numbered(i, 1200));
      ASSERT_FALSE(sender_->Send(receivers[r]->local_addresses()[0], Numbered(i, 1200)));
    }
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(5);
    while (recorders[0].packets.size() + recorders[1].packets.size() < 40 &&
           std::chrono::steady_clock::now() < deadline) {
      loop_->RunOnce(std::chrono::milliseconds(1));
    }
    for (int r = 0; r < 2; ++r) {
      receivers[r]->RemoveCatchAllListener(&recorders[r]);
      EXPECT_EQ(recorders[r].packets, expected[r]);
      EXPECT_GE(receivers[r]->stats().gro_reads.value(), 1u);  // Runs arrived whole.
      EXPECT_EQ(receivers[r]->stats().truncated.value(), 0u);
    }
  }
}

INSTANTIATE_TEST_SUITE_P(Backends, Gso, ::testing::Values(Kind::kUring, Kind::kMmsg),
                         [](const auto& info) {
                           return info.param == Kind::kUring ? "uring" : "mmsg";
                         });

TEST(GsoRunLength, SameDestinationSameSizeLastShorterAtMost64) {
  internal::SendPool pool(256);
  const Address a = *Address::Parse("127.0.0.1:1"), b = *Address::Parse("127.0.0.1:2");
  std::vector<internal::SendSlot*> q;
  auto add = [&](const Address& to, size_t size) {
    q.push_back(pool.Acquire(to, std::vector<uint8_t>(size, 1)));
  };
  auto run = [&](size_t from) { return internal::GsoRunLength(q.begin() + from, q.end()); };
  for (int i = 0; i < 3; ++i) add(a, 100);
  add(a, 50);  // Shorter: ends the run.
  add(a, 50);  // Starts the next.
  add(a, 60);  // Larger: not in it.
  add(b, 60);  // Another destination.
  EXPECT_EQ(run(0), 4u);
  EXPECT_EQ(run(4), 1u);
  EXPECT_EQ(run(5), 1u);
  EXPECT_EQ(run(6), 1u);
  q.clear();
  for (int i = 0; i < 100; ++i) add(a, 1000);
  EXPECT_EQ(run(0), 64u);  // UDP_MAX_SEGMENTS.
  q.clear();
  for (int i = 0; i < 100; ++i) add(a, 1400);
  EXPECT_EQ(run(0), 45u);  // kGsoMaxBytes (64,000) at most: 45 x 1,400.
}

}  // namespace
}  // namespace ringv8
