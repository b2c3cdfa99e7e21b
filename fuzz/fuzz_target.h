// What the fuzz targets share: a virtual-clock loop with an in-memory network, and a sender that
// puts one datagram on it as if it came from the internet.
//
// Fuzz builds only (cmake -DRINGV8_FUZZ=ON, `make fuzz`). There, VerifySignature accepts a
// signature made of kFuzzSignatureByte only (wire/packet.cpp), so the fuzzer gets past the
// signature checks and reaches every signed handler; everything else is the product's code.
// Thread-compatible: one per fuzz process.
#ifndef RINGV8_FUZZ_FUZZ_TARGET_H_
#define RINGV8_FUZZ_FUZZ_TARGET_H_

#include <cstdint>
#include <memory>
#include <span>

#include "ring/event_loop.h"
#include "ring/memory_endpoint.h"
#include "tests/testing/simulation.h"

namespace ringv8::fuzz {

class FuzzNetwork {
 public:
  FuzzNetwork() {
    EndpointOptions options;
    options.ipv4 = *Address::Parse("10.9.9.9:7000");
    sender_ = std::move(*sim_.net.Open(options));
  }

  EventLoop& loop() { return *sim_.loop; }
  MemoryNetwork& net() { return sim_.net; }

  // Sends `datagram` from 10.9.9.9:7000 to `to` and runs the loop until it was handled (and
  // whatever it caused, 10 ms of virtual time).
  void Deliver(const Address& to, std::span<const uint8_t> datagram) {
    (void)sender_->Send(to, datagram);  // Oversized datagrams fail here, counted.
    sim_.loop->RunFor(std::chrono::milliseconds(10));
  }

 private:
  testing::Simulation sim_{std::chrono::seconds(1000)};
  std::unique_ptr<MemoryEndpoint> sender_;
};

}  // namespace ringv8::fuzz

#endif  // RINGV8_FUZZ_FUZZ_TARGET_H_
