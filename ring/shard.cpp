#include "ring/shard.h"

#include <exception>
#include <system_error>

#include <pthread.h>
#include <time.h>

namespace ringv8 {

namespace {

double ClockSeconds(clockid_t clock) {
  timespec ts{};
  if (clock_gettime(clock, &ts) != 0) return 0;
  return static_cast<double>(ts.tv_sec) + static_cast<double>(ts.tv_nsec) / 1e9;
}

}  // namespace

Shard::Shard(std::string name, EndpointBackend backend)
    : name_(std::move(name)), backend_(backend) {}

Shard::~Shard() {
  Stop();
  Join();
}

void Shard::Start(Build build, Teardown teardown) {
  thread_ = std::thread(
      [this, build = std::move(build), teardown = std::move(teardown)] { Main(build, teardown); });
}

bool Shard::WaitBuilt() {
  std::unique_lock lock(mutex_);
  built_cv_.wait(lock, [this] { return built_; });
  return build_succeeded_;  // Not error_: the loop may have failed since.
}

void Shard::Stop() {
  std::lock_guard lock(mutex_);
  stop_requested_ = true;
  if (running_loop_ != nullptr) running_loop_->Stop();  // Honoured even before Run().
}

void Shard::Join() {
  if (thread_.joinable()) thread_.join();
}

Endpoint& Shard::OpenEndpoint(const EndpointOptions& options) {
  if (loop_ == nullptr) {
    auto opened = OpenLoopAndEndpoint(backend_, options);
    if (!opened) throw std::system_error(opened.error(), "cannot open the UDP socket");
    loop_ = std::move(opened->loop);
    backend_name_ = opened->endpoint->backend_name();
    fallback_reason_ = opened->fallback_reason;
    endpoints_.push_back(std::move(opened->endpoint));
    std::lock_guard lock(mutex_);
    running_loop_ = loop_.get();
    if (stop_requested_) loop_->Stop();
    return *endpoints_.back();
  }
  auto endpoint = ringv8::OpenEndpoint(*loop_, options);
  if (!endpoint) throw std::system_error(endpoint.error(), "cannot open the UDP socket");
  endpoints_.push_back(std::move(*endpoint));
  return *endpoints_.back();
}

void Shard::Main(const Build& build, const Teardown& teardown) {
  try {
    build(*this);
    if (loop_ == nullptr) throw std::logic_error("the shard opened no endpoint");
  } catch (const std::exception& e) {
    Fail("", e.what());
  }
  SetBuilt();
  if (!failed()) {
    try {
      loop_->Run();
    } catch (const std::exception& e) {
      Fail("while running: ", e.what());
    }
  }
  try {
    if (teardown) teardown();
  } catch (const std::exception& e) {
    Fail("while stopping: ", e.what());
  }
  {
    std::lock_guard lock(mutex_);
    running_loop_ = nullptr;
  }
  endpoints_.clear();  // Before the loop they run on.
  loop_.reset();
  std::lock_guard lock(mutex_);
  final_cpu_seconds_ = ClockSeconds(CLOCK_THREAD_CPUTIME_ID);
  thread_ended_ = true;
}

void Shard::Fail(const char* stage, const char* what) {
  std::lock_guard lock(mutex_);
  if (error_.empty()) error_ = name_ + ": " + stage + what;
  failed_.store(true, std::memory_order_release);
}

void Shard::SetBuilt() {
  std::lock_guard lock(mutex_);
  built_ = true;
  build_succeeded_ = error_.empty();
  built_cv_.notify_all();
}

double Shard::cpu_seconds() const {
  std::lock_guard lock(mutex_);
  if (thread_ended_ || !thread_.joinable()) return final_cpu_seconds_;
  // The thread is alive: it sets thread_ended_ under mutex_ before it exits.
  clockid_t clock;
  if (pthread_getcpuclockid(const_cast<std::thread&>(thread_).native_handle(), &clock) != 0) {
    return final_cpu_seconds_;
  }
  return ClockSeconds(clock);
}

std::string Shard::error() const {
  std::lock_guard lock(mutex_);
  return error_;
}

}  // namespace ringv8
