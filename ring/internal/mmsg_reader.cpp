#include "ring/internal/mmsg_reader.h"

#include <algorithm>
#include <cassert>
#include <cerrno>

#include "ring/fault_injection.h"
#include "ring/internal/udp_offload.h"
#include "ring/receive_buffers.h"

namespace ringv8::internal {

void MmsgReader::SetBuffers(uint8_t* memory, size_t buffer_size, int batch) {
  memory_ = memory;
  buffer_size_ = buffer_size;
  batch_ = std::clamp(batch, 1, kBatch);
  PrepareHeaders();
}

void MmsgReader::PrepareHeaders() {
  for (int i = 0; i < batch_; ++i) {
    iov_[i] = {memory_ + i * buffer_size_, buffer_size_};
    msghdr& msg = headers_[i].msg_hdr;
    msg = msghdr{};
    msg.msg_name = &addrs_[i];
    msg.msg_namelen = sizeof(addrs_[i]);
    msg.msg_iov = &iov_[i];
    msg.msg_iovlen = 1;
    msg.msg_control = control_[i];
    msg.msg_controllen = kControlSpace;
  }
  filled_ = 0;
}

void MmsgReader::OwnBuffers(size_t buffer_size) {
  // new[] without an initialiser: mapped lazily, resident as far as reads wrote.
  own_memory_.reset(new uint8_t[buffer_size * kBatch]);
  SetBuffers(own_memory_.get(), buffer_size, kBatch);
}

std::error_code ReaderFor(const EndpointOptions& options, bool gro, MmsgReader*& reader,
                          std::unique_ptr<MmsgReader>& own) {
  if (ReceiveBuffers* shared = options.shared_receive_buffers.get()) {
    // With GRO a read may hold 64 KiB: the shared buffers must be as large as a GRO buffer.
    if (gro && shared->size() < options.gro_buffer_size) return Errno(EINVAL);
    reader = &shared->Reader();
    return {};
  }
  own = std::make_unique<MmsgReader>();
  own->OwnBuffers(gro ? options.gro_buffer_size : options.receive_buffer_size);
  reader = own.get();
  return {};
}

bool MmsgReader::Read(SocketSet::Socket& socket, EndpointStats& stats,
                      FunctionRef<void(const Address&, std::span<const uint8_t>)> dispatch,
                      FunctionRef<bool()> open) {
  const int fd = socket.udp.fd;
  assert(memory_ != nullptr);  // SetBuffers or OwnBuffers came first.
  assert(!reading_);
  reading_ = true;
  struct Done {
    bool& reading;
    ~Done() { reading = false; }
  } done{reading_};
  for (int round = 0; round < kMaxBatchesPerRead; ++round) {
    // The kernel wrote the name and control lengths of the headers it filled (and msg_flags and
    // msg_len, which it only writes); everything else in a header stays as PrepareHeaders left it.
    for (int i = 0; i < filled_; ++i) {
      headers_[i].msg_hdr.msg_namelen = sizeof(addrs_[i]);
      headers_[i].msg_hdr.msg_controllen = kControlSpace;
    }
    stats.kernel_entries.Add();
    // MSG_TRUNC: msg_len is the datagram's real length, also when it did not fit.
    const int n =
        recvmmsg(fd, headers_, static_cast<unsigned>(batch_), MSG_DONTWAIT | MSG_TRUNC, nullptr);
    filled_ = std::max(n, 0);
    if (n < 0) {
      // EAGAIN: drained. ECONNREFUSED and friends: an ICMP error for an earlier send; go on.
      if (errno == EAGAIN || errno == EWOULDBLOCK) return true;
      if (errno != EINTR) stats.receive_errors.Add();
      continue;
    }
    stats.CountReceiveBatch(static_cast<uint64_t>(n));
    for (int i = 0; i < n; ++i) {
      if (!open()) return true;
      const msghdr& msg = headers_[i].msg_hdr;
      const ReceiveControl parsed = ReadControl(msg);
      if (parsed.drops) stats.kernel_drops.Add(socket.overflow.Update(*parsed.drops));
      if (const int fault = FaultInjection::TakeReceiveFailure()) {
        stats.CountReceiveError(fault);  // A test made the kernel lose this one.
        continue;
      }
      if (FaultInjection::TakeShortCompletion()) headers_[i].msg_len /= 2;
      auto source =
          Address::FromSockaddr(reinterpret_cast<const sockaddr*>(&addrs_[i]), msg.msg_namelen);
      if (!source) {
        stats.receive_errors.Add();
        continue;
      }
      const std::span<const uint8_t> read(memory_ + i * buffer_size_,
                                          std::min<size_t>(headers_[i].msg_len, buffer_size_));
      DispatchRead(read, parsed.gro_segment, msg.msg_flags & MSG_TRUNC, headers_[i].msg_len, stats,
                   [&](std::span<const uint8_t> datagram) {
                     if (open()) dispatch(*source, datagram);
                   });
    }
    if (!open()) return true;
    if (n < batch_) return true;
  }
  return false;
}

}  // namespace ringv8::internal
