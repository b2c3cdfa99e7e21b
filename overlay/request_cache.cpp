#include "overlay/request_cache.h"

namespace ringv8::overlay {

NumberCache* RequestCache::Add(std::unique_ptr<NumberCache> cache) {
  Key key{cache->name(), cache->number()};
  if (shut_down_ || caches_.size() >= max_size_ || caches_.contains(key)) {
    ++refused_;
    return nullptr;
  }
  NumberCache* raw = cache.get();
  Entry& entry = caches_[key];
  entry.cache = std::move(cache);
  entry.timer = loop_.CallLater(raw->timeout(), [this, key] {
    auto it = caches_.find(key);
    if (it == caches_.end()) return;
    std::unique_ptr<NumberCache> expired = std::move(it->second.cache);
    caches_.erase(it);
    ++timeouts_;
    expired->OnTimeout();
  });
  return raw;
}

bool RequestCache::Has(const std::string& name, uint64_t number) const {
  return caches_.contains({name, number});
}

NumberCache* RequestCache::Get(const std::string& name, uint64_t number) const {
  auto it = caches_.find({name, number});
  return it == caches_.end() ? nullptr : it->second.cache.get();
}

std::unique_ptr<NumberCache> RequestCache::Pop(const std::string& name, uint64_t number) {
  auto it = caches_.find({name, number});
  if (it == caches_.end()) return nullptr;
  loop_.Cancel(it->second.timer);
  std::unique_ptr<NumberCache> cache = std::move(it->second.cache);
  caches_.erase(it);
  return cache;
}

std::optional<uint64_t> RequestCache::RandomNumber(const std::string& name) {
  std::uniform_int_distribution<uint64_t> pick(0, 65535);
  for (int i = 0; i < 1000; ++i) {
    uint64_t number = pick(random_);
    if (!Has(name, number)) return number;
  }
  return std::nullopt;
}

void RequestCache::Shutdown() {
  shut_down_ = true;
  for (auto& [key, entry] : caches_) loop_.Cancel(entry.timer);
  caches_.clear();
}

}  // namespace ringv8::overlay
