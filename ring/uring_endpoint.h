// UringEndpoint: UDP through the loop's io_uring.
//
// Receive: one multishot RECVMSG per socket on a provided-buffer ring (liburing's
// examples/io_uring-udp.c is the model): one per socket, or the one of the shared_receive_buffers
// of several endpoints. Each completion is one datagram in one buffer, handed to Dispatch and
// returned to the ring at once. The multishot is re-armed whenever a completion comes without
// IORING_CQE_F_MORE; running out of buffers (-ENOBUFS) ends it, is counted, and re-arms before
// the loop's next wait (the datagrams wait in the socket meanwhile).
// With EndpointOptions::receive_when_ready, a multishot poll per socket instead, and a ready
// socket is read with recvmmsg (internal::MmsgReader) into the first of its buffers: at most 16
// batches per turn, what is left after the loop's next wait.
// Datagrams larger than a buffer (MSG_TRUNC) are dropped and counted; SO_RXQ_OVFL reports
// kernel drops. Needs kernel 6.0+ (multishot recvmsg).
// Send: Send() copies into a pooled slot and prepares a SENDMSG SQE; the loop submits every SQE
// of an iteration with one io_uring_enter (or earlier: when the submission queue fills, and the
// complete GSO runs each internal::kEarlyFlushBytes queued, ring/internal/udp_offload.h).
//
// Thread-affine: call only on the thread that runs its EventLoop (which must be kUring).
// Destroy it before its loop; destroying it runs the loop briefly until the kernel has released
// its buffers, unless that happens inside a callback of the same loop.
#ifndef RINGV8_RING_URING_ENDPOINT_H_
#define RINGV8_RING_URING_ENDPOINT_H_

#include <memory>

#include "ring/endpoint.h"
#include "ring/event_loop.h"
#include "ring/result.h"

namespace ringv8 {

class UringEndpoint final : public Endpoint {
 public:
  // Opens the sockets of `options` on `loop` (an io_uring loop). Fails with the kernel's error:
  // EINVAL for a non-uring loop or a receive_buffers that is not a power of two, EADDRINUSE, ...
  static Result<std::unique_ptr<UringEndpoint>> Open(EventLoop& loop,
                                                     const EndpointOptions& options);
  ~UringEndpoint() override;

  const char* backend_name() const override { return "uring"; }
  bool is_open() const override;
  void Close() override;
  [[nodiscard]] std::error_code Send(const Address& to, std::span<const uint8_t> datagram) override;
  [[nodiscard]] std::error_code SendFilled(const Address& to, size_t max_size,
                                           Filler fill) override;
  std::span<const Address> local_addresses() const override;
  Result<std::unique_ptr<Endpoint>> OpenAnother(const EndpointOptions& options) override;

  class State;  // Public only for the implementation's handlers.

 private:
  UringEndpoint() = default;

  EventLoop* loop_ = nullptr;  // Not owned.
  // Shared with the kernel until every operation has completed, so it may outlive this object.
  State* state_ = nullptr;
};

}  // namespace ringv8

#endif  // RINGV8_RING_URING_ENDPOINT_H_
