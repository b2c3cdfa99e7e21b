#include "ring/receive_buffers.h"

#include <cerrno>

#include "ring/internal/provided_buffer_ring.h"

namespace ringv8 {

ReceiveBuffers::~ReceiveBuffers() = default;

Result<std::shared_ptr<internal::ProvidedBufferRing>> ReceiveBuffers::UringRing(EventLoop& loop) {
  if (ring_ == nullptr) {
    auto made = internal::ProvidedBufferRing::Make(loop, count_, size_, initial_);
    if (!made) return Unexpected{made.error()};
    ring_ = std::move(*made);
  }
  if (&ring_->loop() != &loop) return Unexpected{Errno(EINVAL)};
  return ring_;
}

uint32_t ReceiveBuffers::circulating() const { return ring_ != nullptr ? ring_->circulating() : 0; }

uint8_t* ReceiveBuffers::Memory() {
  // new[] without an initialiser: mapped lazily, resident as far as reads wrote.
  if (memory_ == nullptr) memory_.reset(new uint8_t[bytes()]);
  return memory_.get();
}

}  // namespace ringv8
