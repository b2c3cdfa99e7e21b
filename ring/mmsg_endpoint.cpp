#include "ring/mmsg_endpoint.h"

#include <sys/epoll.h>

#include <algorithm>
#include <cerrno>

#include "ring/fault_injection.h"

namespace ringv8 {

MmsgEndpoint::MmsgEndpoint(EventLoop& loop, const EndpointOptions& options)
    : loop_(loop), options_(options), pool_(options.send_queue_capacity, options.send_buffers) {
  raw_ = options.raw;
}

Result<std::unique_ptr<Endpoint>> MmsgEndpoint::OpenAnother(const EndpointOptions& options) {
  auto endpoint = Open(loop_, options);
  if (!endpoint) return Unexpected{endpoint.error()};
  return std::unique_ptr<Endpoint>(std::move(*endpoint));
}

Result<std::unique_ptr<MmsgEndpoint>> MmsgEndpoint::Open(EventLoop& loop,
                                                         const EndpointOptions& options) {
  if (loop.backend() != EventLoop::Backend::kEpoll) {
    return Unexpected{std::make_error_code(std::errc::invalid_argument)};
  }
  std::unique_ptr<MmsgEndpoint> endpoint(new MmsgEndpoint(loop, options));
  if (std::error_code error = endpoint->sockets_.Open(options)) return Unexpected{error};
  MmsgEndpoint* self = endpoint.get();

  // With GRO a read may hold 64 KiB; the buffers are touched only as far as reads fill them.
  if (std::error_code error =
          internal::ReaderFor(options, self->sockets_.gro(), self->reader_, self->own_reader_)) {
    return Unexpected{error};
  }
  self->queues_.resize(self->sockets_.sockets().size());
  self->waiting_writable_.assign(self->sockets_.sockets().size(), false);
  self->gso_.assign(self->sockets_.sockets().size(), options.gso);
  for (size_t i = 0; i < self->sockets_.sockets().size(); ++i) {
    int fd = self->sockets_.sockets()[i].udp.fd;
    int error = loop.WatchFd(fd, EPOLLIN, [self, i](uint32_t events) { self->OnReady(i, events); });
    if (error != 0) return Unexpected{Errno(-error)};
  }
  self->drop_poll_ =
      loop.CallEvery(std::chrono::seconds(1), [self] { self->sockets_.PollDrops(self->stats_); });
  return endpoint;
}

MmsgEndpoint::~MmsgEndpoint() { Close(); }

void MmsgEndpoint::Close() {
  loop_.CancelBeforeWait(this);
  if (drop_poll_ != 0) loop_.Cancel(drop_poll_);
  drop_poll_ = 0;
  for (auto& socket : sockets_.sockets()) loop_.UnwatchFd(socket.udp.fd);
  sockets_.CloseAll();
  for (auto& queue : queues_) {
    stats_.send_discarded.Add(queue.size());
    for (auto* slot : queue) pool_.Release(slot);
    queue.clear();
  }
}

std::error_code MmsgEndpoint::SendFilled(const Address& to, size_t max_size, Filler fill) {
  int index = sockets_.IndexFor(to);
  if (auto error = internal::CheckSend(is_open(), index, max_size, stats_)) return error;
  loop_.RequestBeforeWait(this);  // Sent before the loop waits.
  auto& queue = queues_[static_cast<size_t>(index)];
  const size_t queued = queue.size();
  const std::error_code error = internal::FillAndQueue(pool_, queue, to, max_size, fill, stats_);
  if (queue.size() > queued) QueuedBytes(queue.back()->length);
  return error;
}

std::error_code MmsgEndpoint::Send(const Address& to, std::span<const uint8_t> datagram) {
  int index = sockets_.IndexFor(to);
  if (auto error = internal::CheckSend(is_open(), index, datagram.size(), stats_)) return error;
  internal::SendSlot* slot = pool_.Acquire(to, datagram);
  if (slot == nullptr) {
    stats_.send_queue_full.Add();
    return std::make_error_code(std::errc::no_buffer_space);
  }
  queues_[static_cast<size_t>(index)].push_back(slot);
  loop_.RequestBeforeWait(this);  // Sent before the loop waits.
  QueuedBytes(datagram.size());
  return {};
}

void MmsgEndpoint::QueuedBytes(size_t bytes) {
  unflushed_bytes_ += bytes;
  if (unflushed_bytes_ < internal::kEarlyFlushBytes) return;
  unflushed_bytes_ = 0;
  for (size_t i = 0; i < queues_.size(); ++i) {
    if (!waiting_writable_[i]) FlushSocket(i, /*complete_runs=*/true);
  }
}

void MmsgEndpoint::OnReady(size_t socket_index, uint32_t events) {
  if (events & (EPOLLIN | EPOLLERR)) Receive(socket_index);
  if ((events & EPOLLOUT) && socket_index < sockets_.sockets().size()) {
    waiting_writable_[socket_index] = false;
    loop_.ModifyFd(sockets_.sockets()[socket_index].udp.fd, EPOLLIN);
    FlushSocket(socket_index);
  }
}

void MmsgEndpoint::Receive(size_t socket_index) {
  // Epoll reports the socket again if the reader left datagrams in it.
  (void)reader_->Read(
      sockets_.sockets()[socket_index], stats_,
      [this](const Address& source, std::span<const uint8_t> datagram) {
        Dispatch(source, datagram);
      },
      [this, socket_index] { return socket_index < sockets_.sockets().size(); });
}

void MmsgEndpoint::BeforeWait() {
  unflushed_bytes_ = 0;
  // A socket waiting to be writable flushes when epoll says so (OnReady).
  for (size_t i = 0; i < queues_.size(); ++i) {
    if (!waiting_writable_[i]) FlushSocket(i);
  }
}

bool MmsgEndpoint::FlushSocket(size_t socket_index, bool complete_runs) {
  auto& queue = queues_[socket_index];
  if (socket_index >= sockets_.sockets().size()) return true;
  const int fd = sockets_.sockets()[socket_index].udp.fd;
  mmsghdr headers[kBatch];
  size_t run_length[kBatch];  // Datagrams in each message: > 1 for a GSO send.
  while (!queue.empty()) {
    int count = 0;
    size_t joined = 0;  // Bytes of joined_ this batch uses.
    for (size_t queued = 0; count < kBatch && queued < queue.size(); ++count) {
      const auto first = queue.begin() + static_cast<long>(queued);
      const size_t n = gso_[socket_index] ? internal::GsoRunLength(first, queue.end()) : 1;
      if (complete_runs && gso_[socket_index] &&
          !internal::RunIsComplete(n, queue.size() - queued, (*first)->length)) {
        break;  // It may still grow: it leaves before the wait.
      }
      headers[count] = {(*first)->msg, 0};
      if (n > 1) {
        for (size_t k = 0; k < n; ++k) send_iov_[count][k] = first[static_cast<long>(k)]->iov;
        msghdr& msg = headers[count].msg_hdr;
        msg.msg_iov = send_iov_[count];
        msg.msg_iovlen = internal::CoalesceSegments(send_iov_[count], n);
        const size_t length = (*first)->length;
        if (msg.msg_iovlen > 1 && length <= internal::kJoinSegmentsUpTo &&
            joined + n * length <= kJoinedBytes) {
          if (joined_ == nullptr) joined_.reset(new uint8_t[kJoinedBytes]);
          send_iov_[count][0] =
              internal::JoinSegments(send_iov_[count], msg.msg_iovlen, joined_.get() + joined);
          joined += send_iov_[count][0].iov_len;
          msg.msg_iovlen = 1;
        }
        internal::SetGsoSegment(msg, send_control_[count], static_cast<uint16_t>(length));
      }
      run_length[count] = n;
      queued += n;
    }
    if (count == 0) return true;
    stats_.kernel_entries.Add();
    int sent = -1;
    int error = FaultInjection::TakeSendFailure();
    if (error == 0 && run_length[0] > 1) error = FaultInjection::TakeGsoRefusal();
    if (error == 0) {
      sent = sendmmsg(fd, headers, static_cast<unsigned>(count), MSG_DONTWAIT);
      error = sent < 0 ? errno : 0;
    }
    if (sent < 0) {
      if (error == EINTR) continue;
      if (error == EAGAIN || error == EWOULDBLOCK) {
        // The socket buffer is full: wait until the kernel drains it.
        waiting_writable_[socket_index] = true;
        loop_.ModifyFd(fd, EPOLLIN | EPOLLOUT);
        return false;
      }
      if (run_length[0] > 1 && internal::IsGsoRefusal(error)) {
        // The kernel or the route will not segment: the same datagrams go one by one.
        stats_.gso_refused.Add();
        gso_[socket_index] = false;
        continue;
      }
      // The first datagram was refused (ENOBUFS, EPERM, ENETUNREACH, ECONNREFUSED...): drop it
      // and go on; waiting for EPOLLOUT would spin, the socket is writable.
      stats_.CountSendError(error);
      pool_.Release(queue.front());
      queue.pop_front();
      continue;
    }
    uint64_t datagrams = 0;
    for (int i = 0; i < sent; ++i) {
      if (FaultInjection::TakeShortCompletion()) headers[i].msg_len /= 2;
      size_t bytes = headers[i].msg_len;
      if (run_length[i] > 1) {
        stats_.gso_sends.Add();
        stats_.gso_segments.Add(run_length[i]);
      }
      for (size_t k = 0; k < run_length[i]; ++k) {
        internal::SendSlot* slot = queue.front();
        if (bytes < slot->length) {
          stats_.send_short.Add();
          bytes = 0;
        } else {
          bytes -= slot->length;
          CountSent({slot->data, slot->length});
        }
        pool_.Release(slot);
        queue.pop_front();
      }
      datagrams += run_length[i];
    }
    stats_.CountSendBatch(datagrams);
  }
  return true;
}

}  // namespace ringv8
