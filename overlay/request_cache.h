// RequestCache: outstanding requests by (name, number), each with a timeout on the loop's timers
// (py-ipv8's RequestCache, spec 10).
//
// Add() refuses a key that is taken (and everything after Shutdown()). Pop() removes a cache and
// cancels its timeout; a timeout removes the cache and calls its OnTimeout(). The number of
// outstanding caches is bounded (max_size): Add() refuses beyond it and counts the refusal.
// Thread-affine: call only on the loop's thread.
#ifndef RINGV8_OVERLAY_REQUEST_CACHE_H_
#define RINGV8_OVERLAY_REQUEST_CACHE_H_

#include <cstdint>
#include <map>
#include <memory>
#include <random>
#include <string>
#include <utility>

#include "ring/event_loop.h"

namespace ringv8::overlay {

class NumberCache {
 public:
  NumberCache(std::string name, uint64_t number, Duration timeout = std::chrono::seconds(10))
      : name_(std::move(name)), number_(number), timeout_(timeout) {}
  virtual ~NumberCache() = default;

  const std::string& name() const { return name_; }
  uint64_t number() const { return number_; }
  Duration timeout() const { return timeout_; }
  virtual void OnTimeout() {}

 private:
  std::string name_;
  uint64_t number_;
  Duration timeout_;
};

class RequestCache {
 public:
  static constexpr size_t kDefaultMaxSize = 100000;

  explicit RequestCache(EventLoop& loop, size_t max_size = kDefaultMaxSize)
      : loop_(loop), max_size_(max_size) {}
  ~RequestCache() { Shutdown(); }
  RequestCache(const RequestCache&) = delete;
  RequestCache& operator=(const RequestCache&) = delete;

  // Takes the cache; returns it (borrowed) or nullptr when refused.
  NumberCache* Add(std::unique_ptr<NumberCache> cache);
  bool Has(const std::string& name, uint64_t number) const;
  NumberCache* Get(const std::string& name, uint64_t number) const;
  // Removes and returns the cache (nullptr if absent), cancelling its timeout.
  std::unique_ptr<NumberCache> Pop(const std::string& name, uint64_t number);
  // A number in [0, 65536) that `name` does not use yet (py-ipv8's RandomNumberCache), or
  // nullopt after 1000 tries.
  std::optional<uint64_t> RandomNumber(const std::string& name);
  // Cancels every cache (without OnTimeout) and refuses new ones.
  void Shutdown();

  size_t size() const { return caches_.size(); }
  uint64_t refused() const { return refused_; }
  uint64_t timeouts() const { return timeouts_; }

 private:
  using Key = std::pair<std::string, uint64_t>;
  struct Entry {
    std::unique_ptr<NumberCache> cache;
    EventLoop::TimerId timer = 0;
  };

  EventLoop& loop_;
  size_t max_size_;
  std::map<Key, Entry> caches_;
  std::mt19937_64 random_{std::random_device()()};
  bool shut_down_ = false;
  uint64_t refused_ = 0;
  uint64_t timeouts_ = 0;
};

}  // namespace ringv8::overlay

#endif  // RINGV8_OVERLAY_REQUEST_CACHE_H_
