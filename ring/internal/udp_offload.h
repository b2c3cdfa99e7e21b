// UDP offloads for both real endpoints. GSO (generic segmentation offload) on send: which queued
// datagrams may leave as one UDP_SEGMENT send, and the control message that asks for it. GRO
// (generic receive offload) on receive: a read may hold several datagrams of one sender, cut at
// the segment size the UDP_GRO control message gives (internal::ReadControl); they are split
// before dispatch.
//
// A run is consecutive queued datagrams to the same destination, all of the first one's size
// except the last, which may be shorter, at most kGsoMaxSegments of them and kGsoMaxBytes in
// all. The kernel cuts the run's bytes into datagrams of the first one's size, so the receiver
// sees exactly the datagrams, in the order, that single sends would have delivered.
// Thread-compatible (pure functions).
#ifndef RINGV8_RING_INTERNAL_UDP_OFFLOAD_H_
#define RINGV8_RING_INTERNAL_UDP_OFFLOAD_H_

#include <netinet/in.h>
#include <netinet/udp.h>
#include <sys/socket.h>

#include <cerrno>
#include <cstdint>
#include <cstring>
#include <optional>
#include <span>

#include "ring/address.h"
#include "ring/endpoint_stats.h"
#include "ring/internal/send_pool.h"

namespace ringv8::internal {

inline constexpr size_t kGsoMaxSegments = 64;  // The kernel's UDP_MAX_SEGMENTS.
// The kernel takes up to 65,507 bytes (the largest UDP payload over IPv4), but a run that full can
// be cut into datagrams in software before it leaves (measured: 46 x 1,416 = 65,136 bytes went
// through skb_segment under validate_xmit_skb on loopback, a fifth of a relay's time; no run of
// at most 64,000 bytes did). One send more per 64 KB costs nothing measurable.
inline constexpr size_t kGsoMaxBytes = 64000;
inline constexpr size_t kGsoControlSpace = CMSG_SPACE(sizeof(uint16_t));

// A GSO run of datagrams this small that is not one buffer already (CoalesceSegments) leaves
// from one buffer they are copied into, not from one iovec each: the kernel's copy from user
// memory costs per iovec (a check of the object, the user-access window, the copy's start-up),
// as much as the copy of a small datagram itself. Measured (`bench relay`, 80 B cells, GSO): the
// kernel's copy took 17% of the relay's thread with an iovec per cell, 5% in the bare relay with
// one buffer per run.
inline constexpr size_t kJoinSegmentsUpTo = 256;

// Merges each iovec into the one before it when it continues it in memory (SendArena hands
// datagrams queued one after the other out back to back); the number of iovecs left, in place.
inline size_t CoalesceSegments(iovec* iov, size_t count) {
  if (count == 0) return 0;
  size_t out = 0;
  for (size_t k = 1; k < count; ++k) {
    if (static_cast<uint8_t*>(iov[out].iov_base) + iov[out].iov_len == iov[k].iov_base) {
      iov[out].iov_len += iov[k].iov_len;
    } else {
      iov[++out] = iov[k];
    }
  }
  return out + 1;
}

// Copies the `count` buffers of `iov` one after the other to `out`; the iovec of the whole.
inline iovec JoinSegments(const iovec* iov, size_t count, uint8_t* out) {
  size_t used = 0;
  for (size_t k = 0; k < count; ++k) {
    std::memcpy(out + used, iov[k].iov_base, iov[k].iov_len);
    used += iov[k].iov_len;
  }
  return {out, used};
}

inline bool SameDestination(const SendSlot& a, const SendSlot& b) {
  if (a.msg.msg_namelen != b.msg.msg_namelen) return false;
  // Constant sizes: the compiler compares in registers.
  return a.msg.msg_namelen == sizeof(sockaddr_in)
             ? std::memcmp(&a.addr, &b.addr, sizeof(sockaddr_in)) == 0
             : std::memcmp(&a.addr, &b.addr, sizeof(sockaddr_in6)) == 0;
}

// How many datagrams from `first` (an iterator over SendSlot*) up to `last` form one run.
// 1: `*first` goes alone.
template <typename It>
size_t GsoRunLength(It first, It last) {
  const SendSlot& head = **first;
  size_t count = 1, bytes = head.length;
  for (It it = first + 1; it != last && count < kGsoMaxSegments; ++it) {
    const SendSlot& next = **it;
    if (next.length > head.length || next.length == 0 || bytes + next.length > kGsoMaxBytes ||
        !SameDestination(head, next)) {
      break;
    }
    ++count;
    bytes += next.length;
    if (next.length < head.length) break;  // A shorter one ends the run.
  }
  return count;
}

// Sends queued in one loop iteration are sent before its wait, and also each time this many
// bytes were queued since: an iteration that relays a whole receive batch queues megabytes, and
// sent only at its end the kernel would copy the first of them from memory instead of the cache
// they were just written to. Measured (`bench relay`, 1,000 circuits, 1,400 B, GSO): ~3,000
// cells queued per iteration; the kernel's copy from user memory took 13-18% of the relay's
// thread forward, 7-8% with these early sends (the bare relay, which sends each run as it
// fills: 6-9%). Only complete runs leave early (RunIsComplete): no GSO run is cut short.
inline constexpr size_t kEarlyFlushBytes = 256 << 10;

// Whether a run of `count` datagrams of `length` bytes (the first's) that starts `left` queued
// datagrams from the queue's end is complete: one queued after it ended it, or none could join.
inline bool RunIsComplete(size_t count, size_t left, size_t length) {
  return count < left || count == kGsoMaxSegments || (count + 1) * length > kGsoMaxBytes;
}

// Sets `msg`'s control data (`control`, kGsoControlSpace bytes, cmsghdr-aligned) to one
// UDP_SEGMENT message: the kernel cuts the payload into datagrams of `segment_size` bytes.
inline void SetGsoSegment(msghdr& msg, uint8_t* control, uint16_t segment_size) {
  msg.msg_control = control;
  msg.msg_controllen = kGsoControlSpace;
  cmsghdr* c = CMSG_FIRSTHDR(&msg);
  c->cmsg_level = SOL_UDP;
  c->cmsg_type = UDP_SEGMENT;
  c->cmsg_len = CMSG_LEN(sizeof(uint16_t));
  std::memcpy(CMSG_DATA(c), &segment_size, sizeof(segment_size));
}

// A send error that means the kernel or the route will not segment for this socket (no
// checksum offload: EIO; a segment larger than the path MTU or an old kernel: EINVAL,
// ENOPROTOOPT, EOPNOTSUPP). The endpoint then sends one by one and keeps GSO off.
inline bool IsGsoRefusal(int error) {
  return error == EIO || error == EINVAL || error == ENOPROTOOPT || error == EOPNOTSUPP;
}

// Hands one read to `dispatch(span)` datagram by datagram: a GRO read (`segment` set) in
// segments of that size, the last possibly shorter; a plain read whole. `truncated`: the read
// did not fit its buffer (MSG_TRUNC) and `read` holds only what did; `full_length` is what the
// kernel had, 0 if unknown. The whole segments that fit are dispatched; the cut one and any
// after it are counted as truncated (at least one). Counts gro_reads and gro_segments.
template <typename F>
void DispatchRead(std::span<const uint8_t> read, std::optional<uint16_t> segment, bool truncated,
                  size_t full_length, EndpointStats& stats, F&& dispatch) {
  if (!segment || (*segment >= read.size() && !truncated)) {
    if (truncated) {
      stats.truncated.Add();
    } else {
      dispatch(read);
    }
    return;
  }
  const size_t size = *segment;
  size_t whole = read.size() / size;
  if (!truncated && read.size() % size != 0) ++whole;  // The last, shorter one.
  stats.gro_reads.Add();
  stats.gro_segments.Add(whole);
  for (size_t i = 0; i < whole; ++i) {
    dispatch(read.subspan(i * size, std::min(size, read.size() - i * size)));
  }
  if (truncated) {
    const size_t had = full_length > read.size() ? (full_length + size - 1) / size : whole + 1;
    stats.truncated.Add(std::max<size_t>(had - whole, 1));
  }
}

}  // namespace ringv8::internal

#endif  // RINGV8_RING_INTERNAL_UDP_OFFLOAD_H_
