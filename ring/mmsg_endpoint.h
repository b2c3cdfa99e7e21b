// MmsgEndpoint: the Endpoint contract on epoll + recvmmsg/sendmmsg, in batches of up to 64.
//
// The fallback where io_uring is not allowed, and `--backend mmsg`. Receives drain each ready
// socket in batches (a bounded number per wake-up, so one busy socket cannot starve the loop);
// sends are queued in pooled buffers and flushed with sendmmsg once per loop iteration (and the
// complete GSO runs each internal::kEarlyFlushBytes queued); when the kernel says EAGAIN the
// rest waits for EPOLLOUT.
//
// Thread-affine: call only on the thread that runs its EventLoop (which must be kEpoll).
#ifndef RINGV8_RING_MMSG_ENDPOINT_H_
#define RINGV8_RING_MMSG_ENDPOINT_H_

#include <sys/socket.h>

#include <deque>
#include <memory>

#include "ring/endpoint.h"
#include "ring/event_loop.h"
#include "ring/internal/mmsg_reader.h"
#include "ring/internal/send_pool.h"
#include "ring/internal/udp_offload.h"
#include "ring/internal/udp_socket.h"
#include "ring/result.h"

namespace ringv8 {

class MmsgEndpoint final : public Endpoint, private EventLoop::WaitHook {
 public:
  static constexpr int kBatch = internal::MmsgReader::kBatch;

  // Opens the sockets of `options` on `loop` (an epoll loop). Fails with the kernel's error
  // (EADDRINUSE, EACCES, ...) or EINVAL for an io_uring loop.
  static Result<std::unique_ptr<MmsgEndpoint>> Open(EventLoop& loop,
                                                    const EndpointOptions& options);
  ~MmsgEndpoint() override;

  const char* backend_name() const override { return "mmsg"; }
  bool is_open() const override { return !sockets_.empty(); }
  void Close() override;
  [[nodiscard]] std::error_code Send(const Address& to, std::span<const uint8_t> datagram) override;
  [[nodiscard]] std::error_code SendFilled(const Address& to, size_t max_size,
                                           Filler fill) override;
  std::span<const Address> local_addresses() const override { return sockets_.local_addresses(); }
  Result<std::unique_ptr<Endpoint>> OpenAnother(const EndpointOptions& options) override;

 private:
  MmsgEndpoint(EventLoop& loop, const EndpointOptions& options);
  void OnReady(size_t socket_index, uint32_t events);
  void Receive(size_t socket_index);
  // Before the loop's next wait, when a send was queued: flushes the send queues (an endpoint
  // that an iteration did not touch costs nothing).
  void BeforeWait() override;
  // Sends the queued datagrams of one socket; returns false if the kernel said EAGAIN. With
  // `complete_runs`, a GSO run that may still grow (it reaches the queue's end) stays queued.
  bool FlushSocket(size_t socket_index, bool complete_runs = false);
  // Counts `bytes` queued; once internal::kEarlyFlushBytes are, sends the complete runs.
  void QueuedBytes(size_t bytes);

  EventLoop& loop_;  // Not owned.
  EndpointOptions options_;
  internal::SocketSet sockets_;
  size_t unflushed_bytes_ = 0;  // Queued since the sends were last flushed.
  internal::SendPool pool_;
  std::vector<std::deque<internal::SendSlot*>> queues_;  // Per socket; bounded by the pool.
  std::vector<bool> waiting_writable_;
  std::vector<bool> gso_;             // Per socket: GSO sends on (off once the kernel refused one).
  EventLoop::TimerId drop_poll_ = 0;  // Reads the sockets' drop counters once a second.

  // Reads with the shared_receive_buffers' reader (options_ keeps them), or own_reader_.
  internal::MmsgReader* reader_ = nullptr;
  std::unique_ptr<internal::MmsgReader> own_reader_;
  // Send batch: per message, the iovecs of its GSO run and its UDP_SEGMENT control block.
  iovec send_iov_[kBatch][internal::kGsoMaxSegments];
  alignas(cmsghdr) uint8_t send_control_[kBatch][internal::kGsoControlSpace];
  // Runs of small datagrams copied into one buffer each (internal::kJoinSegmentsUpTo), as many as
  // fit in one batch; made on first use.
  static constexpr size_t kJoinedBytes =
      4 * internal::kGsoMaxSegments * internal::kJoinSegmentsUpTo;
  std::unique_ptr<uint8_t[]> joined_;
};

}  // namespace ringv8

#endif  // RINGV8_RING_MMSG_ENDPOINT_H_
