// SendPool: the pre-allocated buffers that queued datagrams are copied into, so that sending
// allocates nothing per packet and the queue is bounded by construction.
//
// `capacity` regular slots for datagrams up to kSlotSize bytes, plus a few slots for datagrams up
// to 64 KiB. Each slot carries the msghdr, iovec and destination address the kernel reads while
// the send is in flight. A regular slot's bytes come from SendBuffers (a SendArena of
// capacity x kSlotSize bytes), back to back: datagrams acquired one after the other lie one after
// the other, so a GSO run leaves from one buffer (CoalesceSegments). Memory is reserved up front
// and touched only as far as the queue has ever reached (slots are made on first use and reused
// lowest first), so an endpoint with a deep queue bound and little traffic stays small. With
// `shared` (EndpointOptions::send_buffers) the regular slots take their bytes from it instead
// and reserve none of their own. Thread-affine.
#ifndef RINGV8_RING_INTERNAL_SEND_POOL_H_
#define RINGV8_RING_INTERNAL_SEND_POOL_H_

#include <sys/socket.h>
#include <sys/uio.h>

#include <cstdint>
#include <deque>
#include <memory>
#include <span>
#include <system_error>
#include <vector>

#include "ring/address.h"
#include "ring/endpoint_stats.h"
#include "ring/function_ref.h"
#include "ring/send_buffers.h"

namespace ringv8::internal {

struct SendSlot {
  msghdr msg{};
  iovec iov{};
  sockaddr_storage addr{};
  uint8_t* data = nullptr;
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

  explicit SendPool(uint32_t capacity, std::shared_ptr<SendBuffers> shared = nullptr);
  SendPool(const SendPool&) = delete;
  SendPool& operator=(const SendPool&) = delete;

  // A free slot holding a copy of `datagram` addressed to `to`, or nullptr when none is free.
  SendSlot* Acquire(const Address& to, std::span<const uint8_t> datagram);
  // A free slot of at least `size` bytes addressed to `to`, to be written at slot->data and
  // given its length with SetLength (or released) before the next is acquired; nullptr when
  // none is free (no slot, or no arena block).
  SendSlot* AcquireEmpty(const Address& to, size_t size);
  // `length` (at most the size acquired) bytes were written: the next slot starts right after.
  void SetLength(SendSlot* slot, size_t length);
  void Release(SendSlot* slot);
  size_t in_use() const { return regular_made_ + large_made_ - free_.size() - free_large_.size(); }
  // An acquired slot by its index.
  SendSlot* slot(uint32_t index) { return &slots_[index]; }

 private:
  // Regular slots' bytes: the shared buffers, or buffers of its own for `capacity` datagrams.
  std::shared_ptr<SendBuffers> buffers_;
  std::unique_ptr<uint8_t[]> large_memory_;
  std::unique_ptr<uint8_t[]> slot_memory_;  // Raw: a slot is constructed when first made.
  SendSlot* slots_ = nullptr;
  std::vector<uint32_t> free_;        // Made regular slots not in use.
  std::vector<uint32_t> free_large_;  // Made large slots not in use.
  uint32_t regular_count_;
  uint32_t regular_made_ = 0;
  uint32_t large_made_ = 0;
};

// Endpoint::SendFilled's common part for a backend that queues slots per socket: a slot of
// `max_size` bytes for `to` (ENOBUFS, counted as send_queue_full, when none is free), filled by
// `fill`, queued unless it wrote nothing.
std::error_code FillAndQueue(SendPool& pool, std::deque<SendSlot*>& queue, const Address& to,
                             size_t max_size, FunctionRef<size_t(std::span<uint8_t>)> fill,
                             EndpointStats& stats);

}  // namespace ringv8::internal

#endif  // RINGV8_RING_INTERNAL_SEND_POOL_H_
