#include "testbed/bare_relay.h"

#include <netinet/in.h>
#include <netinet/udp.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include <algorithm>
#include <cstring>

#include <pthread.h>

#include "testbed/bench_util.h"
#include "tunnel/layer_cipher.h"
#include "tunnel/payloads.h"

namespace ringv8::testbed {
BareRelay::BareRelay(const std::vector<Hop>& hops) {
  for (const Hop& hop : hops) {
    const auto known = std::find(next_hops_.begin(), next_hops_.end(), hop.to);
    const auto to = static_cast<uint32_t>(known - next_hops_.begin());
    if (known == next_hops_.end()) next_hops_.push_back(hop.to);
    routes_.emplace(hop.in_id, Route{hop.out_id, hop.forward, to, hop.key});
  }
  fd_ = LoopbackSocket(&address_, /*gro=*/true);
  timeval timeout{0, 50'000};  // How soon the thread sees stop_ when nothing arrives.
  setsockopt(fd_, SOL_SOCKET, SO_RCVTIMEO, &timeout, sizeof(timeout));
  thread_ = std::thread([this] { Run(); });
}

BareRelay::~BareRelay() {
  stop_ = true;
  thread_.join();
  close(fd_);
}

double BareRelay::CpuSeconds() { return ThreadCpuSeconds(thread_.native_handle()); }

void BareRelay::Run() {
  PinToCpu(1);
  pthread_setname_np(pthread_self(), "bare relay");
  tunnel::LayerCipher cipher;
  ReceiveBatch batch(65536);
  // The cells of one run to one next hop, each written once: by the crypto, behind its header.
  GsoRun run(fd_, next_hops_);
  while (!stop_.load(std::memory_order_relaxed)) {
    const int n = batch.Read(fd_, MSG_WAITFORONE);
    ForEachDatagram(batch, n, [&](std::span<const uint8_t> cell) {
      const auto header = tunnel::ParseCellHeader(cell);
      if (!header) return;
      const auto found = routes_.find(header->circuit_id);
      if (found == routes_.end()) return;
      Route& route = found->second;
      const std::span<const uint8_t> layer = cell.subspan(tunnel::kCellHeaderSize);
      if (route.forward && layer.size() < tunnel::kLayerOverhead) return;
      const size_t size = route.forward ? cell.size() - tunnel::kLayerOverhead
                                        : cell.size() + tunnel::kLayerOverhead;
      uint8_t* out = run.Room(route.to, size);
      if (out == nullptr) return;
      if (route.forward) {
        if (!cipher.Open(route.key, layer, out + tunnel::kCellHeaderSize)) return;
      } else {
        cipher.SealNext(route.key, layer, out + tunnel::kCellHeaderSize);
      }
      std::memcpy(out, cell.data(), tunnel::kCellHeaderSize);
      tunnel::SetCellCircuitId(out, route.out_id);
      run.Add();
    });
    run.Flush();
    sent_.store(run.sent(), std::memory_order_relaxed);
  }
}

}  // namespace ringv8::testbed
