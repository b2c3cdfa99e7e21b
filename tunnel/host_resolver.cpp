#include "tunnel/host_resolver.h"

#include <sys/socket.h>

#include <condition_variable>
#include <deque>
#include <mutex>
#include <thread>
#include <unordered_map>
#include <vector>

#include <netdb.h>

namespace ringv8::tunnel {
namespace {

// getaddrinfo's answer: the first IPv4 address, else the first IPv6 one (py-ipv8 prefers IPv4).
std::optional<Address> Lookup(const std::string& host) {
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_DGRAM;
  addrinfo* result = nullptr;
  if (getaddrinfo(host.c_str(), nullptr, &hints, &result) != 0) return std::nullopt;
  std::optional<Address> v4, v6;
  for (addrinfo* ai = result; ai != nullptr; ai = ai->ai_next) {
    auto address = Address::FromSockaddr(ai->ai_addr, ai->ai_addrlen);
    if (!address) continue;
    if (address->is_v4() && !v4) v4 = address->WithPort(0);
    if (!address->is_v4() && !v6) v6 = address->WithPort(0);
  }
  freeaddrinfo(result);
  return v4 ? v4 : v6;
}

// What the worker, the loop and the resolver share. The resolver's destruction sets `stopped`
// (on the loop), so the worker ends and answers posted before are dropped.
struct Shared {
  std::mutex mutex;
  std::condition_variable wake;
  std::deque<std::string> queue;
  bool stopped = false;
};

class SystemResolver final : public HostResolver {
 public:
  SystemResolver(EventLoop& loop, const SystemResolverOptions& options)
      : loop_(loop), options_(options), shared_(std::make_shared<Shared>()) {}

  ~SystemResolver() override {
    {
      std::lock_guard lock(shared_->mutex);
      shared_->stopped = true;
      shared_->queue.clear();
    }
    shared_->wake.notify_all();
    // Detached: a getaddrinfo in progress may take seconds; it finds `stopped` when it returns.
    if (worker_.joinable()) worker_.detach();
  }

  void Resolve(const std::string& host, Callback done) override {
    const TimePoint now = loop_.Now();
    if (auto it = cache_.find(host); it != cache_.end()) {
      if (std::chrono::duration<double>(now - it->second.at).count() < options_.ttl) {
        return done(it->second.address);
      }
      cache_.erase(it);
    }
    if (auto it = pending_.find(host); it != pending_.end()) {
      it->second.push_back(std::move(done));
      return;
    }
    if (pending_.size() >= options_.max_pending) return done(std::nullopt);
    pending_[host].push_back(std::move(done));
    if (!worker_.joinable()) Start();
    {
      std::lock_guard lock(shared_->mutex);
      shared_->queue.push_back(host);
    }
    shared_->wake.notify_one();
  }

 private:
  struct Cached {
    std::optional<Address> address;
    TimePoint at{};
  };

  void Start() {
    worker_ = std::thread([shared = shared_, this_loop = &loop_, self = this] {
      for (;;) {
        std::string host;
        {
          std::unique_lock lock(shared->mutex);
          shared->wake.wait(lock, [&] { return shared->stopped || !shared->queue.empty(); });
          if (shared->stopped) return;
          host = std::move(shared->queue.front());
          shared->queue.pop_front();
        }
        std::optional<Address> address = Lookup(host);
        std::lock_guard lock(shared->mutex);
        if (shared->stopped) return;
        // The posted call checks `stopped` again on the loop, where the destructor sets it.
        this_loop->Post([shared, self, host = std::move(host), address] {
          if (!shared->stopped) self->Answer(host, address);
        });
      }
    });
  }

  void Answer(const std::string& host, std::optional<Address> address) {
    if (cache_.size() >= options_.max_cached) cache_.clear();
    cache_[host] = Cached{address, loop_.Now()};
    auto it = pending_.find(host);
    if (it == pending_.end()) return;
    std::vector<Callback> waiting = std::move(it->second);
    pending_.erase(it);
    for (auto& done : waiting) done(address);
  }

  EventLoop& loop_;
  SystemResolverOptions options_;
  std::shared_ptr<Shared> shared_;
  std::thread worker_;
  std::unordered_map<std::string, Cached> cache_;
  std::unordered_map<std::string, std::vector<Callback>> pending_;
};

}  // namespace

std::unique_ptr<HostResolver> MakeSystemResolver(EventLoop& loop,
                                                 const SystemResolverOptions& options) {
  return std::make_unique<SystemResolver>(loop, options);
}

}  // namespace ringv8::tunnel
