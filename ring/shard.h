// Shard: one thread that owns one EventLoop and the endpoints on it (DESIGN, "Threading"). What
// the shard serves (a tracker, a set of nodes) is built on the shard's thread, runs there until
// Stop(), and is torn down there, so that nothing a shard owns needs a lock on the packet path.
//
// Life of a shard:
//   Start(build, teardown)  spawns the thread; on it: build(*this) opens endpoints (OpenEndpoint;
//                           the first one also creates the loop, with kAuto's fallback) and
//                           builds what runs on them;
//   WaitBuilt()             the owner waits until build returned or threw;
//   ...                     the loop runs until Stop();
//   teardown()              on the shard's thread after Run returned, the loop and endpoints
//                           still alive: the owner destroys what build made;
//                           then the endpoints close and the loop goes.
// An exception thrown by build, by a callback while the loop runs, or by teardown ends the shard
// and is kept (error(), "name: what"): it is never lost and never escapes the thread.
//
// Thread-safety: Start, WaitBuilt and Join on the owner's thread; Stop, error, failed and
// cpu_seconds are thread-safe (Stop also before Start and during build: the loop then never runs).
// loop() and OpenEndpoint on the shard's thread (loop().Post() and loop().Stop() from anywhere).
#ifndef RINGV8_RING_SHARD_H_
#define RINGV8_RING_SHARD_H_

#include <atomic>
#include <condition_variable>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "ring/endpoint.h"
#include "ring/event_loop.h"
#include "ring/open_endpoint.h"

namespace ringv8 {

class Shard {
 public:
  using Build = std::function<void(Shard&)>;
  using Teardown = std::function<void()>;

  // `name` prefixes errors ("shard 2"); `backend` is what OpenEndpoint asks for.
  Shard(std::string name, EndpointBackend backend);
  ~Shard();  // Stop() and Join().
  Shard(const Shard&) = delete;
  Shard& operator=(const Shard&) = delete;

  void Start(Build build, Teardown teardown = {});
  // Blocks until build returned (true) or threw (false: see error()). A failure after build (in
  // the loop) does not change the answer.
  bool WaitBuilt();
  void Stop();
  void Join();

  // Shard thread, during build: opens an endpoint on this shard's loop, creating the loop with
  // the first one. Throws std::system_error when the socket cannot be opened (error() then says
  // "name: cannot open the UDP socket: ...").
  Endpoint& OpenEndpoint(const EndpointOptions& options);
  // The loop (after the first OpenEndpoint, until the thread ends); see the threading rule.
  EventLoop& loop() { return *loop_; }
  // "uring" or "mmsg": the backend the first endpoint got. Valid after WaitBuilt().
  const char* backend_name() const { return backend_name_; }
  // Why kAuto did not get io_uring ("" if it did). Valid after WaitBuilt().
  const std::string& fallback_reason() const { return fallback_reason_; }
  const std::string& name() const { return name_; }

  // CPU time of the shard's thread so far (its final figure once it ended).
  double cpu_seconds() const;
  // "" or "name: what went wrong".
  std::string error() const;
  bool failed() const { return failed_.load(std::memory_order_acquire); }

 private:
  void Main(const Build& build, const Teardown& teardown);
  void Fail(const char* stage, const char* what);
  void SetBuilt();

  const std::string name_;
  const EndpointBackend backend_;
  std::thread thread_;
  // Shard thread only (destroyed there, endpoints before the loop).
  std::unique_ptr<EventLoop> loop_;
  std::vector<std::unique_ptr<Endpoint>> endpoints_;
  const char* backend_name_ = "";
  std::string fallback_reason_;

  mutable std::mutex mutex_;  // Guards what follows; never taken on the packet path.
  std::condition_variable built_cv_;
  bool built_ = false;
  bool build_succeeded_ = false;
  bool stop_requested_ = false;
  EventLoop* running_loop_ = nullptr;  // Set while Stop() may reach the loop.
  bool thread_ended_ = false;
  double final_cpu_seconds_ = 0;
  std::string error_;
  // Release/acquire: a reader that sees true also sees error_ (written before, under mutex_).
  std::atomic<bool> failed_{false};
};

}  // namespace ringv8

#endif  // RINGV8_RING_SHARD_H_
