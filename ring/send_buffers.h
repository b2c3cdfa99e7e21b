// SendBuffers: the bytes that several endpoints on one loop draw their send queues from
// (EndpointOptions::send_buffers), instead of each reserving its own.
//
// Many endpoints that each send little (an exit's sockets, one per circuit) then write each
// datagram right after the one queued before it anywhere (internal::SendArena: back to back, the
// block freed last taken first, in cache; a GSO run of one socket leaves from one buffer), and
// hold at most `count` datagrams of up to kBufferSize bytes queued together, in one reservation
// of count x 2 KiB touched only as far as it was ever used. Each endpoint keeps its own queue
// bound (send_queue_capacity) and its own buffers for datagrams larger than 2 KiB.
//
// Thread-affine: only endpoints of one loop may share it; it lives as long as its last user
// (an endpoint whose sends are still in flight keeps it).
#ifndef RINGV8_RING_SEND_BUFFERS_H_
#define RINGV8_RING_SEND_BUFFERS_H_

#include <cstddef>
#include <cstdint>

#include "ring/internal/send_arena.h"

namespace ringv8 {

class SendBuffers {
 public:
  static constexpr size_t kBufferSize = 2048;

  explicit SendBuffers(uint32_t count);
  SendBuffers(const SendBuffers&) = delete;
  SendBuffers& operator=(const SendBuffers&) = delete;

  // `size` (at most kBufferSize) bytes for a datagram, right after the last one taken if they
  // fit (internal::SendArena::Take), or nullptr when `count` datagrams are taken or every block
  // holds datagrams still queued.
  uint8_t* Take(size_t size);
  // The datagram at `data` is `length` bytes long: the next starts right after it.
  void Shrink(const uint8_t* data, size_t length) { arena_.Shrink(data, length); }
  void Give(const uint8_t* data) {
    arena_.Give(data);
    --in_use_;
  }

  uint32_t count() const { return count_; }
  uint32_t in_use() const { return in_use_; }

 private:
  internal::SendArena arena_;
  uint32_t count_;
  uint32_t in_use_ = 0;
};

}  // namespace ringv8

#endif  // RINGV8_RING_SEND_BUFFERS_H_
