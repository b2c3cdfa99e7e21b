#include "ring/receive_buffers.h"

#include <algorithm>
#include <cerrno>

#include "ring/internal/mmsg_reader.h"
#include "ring/internal/provided_buffer_ring.h"

namespace ringv8 {

ReceiveBuffers::ReceiveBuffers(uint32_t count, uint32_t size, uint32_t initial)
    : count_(count), size_(size), initial_(initial) {}

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

internal::MmsgReader& ReceiveBuffers::Reader() {
  if (reader_ == nullptr) {
    reader_ = std::make_unique<internal::MmsgReader>();
    reader_->SetBuffers(Memory(), size_,
                        static_cast<int>(std::min<uint32_t>(internal::MmsgReader::kBatch, count_)));
  }
  return *reader_;
}

}  // namespace ringv8
