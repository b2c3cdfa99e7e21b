#include "ring/internal/send_pool.h"

#include <cstring>
#include <new>
#include <type_traits>

namespace ringv8::internal {

static_assert(std::is_trivially_copyable_v<SendSlot> && std::is_trivially_destructible_v<SendSlot>);

static_assert(SendBuffers::kBufferSize == SendPool::kSlotSize);

void SendPool::SetLength(SendSlot* slot, size_t length) {
  slot->length = static_cast<uint32_t>(length);
  slot->iov.iov_len = length;
  if (slot->index < regular_count_) buffers_->Shrink(slot->data, length);
}

SendPool::SendPool(uint32_t capacity, std::shared_ptr<SendBuffers> shared)
    : buffers_(shared ? std::move(shared) : std::make_shared<SendBuffers>(capacity)),
      regular_count_(capacity) {
  // new[] without an initialiser: the allocator maps large blocks lazily, so untouched slots and
  // buffers cost address space, not memory.
  large_memory_.reset(new uint8_t[size_t{kLargeSlots} * kLargeSlotSize]);
  static_assert(alignof(SendSlot) <= __STDCPP_DEFAULT_NEW_ALIGNMENT__);
  slot_memory_.reset(new uint8_t[sizeof(SendSlot) * (capacity + kLargeSlots)]);
  slots_ = reinterpret_cast<SendSlot*>(slot_memory_.get());
}

SendSlot* SendPool::AcquireEmpty(const Address& to, size_t size) {
  if (size > kLargeSlotSize) return nullptr;
  const bool large = size > kSlotSize;
  std::vector<uint32_t>& list = large ? free_large_ : free_;
  if (list.empty()) {
    // Make the next slot: the lowest unmade index, so the touched memory grows from the start.
    uint32_t& made = large ? large_made_ : regular_made_;
    if (made == (large ? kLargeSlots : regular_count_)) return nullptr;
    const uint32_t index = large ? regular_count_ + made : made;
    SendSlot& fresh = *new (&slots_[index]) SendSlot{};
    fresh.index = index;
    if (large) fresh.data = large_memory_.get() + size_t{made} * kLargeSlotSize;
    ++made;
    list.push_back(index);
  }
  SendSlot& slot = slots_[list.back()];
  if (!large) {
    slot.data = buffers_->Take(size);
    if (slot.data == nullptr) return nullptr;  // The buffers' bytes are all queued.
  }
  list.pop_back();
  slot.ipv6 = to.is_v6();
  slot.iov = {slot.data, 0};
  slot.msg = msghdr{};
  slot.msg.msg_name = &slot.addr;
  slot.msg.msg_namelen = to.ToSockaddr(&slot.addr);
  slot.msg.msg_iov = &slot.iov;
  slot.msg.msg_iovlen = 1;
  return &slot;
}

SendSlot* SendPool::Acquire(const Address& to, std::span<const uint8_t> datagram) {
  SendSlot* slot = AcquireEmpty(to, datagram.size());
  if (slot == nullptr) return nullptr;
  if (!datagram.empty())
    std::memcpy(slot->data, datagram.data(), datagram.size());  // UDP allows 0.
  SetLength(slot, datagram.size());
  return slot;
}

void SendPool::Release(SendSlot* slot) {
  const bool regular = slot->index < regular_count_;
  if (regular) {
    buffers_->Give(slot->data);
    slot->data = nullptr;
  }
  (regular ? free_ : free_large_).push_back(slot->index);
}

std::error_code FillAndQueue(SendPool& pool, std::deque<SendSlot*>& queue, const Address& to,
                             size_t max_size, FunctionRef<size_t(std::span<uint8_t>)> fill,
                             EndpointStats& stats) {
  SendSlot* slot = pool.AcquireEmpty(to, max_size);
  if (slot == nullptr) {
    stats.send_queue_full.Add();
    return std::make_error_code(std::errc::no_buffer_space);
  }
  const size_t length = fill(std::span<uint8_t>(slot->data, max_size));
  if (length == 0) {
    pool.Release(slot);
    return {};
  }
  pool.SetLength(slot, length);
  queue.push_back(slot);
  return {};
}

}  // namespace ringv8::internal
