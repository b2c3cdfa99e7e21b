// What the kernel's copy of a GSO run from user memory costs by the run's layout: 45 cells of
// 1,400 B per UDP_SEGMENT send from 127.0.0.1 to a GRO receiver on 127.0.0.1 (port 0, testbed::Sink
// on CPU 0, the sender on CPU 1), each cell written (memset, as the crypto writes it) before the
// send. Cells per CPU-second of the sending thread (items_per_second; the CPU column is per run of
// 45):
//   BM_GsoRun_SlotPerCell: an iovec per cell, each in a 2 KiB slot of its own (ringv8's send
//     queue before internal::SendArena);
//   BM_GsoRun_JoinedCopy: the same slots copied into one buffer first (internal::JoinSegments);
//   BM_GsoRun_OneBuffer: the cells written back to back into one buffer, one iovec (the arena;
//     the bare relay's GsoRun). The baseline.
// On the 2026-12 VM: 2.1M / 3.0M / 4.0M cells per CPU-second (0.47 / 0.33 / 0.25 us per cell).
#include <sys/socket.h>
#include <sys/uio.h>
#include <unistd.h>

#include <cstring>
#include <vector>

#include <benchmark/benchmark.h>

#include "testbed/bench_util.h"

namespace ringv8::testbed {
namespace {

constexpr size_t kCells = 45;
constexpr size_t kCell = 1400;
constexpr size_t kSlot = 2048;
constexpr size_t kSlots = 4096;  // ringv8's default send queue: the slots rotate through 8 MiB.

enum class Layout { kSlotPerCell, kJoinedCopy, kOneBuffer };

void SendRuns(benchmark::State& state, Layout layout) {
  Sink sink;  // GRO, on CPU 0; the sender on CPU 1, as in `ringv8 bench relay`.
  PinToCpu(1);
  Address bound;
  const int fd = LoopbackSocket(&bound);
  sockaddr_storage to{};
  const socklen_t to_length = sink.address().ToSockaddr(&to);
  std::vector<uint8_t> slots(kSlots * kSlot, 1), run(kCells * kCell, 1), joined(kCells * kCell);
  iovec iov[kCells];
  alignas(cmsghdr) uint8_t control[CMSG_SPACE(sizeof(uint16_t))] = {};
  msghdr msg{};
  msg.msg_name = &to;
  msg.msg_namelen = to_length;
  msg.msg_iov = iov;
  SetUdpSegment(msg, control, sizeof(control), kCell);
  size_t next = 0;
  for (auto _ : state) {
    for (size_t k = 0; k < kCells; ++k) {
      uint8_t* cell = layout == Layout::kOneBuffer ? run.data() + k * kCell
                                                   : slots.data() + (next++ % kSlots) * kSlot;
      std::memset(cell, static_cast<int>(k), kCell);
      iov[k] = {cell, kCell};
    }
    msg.msg_iovlen = kCells;
    if (layout == Layout::kOneBuffer) {
      iov[0] = {run.data(), kCells * kCell};
      msg.msg_iovlen = 1;
    } else if (layout == Layout::kJoinedCopy) {
      for (size_t k = 0; k < kCells; ++k)
        std::memcpy(joined.data() + k * kCell, iov[k].iov_base, kCell);
      iov[0] = {joined.data(), kCells * kCell};
      msg.msg_iovlen = 1;
    }
    if (sendmsg(fd, &msg, 0) < 0) {
      state.SkipWithError("sendmsg with UDP_SEGMENT failed (no GSO on loopback?)");
      break;
    }
  }
  close(fd);
  state.SetItemsProcessed(static_cast<int64_t>(state.iterations() * kCells));
}

void BM_GsoRun_SlotPerCell(benchmark::State& state) { SendRuns(state, Layout::kSlotPerCell); }
void BM_GsoRun_JoinedCopy(benchmark::State& state) { SendRuns(state, Layout::kJoinedCopy); }
void BM_GsoRun_OneBuffer(benchmark::State& state) { SendRuns(state, Layout::kOneBuffer); }

BENCHMARK(BM_GsoRun_SlotPerCell)->MinTime(1.0);
BENCHMARK(BM_GsoRun_JoinedCopy)->MinTime(1.0);
BENCHMARK(BM_GsoRun_OneBuffer)->MinTime(1.0);

}  // namespace
}  // namespace ringv8::testbed

BENCHMARK_MAIN();
