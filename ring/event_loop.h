// EventLoop: one shard's loop. It runs kernel completions, timers and work posted from other
// threads, on the thread that calls Run().
//
// Two backends, chosen at creation:
//   kUring: one io_uring (IORING_SETUP_SINGLE_ISSUER | IORING_SETUP_DEFER_TASKRUN where the kernel
//           accepts them, kernel 6.1+; plain setup otherwise). Endpoints queue SQEs during an
//           iteration; the loop enters the kernel once per iteration to submit them all and wait.
//   kEpoll: epoll, for MmsgEndpoint and where io_uring is not allowed (ENOSYS, EPERM under seccomp
//           or in containers, kernel.io_uring_disabled). kAuto picks kUring and falls back to
//           kEpoll, remembering why (fallback_reason()).
// Time comes from a Clock. With a VirtualClock the loop never sleeps: RunFor/RunUntil move the
// clock from one timer to the next, so a ten-minute scenario runs in milliseconds.
//
// Thread-affine: call only on the loop's thread, except Post() and Stop(), which are thread-safe
// and lock-free (Stop() is also safe in a signal handler).
#ifndef RINGV8_RING_EVENT_LOOP_H_
#define RINGV8_RING_EVENT_LOOP_H_

#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <queue>
#include <string>
#include <unordered_map>
#include <vector>

#include "ring/clock.h"
#include "ring/internal/work_queue.h"
#include "ring/result.h"

struct io_uring;
struct io_uring_cqe;
struct io_uring_sqe;

namespace ringv8 {

class EventLoop {
 public:
  enum class Backend { kAuto, kUring, kEpoll };

  struct Options {
    Backend backend = Backend::kAuto;
    unsigned uring_entries = 4096;  // Submission queue size; the completion queue is 4x.
    // Not owned; must outlive the loop. nullptr: the monotonic clock.
    Clock* clock = nullptr;
    // Not owned. Set it (and leave `clock` null) to run on virtual time.
    VirtualClock* virtual_clock = nullptr;
    // kUring, under load: after an iteration that handled at least `busy_completions`
    // completions, the next wait returns after `batch_completions` completions or `batch_delay`,
    // whichever comes first (never later than the next timer), so that a busy loop pays one
    // wake-up per batch, not per datagram. An idle loop wakes on the first completion.
    // batch_completions <= 1 turns batching off.
    unsigned busy_completions = 4;
    unsigned batch_completions = 32;
    Duration batch_delay = std::chrono::microseconds(50);
    // ... unless the last iteration's handlers took `batch_work_limit` or more per completion:
    // then a wake-up is a small part of the work, the backlog builds by itself, and waiting
    // for a batch would only add latency (a relay's cell costs ~2 us of crypto and copying).
    Duration batch_work_limit = std::chrono::nanoseconds(1000);
  };

  // Receives io_uring completions for the SQEs whose user_data it set with SetCompletion().
  class CompletionHandler {
   public:
    virtual void OnCompletion(const io_uring_cqe& cqe) = 0;

   protected:
    ~CompletionHandler() = default;
  };

  // Fails only when the requested backend cannot be set up (with the kernel's error).
  static Result<std::unique_ptr<EventLoop>> Create(const Options& options);
  ~EventLoop();
  EventLoop(const EventLoop&) = delete;
  EventLoop& operator=(const EventLoop&) = delete;

  Backend backend() const { return backend_; }
  static const char* BackendName(Backend backend);
  // Why kAuto did not get io_uring ("" when it did).
  const std::string& fallback_reason() const { return fallback_reason_; }
  TimePoint Now() const { return clock_->Now(); }
  bool is_virtual() const { return virtual_clock_ != nullptr; }

  // Runs iterations until Stop(), including a Stop() that came before Run() (then it returns at
  // once). Returning consumes the Stop: a later Run() runs again. With a virtual clock, it also
  // advances time to each timer.
  void Run();
  // One iteration: posted work, before-wait hooks, one kernel entry that submits and waits up to
  // `max_wait` (0 = do not block), then completions / ready fds, then due timers.
  void RunOnce(Duration max_wait);
  // Virtual clock only: runs everything due up to Now() + d, moving the clock timer by timer.
  void RunFor(Duration d) { RunUntil(Now() + d); }
  void RunUntil(TimePoint deadline);

  // Thread-safe, async-signal-safe: makes Run() return after the current iteration, or at once
  // if it has not started yet; RunFor/RunUntil on the monotonic clock return too.
  void Stop();
  bool stopping() const { return stop_.load(std::memory_order_relaxed); }

  // Thread-safe, lock-free: runs `fn` on the loop's thread during the next iteration.
  void Post(std::function<void()> fn);

  // Timers. Ids are never reused; Cancel returns false for an unknown or fired one-shot id.
  using TimerId = uint64_t;
  TimerId CallLater(Duration delay, std::function<void()> fn);
  TimerId CallEvery(Duration interval, std::function<void()> fn);
  bool Cancel(TimerId id);
  // A timer that fires when armed, then waits to be armed again: re-arming allocates nothing
  // (for per-step schedulers). Cancel() deletes it.
  TimerId CreateTimer(std::function<void()> fn);
  void ArmTimer(TimerId id, TimePoint due);
  size_t timer_count() const { return timers_.size(); }
  // When the next timer is due (nullopt if none).
  std::optional<TimePoint> NextTimer();

  // Runs `hook` at the start of every iteration's wait (endpoints flush queued sends here).
  using HookId = uint64_t;
  HookId AddBeforeWait(std::function<void()> hook);
  void RemoveBeforeWait(HookId id);

  // A before-wait hook that runs only in iterations it asked for: an exit's thousand sockets
  // cost nothing in an iteration that did not touch them. Request() is idempotent until the
  // hook has run; a hook may request again while it runs (for the next iteration).
  class WaitHook {
   public:
    virtual void BeforeWait() = 0;

   protected:
    ~WaitHook() = default;

   private:
    friend class EventLoop;
    bool requested_ = false;
  };
  void RequestBeforeWait(WaitHook* hook) {
    if (hook->requested_) return;
    hook->requested_ = true;
    requested_hooks_.push_back(hook);
  }
  // Before a requested hook goes away.
  void CancelBeforeWait(WaitHook* hook);

  // Calls `on_ready(events)` when `fd` is ready for `events` (EPOLLIN/EPOLLOUT, which equal
  // POLLIN/POLLOUT): epoll on kEpoll, a multishot poll on kUring. Returns 0 or -errno.
  int WatchFd(int fd, uint32_t events, std::function<void(uint32_t)> on_ready);
  int ModifyFd(int fd, uint32_t events);
  void UnwatchFd(int fd);

  // kUring: the ring, for endpoints in ring/. GetSqe() submits first if the queue is full (that
  // counts as a kernel entry) and returns nullptr only if the kernel refuses.
  io_uring* uring() { return ring_.get(); }
  io_uring_sqe* GetSqe();
  // kUring: hands the prepared SQEs to the kernel now, without waiting for completions (an
  // endpoint whose sends should leave before the iteration ends).
  void SubmitNow();
  // Tags an SQE so that its completion goes to `handler`.
  static void SetCompletion(io_uring_sqe* sqe, CompletionHandler* handler);

  // True while RunOnce runs (callbacks are running).
  bool in_iteration() const { return in_iteration_; }

  // Memory the kernel may still use after its owner went away (a destroyed UringEndpoint's
  // buffers while cancelled receives and sends in flight complete). AdoptOrphan takes ownership;
  // the orphan calls ReleaseOrphan (which deletes it) after its last completion, and the loop
  // deletes the rest when it is destroyed, after the kernel let go. So destroying an endpoint
  // never runs the loop. Loop thread.
  class Orphan {
   public:
    virtual ~Orphan() = default;
  };
  void AdoptOrphan(Orphan* orphan);
  void ReleaseOrphan(Orphan* orphan);
  size_t orphan_count() const { return orphans_.size(); }

  // Kernel entries made by the loop (submits and waits), for endpoint statistics.
  uint64_t kernel_entries() const { return kernel_entries_; }
  // kUring: waits that asked for a batch (Options::batch_completions).
  uint64_t batched_waits() const { return batched_waits_; }

 private:
  EventLoop() = default;
  int SetUpUring(unsigned entries);
  int SetUpEpoll();
  void ArmWakeup();
  void DrainWakeup();
  void RunPosted();
  void RunHooks();
  void WaitUring(Duration max_wait);
  void WaitEpoll(Duration max_wait);
  void FireDueTimers();
  Duration TimeUntilNextTimer(Duration cap);

  struct UringDeleter {
    void operator()(io_uring* ring) const;
  };
  struct Timer {
    std::function<void()> fn;
    Duration interval{0};  // 0 for one-shot.
    TimePoint due{0};
    bool rearmable = false;  // CreateTimer: kept after firing, not re-queued.
  };
  struct HeapEntry {
    TimePoint due;
    TimerId id;
    bool operator>(const HeapEntry& o) const { return due != o.due ? due > o.due : id > o.id; }
  };
  class WakeupHandler;
  class FdWatch;
  void ArmWatch(FdWatch* watch);
  void ReleaseWatch(FdWatch* watch);

  Backend backend_ = Backend::kEpoll;
  std::string fallback_reason_;
  Clock* clock_ = nullptr;
  VirtualClock* virtual_clock_ = nullptr;
  std::unique_ptr<io_uring, UringDeleter> ring_;
  std::unique_ptr<WakeupHandler> wakeup_handler_;
  int epoll_fd_ = -1;
  int wakeup_fd_ = -1;  // eventfd: Post() and Stop() write it.
  std::atomic<bool> stop_{false};
  internal::WorkQueue posted_;

  std::unordered_map<TimerId, Timer> timers_;
  std::priority_queue<HeapEntry, std::vector<HeapEntry>, std::greater<>> heap_;
  TimerId next_timer_id_ = 1;
  std::vector<TimerId> due_scratch_;  // Reused by FireDueTimers.

  std::vector<std::pair<HookId, std::function<void()>>> hooks_;
  std::vector<WaitHook*> requested_hooks_;
  std::vector<WaitHook*> running_hooks_;  // Reused by RunHooks.
  HookId next_hook_id_ = 1;
  std::unordered_map<int, std::function<void(uint32_t)>> fd_handlers_;  // kEpoll.
  std::unordered_map<int, FdWatch*> uring_watches_;  // kUring: active watches by fd.
  std::vector<FdWatch*> all_watches_;                // kUring: owned until the kernel lets go.
  std::vector<Orphan*> orphans_;                     // Owned.
  uint64_t kernel_entries_ = 0;
  uint64_t batched_waits_ = 0;
  unsigned last_completions_ = 0;  // Handled by the last WaitUring.
  unsigned busy_completions_ = 4;
  unsigned batch_completions_ = 32;
  Duration batch_delay_{0};
  Duration batch_work_limit_{0};
  std::chrono::steady_clock::duration last_handling_{0};  // Handlers' time in the last WaitUring.
  bool in_iteration_ = false;
};

}  // namespace ringv8

#endif  // RINGV8_RING_EVENT_LOOP_H_
