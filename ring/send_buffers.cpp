#include "ring/send_buffers.h"

namespace ringv8 {

SendBuffers::SendBuffers(uint32_t count) : count_(count) {
  // new[] without an initialiser: the allocator maps a large block lazily, so buffers never used
  // cost address space, not memory.
  memory_.reset(new uint8_t[size_t{count} * kBufferSize]);
}

uint8_t* SendBuffers::Take() {
  if (!free_.empty()) {
    uint8_t* buffer = free_.back();
    free_.pop_back();
    return buffer;
  }
  if (made_ == count_) return nullptr;
  return memory_.get() + size_t{made_++} * kBufferSize;
}

}  // namespace ringv8
