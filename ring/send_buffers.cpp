#include "ring/send_buffers.h"

namespace ringv8 {

SendBuffers::SendBuffers(uint32_t count) : arena_(size_t{count} * kBufferSize), count_(count) {}

uint8_t* SendBuffers::Take(size_t size) {
  if (in_use_ == count_) return nullptr;
  uint8_t* data = arena_.Take(size);
  if (data != nullptr) ++in_use_;
  return data;
}

}  // namespace ringv8
