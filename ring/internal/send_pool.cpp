#include "ring/internal/send_pool.h"

#include <cstring>

namespace ringv8::internal {

SendPool::SendPool(uint32_t capacity) : regular_count_(capacity) {
  const size_t bytes = size_t{capacity} * kSlotSize + size_t{kLargeSlots} * kLargeSlotSize;
  memory_.reset(new uint8_t[bytes]);
  slots_.resize(capacity + kLargeSlots);
  uint8_t* next = memory_.get();
  for (uint32_t i = 0; i < slots_.size(); ++i) {
    SendSlot& slot = slots_[i];
    slot.index = i;
    slot.data = next;
    slot.capacity = i < capacity ? kSlotSize : kLargeSlotSize;
    next += slot.capacity;
  }
  // Pop from the back: lowest indices first, which keeps the touched memory small.
  for (uint32_t i = capacity; i > 0; --i) free_.push_back(i - 1);
  for (uint32_t i = capacity + kLargeSlots; i > capacity; --i) free_large_.push_back(i - 1);
}

SendSlot* SendPool::Acquire(const Address& to, std::span<const uint8_t> datagram) {
  std::vector<uint32_t>& list = datagram.size() <= kSlotSize ? free_ : free_large_;
  if (list.empty() || datagram.size() > kLargeSlotSize) return nullptr;
  SendSlot& slot = slots_[list.back()];
  list.pop_back();
  std::memcpy(slot.data, datagram.data(), datagram.size());
  slot.length = static_cast<uint32_t>(datagram.size());
  slot.ipv6 = to.is_v6();
  slot.iov = {slot.data, slot.length};
  slot.msg = msghdr{};
  slot.msg.msg_name = &slot.addr;
  slot.msg.msg_namelen = to.ToSockaddr(&slot.addr);
  slot.msg.msg_iov = &slot.iov;
  slot.msg.msg_iovlen = 1;
  return &slot;
}

void SendPool::Release(SendSlot* slot) {
  (slot->index < regular_count_ ? free_ : free_large_).push_back(slot->index);
}

}  // namespace ringv8::internal
