// SendPool: the pre-allocated buffers that queued datagrams are copied into, so that sending
// allocates nothing per packet and the queue is bounded by construction.
//
// `capacity` regular slots of `slot_size` bytes, plus a few slots for datagrams up to 64 KiB.
// Each slot carries the msghdr, iovec and destination address the kernel reads while the send is
// in flight. Thread-affine.
#ifndef RINGV8_RING_INTERNAL_SEND_POOL_H_
#define RINGV8_RING_INTERNAL_SEND_POOL_H_

#include <sys/socket.h>
#include <sys/uio.h>

#include <cstdint>
#include <memory>
#include <span>
#include <vector>

#include "ring/address.h"

namespace ringv8::internal {

struct SendSlot {
  msghdr msg{};
  iovec iov{};
  sockaddr_storage addr{};
  uint8_t* data = nullptr;
  uint32_t capacity = 0;
  uint32_t length = 0;
  bool ipv6 = false;
  uint32_t index = 0;  // Position in the pool.
  int fault = 0;       // FaultInjection: the errno this send completes with, unsent.
};

class SendPool {
 public:
  static constexpr uint32_t kSlotSize = 2048;
  static constexpr uint32_t kLargeSlots = 8;
  static constexpr uint32_t kLargeSlotSize = 65536;

  explicit SendPool(uint32_t capacity);
  SendPool(const SendPool&) = delete;
  SendPool& operator=(const SendPool&) = delete;

  // A free slot holding a copy of `datagram` addressed to `to`, or nullptr when none is free.
  SendSlot* Acquire(const Address& to, std::span<const uint8_t> datagram);
  void Release(SendSlot* slot);
  size_t in_use() const { return slots_.size() - free_.size() - free_large_.size(); }
  SendSlot* slot(uint32_t index) { return &slots_[index]; }

 private:
  std::unique_ptr<uint8_t[]> memory_;
  std::vector<SendSlot> slots_;
  std::vector<uint32_t> free_;        // Regular slots.
  std::vector<uint32_t> free_large_;  // Large slots.
  uint32_t regular_count_;
};

}  // namespace ringv8::internal

#endif  // RINGV8_RING_INTERNAL_SEND_POOL_H_
