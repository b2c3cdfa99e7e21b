#include "ring/internal/provided_buffer_ring.h"

#include <sys/mman.h>

#include <algorithm>
#include <bitset>
#include <cerrno>
#include <mutex>

namespace ringv8::internal {
namespace {

// Buffer group ids are per ring; a process-wide table keeps them distinct among the groups in
// use, so an exit that opens and closes sockets for days never reuses a registered id.
class BufferGroups {
 public:
  // A free id (1..65535), or 0 when all are taken.
  uint16_t Acquire() {
    std::lock_guard lock(mutex_);
    for (uint32_t i = 0; i < 65535; ++i) {
      const uint16_t id = static_cast<uint16_t>(next_ + i == 0 ? 1 : next_ + i);
      if (!used_[id]) {
        used_[id] = true;
        next_ = static_cast<uint16_t>(id + 1);
        return id;
      }
    }
    return 0;
  }
  void Release(uint16_t id) {
    std::lock_guard lock(mutex_);
    used_[id] = false;
  }

 private:
  std::mutex mutex_;
  std::bitset<65536> used_;
  uint16_t next_ = 1;
};

BufferGroups& Groups() {
  static BufferGroups groups;
  return groups;
}

}  // namespace

Result<std::shared_ptr<ProvidedBufferRing>> ProvidedBufferRing::Make(EventLoop& loop,
                                                                     uint32_t count, uint32_t size,
                                                                     uint32_t initial) {
  if (count == 0 || (count & (count - 1)) != 0 || count > 32768 || size == 0) {
    return Unexpected{Errno(EINVAL)};
  }
  std::shared_ptr<ProvidedBufferRing> ring(new ProvidedBufferRing(loop, count, size));
  if (std::error_code error = ring->SetUp()) return Unexpected{error};
  ring->Provide(std::clamp<uint32_t>(initial, 1, count));
  return ring;
}

std::error_code ProvidedBufferRing::SetUp() {
  const size_t ring_bytes = sizeof(io_uring_buf) * count_;
  memory_size_ = ring_bytes + size_t{count_} * size_;
  memory_ = mmap(nullptr, memory_size_, PROT_READ | PROT_WRITE, MAP_ANONYMOUS | MAP_PRIVATE, -1, 0);
  if (memory_ == MAP_FAILED) {
    memory_ = nullptr;
    return Errno(errno);
  }
  madvise(memory_, memory_size_, MADV_NOHUGEPAGE);  // Resident only where reads wrote.
  ring_ = static_cast<io_uring_buf_ring*>(memory_);
  buffers_ = static_cast<uint8_t*>(memory_) + ring_bytes;
  group_ = Groups().Acquire();
  if (group_ == 0) return Errno(ENOSPC);
  io_uring_buf_ring_init(ring_);
  io_uring_buf_reg reg{};
  reg.ring_addr = reinterpret_cast<uint64_t>(ring_);
  reg.ring_entries = count_;
  reg.bgid = group_;
  const int result = io_uring_register_buf_ring(loop_.uring(), &reg, 0);
  if (result != 0) return Errno(-result);  // EINVAL before kernel 5.19.
  registered_ = true;
  return {};
}

void ProvidedBufferRing::Provide(uint32_t n) {
  const int mask = io_uring_buf_ring_mask(count_);
  for (uint32_t i = 0; i < n; ++i) {
    const auto id = static_cast<uint16_t>(circulating_ + i);
    io_uring_buf_ring_add(ring_, buffer(id), size_, id, mask, static_cast<int>(i));
  }
  io_uring_buf_ring_advance(ring_, static_cast<int>(n));
  circulating_ += n;
}

void ProvidedBufferRing::Grow() { Provide(std::min(circulating_, count_ - circulating_)); }

ProvidedBufferRing::~ProvidedBufferRing() {
  // After the loop's ring is gone (an orphan deleted with the loop) the kernel freed it.
  if (registered_ && loop_.uring() != nullptr) io_uring_unregister_buf_ring(loop_.uring(), group_);
  if (group_ != 0) Groups().Release(group_);
  if (memory_ != nullptr) munmap(memory_, memory_size_);
}

}  // namespace ringv8::internal
