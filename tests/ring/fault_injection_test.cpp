// The kernel fails on purpose (ring/fault_injection.h): send errors, lost and short receives,
// short send completions, io_uring refused. Each backend counts the fault, goes on, and carries
// normal traffic afterwards; the ASan build checks that nothing leaks. Real sockets on 127.0.0.1.
#include <cerrno>
#include <cstdio>
#include <string>

#include <gtest/gtest.h>

#include "ring/fault_injection.h"
#include "ring/open_endpoint.h"

namespace ringv8 {
namespace {

using std::chrono::milliseconds;

class Inbox final : public EndpointListener {
 public:
  void OnPacket(const Address&, std::span<const uint8_t> datagram) override {
    sizes.push_back(datagram.size());
  }
  std::vector<size_t> sizes;
};

// Prints how many faults the run injected (the README's figure): every one was survived, or a
// test above failed.
class ReportInjectedFaults : public ::testing::Environment {
 public:
  void TearDown() override {
    std::printf("fault injection: %llu faults injected in this run\n",
                static_cast<unsigned long long>(FaultInjection::injected()));
  }
};
[[maybe_unused]] ::testing::Environment* const kReport =
    ::testing::AddGlobalTestEnvironment(new ReportInjectedFaults);

class FaultInjectionTest : public ::testing::TestWithParam<EndpointBackend> {
 protected:
  void SetUp() override {
    EndpointOptions options;
    options.ipv4 = Address::Parse("127.0.0.1:0");
    options.gso = false;  // One datagram per send, so a fault hits one (GSO's: gso_test.cpp).
    auto opened = OpenLoopAndEndpoint(GetParam(), options);
    if (!opened) GTEST_SKIP() << "backend not available here: " << opened.error().message();
    loop_ = std::move(opened->loop);
    a_ = std::move(opened->endpoint);
    b_ = std::move(*OpenEndpoint(*loop_, options));
    b_->AddCatchAllListener(&inbox_);
  }
  void TearDown() override {
    FaultInjection::Reset();
    if (b_) b_->RemoveCatchAllListener(&inbox_);
    a_.reset();
    b_.reset();
  }

  // Sends `n` 64-byte datagrams from a to b and runs the loop until b has `expect` of them
  // (or 2 s passed).
  void SendAndWait(int n, size_t expect) {
    std::vector<uint8_t> datagram(64, 0xAB);
    datagram[0] = 0;
    for (int i = 0; i < n; ++i) ASSERT_FALSE(a_->Send(b_->local_addresses()[0], datagram));
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(2);
    while (inbox_.sizes.size() < expect && std::chrono::steady_clock::now() < deadline) {
      loop_->RunOnce(milliseconds(1));
    }
    for (int i = 0; i < 20; ++i) loop_->RunOnce(milliseconds(1));  // Nothing more arrives.
  }

  std::unique_ptr<EventLoop> loop_;
  std::unique_ptr<Endpoint> a_, b_;
  Inbox inbox_;
};

TEST_P(FaultInjectionTest, SendErrorsAreCountedAndTrafficGoesOn) {
  for (int error : {EAGAIN, ENOBUFS, EPERM, ECONNREFUSED, EHOSTUNREACH}) {
    SCOPED_TRACE(strerror(error));
    inbox_.sizes.clear();
    const uint64_t errors_before = a_->stats().send_errors.value();
    const uint64_t injected_before = FaultInjection::injected();
    FaultInjection::FailSends(3, error);
    const bool retried = GetParam() == EndpointBackend::kMmsg && error == EAGAIN;
    SendAndWait(10, retried ? 10 : 7);
    EXPECT_EQ(FaultInjection::injected() - injected_before, 3u);
    const uint64_t errors = a_->stats().send_errors.value() - errors_before;
    // Dropped and counted by errno, or (EAGAIN on mmsg) retried once the socket is writable.
    EXPECT_EQ(inbox_.sizes.size() + errors, 10u);
    EXPECT_GE(a_->stats().send_errors_by_errno[error].value(), errors);
    EXPECT_EQ(errors, retried ? 0u : 3u);
  }
  inbox_.sizes.clear();
  SendAndWait(5, 5);
  EXPECT_EQ(inbox_.sizes.size(), 5u);
}

TEST_P(FaultInjectionTest, LostReceivesAreCountedAndReceivingGoesOn) {
  FaultInjection::FailReceives(4, ENOBUFS);
  SendAndWait(10, 6);
  EXPECT_EQ(inbox_.sizes.size(), 6u);
  EXPECT_EQ(b_->stats().buffer_exhausted.value(), 4u);
  FaultInjection::FailReceives(2, EIO);
  SendAndWait(4, 8);
  EXPECT_EQ(b_->stats().receive_errors.value(), 2u);
  SendAndWait(5, 13);
  EXPECT_EQ(inbox_.sizes.size(), 13u);
}

TEST_P(FaultInjectionTest, ShortCompletionsAreCounted) {
  FaultInjection::ShortenCompletions(2);
  SendAndWait(4, 4);
  ASSERT_EQ(inbox_.sizes.size(), 4u);  // A short send completion still sent the datagram.
  const auto halves = std::count(inbox_.sizes.begin(), inbox_.sizes.end(), 32u);
  EXPECT_EQ(a_->stats().send_short.value() + static_cast<uint64_t>(halves), 2u);
  EXPECT_EQ(a_->stats().packets_out.value(), 4u - a_->stats().send_short.value());
  SendAndWait(3, 7);
  EXPECT_EQ(std::count(inbox_.sizes.begin() + 4, inbox_.sizes.end(), 64u), 3);
}

INSTANTIATE_TEST_SUITE_P(Backends, FaultInjectionTest,
                         ::testing::Values(EndpointBackend::kUring, EndpointBackend::kMmsg),
                         [](const auto& info) {
                           return std::string(info.param == EndpointBackend::kUring ? "uring"
                                                                                    : "mmsg");
                         });

TEST(FaultInjection, RefusedIoUringFallsBackToMmsg) {
  FaultInjection::RefuseUringSetup(true);
  EndpointOptions options;
  options.ipv4 = Address::Parse("127.0.0.1:0");
  EXPECT_FALSE(OpenLoopAndEndpoint(EndpointBackend::kUring, options));  // Asked for: an error.
  auto opened = OpenLoopAndEndpoint(EndpointBackend::kAuto, options);
  FaultInjection::Reset();
  ASSERT_TRUE(opened) << opened.error().message();
  EXPECT_STREQ(opened->endpoint->backend_name(), "mmsg");
  EXPECT_NE(opened->fallback_reason.find("Operation not permitted"), std::string::npos)
      << opened->fallback_reason;

  auto peer = std::move(*OpenEndpoint(*opened->loop, options));
  Inbox inbox;
  peer->AddCatchAllListener(&inbox);
  std::vector<uint8_t> datagram(64, 0);
  ASSERT_FALSE(opened->endpoint->Send(peer->local_addresses()[0], datagram));
  for (int i = 0; i < 200 && inbox.sizes.empty(); ++i) opened->loop->RunOnce(milliseconds(5));
  EXPECT_EQ(inbox.sizes.size(), 1u);
  peer->RemoveCatchAllListener(&inbox);
}

}  // namespace
}  // namespace ringv8
