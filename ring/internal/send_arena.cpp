#include "ring/internal/send_arena.h"

#include <algorithm>
#include <cassert>

namespace ringv8::internal {

SendArena::SendArena(size_t bytes)
    : blocks_(bytes == 0 ? 0 : std::max(kMinBlocks, (bytes + kBlockBytes - 1) / kBlockBytes)) {
  if (blocks_ == 0) return;
  // new[] without an initialiser: the allocator maps large blocks lazily, so blocks never taken
  // cost address space, not memory.
  memory_.reset(new uint8_t[blocks_ * kBlockBytes]);
  live_.reserve(blocks_);
  free_.reserve(blocks_);
}

uint8_t* SendArena::Take(size_t size) {
  assert(size <= kBlockBytes);
  size = std::max<size_t>(size, 1);  // Every allocation has an address of its own.
  if (current_ != kNone && live_[current_] == 0) top_ = 0;  // Emptied while current: reused.
  if (current_ == kNone || top_ + size > kBlockBytes) {
    uint32_t next;
    if (!free_.empty()) {
      next = free_.back();
      free_.pop_back();
    } else if (made_ < blocks_) {
      next = made_++;
      live_.push_back(0);
    } else {
      return nullptr;
    }
    // The block left behind holds datagrams: the last Give of them frees it.
    current_ = next;
    top_ = 0;
  }
  uint8_t* data = BlockStart(current_) + top_;
  top_ += size;
  ++live_[current_];
  last_ = data;
  return data;
}

void SendArena::Shrink(const uint8_t* data, size_t length) {
  if (data != last_) return;
  top_ = static_cast<size_t>(data - BlockStart(current_)) + std::max<size_t>(length, 1);
}

void SendArena::Give(const uint8_t* data) {
  const uint32_t block = BlockOf(data);
  assert(block < made_ && live_[block] > 0);
  if (data == last_) {
    top_ = static_cast<size_t>(data - BlockStart(current_));  // The next takes its place.
    last_ = nullptr;
  }
  if (--live_[block] == 0 && block != current_) free_.push_back(block);
}

size_t SendArena::blocks_in_use() const {
  const bool current_empty = current_ != kNone && live_[current_] == 0;
  return made_ - free_.size() - (current_empty ? 1 : 0);
}

}  // namespace ringv8::internal
