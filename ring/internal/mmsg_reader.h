// MmsgReader: reads a socket's datagrams synchronously with recvmmsg, a batch of buffers at a
// time, and hands each datagram to a function (a GRO read split into its datagrams), counting
// what the kernel reported (drops, truncation, errors) in the endpoint's statistics.
//
// The read path of MmsgEndpoint, and of a UringEndpoint that reads when its sockets are ready
// (EndpointOptions::receive_when_ready): every read lands in the same few buffers at the front
// of the batch, which the last read just used, so they are still in cache. Endpoints that share
// receive buffers share their reader too (ReaderFor): reads are synchronous, so one set of
// message headers serves all of them and stays in cache (an exit's 1,000 sockets each wrote
// their own 64 headers, cold, for every read). Thread-affine; a read never nests in another of
// the same reader (a datagram's handler does not read).
#ifndef RINGV8_RING_INTERNAL_MMSG_READER_H_
#define RINGV8_RING_INTERNAL_MMSG_READER_H_

#include <sys/socket.h>

#include <cstddef>
#include <cstdint>
#include <memory>
#include <span>
#include <system_error>

#include "ring/address.h"
#include "ring/endpoint.h"
#include "ring/endpoint_stats.h"
#include "ring/function_ref.h"
#include "ring/internal/udp_socket.h"

namespace ringv8::internal {

class MmsgReader {
 public:
  static constexpr int kBatch = 64;
  // Batches read per call before the loop gets a turn.
  static constexpr int kMaxBatchesPerRead = 16;

  // Reads into `batch` (at most kBatch) buffers of `buffer_size` bytes at `memory` (not owned;
  // touched only as far as reads fill them).
  void SetBuffers(uint8_t* memory, size_t buffer_size, int batch);
  // Reads into kBatch buffers of `buffer_size` bytes of its own (mapped lazily, touched only as
  // far as reads fill them).
  void OwnBuffers(size_t buffer_size);

  // Reads `socket` until the kernel has nothing more or kMaxBatchesPerRead batches were read,
  // each datagram to `dispatch(source, datagram)`. `open()` says whether the socket still
  // exists (a datagram's listener may close the endpoint); once it does not, nothing more is
  // read or dispatched. Returns true when the socket is drained (or gone), false when datagrams
  // may be left.
  bool Read(SocketSet::Socket& socket, EndpointStats& stats,
            FunctionRef<void(const Address&, std::span<const uint8_t>)> dispatch,
            FunctionRef<bool()> open);

 private:
  // Writes the message headers whole (after the buffers changed).
  void PrepareHeaders();

  std::unique_ptr<uint8_t[]> own_memory_;
  uint8_t* memory_ = nullptr;
  size_t buffer_size_ = 0;
  int batch_ = kBatch;
  mmsghdr headers_[kBatch];
  iovec iov_[kBatch];
  sockaddr_storage addrs_[kBatch];
  alignas(cmsghdr) uint8_t control_[kBatch][kControlSpace];
  // Headers the last recvmmsg filled: only their name and control lengths changed (the kernel
  // writes nothing into a header it did not fill), so only they are made ready again.
  int filled_ = 0;
  bool reading_ = false;  // Checks that reads do not nest.
};

// The reader of an endpoint with `options` whose sockets read with GRO or not: that of its
// shared_receive_buffers (EINVAL when a GRO read would not fit them), else `own`, made with
// buffers of its own.
std::error_code ReaderFor(const EndpointOptions& options, bool gro, MmsgReader*& reader,
                          std::unique_ptr<MmsgReader>& own);

}  // namespace ringv8::internal

#endif  // RINGV8_RING_INTERNAL_MMSG_READER_H_
