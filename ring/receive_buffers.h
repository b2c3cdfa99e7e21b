// ReceiveBuffers: one set of receive buffers that several endpoints on one loop take their
// datagrams in (EndpointOptions::shared_receive_buffers), instead of each its own.
//
// Many sockets that each receive little (an exit's, one per circuit) then reuse the few buffers
// the loop just handed back, still in cache, instead of each cycling through a ring of its own:
// an exit with 1,000 circuits kept 2,000 rings of 32 buffers (one per socket and family) and
// every reply landed in a cold one. UringEndpoint registers the buffers once as a provided-buffer
// ring that all its sockets' receives draw from; when it runs dry a socket's receive ends
// (counted: buffer_exhausted), its datagrams wait in the socket, and it is re-armed before the
// loop's next wait, after the iteration gave its buffers back. MmsgEndpoint, and UringEndpoint
// with EndpointOptions::receive_when_ready, read their batches into the first of them with one
// reader, its message headers shared too (the reads are synchronous, so sharing is free, and
// every read lands where the last one did).
// MemoryEndpoint ignores them.
//
// Thread-affine: only endpoints of one loop may share it (another loop's endpoint fails to open
// with EINVAL); it lives as long as its last user, and all its users must be gone before the
// loop is destroyed (the ring is unregistered from it), as endpoints must.
#ifndef RINGV8_RING_RECEIVE_BUFFERS_H_
#define RINGV8_RING_RECEIVE_BUFFERS_H_

#include <cstddef>
#include <cstdint>
#include <memory>

#include "ring/result.h"

namespace ringv8 {

class EventLoop;
namespace internal {
class MmsgReader;
class ProvidedBufferRing;
}  // namespace internal

class ReceiveBuffers {
 public:
  // `count` buffers (a power of two, at most 32,768) of `size` bytes, each holding one datagram
  // and its headers. Nothing is mapped until an endpoint uses them. UringEndpoint circulates
  // `initial` of them at first and doubles that whenever the ring runs dry: the kernel takes
  // buffers in ring order, so light traffic stays in a few buffers, in cache, and a flood over
  // many sockets gets them all.
  ReceiveBuffers(uint32_t count, uint32_t size, uint32_t initial);
  ReceiveBuffers(const ReceiveBuffers&) = delete;
  ReceiveBuffers& operator=(const ReceiveBuffers&) = delete;
  ~ReceiveBuffers();

  uint32_t count() const { return count_; }
  uint32_t size() const { return size_; }
  size_t bytes() const { return size_t{count_} * size_; }
  // UringEndpoint: the buffers in circulation so far (0 before an endpoint used them).
  uint32_t circulating() const;

  // For the backends. UringEndpoint: the ring registered on `loop` (made by the first endpoint;
  // EINVAL for another loop or a count that is not a power of two). MmsgEndpoint: the plain
  // memory (made by the first endpoint), and the reader that reads into it, at most
  // internal::MmsgReader::kBatch buffers at a time.
  Result<std::shared_ptr<internal::ProvidedBufferRing>> UringRing(EventLoop& loop);
  uint8_t* Memory();
  internal::MmsgReader& Reader();

 private:
  uint32_t count_;
  uint32_t size_;
  uint32_t initial_;
  std::shared_ptr<internal::ProvidedBufferRing> ring_;
  std::unique_ptr<uint8_t[]> memory_;
  std::unique_ptr<internal::MmsgReader> reader_;
};

}  // namespace ringv8

#endif  // RINGV8_RING_RECEIVE_BUFFERS_H_
