// Fuzz target: the packet view (every layout), the signature check, and every payload parser,
// on arbitrary bytes. Whatever parses must also re-encode without error.
#include <cstddef>
#include <cstdint>

#include "wire/packet.h"
#include "wire/payloads.h"

namespace {

using namespace ringv8::wire;

template <Payload... Ps>
void DecodeAll(Bytes bytes) {
  (
      [&] {
        auto payload = DecodePayload<Ps>(bytes);
        if (!payload) return;
        std::vector<uint8_t> out(kMaxDatagramSize);
        Writer writer{std::span<uint8_t>(out)};
        payload->Write(writer);
        if (!writer.ok()) __builtin_trap();  // What was read must be writable again.
      }(),
      ...);
}

void DecodeEveryPayload(Bytes bytes) {
  DecodeAll<IntroductionRequestPayload, IntroductionResponsePayload, NewIntroductionRequestPayload,
            NewIntroductionResponsePayload, PunctureRequestPayload, NewPunctureRequestPayload,
            PuncturePayload, NewPuncturePayload, SimilarityRequestPayload,
            SimilarityResponsePayload, PingPayload, PongPayload,
            DiscoveryIntroductionRequestPayload>(bytes);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const Bytes datagram(data, size);
  (void)PeekMessageId(datagram);
  for (bool is_signed : {true, false}) {
    for (bool has_global_time : {true, false}) {
      auto view =
          ParsePacket(datagram, {.is_signed = is_signed, .has_global_time = has_global_time});
      if (!view) continue;
      (void)VerifySignature(*view);
      DecodeEveryPayload(view->payload);
    }
  }
  DecodeEveryPayload(datagram);
  return 0;
}
