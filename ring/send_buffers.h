// SendBuffers: datagram buffers that several endpoints on one loop draw their send queues from
// (EndpointOptions::send_buffers), instead of each reserving its own.
//
// Many endpoints that each send little (an exit's sockets, one per circuit) then reuse the buffer
// the last send anywhere freed, still in cache, and hold at most `count` datagrams queued
// together, in one reservation of count x 2 KiB touched only as far as it was ever used. Each
// endpoint keeps its own queue bound (send_queue_capacity) and its own buffers for datagrams
// larger than 2 KiB.
//
// Thread-affine: only endpoints of one loop may share it; it lives as long as its last user
// (an endpoint whose sends are still in flight keeps it).
#ifndef RINGV8_RING_SEND_BUFFERS_H_
#define RINGV8_RING_SEND_BUFFERS_H_

#include <cstddef>
#include <cstdint>
#include <memory>
#include <vector>

namespace ringv8 {

class SendBuffers {
 public:
  static constexpr size_t kBufferSize = 2048;

  explicit SendBuffers(uint32_t count);
  SendBuffers(const SendBuffers&) = delete;
  SendBuffers& operator=(const SendBuffers&) = delete;

  // The buffer freed last (kBufferSize bytes), or nullptr when all `count` are taken.
  uint8_t* Take();
  void Give(uint8_t* buffer) { free_.push_back(buffer); }

  uint32_t count() const { return count_; }
  uint32_t in_use() const { return made_ - static_cast<uint32_t>(free_.size()); }

 private:
  std::unique_ptr<uint8_t[]> memory_;
  std::vector<uint8_t*> free_;
  uint32_t count_;
  uint32_t made_ = 0;  // Buffers handed out at least once, lowest addresses first.
};

}  // namespace ringv8

#endif  // RINGV8_RING_SEND_BUFFERS_H_
