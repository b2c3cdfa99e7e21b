// Fuzz target: the packet view (every layout), the signature check, and every payload parser,
// on arbitrary bytes. Whatever parses must also re-encode without error.
#include <cstddef>
#include <cstdint>

#include "wire/packet.h"
#include "wire/payloads.h"

namespace {

using namespace ringv8::wire;

template <wire::Payload... Ps>
void DecodeAll(wire::Bytes bytes) {
  (
      [&] {
        auto payload = wire::DecodePayload<Ps>(bytes);
        if (!payload) return;
        std::vector<uint8_t> out(wire::kMaxDatagramSize);
        wire::Writer writer{std::span<uint8_t>(out)};
        payload->Write(writer);
        if (!writer.ok()) __builtin_trap();  // What was read must be writable again.
      }(),
      ...);
}

void DecodeEveryPayload(wire::Bytes bytes) {
  DecodeAll<wire::IntroductionRequestPayload, wire::IntroductionResponsePayload,
            wire::NewIntroductionRequestPayload, wire::NewIntroductionResponsePayload,
            wire::PunctureRequestPayload, wire::NewPunctureRequestPayload, wire::PuncturePayload,
            wire::NewPuncturePayload, wire::SimilarityRequestPayload,
            wire::SimilarityResponsePayload, wire::PingPayload, wire::PongPayload,
            wire::DiscoveryIntroductionRequestPayload>(bytes);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const wire::Bytes datagram(data, size);
  (void)wire::PeekMessageId(datagram);
  for (bool is_signed : {true, false}) {
    for (bool has_global_time : {true, false}) {
      auto view =
          wire::ParsePacket(datagram, {.is_signed = is_signed, .has_global_time = has_global_time});
      if (!view) continue;
      (void)VerifySignature(*view);
      DecodeEveryPayload(view->payload);
    }
  }
  DecodeEveryPayload(datagram);
  return 0;
}
