#include "ring/uring_endpoint.h"

#include <liburing.h>
#include <sys/epoll.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <deque>

#include <spdlog/spdlog.h>

#include "ring/fault_injection.h"
#include "ring/internal/mmsg_reader.h"
#include "ring/internal/provided_buffer_ring.h"
#include "ring/internal/send_pool.h"
#include "ring/internal/udp_offload.h"
#include "ring/internal/udp_socket.h"

namespace ringv8 {

class UringEndpoint::State final : public EventLoop::Orphan, public EventLoop::WaitHook {
 public:
  State(UringEndpoint* owner, EventLoop& loop, const EndpointOptions& options)
      : owner_(owner),
        loop_(loop),
        options_(options),
        pool_(options.send_queue_capacity, options.send_buffers) {}
  ~State() override { loop_.CancelBeforeWait(this); }

  std::error_code Open();
  void Close();
  bool is_open() const { return !closing_; }
  std::error_code Send(const Address& to, std::span<const uint8_t> datagram);
  std::error_code SendFilled(const Address& to, size_t max_size, Endpoint::Filler fill);
  const std::vector<Address>& local_addresses() const { return local_; }
  int outstanding() const { return outstanding_; }
  // The owner is going away; if the kernel still holds buffers, the state deletes itself after
  // their last completion.
  void Orphan() { owner_ = nullptr; }

 private:
  struct ReceiveHandler final : EventLoop::CompletionHandler {
    State* state = nullptr;
    size_t socket = 0;
    void OnCompletion(const io_uring_cqe& cqe) override { state->OnReceive(socket, cqe); }
  };
  struct SendHandler final : EventLoop::CompletionHandler {
    State* state = nullptr;
    uint32_t slot = 0;
    void OnCompletion(const io_uring_cqe& cqe) override { state->OnSent(slot, cqe); }
  };
  // One UDP_SEGMENT send in flight: its message, the iovecs of its datagrams and their slots.
  struct GsoSend final : EventLoop::CompletionHandler {
    State* state = nullptr;
    uint32_t index = 0;
    size_t socket = 0;
    int fault = 0;  // FaultInjection: the errno this send completes with, unsent.
    msghdr msg{};
    iovec iov[internal::kGsoMaxSegments];
    alignas(cmsghdr) uint8_t control[internal::kGsoControlSpace];
    internal::SendSlot* slots[internal::kGsoMaxSegments];
    size_t count = 0;
    // A run of small datagrams copied into one buffer (internal::kJoinSegmentsUpTo), made on
    // first use: 16 KiB per GSO send in flight at most, resident as far as runs wrote it.
    std::unique_ptr<uint8_t[]> joined;
    void OnCompletion(const io_uring_cqe& cqe) override { state->OnGsoSent(*this, cqe); }
  };
  // GSO sends in flight at most (each carries up to 64 datagrams): 256, or one per 16 slots of a
  // deeper send queue, so that the queue's bound, not this one, is what a burst meets; beyond,
  // the queue waits for their completions (sending the runs one by one instead would cost a
  // syscall's worth each). Measured: an exit's reply flood with a 16,384-slot queue was cut at
  // 256 sends in flight, 4 times the drops (send_queue_full) of 1,024.
  size_t GsoInFlightLimit() const {
    return std::max<size_t>(256, options_.send_queue_capacity / 16);
  }

  EndpointStats& stats() { return owner_->stats_; }
  // The buffer rings of the sockets: one each, or the one of shared_receive_buffers.
  std::error_code SetUpBufferRings(size_t count);
  bool ArmReceive(size_t socket);
  void OnReceive(size_t socket, const io_uring_cqe& cqe);
  // EndpointOptions::receive_when_ready: the buffers the reader reads into, and a watch on
  // every socket.
  std::error_code SetUpReader();
  // Reads a ready socket; if it may hold more than one turn's reads, it is read again after
  // the loop's next wait.
  void ReadReady(size_t socket);
  void ReadLeftovers();
  void HandleDatagram(size_t socket, uint8_t* buffer, int length);
  void CountReceiveError(int error);
  void OnSent(uint32_t slot, const io_uring_cqe& cqe);
  void OnGsoSent(GsoSend& send, const io_uring_cqe& cqe);
  // Submits the queued datagrams of `socket`: runs as GSO sends, the rest one by one. With
  // `complete_runs`, a run that may still grow (it reaches the queue's end) stays queued.
  void Flush(size_t socket, bool complete_runs = false);
  // Counts `bytes` queued; once internal::kEarlyFlushBytes are, submits the complete runs.
  void QueuedBytes(size_t bytes);
  // One SENDMSG for one datagram; false (left to the caller) when no SQE is to be had.
  bool SubmitSingle(size_t socket, internal::SendSlot* slot);
  bool SubmitGso(size_t socket, std::deque<internal::SendSlot*>& queue, size_t count);
  // Runs before the loop's next wait when this endpoint asked for it (sends queued, datagrams
  // received, a receive to re-arm): an endpoint that an iteration did not touch costs nothing.
  void BeforeWait() override;
  void RequestBeforeWait() { loop_.RequestBeforeWait(this); }
  void MaybeDelete();

  UringEndpoint* owner_;  // Not owned; null once orphaned.
  EventLoop& loop_;
  EndpointOptions options_;
  internal::SocketSet sockets_;
  std::vector<Address> local_;
  // Per socket; kept until every receive completed (a shared one also by its other users).
  std::vector<std::shared_ptr<internal::ProvidedBufferRing>> buffer_rings_;
  std::vector<ReceiveHandler> receive_handlers_;
  std::vector<bool> needs_arm_;
  msghdr receive_template_{};
  // EndpointOptions::receive_when_ready: the shared_receive_buffers' reader, or own_reader_.
  internal::MmsgReader* reader_ = nullptr;
  std::unique_ptr<internal::MmsgReader> own_reader_;
  std::vector<bool> unread_;                // Per socket: datagrams may be left after a read.
  EventLoop::TimerId leftovers_timer_ = 0;  // Reads them after the next wait.
  bool leftovers_armed_ = false;
  internal::SendPool pool_;
  std::vector<SendHandler> send_handlers_;
  std::vector<std::deque<internal::SendSlot*>> queues_;  // Per socket, until BeforeWait.
  std::vector<bool> gso_;  // Per socket: GSO on (off once the kernel refused it).
  std::vector<std::unique_ptr<GsoSend>> gso_sends_;
  std::vector<GsoSend*> free_gso_;
  EventLoop::TimerId drop_poll_ = 0;  // Reads the sockets' drop counters once a second.
  int outstanding_ = 0;  // Operations the kernel may still complete (armed receives + sends).
  bool closing_ = false;
  size_t unflushed_bytes_ = 0;  // Queued since the sends were last submitted.
  uint64_t received_this_iteration_ = 0;
  uint64_t sent_this_iteration_ = 0;
  uint64_t loop_entries_seen_ = 0;
};

std::error_code UringEndpoint::State::SetUpBufferRings(size_t count) {
  if (options_.shared_receive_buffers != nullptr) {
    // With GRO a read may hold 64 KiB: the shared buffers must be as large as a GRO buffer.
    if (sockets_.gro() && options_.shared_receive_buffers->size() < options_.gro_buffer_size) {
      return Errno(EINVAL);
    }
    auto shared = options_.shared_receive_buffers->UringRing(loop_);
    if (!shared) return shared.error();
    buffer_rings_.assign(count, *shared);
    return {};
  }
  // With GRO a read may hold 64 KiB: fewer, larger buffers, touched only as far as reads fill
  // them (the kernel writes a small datagram into the first page of its buffer).
  const uint32_t buffers = sockets_.gro() ? options_.gro_buffers : options_.receive_buffers;
  const uint32_t size = sockets_.gro() ? options_.gro_buffer_size : options_.receive_buffer_size;
  for (size_t i = 0; i < count; ++i) {
    auto ring = internal::ProvidedBufferRing::Make(loop_, buffers, size, buffers);
    if (!ring) return ring.error();
    buffer_rings_.push_back(std::move(*ring));
  }
  return {};
}

std::error_code UringEndpoint::State::SetUpReader() {
  if (std::error_code error = internal::ReaderFor(options_, sockets_.gro(), reader_, own_reader_)) {
    return error;
  }
  unread_.assign(sockets_.sockets().size(), false);
  leftovers_timer_ = loop_.CreateTimer([this] { ReadLeftovers(); });
  for (size_t i = 0; i < sockets_.sockets().size(); ++i) {
    const int error =
        loop_.WatchFd(sockets_.sockets()[i].udp.fd, EPOLLIN, [this, i](uint32_t) { ReadReady(i); });
    if (error != 0) return Errno(-error);
  }
  return {};
}

void UringEndpoint::State::ReadReady(size_t socket) {
  if (owner_ == nullptr || closing_) return;
  unread_[socket] = false;
  const bool drained = reader_->Read(
      sockets_.sockets()[socket], stats(),
      [this](const Address& source, std::span<const uint8_t> datagram) {
        owner_->Dispatch(source, datagram);
      },
      [this] { return owner_ != nullptr && !closing_; });
  if (!drained && !closing_) {
    // The poll reports a socket again only when more arrives: what is left is read next turn.
    unread_[socket] = true;
    if (!leftovers_armed_) loop_.ArmTimer(leftovers_timer_, loop_.Now());
    leftovers_armed_ = true;
  }
}

void UringEndpoint::State::ReadLeftovers() {
  leftovers_armed_ = false;
  for (size_t i = 0; i < unread_.size() && !closing_; ++i) {
    if (unread_[i]) ReadReady(i);
  }
}

std::error_code UringEndpoint::State::Open() {
  if (std::error_code error = sockets_.Open(options_)) return error;
  local_ = sockets_.local_addresses();
  const size_t count = sockets_.sockets().size();
  queues_.resize(count);
  gso_.assign(count, options_.gso);
  if (options_.receive_when_ready) {
    if (std::error_code error = SetUpReader()) return error;
  } else {
    if (std::error_code error = SetUpBufferRings(count)) return error;
  }
  receive_handlers_.resize(count);
  needs_arm_.assign(count, false);
  // One template for every socket: room for an IPv6 source address and SO_RXQ_OVFL. The kernel
  // puts the control messages right after the name (after io_uring_recvmsg_out's 16 bytes): the
  // name's room is rounded up to 8 so that they are aligned as struct cmsghdr must be.
  receive_template_.msg_namelen =
      (sizeof(sockaddr_in6) + alignof(cmsghdr) - 1) & ~(alignof(cmsghdr) - 1);
  receive_template_.msg_controllen = internal::kControlSpace;
  for (size_t i = 0; i < count && !options_.receive_when_ready; ++i) {
    receive_handlers_[i].state = this;
    receive_handlers_[i].socket = i;
    if (!ArmReceive(i)) return Errno(EBUSY);
  }
  // Handlers and GSO messages are made as the queue first reaches them (the vector is reserved,
  // so they never move): an endpoint with a deep bound and little traffic stays small.
  send_handlers_.reserve(options_.send_queue_capacity + internal::SendPool::kLargeSlots);
  gso_sends_.reserve(GsoInFlightLimit());
  drop_poll_ = loop_.CallEvery(std::chrono::seconds(1), [this] {
    if (owner_ != nullptr) sockets_.PollDrops(stats());
  });
  loop_entries_seen_ = loop_.kernel_entries();
  return {};
}

bool UringEndpoint::State::ArmReceive(size_t socket) {
  io_uring_sqe* sqe = loop_.GetSqe();
  if (sqe == nullptr) {
    needs_arm_[socket] = true;  // Retried before the next wait.
    RequestBeforeWait();
    return false;
  }
  // MSG_TRUNC: io_uring_recvmsg_out.payloadlen is a datagram's real length, also when it did
  // not fit (the completion's size stays what was written).
  io_uring_prep_recvmsg_multishot(sqe, sockets_.sockets()[socket].udp.fd, &receive_template_,
                                  MSG_TRUNC);
  sqe->flags |= IOSQE_BUFFER_SELECT;
  sqe->buf_group = buffer_rings_[socket]->group();
  EventLoop::SetCompletion(sqe, &receive_handlers_[socket]);
  needs_arm_[socket] = false;
  ++outstanding_;
  return true;
}

void UringEndpoint::State::OnReceive(size_t socket, const io_uring_cqe& cqe) {
  const bool more = cqe.flags & IORING_CQE_F_MORE;
  if (!more) --outstanding_;
  bool rearm = !more && !closing_;
  if (cqe.res < 0) {
    CountReceiveError(-cqe.res);
    if (cqe.res == -EINVAL || cqe.res == -EOPNOTSUPP) {
      // The kernel cannot do multishot RECVMSG (before 6.0): re-arming would spin.
      spdlog::error("io_uring multishot receive refused ({}); this endpoint stops receiving",
                    strerror(-cqe.res));
      rearm = false;
    }
  } else if (cqe.flags & IORING_CQE_F_BUFFER) {
    const uint16_t id = static_cast<uint16_t>(cqe.flags >> IORING_CQE_BUFFER_SHIFT);
    internal::ProvidedBufferRing& ring = *buffer_rings_[socket];
    uint8_t* buffer = ring.buffer(id);
    if (const int fault = FaultInjection::TakeReceiveFailure()) {
      CountReceiveError(fault);  // A test made the kernel lose this one.
    } else if (owner_ != nullptr && !closing_) {
      HandleDatagram(socket, buffer, cqe.res);
    }
    // Back to the kernel at once, so the ring only runs dry under a real burst.
    ring.Give(id);
  }
  if (rearm) {
    if (owner_ != nullptr) stats().receive_rearms.Add();
    if (cqe.res == -ENOBUFS) {
      // The ring ran dry: more buffers join it (up to its count), and the receive is re-armed
      // before the loop's next wait, once this iteration has given its buffers back (a shared
      // ring's other sockets are giving theirs too).
      buffer_rings_[socket]->Grow();
      needs_arm_[socket] = true;
      RequestBeforeWait();
    } else {
      ArmReceive(socket);
    }
  }
  MaybeDelete();
}

void UringEndpoint::State::CountReceiveError(int error) {
  if (owner_ != nullptr) stats().CountReceiveError(error);
}

void UringEndpoint::State::HandleDatagram(size_t socket, uint8_t* buffer, int length) {
  if (received_this_iteration_++ == 0) RequestBeforeWait();  // Counts the batch.
  auto* out = io_uring_recvmsg_validate(buffer, length, &receive_template_);
  if (out == nullptr) {
    stats().receive_errors.Add();
    return;
  }
  msghdr control{};
  control.msg_control = reinterpret_cast<uint8_t*>(out + 1) + receive_template_.msg_namelen;
  control.msg_controllen = out->controllen;
  const internal::ReceiveControl parsed = internal::ReadControl(control);
  if (parsed.drops) {
    stats().kernel_drops.Add(sockets_.sockets()[socket].overflow.Update(*parsed.drops));
  }
  auto source =
      Address::FromSockaddr(static_cast<sockaddr*>(io_uring_recvmsg_name(out)),
                            std::min<socklen_t>(out->namelen, receive_template_.msg_namelen));
  if (!source) {
    stats().receive_errors.Add();
    return;
  }
  auto* payload = static_cast<uint8_t*>(io_uring_recvmsg_payload(out, &receive_template_));
  auto size = io_uring_recvmsg_payload_length(out, length, &receive_template_);
  if (FaultInjection::TakeShortCompletion()) size /= 2;
  internal::DispatchRead({payload, size}, parsed.gro_segment, out->flags & MSG_TRUNC,
                         out->payloadlen, stats(), [&](std::span<const uint8_t> datagram) {
                           if (owner_ != nullptr && !closing_) owner_->Dispatch(*source, datagram);
                         });
}

std::error_code UringEndpoint::State::SendFilled(const Address& to, size_t max_size,
                                                 Endpoint::Filler fill) {
  int index = sockets_.IndexFor(to);
  if (auto error = internal::CheckSend(!closing_, index, max_size, stats())) return error;
  RequestBeforeWait();  // Submitted before the loop waits.
  auto& queue = queues_[static_cast<size_t>(index)];
  const size_t queued = queue.size();
  const std::error_code error = internal::FillAndQueue(pool_, queue, to, max_size, fill, stats());
  if (queue.size() > queued) QueuedBytes(queue.back()->length);
  return error;
}

std::error_code UringEndpoint::State::Send(const Address& to, std::span<const uint8_t> datagram) {
  int index = sockets_.IndexFor(to);
  if (auto error = internal::CheckSend(!closing_, index, datagram.size(), stats())) return error;
  internal::SendSlot* slot = pool_.Acquire(to, datagram);
  if (slot == nullptr) {
    stats().send_queue_full.Add();
    return Errno(ENOBUFS);
  }
  queues_[static_cast<size_t>(index)].push_back(slot);
  RequestBeforeWait();  // Submitted before the loop waits.
  QueuedBytes(datagram.size());
  return {};
}

void UringEndpoint::State::QueuedBytes(size_t bytes) {
  unflushed_bytes_ += bytes;
  if (unflushed_bytes_ < internal::kEarlyFlushBytes) return;
  unflushed_bytes_ = 0;
  for (size_t i = 0; i < queues_.size(); ++i) Flush(i, /*complete_runs=*/true);
  loop_.SubmitNow();
}

bool UringEndpoint::State::SubmitSingle(size_t socket, internal::SendSlot* slot) {
  io_uring_sqe* sqe = loop_.GetSqe();
  if (sqe == nullptr) return false;
  slot->fault = FaultInjection::TakeSendFailure();
  if (slot->fault != 0) {
    io_uring_prep_nop(sqe);  // A test made the kernel refuse it: completes unsent, failed.
  } else {
    io_uring_prep_sendmsg(sqe, sockets_.sockets()[socket].udp.fd, &slot->msg, 0);
  }
  while (send_handlers_.size() <= slot->index) {
    SendHandler& made = send_handlers_.emplace_back();
    made.state = this;
    made.slot = static_cast<uint32_t>(send_handlers_.size() - 1);
  }
  EventLoop::SetCompletion(sqe, &send_handlers_[slot->index]);
  ++outstanding_;
  ++sent_this_iteration_;
  return true;
}

bool UringEndpoint::State::SubmitGso(size_t socket, std::deque<internal::SendSlot*>& queue,
                                     size_t count) {
  if (free_gso_.empty() && gso_sends_.size() < GsoInFlightLimit()) {
    gso_sends_.push_back(std::make_unique<GsoSend>());
    gso_sends_.back()->state = this;
    free_gso_.push_back(gso_sends_.back().get());
  }
  if (free_gso_.empty()) return false;
  io_uring_sqe* sqe = loop_.GetSqe();
  if (sqe == nullptr) return false;
  GsoSend& send = *free_gso_.back();
  free_gso_.pop_back();
  send.socket = socket;
  send.count = count;
  for (size_t k = 0; k < count; ++k) {
    send.slots[k] = queue.front();
    send.iov[k] = queue.front()->iov;
    queue.pop_front();
  }
  send.msg = send.slots[0]->msg;
  send.msg.msg_iov = send.iov;
  send.msg.msg_iovlen = internal::CoalesceSegments(send.iov, count);
  if (send.msg.msg_iovlen > 1 && send.slots[0]->length <= internal::kJoinSegmentsUpTo) {
    if (send.joined == nullptr) {
      send.joined.reset(new uint8_t[internal::kGsoMaxSegments * internal::kJoinSegmentsUpTo]);
    }
    send.iov[0] = internal::JoinSegments(send.iov, send.msg.msg_iovlen, send.joined.get());
    send.msg.msg_iovlen = 1;
  }
  internal::SetGsoSegment(send.msg, send.control, static_cast<uint16_t>(send.slots[0]->length));
  send.fault = FaultInjection::TakeSendFailure();
  if (send.fault == 0) send.fault = FaultInjection::TakeGsoRefusal();
  if (send.fault != 0) {
    io_uring_prep_nop(sqe);
  } else {
    io_uring_prep_sendmsg(sqe, sockets_.sockets()[socket].udp.fd, &send.msg, 0);
  }
  EventLoop::SetCompletion(sqe, &send);
  ++outstanding_;
  sent_this_iteration_ += count;
  return true;
}

void UringEndpoint::State::Flush(size_t socket, bool complete_runs) {
  auto& queue = queues_[socket];
  while (!queue.empty()) {
    const size_t run = gso_[socket] ? internal::GsoRunLength(queue.begin(), queue.end()) : 1;
    if (complete_runs && gso_[socket] &&
        !internal::RunIsComplete(run, queue.size(), queue.front()->length)) {
      return;
    }
    if (run > 1) {
      if (!SubmitGso(socket, queue, run)) return;  // The rest waits for completions.
      continue;
    }
    if (!SubmitSingle(socket, queue.front())) return;  // No SQE: the rest waits for the next turn.
    queue.pop_front();
  }
}

void UringEndpoint::State::OnSent(uint32_t index, const io_uring_cqe& cqe) {
  --outstanding_;
  internal::SendSlot* slot = pool_.slot(index);
  int result = slot->fault != 0 ? -slot->fault : cqe.res;
  if (result > 0 && FaultInjection::TakeShortCompletion()) result /= 2;
  if (owner_ != nullptr) {
    if (result < 0) {
      stats().CountSendError(-result);
    } else if (static_cast<size_t>(result) < slot->length) {
      stats().send_short.Add();
    } else {
      owner_->CountSent({slot->data, slot->length});
    }
  }
  pool_.Release(slot);
  MaybeDelete();
}

void UringEndpoint::State::OnGsoSent(GsoSend& send, const io_uring_cqe& cqe) {
  --outstanding_;
  int result = send.fault != 0 ? -send.fault : cqe.res;
  if (result > 0 && FaultInjection::TakeShortCompletion()) result /= 2;
  if (result < 0 && internal::IsGsoRefusal(-result) && owner_ != nullptr && !closing_) {
    // The kernel or the route will not segment: the same datagrams go one by one, before
    // anything queued after them, and GSO stays off for this socket.
    stats().gso_refused.Add();
    gso_[send.socket] = false;
    auto& queue = queues_[send.socket];
    for (size_t k = send.count; k > 0; --k) queue.push_front(send.slots[k - 1]);
    Flush(send.socket);
    RequestBeforeWait();  // What did not fit, and the count.
  } else {
    size_t bytes = result > 0 ? static_cast<size_t>(result) : 0;
    if (owner_ != nullptr && result >= 0) {
      stats().gso_sends.Add();
      stats().gso_segments.Add(send.count);
    }
    for (size_t k = 0; k < send.count; ++k) {
      internal::SendSlot* slot = send.slots[k];
      if (owner_ != nullptr) {
        if (result < 0) {
          stats().CountSendError(-result);
        } else if (bytes < slot->length) {
          stats().send_short.Add();
          bytes = 0;
        } else {
          bytes -= slot->length;
          owner_->CountSent({slot->data, slot->length});
        }
      }
      pool_.Release(slot);
    }
  }
  free_gso_.push_back(&send);
  MaybeDelete();
}

void UringEndpoint::State::BeforeWait() {
  if (owner_ == nullptr || closing_) return;
  unflushed_bytes_ = 0;
  bool left = false;
  for (size_t i = 0; i < queues_.size(); ++i) {
    Flush(i);
    left = left || !queues_[i].empty();
  }
  if (left) RequestBeforeWait();  // The rest waits for SQEs or GSO sends to come back.
  EndpointStats& s = stats();
  if (received_this_iteration_ > 0) s.CountReceiveBatch(received_this_iteration_);
  if (sent_this_iteration_ > 0) s.CountSendBatch(sent_this_iteration_);
  received_this_iteration_ = sent_this_iteration_ = 0;
  // The loop's entries since this endpoint last looked (it looks when it has work).
  s.kernel_entries.Add(loop_.kernel_entries() - loop_entries_seen_);
  loop_entries_seen_ = loop_.kernel_entries();
  for (size_t i = 0; i < needs_arm_.size(); ++i) {
    if (needs_arm_[i]) ArmReceive(i);
  }
}

void UringEndpoint::State::Close() {
  if (closing_) return;
  closing_ = true;
  loop_.CancelBeforeWait(this);
  if (drop_poll_ != 0) loop_.Cancel(drop_poll_);
  drop_poll_ = 0;
  if (leftovers_timer_ != 0) loop_.Cancel(leftovers_timer_);
  leftovers_timer_ = 0;
  if (options_.receive_when_ready) {
    for (auto& socket : sockets_.sockets()) loop_.UnwatchFd(socket.udp.fd);
  }
  for (size_t i = 0; i < receive_handlers_.size() && !options_.receive_when_ready; ++i) {
    if (io_uring_sqe* sqe = loop_.GetSqe()) {
      io_uring_prep_cancel(sqe, &receive_handlers_[i], 0);
      EventLoop::SetCompletion(sqe, nullptr);
    }
  }
  for (auto& queue : queues_) {  // Queued, never submitted.
    if (owner_ != nullptr) stats().send_discarded.Add(queue.size());
    for (internal::SendSlot* slot : queue) pool_.Release(slot);
    queue.clear();
  }
  // The in-flight operations hold their own references to the sockets.
  sockets_.CloseAll();
}

void UringEndpoint::State::MaybeDelete() {
  if (owner_ == nullptr && outstanding_ == 0) loop_.ReleaseOrphan(this);  // Deletes this.
}

// ---- UringEndpoint ----

Result<std::unique_ptr<UringEndpoint>> UringEndpoint::Open(EventLoop& loop,
                                                           const EndpointOptions& options) {
  if (loop.backend() != EventLoop::Backend::kUring) return Unexpected{Errno(EINVAL)};
  std::unique_ptr<UringEndpoint> endpoint(new UringEndpoint());
  endpoint->loop_ = &loop;
  endpoint->raw_ = options.raw;
  endpoint->state_ = new State(endpoint.get(), loop, options);
  if (std::error_code error = endpoint->state_->Open()) return Unexpected{error};
  return endpoint;
}

Result<std::unique_ptr<Endpoint>> UringEndpoint::OpenAnother(const EndpointOptions& options) {
  auto endpoint = Open(*loop_, options);
  if (!endpoint) return Unexpected{endpoint.error()};
  return std::unique_ptr<Endpoint>(std::move(*endpoint));
}

UringEndpoint::~UringEndpoint() {
  if (state_ == nullptr) return;
  state_->Close();
  if (state_->outstanding() == 0) {
    delete state_;
  } else {
    // The kernel owns buffers until the cancelled receives and the sends in flight complete:
    // the loop keeps the state until then (never run here).
    state_->Orphan();
    loop_->AdoptOrphan(state_);
  }
  state_ = nullptr;
}

bool UringEndpoint::is_open() const { return state_->is_open(); }
void UringEndpoint::Close() { state_->Close(); }
std::error_code UringEndpoint::Send(const Address& to, std::span<const uint8_t> datagram) {
  return state_->Send(to, datagram);
}

std::error_code UringEndpoint::SendFilled(const Address& to, size_t max_size, Filler fill) {
  return state_->SendFilled(to, max_size, fill);
}
std::span<const Address> UringEndpoint::local_addresses() const {
  return state_->is_open() ? state_->local_addresses() : std::span<const Address>();
}

}  // namespace ringv8
