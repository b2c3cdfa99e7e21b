#include "ring/event_loop.h"

#include <liburing.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <optional>

#include <poll.h>
#include <spdlog/spdlog.h>

#include "ring/fault_injection.h"

namespace ringv8 {

namespace {

constexpr Duration kMaxWait = std::chrono::seconds(1);

std::string ErrnoText(int error) { return std::string(strerror(error)); }

}  // namespace

// Drains the eventfd when a poll on it completes (kUring), and re-arms the poll when the kernel
// ended the multishot.
class EventLoop::WakeupHandler final : public CompletionHandler {
 public:
  explicit WakeupHandler(EventLoop* loop) : loop_(loop) {}
  void OnCompletion(const io_uring_cqe& cqe) override {
    loop_->DrainWakeup();
    if (!(cqe.flags & IORING_CQE_F_MORE)) loop_->ArmWakeup();
  }

 private:
  EventLoop* loop_;  // Not owned; owns this.
};

// A poll on one fd (kUring). Owned by the loop; freed after its last completion, because the
// kernel holds its address as user_data until then.
class EventLoop::FdWatch final : public CompletionHandler {
 public:
  FdWatch(EventLoop* loop, int fd, uint32_t events, std::function<void(uint32_t)> fn)
      : loop_(loop), fd(fd), events(events), fn(std::move(fn)) {}
  void OnCompletion(const io_uring_cqe& cqe) override {
    armed = (cqe.flags & IORING_CQE_F_MORE) != 0;
    if (active && cqe.res > 0) fn(static_cast<uint32_t>(cqe.res));  // May unwatch.
    if (armed) return;
    if (active) {
      loop_->ArmWatch(this);
    } else {
      loop_->ReleaseWatch(this);  // Deletes this; nothing may follow.
    }
  }

  EventLoop* loop_;
  int fd;
  uint32_t events;
  std::function<void(uint32_t)> fn;
  bool active = true;
  bool armed = false;
};

void EventLoop::ArmWatch(FdWatch* watch) {
  io_uring_sqe* sqe = GetSqe();
  if (sqe == nullptr) return;
  io_uring_prep_poll_multishot(sqe, watch->fd, watch->events);
  SetCompletion(sqe, watch);
  watch->armed = true;
}

void EventLoop::ReleaseWatch(FdWatch* watch) {
  std::erase(all_watches_, watch);
  delete watch;
}

void EventLoop::UringDeleter::operator()(io_uring* ring) const {
  io_uring_queue_exit(ring);
  delete ring;
}

const char* EventLoop::BackendName(Backend backend) {
  switch (backend) {
    case Backend::kAuto:
      return "auto";
    case Backend::kUring:
      return "uring";
    case Backend::kEpoll:
      return "epoll";
  }
  return "?";
}

Result<std::unique_ptr<EventLoop>> EventLoop::Create(const Options& options) {
  std::unique_ptr<EventLoop> loop(new EventLoop());
  loop->virtual_clock_ = options.virtual_clock;
  loop->clock_ = options.virtual_clock != nullptr ? options.virtual_clock
                 : options.clock != nullptr       ? options.clock
                                                  : &MonotonicClock::Get();
  loop->busy_completions_ = std::max(options.busy_completions, 1u);
  loop->batch_completions_ = options.batch_completions;
  loop->batch_delay_ = options.batch_delay;
  loop->batch_work_limit_ = options.batch_work_limit;
  loop->wakeup_fd_ = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
  if (loop->wakeup_fd_ < 0) return Unexpected{Errno(errno)};

  if (options.backend != Backend::kEpoll) {
    int error = loop->SetUpUring(options.uring_entries);
    if (error == 0) {
      loop->backend_ = Backend::kUring;
      return loop;
    }
    if (options.backend == Backend::kUring) {
      return Unexpected{Errno(-error)};
    }
    loop->fallback_reason_ = "io_uring setup failed: " + ErrnoText(-error);
    if (-error == EPERM) loop->fallback_reason_ += " (seccomp, container, or io_uring_disabled)";
  }
  int error = loop->SetUpEpoll();
  if (error != 0) return Unexpected{Errno(-error)};
  loop->backend_ = Backend::kEpoll;
  return loop;
}

int EventLoop::SetUpUring(unsigned entries) {
  if (FaultInjection::uring_setup_refused()) return -EPERM;  // Tests: as under seccomp.
  auto ring = std::unique_ptr<io_uring, UringDeleter>(new io_uring());
  io_uring_params params{};
  // SINGLE_ISSUER + DEFER_TASKRUN (6.1+): completions run when this thread asks for them, not
  // as interrupts. R_DISABLED defers binding the ring to a thread until the first RunOnce, so a
  // loop can be created on one thread and run on another.
  params.flags = IORING_SETUP_CQSIZE | IORING_SETUP_SINGLE_ISSUER | IORING_SETUP_DEFER_TASKRUN |
                 IORING_SETUP_R_DISABLED;
  params.cq_entries = entries * 4;
  int result = io_uring_queue_init_params(entries, ring.get(), &params);
  if (result == -EINVAL) {
    params = io_uring_params{};  // Older kernel: plain setup.
    params.flags = IORING_SETUP_CQSIZE;
    params.cq_entries = entries * 4;
    result = io_uring_queue_init_params(entries, ring.get(), &params);
  }
  if (result < 0) {
    ring.release();  // io_uring_queue_exit must not run on a ring that was never set up.
    return result;
  }
  if (!(ring->features & IORING_FEAT_EXT_ARG)) {
    return -ENOSYS;  // Waiting with a timeout in one call needs kernel 5.11+.
  }
  ring_ = std::move(ring);
  wakeup_handler_ = std::make_unique<WakeupHandler>(this);
  ArmWakeup();
  return 0;
}

int EventLoop::SetUpEpoll() {
  epoll_fd_ = epoll_create1(EPOLL_CLOEXEC);
  if (epoll_fd_ < 0) return -errno;
  return WatchFd(wakeup_fd_, EPOLLIN, [this](uint32_t) { DrainWakeup(); });
}

EventLoop::~EventLoop() {
  // Orphans' operations were cancelled when their endpoints closed; their completions release
  // them. Only completions run here (no timers, no posted work), and only for a few ms.
  for (int i = 0; ring_ && !orphans_.empty() && i < 100; ++i)
    WaitUring(std::chrono::milliseconds(1));
  ring_.reset();  // The kernel lets go of every poll and buffer here.
  for (Orphan* orphan : orphans_) delete orphan;
  for (FdWatch* watch : all_watches_) delete watch;
  if (epoll_fd_ >= 0) close(epoll_fd_);
  if (wakeup_fd_ >= 0) close(wakeup_fd_);
}

void EventLoop::ArmWakeup() {
  io_uring_sqe* sqe = GetSqe();
  if (sqe == nullptr) return;  // Retried on the next completion; Post still lands on a timeout.
  io_uring_prep_poll_multishot(sqe, wakeup_fd_, POLLIN);
  SetCompletion(sqe, wakeup_handler_.get());
}

void EventLoop::DrainWakeup() {
  uint64_t value;
  while (read(wakeup_fd_, &value, sizeof(value)) > 0) {
  }
}

void EventLoop::Stop() {
  stop_.store(true, std::memory_order_relaxed);  // The eventfd write orders it for the loop.
  uint64_t one = 1;
  ssize_t ignored = write(wakeup_fd_, &one, sizeof(one));  // Async-signal-safe.
  (void)ignored;
}

void EventLoop::Post(std::function<void()> fn) {
  posted_.Push(std::move(fn));
  uint64_t one = 1;
  ssize_t ignored = write(wakeup_fd_, &one, sizeof(one));
  (void)ignored;
}

void EventLoop::RunPosted() { posted_.RunAll(); }

void EventLoop::AdoptOrphan(Orphan* orphan) { orphans_.push_back(orphan); }

void EventLoop::ReleaseOrphan(Orphan* orphan) {
  std::erase(orphans_, orphan);
  delete orphan;
}

EventLoop::TimerId EventLoop::CallLater(Duration delay, std::function<void()> fn) {
  TimerId id = next_timer_id_++;
  TimePoint due = Now() + std::max(delay, Duration(0));
  timers_.emplace(id, Timer{std::move(fn), Duration(0), due});
  heap_.push({due, id});
  return id;
}

EventLoop::TimerId EventLoop::CallEvery(Duration interval, std::function<void()> fn) {
  TimerId id = next_timer_id_++;
  interval = std::max(interval, Duration(1));
  TimePoint due = Now() + interval;
  timers_.emplace(id, Timer{std::move(fn), interval, due});
  heap_.push({due, id});
  return id;
}

EventLoop::TimerId EventLoop::CreateTimer(std::function<void()> fn) {
  TimerId id = next_timer_id_++;
  Timer timer{std::move(fn), Duration(0), TimePoint::max()};
  timer.rearmable = true;
  timers_.emplace(id, std::move(timer));
  return id;
}

void EventLoop::ArmTimer(TimerId id, TimePoint due) {
  auto it = timers_.find(id);
  if (it == timers_.end()) return;
  it->second.due = due;
  heap_.push({due, id});  // An earlier arming left in the heap no longer matches `due`.
}

bool EventLoop::Cancel(TimerId id) {
  // The heap entry stays until it surfaces; FireDueTimers skips it. Rebuild the heap when stale
  // entries dominate so that cancelled timers never pile up.
  bool erased = timers_.erase(id) > 0;
  if (heap_.size() > 64 && heap_.size() > 4 * timers_.size()) {
    std::vector<HeapEntry> live;
    live.reserve(timers_.size());
    for (const auto& [timer_id, timer] : timers_) {
      if (timer.due != TimePoint::max()) live.push_back({timer.due, timer_id});  // Armed only.
    }
    heap_ = decltype(heap_)(std::greater<>(), std::move(live));
  }
  return erased;
}

std::optional<TimePoint> EventLoop::NextTimer() {
  while (!heap_.empty()) {
    auto it = timers_.find(heap_.top().id);
    if (it != timers_.end() && it->second.due == heap_.top().due) return heap_.top().due;
    heap_.pop();  // Cancelled or rescheduled.
  }
  return std::nullopt;
}

void EventLoop::FireDueTimers() {
  const TimePoint now = Now();
  // Timers added while firing are due no earlier than `now` + their delay; a zero delay waits for
  // the next iteration, so a timer that re-adds itself cannot starve the loop.
  // The list's storage is reused between iterations (a nested RunOnce gets a fresh one), so
  // firing timers allocates nothing in the steady state.
  std::vector<TimerId> due = std::move(due_scratch_);
  due.clear();
  while (auto next = NextTimer()) {
    if (*next > now) break;
    due.push_back(heap_.top().id);
    heap_.pop();
  }
  for (TimerId id : due) {
    auto it = timers_.find(id);
    if (it == timers_.end()) continue;  // Cancelled by an earlier timer in this batch.
    if (it->second.rearmable) {
      if (it->second.due > now) continue;  // Fired already in this batch, or re-armed later.
      it->second.due = TimePoint::max();   // Disarmed until ArmTimer.
      auto fn = it->second.fn;             // Small captures: no allocation.
      fn();
    } else if (it->second.interval > Duration(0)) {
      // Periodic: next due one interval after this one was due, never in the past (no bursts).
      it->second.due = std::max(it->second.due + it->second.interval, now);
      heap_.push({it->second.due, id});
      auto fn = it->second.fn;  // The callback may cancel its own timer.
      fn();
    } else {
      auto fn = std::move(it->second.fn);
      timers_.erase(it);
      fn();
    }
  }
  due_scratch_ = std::move(due);
}

Duration EventLoop::TimeUntilNextTimer(Duration cap) {
  auto next = NextTimer();
  if (!next) return cap;
  return std::clamp(*next - Now(), Duration(0), cap);
}

EventLoop::HookId EventLoop::AddBeforeWait(std::function<void()> hook) {
  HookId id = next_hook_id_++;
  hooks_.emplace_back(id, std::move(hook));
  return id;
}

void EventLoop::RemoveBeforeWait(HookId id) {
  std::erase_if(hooks_, [id](const auto& entry) { return entry.first == id; });
}

void EventLoop::RunHooks() {
  for (size_t i = 0; i < hooks_.size(); ++i) hooks_[i].second();
  running_hooks_.swap(requested_hooks_);  // What they request now runs next iteration.
  for (size_t i = 0; i < running_hooks_.size(); ++i) {
    WaitHook* hook = running_hooks_[i];
    if (hook == nullptr) continue;  // Cancelled by an earlier hook.
    hook->requested_ = false;
    hook->BeforeWait();
  }
  running_hooks_.clear();
}

void EventLoop::CancelBeforeWait(WaitHook* hook) {
  if (!hook->requested_) return;
  hook->requested_ = false;
  std::erase(requested_hooks_, hook);
  std::replace(running_hooks_.begin(), running_hooks_.end(), hook, static_cast<WaitHook*>(nullptr));
}

int EventLoop::WatchFd(int fd, uint32_t events, std::function<void(uint32_t)> on_ready) {
  if (backend_ == Backend::kUring) {
    if (uring_watches_.contains(fd)) return -EEXIST;
    auto* watch = new FdWatch(this, fd, events, std::move(on_ready));
    all_watches_.push_back(watch);
    uring_watches_[fd] = watch;
    ArmWatch(watch);
    return 0;
  }
  if (epoll_fd_ < 0) return -EOPNOTSUPP;
  epoll_event ev{};
  ev.events = events;
  ev.data.fd = fd;
  if (epoll_ctl(epoll_fd_, EPOLL_CTL_ADD, fd, &ev) != 0) return -errno;
  fd_handlers_[fd] = std::move(on_ready);
  return 0;
}

int EventLoop::ModifyFd(int fd, uint32_t events) {
  if (backend_ == Backend::kUring) {
    auto it = uring_watches_.find(fd);
    if (it == uring_watches_.end()) return -ENOENT;
    it->second->events = events;
    // Removing the poll ends it; its last completion re-arms it with the new events.
    if (io_uring_sqe* sqe = GetSqe()) {
      io_uring_prep_poll_remove(sqe, reinterpret_cast<uint64_t>(it->second));
      SetCompletion(sqe, nullptr);
    }
    return 0;
  }
  epoll_event ev{};
  ev.events = events;
  ev.data.fd = fd;
  return epoll_ctl(epoll_fd_, EPOLL_CTL_MOD, fd, &ev) == 0 ? 0 : -errno;
}

void EventLoop::UnwatchFd(int fd) {
  if (auto it = uring_watches_.find(fd); it != uring_watches_.end()) {
    FdWatch* watch = it->second;
    uring_watches_.erase(it);
    watch->active = false;
    if (watch->armed) {
      if (io_uring_sqe* sqe = GetSqe()) {
        io_uring_prep_poll_remove(sqe, reinterpret_cast<uint64_t>(watch));
        SetCompletion(sqe, nullptr);
      }
    }  // Not armed: it is inside its own OnCompletion, which releases it.
    return;
  }
  if (epoll_fd_ >= 0) epoll_ctl(epoll_fd_, EPOLL_CTL_DEL, fd, nullptr);
  fd_handlers_.erase(fd);
}

io_uring_sqe* EventLoop::GetSqe() {
  io_uring_sqe* sqe = io_uring_get_sqe(ring_.get());
  if (sqe != nullptr) return sqe;
  // The submission queue is full: hand it to the kernel now (a batch filled up).
  ++kernel_entries_;
  io_uring_submit(ring_.get());
  return io_uring_get_sqe(ring_.get());
}

void EventLoop::SubmitNow() {
  // Before the first iteration the ring is not enabled yet: the SQEs wait for it.
  if (io_uring_sq_ready(ring_.get()) == 0 || (ring_->flags & IORING_SETUP_R_DISABLED)) return;
  ++kernel_entries_;
  io_uring_submit(ring_.get());
}

void EventLoop::SetCompletion(io_uring_sqe* sqe, CompletionHandler* handler) {
  io_uring_sqe_set_data(sqe, handler);
}

void EventLoop::WaitUring(Duration max_wait) {
  io_uring* ring = ring_.get();
  if (ring->flags & IORING_SETUP_R_DISABLED) {
    // Binds the ring to this thread (SINGLE_ISSUER) on the first iteration. liburing 2.3
    // declares io_uring_enable_rings but does not export it, so this is the raw call.
    syscall(__NR_io_uring_register, ring->ring_fd, IORING_REGISTER_ENABLE_RINGS, nullptr, 0);
    ring->flags &= ~IORING_SETUP_R_DISABLED;
  }
  ++kernel_entries_;
  if (max_wait <= Duration(0)) {
    io_uring_submit_and_get_events(ring);
  } else {
    // Busy: wait for a batch, a bounded extra delay at most. Idle: wake on the first.
    unsigned wait_for = 1;
    if (batch_completions_ > 1 && last_completions_ >= busy_completions_ &&
        last_handling_ < batch_work_limit_ * last_completions_) {
      wait_for = batch_completions_;
      max_wait = std::min(max_wait, batch_delay_);
      ++batched_waits_;
    }
    __kernel_timespec ts{};
    ts.tv_sec = std::chrono::duration_cast<std::chrono::seconds>(max_wait).count();
    ts.tv_nsec = (max_wait % std::chrono::seconds(1)).count();
    io_uring_cqe* cqe = nullptr;
    io_uring_submit_and_wait_timeout(ring, &cqe, wait_for, &ts, nullptr);
  }
  unsigned head;
  unsigned seen = 0;
  io_uring_cqe* cqe;
  const auto handling_start = std::chrono::steady_clock::now();
  io_uring_for_each_cqe(ring, head, cqe) {
    ++seen;
    auto* handler = static_cast<CompletionHandler*>(io_uring_cqe_get_data(cqe));
    if (handler != nullptr) handler->OnCompletion(*cqe);
  }
  io_uring_cq_advance(ring, seen);
  last_completions_ = seen;
  last_handling_ = std::chrono::steady_clock::now() - handling_start;
}

void EventLoop::WaitEpoll(Duration max_wait) {
  epoll_event events[64];
  int timeout_ms =
      max_wait <= Duration(0)
          ? 0
          : static_cast<int>(std::chrono::ceil<std::chrono::milliseconds>(max_wait).count());
  ++kernel_entries_;
  int n = epoll_wait(epoll_fd_, events, 64, timeout_ms);
  for (int i = 0; i < n; ++i) {
    auto it = fd_handlers_.find(events[i].data.fd);
    if (it == fd_handlers_.end()) continue;
    auto handler = it->second;  // The handler may unwatch its own fd.
    handler(events[i].events);
  }
}

void EventLoop::RunOnce(Duration max_wait) {
  in_iteration_ = true;
  RunPosted();
  RunHooks();
  Duration wait =
      is_virtual() || !posted_.Empty() || stopping() ? Duration(0) : TimeUntilNextTimer(max_wait);
  if (backend_ == Backend::kUring) {
    WaitUring(wait);
  } else {
    WaitEpoll(wait);
  }
  FireDueTimers();
  RunPosted();
  in_iteration_ = false;
}

void EventLoop::Run() {
  while (!stopping()) {
    if (is_virtual()) {
      RunOnce(Duration(0));
      if (auto next = NextTimer()) virtual_clock_->Set(*next);
    } else {
      RunOnce(kMaxWait);
    }
  }
  stop_.store(false, std::memory_order_relaxed);  // This Run consumed the Stop.
}

void EventLoop::RunUntil(TimePoint deadline) {
  if (!is_virtual()) {
    while (Now() < deadline && !stopping()) RunOnce(deadline - Now());
    return;
  }
  RunOnce(Duration(0));
  while (auto next = NextTimer()) {
    if (*next > deadline) break;
    virtual_clock_->Set(*next);
    RunOnce(Duration(0));
  }
  virtual_clock_->Set(deadline);
  RunOnce(Duration(0));
}

}  // namespace ringv8
