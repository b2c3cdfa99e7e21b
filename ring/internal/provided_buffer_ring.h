// ProvidedBufferRing: an io_uring provided-buffer ring (a buffer group) registered on one loop's
// ring: `count` buffers of `size` bytes that receives with IOSQE_BUFFER_SELECT draw from, each
// named by its id in the completion. liburing's examples/io_uring-udp.c is the model.
//
// Used by UringEndpoint: one per socket, or one that the sockets of several endpoints share
// (ReceiveBuffers). The memory is mapped lazily and resident only where the kernel wrote.
//
// The kernel takes buffers in ring order, so a buffer comes back into use after all the others
// in circulation: `initial` of the `count` circulate at first (few, in cache, while the traffic
// is light), and each time the ring runs dry (Grow) as many again join, up to `count`.
//
// Thread-affine to its loop. Destroyed after every receive that uses it has completed; it
// unregisters itself unless the loop's ring is already gone (the kernel then freed the group).
#ifndef RINGV8_RING_INTERNAL_PROVIDED_BUFFER_RING_H_
#define RINGV8_RING_INTERNAL_PROVIDED_BUFFER_RING_H_

#include <liburing.h>

#include <cstddef>
#include <cstdint>
#include <memory>

#include "ring/event_loop.h"
#include "ring/result.h"

namespace ringv8::internal {

class ProvidedBufferRing {
 public:
  // Fails with EINVAL for a count that is not a power of two (or above 32,768), the kernel's
  // error for the registration (EINVAL before 5.19), ENOSPC when all group ids are taken.
  static Result<std::shared_ptr<ProvidedBufferRing>> Make(EventLoop& loop, uint32_t count,
                                                          uint32_t size, uint32_t initial);
  ~ProvidedBufferRing();
  ProvidedBufferRing(const ProvidedBufferRing&) = delete;
  ProvidedBufferRing& operator=(const ProvidedBufferRing&) = delete;

  EventLoop& loop() const { return loop_; }
  uint16_t group() const { return group_; }
  uint32_t size() const { return size_; }
  uint8_t* buffer(uint16_t id) const { return buffers_ + size_t{id} * size_; }
  // Buffers in circulation (given to the kernel at least once).
  uint32_t circulating() const { return circulating_; }
  // The ring ran dry: doubles the buffers in circulation, up to `count`.
  void Grow();
  // Hands buffer `id` back to the kernel.
  void Give(uint16_t id) {
    io_uring_buf_ring_add(ring_, buffer(id), size_, id, io_uring_buf_ring_mask(count_), 0);
    io_uring_buf_ring_advance(ring_, 1);
  }

 private:
  ProvidedBufferRing(EventLoop& loop, uint32_t count, uint32_t size)
      : loop_(loop), count_(count), size_(size) {}
  // Gives buffers circulating_ .. circulating_ + n - 1 to the kernel for the first time.
  void Provide(uint32_t n);
  std::error_code SetUp();

  EventLoop& loop_;
  uint32_t count_;
  uint32_t size_;
  uint32_t circulating_ = 0;
  io_uring_buf_ring* ring_ = nullptr;
  uint8_t* buffers_ = nullptr;
  void* memory_ = nullptr;
  size_t memory_size_ = 0;
  uint16_t group_ = 0;
  bool registered_ = false;
};

}  // namespace ringv8::internal

#endif  // RINGV8_RING_INTERNAL_PROVIDED_BUFFER_RING_H_
